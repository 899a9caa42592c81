/**
 * Electron hardening that applies to every web contents the app ever creates (Electron's
 * security checklist): no navigation away from the app, no new windows, no webviews, no
 * permissions. The page is a single-page app; it never needs any of these.
 */
import { app, session } from 'electron';
import { APP_HOST, APP_SCHEME } from './protocol.js';

export function hardenWebContents(log: (line: string) => void): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => { event.preventDefault(); log(`Blocked navigation to ${url}.`); });
    contents.on('will-redirect', (event, url) => { event.preventDefault(); log(`Blocked redirect to ${url}.`); });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => { log(`Blocked a new window for ${url}.`); return { action: 'deny' }; });
  });
  app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
  }).catch(() => {});
}

/**
 * IPC is accepted only from the app's own page in a top-level frame. The scheme and host are
 * compared, not `URL.origin`: the WHATWG URL parser Node uses gives every non-special scheme
 * (app: included) the opaque origin "null", so an origin check would refuse the app itself.
 */
export function isTrustedSender(frame: { url: string; parent: unknown } | null | undefined): boolean {
  if (!frame || frame.parent) return false;
  let url: URL;
  try { url = new URL(frame.url); } catch { return false; }
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && !url.username && !url.password;
}
