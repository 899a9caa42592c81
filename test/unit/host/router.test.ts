/**
 * The contract as every host enforces it (Electron main and browser mode share the router):
 * malformed and unknown messages are refused with an error and nothing runs.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseCall, parseClientMessage, type HostMessage } from '../../../src-main/contract/host-messages.js';
import { CallRouter, type AppHandlers, type JobRunner } from '../../../src-main/host/router.js';
import { ProjectError } from '../../../src-main/project/files.js';

function setup() {
  const runner = {
    run: vi.fn(async (_job: string, _args: unknown, o: { id: string; onProgress: (e: { stage: string; fraction: number }) => void }) => {
      o.onProgress({ stage: 'train', fraction: 0.5 });
      return { ok: true };
    }),
    cancel: vi.fn(),
  };
  const handler = vi.fn(async () => ({ savedAt: 'now' }));
  const app = new Proxy({}, { get: () => handler }) as unknown as AppHandlers;
  const sent: HostMessage[] = [];
  const connection = new CallRouter(runner as unknown as JobRunner, app).connect((m) => sent.push(m));
  return { runner, handler, sent, connection };
}

const MALFORMED: [string, unknown][] = [
  ['null', null],
  ['a string', 'train'],
  ['an array', [{ type: 'invoke' }]],
  ['an empty object', {}],
  ['an unknown message type', { type: 'exec', id: 'a', call: 'train', args: {} }],
  ['an invoke without an id', { type: 'invoke', call: 'info', args: { model: 'm' } }],
  ['an invoke with an empty id', { type: 'invoke', id: '', call: 'info', args: { model: 'm' } }],
  ['an invoke with an over-long id', { type: 'invoke', id: 'x'.repeat(65), call: 'info', args: { model: 'm' } }],
  ['an invoke with a numeric call', { type: 'invoke', id: 'a', call: 7, args: {} }],
  ['an invoke with an extra field', { type: 'invoke', id: 'a', call: 'info', args: { model: 'm' }, channel: 'x' }],
];

const UNKNOWN_CALLS = ['rm', 'shell.exec', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 'project.delete', 'app.quit'];

describe('renderer messages', () => {
  it.each(MALFORMED)('refuses %s without running anything', async (_name, raw) => {
    const { runner, handler, connection } = setup();
    const reply = await connection.receive(raw);
    expect(reply?.type === 'refused' || reply?.type === 'failed').toBe(true);
    expect(reply && 'error' in reply ? reply.error.kind : undefined).toBe('user');
    expect(reply && 'error' in reply ? reply.error.message : '').toMatch(/^Refused a message that is not part of the contract/);
    expect(runner.run).not.toHaveBeenCalled();
    expect(handler).not.toHaveBeenCalled();
  });

  it.each(UNKNOWN_CALLS)('refuses the unknown call %s', async (call) => {
    const { runner, handler, connection } = setup();
    const reply = await connection.receive({ type: 'invoke', id: 'a', call, args: {} });
    expect(reply).toMatchObject({ type: 'failed', id: 'a', error: { kind: 'user' } });
    expect((reply as { error: { message: string } }).error.message).toMatch(/^Unknown call/);
    expect(runner.run).not.toHaveBeenCalled();
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses bad job arguments with the field and the problem', async () => {
    const { runner, connection } = setup();
    const cases = [
      { call: 'train', args: { data: 'mnist', out: 'models/m', epochs: -1 }, field: 'epochs' },
      { call: 'train', args: { data: 'mnist' }, field: 'out' },
      { call: 'info', args: { model: 'm', evil: true }, field: '' },
      { call: 'scan', args: { data: 'mnist', model: 'm', falseAlarm: 2 }, field: 'falseAlarm' },
      { call: 'pocketView', args: { data: 'mnist', model: 'm', scan: 's', pocketId: -1 }, field: 'pocketId' },
    ];
    for (const c of cases) {
      const reply = await connection.receive({ type: 'invoke', id: 'j', call: c.call, args: c.args });
      expect(reply).toMatchObject({ type: 'failed', id: 'j', error: { kind: 'user' } });
      expect((reply as { error: { message: string } }).error.message).toContain(`Invalid arguments for job ${c.call}`);
      if (c.field) expect((reply as { error: { message: string } }).error.message).toContain(c.field);
    }
    expect(runner.run).not.toHaveBeenCalled();
  });

  it('refuses bad app-call arguments', async () => {
    const { handler, connection } = setup();
    for (const [call, args] of [['project.open', {}], ['project.open', { dir: 5 }], ['dialog.open', { purpose: 'anything' }],
      ['project.save', { dir: '/p', project: { schema: 'other' } }], ['export.model', { from: '/a' }]] as const) {
      const reply = await connection.receive({ type: 'invoke', id: 'a', call, args });
      expect(reply).toMatchObject({ type: 'failed', error: { kind: 'user' } });
      expect((reply as { error: { message: string } }).error.message).toContain(`Invalid arguments for ${call}`);
    }
    expect(handler).not.toHaveBeenCalled();
  });

  it('runs a valid job with defaults applied, forwards its progress, and replies with its result', async () => {
    const { runner, sent, connection } = setup();
    const reply = await connection.receive({ type: 'invoke', id: 'j1', call: 'train', args: { data: 'mnist', out: 'models/m' } });
    expect(reply).toEqual({ type: 'done', id: 'j1', value: { ok: true } });
    expect(runner.run).toHaveBeenCalledOnce();
    const [job, args, options] = runner.run.mock.calls[0];
    expect(job).toBe('train');
    expect(args).toMatchObject({ data: 'mnist', out: 'models/m', arch: 'cnn', seed: 0, freezeFeatures: false });
    // The worker sees a connection-tagged id, so two windows may use the same ids.
    expect(options.id).toMatch(/^c\d+-j1$/);
    expect(sent).toEqual([{ type: 'progress', id: 'j1', event: { stage: 'train', fraction: 0.5 } }]);
  });

  it('refuses a second call with an id still in flight', async () => {
    const { runner, connection } = setup();
    let release!: () => void;
    runner.run.mockImplementationOnce(() => new Promise((r) => { release = () => r({ ok: true }); }));
    const first = connection.receive({ type: 'invoke', id: 'same', call: 'info', args: { model: 'm' } });
    const second = await connection.receive({ type: 'invoke', id: 'same', call: 'info', args: { model: 'm' } });
    expect(second).toMatchObject({ type: 'failed', error: { kind: 'user' } });
    release();
    expect(await first).toMatchObject({ type: 'done' });
    expect(runner.run).toHaveBeenCalledOnce();
  });

  it('cancels only calls it started, and all of them when the renderer goes away', async () => {
    const { runner, connection } = setup();
    expect(await connection.receive({ type: 'cancel', id: 'nothing' })).toBeNull();
    expect(runner.cancel).not.toHaveBeenCalled();
    runner.run.mockImplementation(() => new Promise(() => {}));
    void connection.receive({ type: 'invoke', id: 'long', call: 'info', args: { model: 'm' } });
    await connection.receive({ type: 'cancel', id: 'long' });
    expect(runner.cancel).toHaveBeenCalledWith(expect.stringMatching(/-long$/));
    connection.close();
    expect(runner.cancel).toHaveBeenCalledTimes(2);
  });

  it('keeps the kind of errors the host raises: user mistakes as user, the rest as internal', async () => {
    const { handler, connection } = setup();
    handler.mockRejectedValueOnce(new ProjectError('The folder /x is not a CLEAR project.'));
    expect(await connection.receive({ type: 'invoke', id: 'a', call: 'project.open', args: { dir: '/x' } }))
      .toEqual({ type: 'failed', id: 'a', error: { kind: 'user', message: 'The folder /x is not a CLEAR project.' } });
    handler.mockRejectedValueOnce(new TypeError('boom'));
    expect(await connection.receive({ type: 'invoke', id: 'b', call: 'project.open', args: { dir: '/x' } }))
      .toEqual({ type: 'failed', id: 'b', error: { kind: 'internal', message: 'Internal error: boom' } });
  });
});

describe('parseCall and parseClientMessage', () => {
  it('accept contract messages and calls', () => {
    expect(parseClientMessage({ type: 'cancel', id: 'x' })).toEqual({ ok: true, message: { type: 'cancel', id: 'x' } });
    expect(parseCall('app.info', {})).toMatchObject({ ok: true, kind: 'app', call: 'app.info' });
    expect(parseCall('datasetPreview', { data: 'mnist' })).toMatchObject({ ok: true, kind: 'job', args: { samplesPerClass: 3 } });
  });

  it('keep the id of a malformed message when it has a usable one, so the reply reaches its caller', () => {
    expect(parseClientMessage({ type: 'invoke', id: 'k', call: 5 })).toMatchObject({ ok: false, id: 'k' });
    expect(parseClientMessage({ type: 'invoke', id: 42 })).toMatchObject({ ok: false, id: undefined });
  });
});
