/**
 * The preload bridge (window.clear in Electron): only contract calls leave the page, only
 * contract messages reach it; everything else is refused where it starts.
 */
import { describe, expect, it, vi } from 'vitest';
import { IPC_CHANNELS } from '../../../src-main/contract/host-messages.js';
import { createBridge, type IpcLike } from '../../../src-main/preload/bridge.js';

function fakeIpc(reply: unknown = { type: 'done', id: 'a', value: 1 }) {
  const listeners = new Set<(e: unknown, m: unknown) => void>();
  const ipc = {
    invoke: vi.fn(async () => reply),
    send: vi.fn(),
    on: vi.fn((_c: string, l: (e: unknown, m: unknown) => void) => listeners.add(l)),
    removeListener: vi.fn((_c: string, l: (e: unknown, m: unknown) => void) => listeners.delete(l)),
    emit: (m: unknown) => { for (const l of listeners) l({}, m); },
  };
  return ipc as typeof ipc & IpcLike;
}

describe('preload bridge', () => {
  it('exposes exactly invoke, cancel, onProgress, onMenu and pathForFile', () => {
    expect(Object.keys(createBridge(fakeIpc())).sort()).toEqual(['cancel', 'invoke', 'onMenu', 'onProgress', 'pathForFile']);
  });

  it('names a dropped file\'s path only for a real File and only an absolute, printable path', () => {
    const paths = new Map<File, string>();
    const webUtils = { getPathForFile: vi.fn((f: File) => paths.get(f) ?? '') };
    const bridge = createBridge(fakeIpc(), webUtils);
    const dropped = (p: string) => { const f = new File(['x'], 'digits'); paths.set(f, p); return f; };
    expect(bridge.pathForFile(dropped('/home/ana/data/digits'))).toBe('/home/ana/data/digits');
    expect(bridge.pathForFile(dropped('C:\\Users\\ana\\digits'))).toBe('C:\\Users\\ana\\digits');
    // A File the page made itself has no path (Electron gives ""), nor does a relative or odd one.
    for (const p of ['', 'data/digits', '/data/\u0007bell', `/${'a'.repeat(5000)}`]) expect(bridge.pathForFile(dropped(p))).toBeNull();
    // Anything but a File is refused before Electron sees it.
    webUtils.getPathForFile.mockClear();
    for (const fake of [{ name: 'digits', path: '/etc/passwd' }, '/etc/passwd', null, undefined]) expect(bridge.pathForFile(fake)).toBeNull();
    expect(webUtils.getPathForFile).not.toHaveBeenCalled();
    // A throwing webUtils is no path; without webUtils there is none either.
    expect(createBridge(fakeIpc(), { getPathForFile: () => { throw new Error('not a dropped file'); } }).pathForFile(new File([], 'x'))).toBeNull();
    expect(createBridge(fakeIpc()).pathForFile(dropped('/home/ana/data/digits'))).toBeNull();
  });

  it('refuses unknown calls and malformed ids without sending anything', async () => {
    const ipc = fakeIpc();
    const bridge = createBridge(ipc);
    for (const [id, call] of [['a', 'shell.openExternal'], ['a', '__proto__'], ['', 'app.info'], ['x'.repeat(200), 'app.info']] as const) {
      const reply = await bridge.invoke(id, call, {});
      expect(reply).toMatchObject({ type: 'failed', error: { kind: 'user' } });
    }
    bridge.cancel('');
    expect(ipc.invoke).not.toHaveBeenCalled();
    expect(ipc.send).not.toHaveBeenCalled();
  });

  it('sends a contract call on the invoke channel and returns the reply', async () => {
    const ipc = fakeIpc({ type: 'done', id: 'a', value: { mode: 'electron' } });
    const reply = await createBridge(ipc).invoke('a', 'app.info', {});
    expect(ipc.invoke).toHaveBeenCalledWith(IPC_CHANNELS.invoke, { type: 'invoke', id: 'a', call: 'app.info', args: {} });
    expect(reply).toEqual({ type: 'done', id: 'a', value: { mode: 'electron' } });
  });

  it('turns a reply that is not a contract message into an error', async () => {
    const reply = await createBridge(fakeIpc({ type: 'progress', something: 1 })).invoke('a', 'app.info', {});
    expect(reply).toMatchObject({ type: 'failed', error: { kind: 'internal' } });
  });

  it('passes on contract progress and menu events only', () => {
    const ipc = fakeIpc();
    const bridge = createBridge(ipc);
    const progress = vi.fn();
    const menu = vi.fn();
    const stop = bridge.onProgress(progress);
    bridge.onMenu(menu);
    ipc.emit({ type: 'progress', id: 'a', event: { stage: 'embed', fraction: 0.3 } });
    ipc.emit({ type: 'progress', id: 'a', event: { stage: 'embed' } });
    ipc.emit({ type: 'menu', action: 'open-project' });
    ipc.emit({ type: 'menu', action: 'format-disk' });
    ipc.emit('hello');
    expect(progress).toHaveBeenCalledExactlyOnceWith('a', { stage: 'embed', fraction: 0.3 });
    expect(menu).toHaveBeenCalledExactlyOnceWith('open-project');
    // File › Open Recent carries the project folder.
    ipc.emit({ type: 'menu', action: 'open-recent', dir: '/projects/digits' });
    expect(menu).toHaveBeenLastCalledWith('open-recent', '/projects/digits');
    stop();
    ipc.emit({ type: 'progress', id: 'a', event: { stage: 'embed', fraction: 0.4 } });
    expect(progress).toHaveBeenCalledOnce();
  });
});
