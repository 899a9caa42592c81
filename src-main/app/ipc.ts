/**
 * The contract over Electron IPC. Two incoming channels, both validated on arrival:
 * `clear:invoke` (ipcMain.handle: the reply is the return value) and `clear:cancel`;
 * one outgoing, `clear:event` (progress, menu actions). The preload exposes nothing else,
 * and a message from any frame but the app's own top-level page is refused. As in browser mode,
 * a window may have at most MAX_PENDING_IPC_CALLS calls waiting for their reply; more are
 * refused at once instead of queueing without bound (cancels always go through).
 */
import { ipcMain, type WebContents } from 'electron';
import { IPC_CHANNELS as CHANNELS, parseClientMessage, type HostMessage, type ReplyMessage } from '../contract/host-messages.js';
import type { CallRouter, Connection } from '../host/router.js';
import { isTrustedSender } from './security.js';

/** Calls one window may have waiting for their reply (browser mode allows the same per connection). */
export const MAX_PENDING_IPC_CALLS = 32;

const REFUSED_SENDER: ReplyMessage = { type: 'refused', error: { kind: 'user', message: 'Refused a message from a page that is not the app.' } };

export function registerIpc(router: CallRouter, log: (line: string) => void): void {
  const connections = new Map<number, Connection>();
  const pending = new Map<number, number>();
  const connectionFor = (contents: WebContents): Connection => {
    let c = connections.get(contents.id);
    if (!c) {
      const send = (message: HostMessage) => { if (!contents.isDestroyed()) contents.send(CHANNELS.event, message); };
      c = router.connect(send);
      connections.set(contents.id, c);
      // A closed or reloaded window's jobs are cancelled, not left running for nobody.
      contents.once('destroyed', () => { c!.close(); connections.delete(contents.id); });
      contents.on('did-start-navigation', (details) => {
        if (details.isMainFrame && !details.isSameDocument) { c!.close(); connections.delete(contents.id); }
      });
    }
    return c;
  };
  ipcMain.handle(CHANNELS.invoke, async (event, raw: unknown) => {
    if (!isTrustedSender(event.senderFrame)) { log('Refused IPC from an untrusted frame.'); return REFUSED_SENDER; }
    const id = event.sender.id;
    const waiting = pending.get(id) ?? 0;
    const parsed = parseClientMessage(raw);
    if (parsed.ok && parsed.message.type === 'invoke' && waiting >= MAX_PENDING_IPC_CALLS) {
      return { type: 'failed', id: parsed.message.id, error: { kind: 'user', message: `Refused: ${MAX_PENDING_IPC_CALLS} calls are already waiting for their reply in this window; wait for one to finish.` } } satisfies ReplyMessage;
    }
    pending.set(id, waiting + 1);
    try {
      return await connectionFor(event.sender).receive(raw);
    } finally {
      const left = (pending.get(id) ?? 1) - 1;
      if (left > 0) pending.set(id, left); else pending.delete(id);
    }
  });
  ipcMain.on(CHANNELS.cancel, (event, raw: unknown) => {
    if (!isTrustedSender(event.senderFrame)) return;
    void connectionFor(event.sender).receive(raw);
  });
}

export function sendToWindow(contents: WebContents | undefined, message: HostMessage): void {
  if (contents && !contents.isDestroyed()) contents.send(CHANNELS.event, message);
}
