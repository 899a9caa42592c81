/**
 * The contract over Electron IPC, as the main process registers it: a message from the app's
 * own page is validated and routed; a malformed one is refused before any handler runs; a
 * message from any other frame is refused without reaching the router at all.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC_CHANNELS, type HostMessage } from '../../../src-main/contract/host-messages.js';
import { MAX_PENDING_IPC_CALLS, registerIpc, sendToWindow } from '../../../src-main/app/ipc.js';
import { APP_URL } from '../../../src-main/app/protocol.js';
import { CallRouter, type AppHandlers, type JobRunner } from '../../../src-main/host/router.js';
import { FakeWebContents, ipcMain, registered, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

type Frame = { url: string; parent: unknown } | null;

function setup() {
  let finishJob: (value: unknown) => void = () => {};
  const runner = {
    run: vi.fn((_job: string, _args: unknown, o: { id: string; onProgress: (e: { stage: string; fraction: number }) => void }) => {
      o.onProgress({ stage: 'embed', fraction: 0.5 });
      return new Promise((resolve) => { finishJob = resolve; });
    }),
    cancel: vi.fn(),
  };
  const handler = vi.fn(async () => ({ mode: 'electron' }));
  const app = new Proxy({}, { get: () => handler }) as unknown as AppHandlers;
  const router = new CallRouter(runner as unknown as JobRunner, app);
  const connect = vi.spyOn(router, 'connect');
  const log = vi.fn();
  registerIpc(router, log);
  const invoke = registered.handle.get(IPC_CHANNELS.invoke)!;
  const cancel = registered.on.get(IPC_CHANNELS.cancel)!;
  const contents = new FakeWebContents();
  const event = (frame: Frame = { url: APP_URL, parent: null }) => ({ senderFrame: frame, sender: contents });
  return {
    runner, handler, connect, log, contents, finishJob: (v: unknown) => finishJob(v),
    invoke: (raw: unknown, frame?: Frame) => invoke(event(frame), raw) as Promise<HostMessage | null>,
    cancel: (raw: unknown, frame?: Frame) => cancel(event(frame), raw) as void,
  };
}

const UNTRUSTED: [string, Frame][] = [
  ['another app:// host', { url: 'app://evil/index.html', parent: null }],
  ['an https page', { url: 'https://renderer/index.html', parent: null }],
  ['a file: page', { url: 'file:///tmp/index.html', parent: null }],
  ['the devtools', { url: 'devtools://devtools/bundled/devtools_app.html', parent: null }],
  ['a missing frame', null],
  ['a subframe of the app', { url: APP_URL, parent: { url: APP_URL, parent: null } }],
];

describe('registerIpc', () => {
  beforeEach(resetElectronStub);

  it('listens on the contract channels only', () => {
    setup();
    expect(ipcMain.handle).toHaveBeenCalledOnce();
    expect([...registered.handle.keys()]).toEqual([IPC_CHANNELS.invoke]);
    expect([...registered.on.keys()]).toEqual([IPC_CHANNELS.cancel]);
  });

  it.each([APP_URL, 'app://renderer/', 'app://renderer/index.html?x=1#y'])(
    'routes a valid call from the app page %s to its handler and returns the reply', async (url) => {
      const { handler, invoke, log } = setup();
      const reply = await invoke({ type: 'invoke', id: 'a', call: 'app.info', args: {} }, { url, parent: null });
      expect(reply).toEqual({ type: 'done', id: 'a', value: { mode: 'electron' } });
      expect(handler).toHaveBeenCalledExactlyOnceWith({});
      expect(log).not.toHaveBeenCalled();
    });

  it.each([
    ['null', null],
    ['a string', 'app.info'],
    ['an unknown message type', { type: 'exec', id: 'a', call: 'app.info', args: {} }],
    ['an extra field', { type: 'invoke', id: 'a', call: 'app.info', args: {}, channel: 'x' }],
    ['an unknown call', { type: 'invoke', id: 'a', call: 'shell.openExternal', args: {} }],
    ['bad arguments', { type: 'invoke', id: 'a', call: 'project.open', args: { dir: 5 } }],
    ['bad job arguments', { type: 'invoke', id: 'a', call: 'info', args: { model: 'm', evil: true } }],
  ])('refuses %s from the app page without running anything', async (_name, raw) => {
    const { handler, runner, invoke } = setup();
    const reply = await invoke(raw);
    expect(reply?.type === 'refused' || reply?.type === 'failed').toBe(true);
    expect(reply && 'error' in reply ? reply.error.kind : undefined).toBe('user');
    expect(handler).not.toHaveBeenCalled();
    expect(runner.run).not.toHaveBeenCalled();
  });

  it.each(UNTRUSTED)('refuses a valid call from %s before it reaches the router', async (_name, frame) => {
    const { handler, connect, invoke, log } = setup();
    const reply = await invoke({ type: 'invoke', id: 'a', call: 'app.info', args: {} }, frame);
    expect(reply).toMatchObject({ type: 'refused', error: { kind: 'user' } });
    expect(handler).not.toHaveBeenCalled();
    expect(connect).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith('Refused IPC from an untrusted frame.');
  });

  it('sends a job\'s progress to the window that asked, and a cancel from the app page reaches the job', async () => {
    const { runner, invoke, cancel, contents, finishJob } = setup();
    const reply = invoke({ type: 'invoke', id: 'j', call: 'info', args: { model: 'm' } });
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledOnce());
    expect(contents.send).toHaveBeenCalledWith(IPC_CHANNELS.event, { type: 'progress', id: 'j', event: { stage: 'embed', fraction: 0.5 } });
    cancel({ type: 'cancel', id: 'j' });
    await vi.waitFor(() => expect(runner.cancel).toHaveBeenCalledOnce());
    expect(runner.cancel.mock.calls[0][0]).toBe(runner.run.mock.calls[0][2].id);
    finishJob({ ok: true });
    expect(await reply).toEqual({ type: 'done', id: 'j', value: { ok: true } });
  });

  it.each(UNTRUSTED)('ignores a cancel from %s', async (_name, frame) => {
    const { runner, invoke, cancel, finishJob } = setup();
    const reply = invoke({ type: 'invoke', id: 'j', call: 'info', args: { model: 'm' } });
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledOnce());
    cancel({ type: 'cancel', id: 'j' }, frame);
    await new Promise((r) => setTimeout(r, 10));
    expect(runner.cancel).not.toHaveBeenCalled();
    finishJob(1);
    await reply;
  });

  it('cancels a window\'s running jobs when it is destroyed or navigates away', async () => {
    for (const leave of [
      (c: FakeWebContents) => c.emit('destroyed'),
      (c: FakeWebContents) => c.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false }),
    ]) {
      resetElectronStub();
      const { runner, invoke, contents, finishJob } = setup();
      const reply = invoke({ type: 'invoke', id: 'j', call: 'info', args: { model: 'm' } });
      await vi.waitFor(() => expect(runner.run).toHaveBeenCalledOnce());
      leave(contents);
      expect(runner.cancel).toHaveBeenCalledOnce();
      finishJob(1);
      await reply;
    }
  });

  it('keeps a window\'s jobs across an in-page navigation or a subframe navigation', async () => {
    const { runner, invoke, contents, finishJob } = setup();
    const reply = invoke({ type: 'invoke', id: 'j', call: 'info', args: { model: 'm' } });
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledOnce());
    contents.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true });
    contents.emit('did-start-navigation', { isMainFrame: false, isSameDocument: false });
    expect(runner.cancel).not.toHaveBeenCalled();
    finishJob(1);
    await reply;
  });
});

describe('registerIpc under a flood of calls', () => {
  beforeEach(resetElectronStub);

  it(`lets a window have ${MAX_PENDING_IPC_CALLS} calls waiting, refuses the next at once, lets cancels through and accepts again once one finishes`, async () => {
    const finishers: ((v: unknown) => void)[] = [];
    const runner = {
      run: vi.fn(() => new Promise((resolve) => { finishers.push(resolve); })),
      cancel: vi.fn(),
    };
    const router = new CallRouter(runner as unknown as JobRunner, new Proxy({}, { get: () => vi.fn() }) as unknown as AppHandlers);
    registerIpc(router, vi.fn());
    const invoke = registered.handle.get(IPC_CHANNELS.invoke)!;
    const cancel = registered.on.get(IPC_CHANNELS.cancel)!;
    const contents = new FakeWebContents();
    const other = new FakeWebContents();
    const event = (sender: FakeWebContents) => ({ senderFrame: { url: APP_URL, parent: null }, sender });
    const call = (id: string, sender = contents) => invoke(event(sender), { type: 'invoke', id, call: 'info', args: { model: 'm' } }) as Promise<HostMessage | null>;

    const waiting = Array.from({ length: MAX_PENDING_IPC_CALLS }, (_, k) => call(`j${k}`));
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledTimes(MAX_PENDING_IPC_CALLS));
    const refused = await call('over');
    expect(refused).toEqual({ type: 'failed', id: 'over', error: { kind: 'user', message: `Refused: ${MAX_PENDING_IPC_CALLS} calls are already waiting for their reply in this window; wait for one to finish.` } });
    expect(runner.run).toHaveBeenCalledTimes(MAX_PENDING_IPC_CALLS);
    // A malformed message over the limit is still refused by the contract, not counted.
    expect(await invoke(event(contents), { type: 'invoke', id: 'bad', call: 'nope', args: {} })).toMatchObject({ error: { kind: 'user' } });
    // Another window has its own allowance.
    const elsewhere = call('w2', other);
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledTimes(MAX_PENDING_IPC_CALLS + 1));
    // Cancels always go through.
    cancel(event(contents), { type: 'cancel', id: 'j0' });
    await vi.waitFor(() => expect(runner.cancel).toHaveBeenCalledOnce());
    finishers[0]({ ok: 0 });
    expect(await waiting[0]).toEqual({ type: 'done', id: 'j0', value: { ok: 0 } });
    const again = call('again');
    await vi.waitFor(() => expect(runner.run).toHaveBeenCalledTimes(MAX_PENDING_IPC_CALLS + 2));
    for (const finish of finishers) finish(1);
    await Promise.all([...waiting, elsewhere, again]);
  });
});

describe('sendToWindow', () => {
  it('sends on the event channel to a live window only', () => {
    const live = new FakeWebContents();
    const gone = new FakeWebContents();
    gone.destroyed = true;
    const message: HostMessage = { type: 'menu', action: 'open-project' };
    sendToWindow(live as never, message);
    sendToWindow(gone as never, message);
    sendToWindow(undefined, message);
    expect(live.send).toHaveBeenCalledExactlyOnceWith(IPC_CHANNELS.event, message);
    expect(gone.send).not.toHaveBeenCalled();
  });
});
