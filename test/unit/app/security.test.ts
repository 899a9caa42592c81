/**
 * Electron hardening in the main process: IPC is accepted only from the app's own top-level
 * page (app://renderer/), and every web contents is kept from navigating, opening windows,
 * attaching webviews or getting permissions.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { hardenWebContents, isTrustedSender } from '../../../src-main/app/security.js';
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

describe('hardenWebContents', () => {
  beforeEach(resetElectronStub);

  function hardened() {
    const log = vi.fn();
    hardenWebContents(log);
    const contents = new FakeWebContents();
    app.emit('web-contents-created', {}, contents);
    return { log, contents };
  }

  it.each(['will-navigate', 'will-redirect'])('blocks %s, to anywhere, and logs it', (eventName) => {
    const { log, contents } = hardened();
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'app://renderer/index.html']) {
      const event = { preventDefault: vi.fn() };
      contents.emit(eventName, event, url);
      expect(event.preventDefault).toHaveBeenCalledOnce();
      expect(log).toHaveBeenLastCalledWith(expect.stringContaining(url));
    }
  });

  it('blocks webviews', () => {
    const { contents } = hardened();
    const event = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', event, {}, {});
    expect(event.preventDefault).toHaveBeenCalledOnce();
  });

  it('denies every new window', () => {
    const { contents } = hardened();
    expect(contents.setWindowOpenHandler).toHaveBeenCalledOnce();
    const handler = contents.setWindowOpenHandler.mock.calls[0][0] as (d: { url: string }) => { action: string };
    expect(handler({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(handler({ url: APP_URL })).toEqual({ action: 'deny' });
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
