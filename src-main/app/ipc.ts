/**
 * The contract over Electron IPC. Two incoming channels, both validated on arrival:
 * `clear:invoke` (ipcMain.handle: the reply is the return value) and `clear:cancel`;
 * one outgoing, `clear:event` (progress, menu actions). The preload exposes nothing else,
 * and a message from any frame but the app's own top-level page is refused.
 */
import { ipcMain, type WebContents } from 'electron';
import { IPC_CHANNELS as CHANNELS, type HostMessage, type ReplyMessage } from '../contract/host-messages.js';
import type { CallRouter, Connection } from '../host/router.js';
import { isTrustedSender } from './security.js';

const REFUSED_SENDER: ReplyMessage = { type: 'refused', error: { kind: 'user', message: 'Refused a message from a page that is not the app.' } };

export function registerIpc(router: CallRouter, log: (line: string) => void): void {
  const connections = new Map<number, Connection>();
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
    return connectionFor(event.sender).receive(raw);
  });
  ipcMain.on(CHANNELS.cancel, (event, raw: unknown) => {
    if (!isTrustedSender(event.senderFrame)) return;
    void connectionFor(event.sender).receive(raw);
  });
}

export function sendToWindow(contents: WebContents | undefined, message: HostMessage): void {
  if (contents && !contents.isDestroyed()) contents.send(CHANNELS.event, message);
}
