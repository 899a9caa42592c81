/**
 * Electron hardening (Electron's security checklist) that applies to every web contents the
 * app ever creates: every renderer sandboxed, no navigation or redirect away from the app's
 * own origin (app://renderer), in the top frame or any subframe, no new windows, no
 * webviews, no permissions. The page is a single-page app; it never needs any of these.
 */
import { app, session, type Event as ElectronEvent } from 'electron';
import { APP_HOST, APP_SCHEME } from './protocol.js';

/**
 * The app's own pages: app://renderer/…, nothing else. The scheme and host are compared, not
 * `URL.origin`: the WHATWG URL parser Node uses gives every non-special scheme (app:
 * included) the opaque origin "null", so an origin check would refuse the app itself.
 */
export function isAppUrl(raw: string): boolean {
  let url: URL;
  try { url = new URL(raw); } catch { return false; }
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && !url.username && !url.password;
}

/**
 * Everything here must run before the app is ready: `app.enableSandbox()` (every renderer
 * sandboxed, whatever its webPreferences say) is refused after `ready`, and the
 * web-contents hooks must be in place before the first window exists.
 */
export function hardenApp(log: (line: string) => void): void {
  app.enableSandbox();
  hardenWebContents(log);
}

type NavigationEvent = ElectronEvent<{ url: string; isMainFrame: boolean }>;

export function hardenWebContents(log: (line: string) => void): void {
  app.on('web-contents-created', (_event, contents) => {
    // Any frame, main or sub: fires before will-navigate, for iframes too.
    contents.on('will-frame-navigate', (event: NavigationEvent) => {
      if (isAppUrl(event.url)) return;
      event.preventDefault();
      log(`Blocked ${event.isMainFrame ? 'navigation' : 'a frame\'s navigation'} to ${event.url}.`);
    });
    // The main frame (kept besides will-frame-navigate: one check missing is one hole).
    contents.on('will-navigate', (event: NavigationEvent, legacyUrl?: string) => {
      const url = event.url ?? legacyUrl ?? '';
      if (isAppUrl(url)) return;
      event.preventDefault();
      log(`Blocked navigation to ${url}.`);
    });
    contents.on('will-redirect', (event: NavigationEvent, legacyUrl?: string) => {
      const url = event.url ?? legacyUrl ?? '';
      if (isAppUrl(url)) return;
      event.preventDefault();
      log(`Blocked redirect to ${url}.`);
    });
    contents.on('will-attach-webview', (event) => { event.preventDefault(); log('Blocked a webview.'); });
    // The app never opens a window, not even one of its own pages (it would get the preload).
    contents.setWindowOpenHandler(({ url }) => { log(`Blocked a new window for ${url}.`); return { action: 'deny' }; });
  });
  app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
  }).catch(() => {});
}

/** IPC is accepted only from the app's own page in a top-level frame. */
export function isTrustedSender(frame: { url: string; parent: unknown } | null | undefined): boolean {
  if (!frame || frame.parent) return false;
  return isAppUrl(frame.url);
}
