/**
 * The renderer is served from `app://renderer/`, not `file://`: a standard, secure scheme
 * gives the page a real origin, so the CSP's 'self' means exactly the app's own files and
 * nothing else on disk (file:// pages can read any file:// URL).
 *
 * Files are read asynchronously (the main process never blocks on the disk) and only if
 * their real path, symbolic links resolved, is a regular file inside the renderer folder
 * (host/static-files.ts).
 */
import { protocol } from 'electron';
import path from 'node:path';
import { contentSecurityPolicy } from '../host/csp.js';
import { readStaticFile } from '../host/static-files.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'renderer';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};

/** Must run before the app is ready (Electron's rule for privileged schemes). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export function serveRenderer(rendererDir: string): void {
  const root = path.resolve(rendererDir);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const found = url.host === APP_HOST ? await readStaticFile(root, url.pathname) : null;
    if (!found) return new Response('Not found', { status: 404 });
    return new Response(found.data, {
      headers: {
        'Content-Type': CONTENT_TYPES[path.extname(found.file)] ?? 'application/octet-stream',
        'Content-Security-Policy': contentSecurityPolicy(), 'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}
