/**
 * The main process as a whole, wired the way Electron starts it: what must happen before
 * `ready` does (the app:// scheme, the sandbox for every renderer, the web-contents rules),
 * nothing Electron refuses before `ready` happens early (no window, no utility process), and
 * after `ready` the one window (no DevTools when installed), the bounded crash reload and the
 * engine as a utility process are in place; quitting stops the engine first.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { IPC_CHANNELS } from '../../../src-main/contract/host-messages.js';
import { ENGINE_LOG_PREFIX } from '../../../src-main/contract/log.js';
import { APP_URL } from '../../../src-main/app/protocol.js';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./electron-stub.js'));

const settle = () => new Promise((r) => setImmediate(r));

describe('the main process', () => {
  // main.ts runs its wiring on import: each test imports it afresh.
  beforeEach(() => { vi.resetModules(); vi.restoreAllMocks(); });

  async function start(isPackaged: boolean) {
    // The stub main.ts sees (the mocked 'electron' outlives resetModules), reset.
    const stub = await import('electron') as unknown as typeof import('./electron-stub.js');
    stub.resetElectronStub();
    const { app } = stub;
    // What the main process logs goes to stderr; keep the test output clean.
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    app.isPackaged = isPackaged;
    app.paths.userData = mkdtempSync(path.join(os.tmpdir(), 'clear-main-'));
    let ready: () => void = () => {};
    const whenReady = new Promise<void>((r) => { ready = r; });
    app.whenReady.mockImplementation(() => whenReady);
    await import('../../../src-main/app/main.js');
    return { ...stub, ready: async () => { ready(); await settle(); await settle(); } };
  }

  it('sandboxes and hardens before ready, and creates nothing Electron refuses before ready', async () => {
    const { app, registered, utilityProcess } = await start(true);
    expect(app.enableSandbox).toHaveBeenCalledOnce();
    expect(registered.privilegedSchemes.map((s) => s.scheme)).toEqual(['app']);
    expect(app.listenerCount('web-contents-created')).toBe(1);
    expect(registered.windows).toHaveLength(0);
    expect(utilityProcess.fork).not.toHaveBeenCalled();
    expect(registered.protocols.size).toBe(0);
  });

  it('after ready: one window without DevTools, hardened, and the engine forked as a utility process', async () => {
    const { ready, app, registered, utilityProcess, FakeWebContents } = await start(true);
    await ready();
    expect(registered.windows).toHaveLength(1);
    const [window] = registered.windows;
    expect(window.options.webPreferences).toMatchObject({ devTools: false, sandbox: true, contextIsolation: true });
    expect(registered.protocols.has('app')).toBe(true);
    expect(utilityProcess.fork).toHaveBeenCalledOnce();
    const [child] = registered.utilityProcesses;
    expect(path.basename(child.modulePath)).toBe('worker.js');
    expect(child.options.env).not.toHaveProperty('ELECTRON_RUN_AS_NODE');
    // The web-contents rules apply to the window's contents (Electron emits this for it).
    const contents = new FakeWebContents();
    app.emit('web-contents-created', {}, contents);
    const nav = { url: 'https://example.com/', isMainFrame: true, preventDefault: vi.fn() };
    contents.emit('will-frame-navigate', nav);
    expect(nav.preventDefault).toHaveBeenCalledOnce();
  });

  it('keeps DevTools when run from source', async () => {
    const { ready, registered } = await start(false);
    await ready();
    expect(registered.windows[0].options.webPreferences.devTools).toBe(true);
  });

  it('reloads a crashed page a bounded number of times', async () => {
    const { ready, registered } = await start(true);
    await ready();
    const [window] = registered.windows;
    for (let i = 0; i < 5; i++) window.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(window.webContents.reload).toHaveBeenCalledTimes(3);
  });

  it('gives the window the app icon, a 512×512 PNG rendered from assets/icon.svg', async () => {
    const { ready, registered } = await start(true);
    await ready();
    const icon = registered.windows[0].options.icon as string;
    expect(path.basename(icon)).toBe('512x512.png');
    expect(existsSync(icon)).toBe(true);
    const png = PNG.sync.read(readFileSync(icon));
    expect([png.width, png.height]).toEqual([512, 512]);
  });

  it('lists a project under File › Open Recent once it is created, and the menu item opens it in the page', async () => {
    const { ready, app, registered, Menu, dialog } = await start(true);
    await ready();
    type Item = { label?: string; click?: () => void; submenu?: Item[] };
    const recentItems = () => {
      const template = Menu.buildFromTemplate.mock.calls.at(-1)![0] as Item[];
      return template.find((i) => i.label === '&File')!.submenu!.find((i) => i.label === 'Open &Recent')!.submenu!;
    };
    expect(recentItems().map((i) => i.label)).toEqual(['No recent projects']);
    const dir = path.join(app.paths.userData, 'My digits');
    const [window] = registered.windows;
    const invoke = registered.handle.get(IPC_CHANNELS.invoke)!;
    // The folder is chosen in the native dialog, which grants it (host/path-scope.ts).
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [dir] });
    expect(await invoke({ senderFrame: { url: APP_URL, parent: null }, sender: window.webContents }, { type: 'invoke', id: 'c0', call: 'dialog.open', args: { purpose: 'project' } }))
      .toEqual({ type: 'done', id: 'c0', value: { path: dir } });
    const reply = await invoke({ senderFrame: { url: APP_URL, parent: null }, sender: window.webContents }, { type: 'invoke', id: 'c1', call: 'project.create', args: { dir, name: 'My digits' } });
    expect(reply).toMatchObject({ type: 'done' });
    const items = recentItems();
    expect(items[0].label).toBe(`My digits — ${dir}`);
    items[0].click!();
    expect(window.webContents.send).toHaveBeenLastCalledWith(IPC_CHANNELS.event, { type: 'menu', action: 'open-recent', dir });
    // Clear Menu forgets the list (the project stays on disk).
    items.at(-1)!.click!();
    expect(recentItems().map((i) => i.label)).toEqual(['No recent projects']);
    expect(existsSync(path.join(dir, 'project.json'))).toBe(true);
  });

  it('accepts over IPC only paths the user chose in a native dialog: other folders, links out of a chosen one and the page\'s own "choice" are refused', async () => {
    const { ready, app, registered, dialog } = await start(true);
    await ready();
    const [window] = registered.windows;
    const handle = registered.handle.get(IPC_CHANNELS.invoke)!;
    let n = 0;
    const invoke = (call: string, args: unknown) => handle({ senderFrame: { url: APP_URL, parent: null }, sender: window.webContents }, { type: 'invoke', id: `s${++n}`, call, args }) as Promise<{ type: string; value?: any; error?: { kind: string; message: string } }>;
    const outside = mkdtempSync(path.join(os.tmpdir(), 'clear-main-outside-'));
    writeFileSync(path.join(outside, 'notes.txt'), 'SECRET-77e1');
    const chosen = path.join(app.paths.userData, 'chosen');
    mkdirSync(chosen);
    const refusal = (p: string, what: string) => `${what} ${p} is outside the folders chosen in this session, so it is not used; choose it with Browse… (or File › Open) to grant it.`;
    // Before any choice: nothing may be created, allocated, exported or listed.
    expect((await invoke('project.create', { dir: chosen })).error).toEqual({ kind: 'user', message: refusal(chosen, 'The project folder') });
    expect((await invoke('path.inspect', { path: '/etc' })).value).toEqual({ path: '/etc', exists: false, kind: null, parent: '/', outside: true });
    // The page cannot grant itself a path: in the desktop app only the system dialog does.
    expect((await invoke('path.choose', { path: outside })).error?.message).toBe('This window chooses files and folders with the system dialog: use Browse… or File › Open.');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [chosen] });
    expect((await invoke('dialog.open', { purpose: 'project' })).value).toEqual({ path: chosen });
    expect((await invoke('project.create', { dir: chosen, name: 'chosen' })).type).toBe('done');
    symlinkSync(outside, path.join(chosen, 'link-out'));
    // A link inside the chosen folder that leads out of it is judged by where it leads.
    const viaLink = path.join(chosen, 'link-out', 'notes.txt');
    const message = (await invoke('export.model', { from: path.join(chosen, 'models'), to: path.join(chosen, 'link-out', 'copy') })).error?.message;
    expect(message).toBe(refusal(path.join(chosen, 'link-out', 'copy'), 'The export folder'));
    expect((await invoke('path.inspect', { path: viaLink })).value.outside).toBe(true);
    expect(JSON.stringify(await invoke('path.inspect', { path: viaLink }))).not.toContain('SECRET');
    expect(readdirSync(outside)).toEqual(['notes.txt']);
    // Engine jobs are checked before the engine gets them (the utility process never sees a message).
    const [child] = registered.utilityProcesses;
    const sent = child.postMessage.mock.calls.length;
    expect((await invoke('info', { model: outside })).error?.message).toBe(refusal(outside, 'The model folder'));
    expect(child.postMessage.mock.calls.length).toBe(sent);
  });

  it('writes a failed job\'s stack trace from the engine to the log file in the user data folder', async () => {
    const { ready, app, registered } = await start(true);
    await ready();
    const [child] = registered.utilityProcesses;
    const record = { job: 'scan', id: 'j9', message: 'Internal error: boom', stack: 'TypeError: boom\n    at scanJob (engine/jobs/clear.ts:10:5)' };
    child.stderr.write(`${ENGINE_LOG_PREFIX}${JSON.stringify(record)}\n`);
    const file = path.join(app.paths.userData, 'logs', 'clear-workbench.log');
    await vi.waitFor(() => expect(existsSync(file) && readFileSync(file, 'utf8')).toMatch(/ERROR engine: job scan \(j9\) failed: Internal error: boom\n {4}TypeError: boom\n {8}at scanJob/));
  });

  it('logs an uncaught error of the main process with its stack, leaving Electron\'s own handling in place', async () => {
    const handlers = process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
    const { ready, app } = await start(true);
    await ready();
    // No handler added (one would stop Electron's own report of the error).
    expect(process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection')).toBe(handlers);
    const err = new RangeError('menu went wrong');
    (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtExceptionMonitor', err, 'uncaughtException');
    const text = readFileSync(path.join(app.paths.userData, 'logs', 'clear-workbench.log'), 'utf8');
    expect(text).toMatch(/ERROR Uncaught exception in the main process\n {4}RangeError: menu went wrong\n {8}at /);
  });

  it('stops the engine before quitting', async () => {
    const { ready, app, registered } = await start(true);
    await ready();
    const [child] = registered.utilityProcesses;
    const event = { preventDefault: vi.fn() };
    app.emit('will-quit', event);
    expect(event.preventDefault).toHaveBeenCalledOnce();
    await vi.waitFor(() => expect(app.exit).toHaveBeenCalledExactlyOnceWith(0));
    expect(child.kill).toHaveBeenCalledOnce();
  });
});
