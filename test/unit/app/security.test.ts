/**
 * Electron hardening in the main process: IPC is accepted only from the app's own top-level
 * page (app://renderer/), and every web contents is kept from navigating, opening windows,
 * attaching webviews or getting permissions.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { hardenApp, hardenWebContents, isAppUrl, isTrustedSender } from '../../../src-main/app/security.js';
import { APP_URL } from '../../../src-main/app/protocol.js';
import { app, FakeWebContents, resetElectronStub, session } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

const top = (url: string) => ({ url, parent: null });

describe('isTrustedSender', () => {
  it.each([
    'app://renderer/index.html',
    'app://renderer/',
    'app://renderer',
    'app://renderer/index.html?step=scan',
    'app://renderer/index.html#/inspect',
    'app://renderer/?a=1#b',
  ])('accepts the app page %s', (url) => {
    expect(isTrustedSender(top(url))).toBe(true);
  });

  it.each([
    ['another app:// host', 'app://evil/index.html'],
    ['a host that only starts like the app', 'app://renderer.evil/index.html'],
    ['the app host with a port', 'app://renderer:8080/index.html'],
    ['the app host with credentials', 'app://user:pw@renderer/index.html'],
    ['an app: URL without a host', 'app:renderer/index.html'],
    ['an app: URL with an empty host', 'app:///renderer/index.html'],
    ['https with the app host', 'https://renderer/index.html'],
    ['http with the app host', 'http://renderer/index.html'],
    ['a file: URL', 'file:///etc/passwd'],
    ['a file: URL of the built page', 'file:///opt/clear/dist/renderer/index.html'],
    ['the devtools', 'devtools://devtools/bundled/devtools_app.html'],
    ['a data: URL', 'data:text/html,<script>1</script>'],
    ['about:blank', 'about:blank'],
    ['an empty URL', ''],
    ['a URL that does not parse', 'not a url'],
  ])('refuses %s (%s)', (_name, url) => {
    expect(isTrustedSender(top(url))).toBe(false);
  });

  it('refuses a missing frame (a frame that navigated or was destroyed)', () => {
    expect(isTrustedSender(null)).toBe(false);
    expect(isTrustedSender(undefined)).toBe(false);
  });

  it('refuses a subframe, even one showing the app page', () => {
    expect(isTrustedSender({ url: APP_URL, parent: top(APP_URL) })).toBe(false);
  });
});

describe('hardenApp', () => {
  beforeEach(resetElectronStub);

  it('sandboxes every renderer before the app is ready, and hardens every web contents', () => {
    hardenApp(vi.fn());
    expect(app.enableSandbox).toHaveBeenCalledOnce();
    // Electron refuses enableSandbox once the app is ready: it comes before anything waits for ready.
    expect(app.enableSandbox.mock.invocationCallOrder[0]).toBeLessThan(app.whenReady.mock.invocationCallOrder[0]);
    expect(app.listenerCount('web-contents-created')).toBe(1);
  });
});

describe('isAppUrl', () => {
  it('is the app\'s own pages and nothing else', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('app://renderer/assets/app.js')).toBe(true);
    for (const url of ['app://renderer:1/', 'app://evil/', 'app:renderer/index.html', 'https://renderer/', '']) expect(isAppUrl(url), url).toBe(false);
  });
});

describe('hardenWebContents', () => {
  beforeEach(resetElectronStub);

  function hardened() {
    const log = vi.fn();
    hardenWebContents(log);
    const contents = new FakeWebContents();
    app.emit('web-contents-created', {}, contents);
    return { log, contents };
  }

  const ELSEWHERE = [
    'https://example.com/',
    'http://127.0.0.1:8080/',
    'file:///etc/passwd',
    'app://evil/index.html',
    'app://renderer.evil/index.html',
    'app://user:pw@renderer/index.html',
    'data:text/html,<script>1</script>',
    'javascript:alert(1)',
    'about:blank',
    'chrome://settings',
    'devtools://devtools/bundled/devtools_app.html',
    'not a url',
  ];

  it.each(['will-navigate', 'will-redirect'])('blocks %s to anywhere but the app\'s own pages, and logs it', (eventName) => {
    const { log, contents } = hardened();
    for (const url of ELSEWHERE) {
      // Electron 45 passes the details on the event, and the URL again as a deprecated argument.
      const event = { url, isMainFrame: true, preventDefault: vi.fn() };
      contents.emit(eventName, event, url);
      expect(event.preventDefault, url).toHaveBeenCalledOnce();
      expect(log).toHaveBeenLastCalledWith(expect.stringContaining(url));
    }
    for (const url of ['app://renderer/index.html', 'app://renderer/', 'app://renderer/index.html?step=scan#top']) {
      const event = { url, isMainFrame: true, preventDefault: vi.fn() };
      contents.emit(eventName, event, url);
      expect(event.preventDefault, url).not.toHaveBeenCalled();
    }
  });

  it('blocks a navigation that only names its URL in the legacy argument', () => {
    const { contents } = hardened();
    const event = { preventDefault: vi.fn() };
    contents.emit('will-navigate', event, 'https://example.com/');
    expect(event.preventDefault).toHaveBeenCalledOnce();
  });

  it('blocks will-frame-navigate away from the app in the main frame and in every subframe', () => {
    const { log, contents } = hardened();
    for (const isMainFrame of [true, false]) {
      for (const url of ELSEWHERE) {
        const event = { url, isMainFrame, isSameDocument: false, frame: null, preventDefault: vi.fn() };
        contents.emit('will-frame-navigate', event);
        expect(event.preventDefault, url).toHaveBeenCalledOnce();
        expect(log).toHaveBeenLastCalledWith(expect.stringContaining(url));
      }
      const own = { url: 'app://renderer/index.html', isMainFrame, preventDefault: vi.fn() };
      contents.emit('will-frame-navigate', own);
      expect(own.preventDefault).not.toHaveBeenCalled();
    }
  });

  it('blocks webviews, whatever they would load', () => {
    const { contents, log } = hardened();
    for (const src of ['https://example.com/', 'app://renderer/index.html']) {
      const event = { preventDefault: vi.fn() };
      contents.emit('will-attach-webview', event, { preload: '/tmp/evil.js' }, { src });
      expect(event.preventDefault).toHaveBeenCalledOnce();
    }
    expect(log).toHaveBeenCalledWith('Blocked a webview.');
  });

  it('denies every new window, the app\'s own pages included (a new window would get the preload)', () => {
    const { contents } = hardened();
    expect(contents.setWindowOpenHandler).toHaveBeenCalledOnce();
    const handler = contents.setWindowOpenHandler.mock.calls[0][0] as (d: { url: string }) => { action: string };
    for (const url of [...ELSEWHERE, APP_URL]) expect(handler({ url })).toEqual({ action: 'deny' });
  });

  it('hardens every web contents, not just the first', () => {
    const { contents } = hardened();
    const other = new FakeWebContents();
    app.emit('web-contents-created', {}, other);
    for (const c of [contents, other]) {
      for (const name of ['will-frame-navigate', 'will-navigate', 'will-redirect', 'will-attach-webview']) expect(c.listenerCount(name), name).toBe(1);
      expect(c.setWindowOpenHandler).toHaveBeenCalledOnce();
    }
  });

  it('denies every permission request and check', async () => {
    hardenWebContents(vi.fn());
    await vi.waitFor(() => expect(session.defaultSession.setPermissionCheckHandler).toHaveBeenCalledOnce());
    const request = session.defaultSession.setPermissionRequestHandler.mock.calls[0][0] as
      (c: unknown, p: string, cb: (granted: boolean) => void) => void;
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
      const callback = vi.fn();
      request({}, permission, callback);
      expect(callback).toHaveBeenCalledExactlyOnceWith(false);
    }
    const check = session.defaultSession.setPermissionCheckHandler.mock.calls[0][0] as (...a: unknown[]) => boolean;
    expect(check({}, 'media', 'app://renderer', {})).toBe(false);
  });
});
