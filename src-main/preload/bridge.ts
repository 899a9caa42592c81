/**
 * What the preload exposes to the page as `window.clear`: exactly the contract (invoke a
 * call, cancel it, listen to progress and menu actions) and nothing else; no ipcRenderer,
 * no channel names, no Node. Messages are checked here before they leave the page (an
 * unknown call never reaches the main process) and again in the main process on arrival.
 * Kept apart from preload.ts so tests can drive it with a stand-in for ipcRenderer.
 */
import { HostMessage, IPC_CHANNELS as CHANNELS, isKnownCall, parseClientMessage, type MenuAction, type ReplyMessage } from '../contract/host-messages.js';
import type { ProgressEventMessage } from '../contract/messages.js';

/** The part of Electron's ipcRenderer the bridge uses. */
export interface IpcLike {
  invoke(channel: string, message: unknown): Promise<unknown>;
  send(channel: string, message: unknown): void;
  on(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
}

/** The part of Electron's webUtils the bridge uses: where a dropped file or folder is on disk. */
export interface WebUtilsLike {
  getPathForFile(file: File): string;
}

export interface ClearBridge {
  invoke(id: string, call: string, args: unknown): Promise<ReplyMessage>;
  cancel(id: string): void;
  onProgress(listener: (id: string, event: ProgressEventMessage) => void): () => void;
  onMenu(listener: (action: MenuAction, dir?: string) => void): () => void;
  /**
   * The path of a file or folder dropped on the page, or null: only for a real File object
   * from the drop (anything else is refused before Electron sees it), and only an absolute
   * path of sensible length without control characters (Electron gives "" for a File the page
   * made itself). The path is only shown in a field; every use of it goes through the contract.
   */
  pathForFile(file: unknown): string | null;
}

/** An absolute path, POSIX or Windows, without control characters, at most 4,096 characters. */
function usablePath(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && p.length <= 4096 && !/[\u0000-\u001f]/.test(p)
    && (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'));
}

export function createBridge(ipc: IpcLike, webUtils?: WebUtilsLike): ClearBridge {
  const subscribe = (handle: (message: HostMessage) => void) => {
    const listener = (_event: unknown, raw: unknown) => {
      const parsed = HostMessage.safeParse(raw);
      if (parsed.success) handle(parsed.data);
    };
    ipc.on(CHANNELS.event, listener);
    return () => { ipc.removeListener(CHANNELS.event, listener); };
  };
  return {
    async invoke(id, call, args) {
      const checked = parseClientMessage({ type: 'invoke', id, call, args });
      if (!checked.ok || !isKnownCall(call)) {
        const message = checked.ok ? `Refused an unknown call ${JSON.stringify(call)}.` : checked.error;
        return { type: 'failed', id: typeof id === 'string' && id ? id.slice(0, 64) : '?', error: { kind: 'user', message } };
      }
      const reply = HostMessage.safeParse(await ipc.invoke(CHANNELS.invoke, checked.message));
      if (!reply.success || !['done', 'failed', 'refused'].includes(reply.data.type)) {
        return { type: 'failed', id, error: { kind: 'internal', message: 'Internal error: the app sent a reply that is not part of the contract.' } };
      }
      return reply.data as ReplyMessage;
    },
    cancel(id) {
      const checked = parseClientMessage({ type: 'cancel', id });
      if (checked.ok) ipc.send(CHANNELS.cancel, checked.message);
    },
    onProgress(listener) {
      return subscribe((m) => { if (m.type === 'progress') listener(m.id, m.event); });
    },
    onMenu(listener) {
      return subscribe((m) => { if (m.type === 'menu') { if (m.dir === undefined) listener(m.action); else listener(m.action, m.dir); } });
    },
    pathForFile(file) {
      if (!webUtils || typeof File === 'undefined' || !(file instanceof File)) return null;
      let p: unknown;
      try { p = webUtils.getPathForFile(file); } catch { return null; }
      return usablePath(p) ? p : null;
    },
  };
}
