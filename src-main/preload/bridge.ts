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

export interface ClearBridge {
  invoke(id: string, call: string, args: unknown): Promise<ReplyMessage>;
  cancel(id: string): void;
  onProgress(listener: (id: string, event: ProgressEventMessage) => void): () => void;
  onMenu(listener: (action: MenuAction, dir?: string) => void): () => void;
}

export function createBridge(ipc: IpcLike): ClearBridge {
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
      return subscribe((m) => { if (m.type === 'menu') listener(m.action, m.dir); });
    },
  };
}
