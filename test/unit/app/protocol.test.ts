/**
 * The app:// protocol: the renderer folder's files and nothing else, each with the CSP. The
 * handler is the one the app registers, driven with the URLs Electron would hand it (Request
 * applies the same URL parsing) against real files in a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_SCHEME, APP_URL, registerAppScheme, serveRenderer } from '../../../src-main/app/protocol.js';
import { contentSecurityPolicy } from '../../../src-main/host/csp.js';
import { registered, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

let base: string;
let renderer: string;
const SECRET = 'the secret outside the renderer folder';

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'clear-protocol-'));
  renderer = path.join(base, 'renderer');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>CLEAR</title>');
  writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(path.join(renderer, 'assets', 'app.css'), 'body{}');
  writeFileSync(path.join(renderer, 'assets', 'data.bin'), 'x');
  writeFileSync(path.join(base, 'secret.txt'), SECRET);
  // A sibling whose name starts with the renderer folder's: a bare prefix check would let it through.
  mkdirSync(path.join(base, 'renderer-evil'));
  writeFileSync(path.join(base, 'renderer-evil', 'index.html'), SECRET);
  // Symbolic links inside the renderer folder: out of it (to a file, to a folder, absolute and
  // relative), and within it.
  mkdirSync(path.join(base, 'outside'));
  writeFileSync(path.join(base, 'outside', 'leak.js'), SECRET);
  symlinkSync(path.join(base, 'secret.txt'), path.join(renderer, 'escape.txt'));
  symlinkSync('../../secret.txt', path.join(renderer, 'assets', 'escape-relative.js'));
  symlinkSync(path.join(base, 'outside'), path.join(renderer, 'linked-dir'), 'dir');
  symlinkSync('/etc/passwd', path.join(renderer, 'passwd'));
  symlinkSync(path.join(renderer, 'assets', 'app.js'), path.join(renderer, 'alias.js'));
  symlinkSync('loop-b', path.join(renderer, 'loop-a'));
  symlinkSync('loop-a', path.join(renderer, 'loop-b'));
  symlinkSync(path.join(renderer, 'missing.js'), path.join(renderer, 'dangling.js'));
  // A FIFO: a read would block forever; only regular files are served.
  if (process.platform !== 'win32') spawnSync('mkfifo', [path.join(renderer, 'pipe.js')]);
  // The renderer folder reached through a link (as an install may place it): still served.
  symlinkSync(renderer, path.join(base, 'renderer-link'), 'dir');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

beforeEach(resetElectronStub);

async function get(url: string, root = renderer): Promise<Response> {
  serveRenderer(root);
  const handler = registered.protocols.get(APP_SCHEME);
  expect(handler).toBeDefined();
  return handler!(new Request(url));
}

describe('registerAppScheme', () => {
  it('registers app: as standard and secure, with no privilege that bypasses the CSP or CORS', () => {
    registerAppScheme();
    expect(registered.privilegedSchemes).toHaveLength(1);
    const [{ scheme, privileges }] = registered.privilegedSchemes;
    expect(scheme).toBe('app');
    expect(privileges).toMatchObject({ standard: true, secure: true });
    expect(privileges.bypassCSP).toBeFalsy();
    expect(privileges.corsEnabled).toBeFalsy();
    expect(privileges.allowServiceWorkers).toBeFalsy();
  });
});

describe('the app:// handler', () => {
  it.each([
    [APP_URL, 'index.html', 'text/html; charset=utf-8'],
    ['app://renderer/', 'index.html', 'text/html; charset=utf-8'],
    ['app://renderer', 'index.html', 'text/html; charset=utf-8'],
    ['app://renderer/index.html?step=scan#top', 'index.html', 'text/html; charset=utf-8'],
    ['app://renderer/assets/app.js', 'assets/app.js', 'text/javascript; charset=utf-8'],
    ['app://renderer/assets/app.css', 'assets/app.css', 'text/css; charset=utf-8'],
    ['app://renderer/assets/./app.js', 'assets/app.js', 'text/javascript; charset=utf-8'],
    ['app://renderer/assets/data.bin', 'assets/data.bin', 'application/octet-stream'],
  ])('serves %s from the renderer folder', async (url, file, type) => {
    const response = await get(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const expected = { 'index.html': '<!doctype html><title>CLEAR</title>', 'assets/app.js': 'console.log(1);', 'assets/app.css': 'body{}', 'assets/data.bin': 'x' };
    expect(await response.text()).toBe(expected[file as keyof typeof expected]);
  });

  it.each([
    ['a dot-dot path', 'app://renderer/../secret.txt'],
    ['a deep dot-dot path', 'app://renderer/../../../../../../etc/passwd'],
    ['an encoded dot-dot path', 'app://renderer/%2e%2e/secret.txt'],
    ['an encoded dot-dot path, upper case', 'app://renderer/%2E%2E/%2E%2E/etc/passwd'],
    ['a dot-dot path with encoded slashes', 'app://renderer/..%2fsecret.txt'],
    ['a deep dot-dot path with encoded slashes', 'app://renderer/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd'],
    ['a dot-dot path into a sibling named like the renderer folder', 'app://renderer/..%2frenderer-evil%2findex.html'],
    ['a dot-dot path with an encoded backslash', 'app://renderer/..%5csecret.txt'],
    ['an absolute path, encoded', `app://renderer/${encodeURIComponent('/etc/passwd')}`],
    ['a NUL byte', 'app://renderer/index.html%00.js'],
    ['a malformed escape', 'app://renderer/%E0%A4%A'],
    ['another host', 'app://evil/index.html'],
    ['the renderer host with a port', 'app://renderer:8080/index.html'],
    ['a folder', 'app://renderer/assets'],
    ['a folder with a slash', 'app://renderer/assets/'],
    ['a missing file', 'app://renderer/missing.js'],
  ])('answers 404 to %s (%s)', async (_name, url) => {
    const response = await get(url);
    expect(response.status).toBe(404);
    const body = await response.text();
    expect(body).not.toContain(SECRET);
    expect(body).not.toContain('root:');
  });

  it('refuses the absolute path of a real file outside the folder', async () => {
    const response = await get(`app://renderer/${encodeURIComponent(path.join(base, 'secret.txt'))}`);
    expect(response.status).toBe(404);
    // The same file one level up, with a slash the URL parser does not resolve.
    expect((await get('app://renderer/..%2Fsecret.txt')).status).toBe(404);
  });
});

describe('the app:// handler and symbolic links', () => {
  it.each([
    ['a link to a file outside the folder', 'app://renderer/escape.txt'],
    ['a relative link out of the folder', 'app://renderer/assets/escape-relative.js'],
    ['a file in a linked folder outside', 'app://renderer/linked-dir/leak.js'],
    ['a linked folder outside', 'app://renderer/linked-dir'],
    ['a link to /etc/passwd', 'app://renderer/passwd'],
    ['a link loop', 'app://renderer/loop-a'],
    ['a dangling link', 'app://renderer/dangling.js'],
  ])('answers 404 to %s (%s)', async (_name, url) => {
    const response = await get(url);
    expect(response.status).toBe(404);
    const body = await response.text();
    expect(body).not.toContain(SECRET);
    expect(body).not.toContain('root:');
  });

  it('serves a link that stays inside the folder', async () => {
    const response = await get('app://renderer/alias.js');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('console.log(1);');
  });

  it.skipIf(process.platform === 'win32')('answers 404 to a FIFO instead of blocking on it (regular files only)', async () => {
    expect((await get('app://renderer/pipe.js')).status).toBe(404);
  });

  it('serves the folder when the app points at it through a link, and still refuses links out of it', async () => {
    const link = path.join(base, 'renderer-link');
    expect((await get(APP_URL, link)).status).toBe(200);
    expect((await get('app://renderer/assets/app.js', link)).status).toBe(200);
    expect((await get('app://renderer/escape.txt', link)).status).toBe(404);
  });

  it('answers asynchronously, and the module reads no file synchronously', async () => {
    serveRenderer(renderer);
    const pending = registered.protocols.get(APP_SCHEME)!(new Request(APP_URL));
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).status).toBe(200);
    for (const file of ['src-main/app/protocol.ts', 'src-main/host/static-files.ts']) {
      const source = readFileSync(path.join(fileURLToPath(new URL('../../..', import.meta.url)), file), 'utf8');
      expect(source, file).not.toMatch(/\b\w+Sync\(/);
    }
  });
});

describe('the Content Security Policy', () => {
  function directives(csp: string): Map<string, string[]> {
    return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  }

  it('is sent with every page the protocol serves', async () => {
    const response = await get(APP_URL);
    expect(response.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
  });

  it('allows only the app itself: no inline or eval code, no plugins, no framing, no remote connections', async () => {
    const csp = directives((await get(APP_URL)).headers.get('content-security-policy')!);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('img-src')).toEqual(["'self'", 'data:']);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    for (const values of csp.values()) {
      for (const v of values) expect(["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", '*', 'http:', 'https:', 'ws:', 'file:', 'blob:']).not.toContain(v);
    }
  });
});
