/**
 * Browser mode: the renderer served over HTTP and the contract over a WebSocket, for
 * machines without the Electron binary. Same renderer, same engine, same validation.
 *
 * The server is reachable by every program on this machine, and a web page in any browser
 * tab can try to reach 127.0.0.1 too, so it is locked down (the Jupyter model):
 * - it listens on 127.0.0.1 only, never on a network interface;
 * - every request needs the random token printed with the URL: in the query (`?token=`),
 *   or in the cookie set when the page was opened with it (assets do not carry a query);
 *   the WebSocket upgrade needs it in the query, always;
 * - the Host header must name 127.0.0.1 or localhost (against DNS rebinding), and an Origin
 *   header, where sent, must be this server's own origin (always required on the upgrade,
 *   which browsers do not subject to the same-origin policy).
 * Anything else gets 403 and nothing runs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HostMessage } from '../contract/app.js';
import { contentSecurityPolicy } from '../host/csp.js';
import type { CallRouter } from '../host/router.js';

export const HOST = '127.0.0.1';
export const WS_PATH = '/ws';
/** Large enough for a project file with its scan; small enough to refuse floods. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
  '.woff2': 'font/woff2', '.map': 'application/json',
};

export interface ServeOptions {
  rendererDir: string;
  router: CallRouter;
  /** 0 picks a free port. */
  port?: number;
  /** A fixed token (tests); a fresh random one by default. */
  token?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function sameSecret(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given); const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererDir = path.resolve(options.rendererDir);
  const log = options.log ?? (() => {});
  let port = 0;
  // Cookies are shared by every port of a host, so the name carries the port.
  const cookieName = () => `clear_token_${port}`;
  const allowedHosts = () => [`${HOST}:${port}`, `localhost:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  /** Null when the request may proceed; otherwise why not. */
  function refuse(req: http.IncomingMessage, url: URL, upgrade: boolean): string | null {
    if (!allowedHosts().includes(req.headers.host ?? '')) return 'unexpected Host header';
    const origin = req.headers.origin;
    if (upgrade ? !origin || !allowedOrigins().includes(origin) : origin !== undefined && !allowedOrigins().includes(origin)) {
      return 'request from another origin';
    }
    const queryToken = url.searchParams.get('token');
    if (upgrade) return sameSecret(queryToken, token) ? null : 'missing or wrong token';
    if (queryToken !== null) return sameSecret(queryToken, token) ? null : 'wrong token';
    return sameSecret(cookieValue(req.headers.cookie, cookieName()), token) ? null : 'missing token';
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const why = refuse(req, url, false);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Security-Policy': contentSecurityPolicy(allowedHosts().map((h) => `ws://${h}`)), 'X-Content-Type-Options': 'nosniff',
      // The token is in the URL: never send it on in a Referer.
      'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY', 'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (why) {
      log(`Refused ${req.method} ${url.pathname}: ${why}.`);
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Forbidden: open the address that `clear serve` printed; it carries the access token.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.searchParams.has('token')) {
      headers['Set-Cookie'] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    }
    let rel: string;
    try { rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html'; } catch { rel = '\0'; }
    const file = path.resolve(rendererDir, rel);
    if (rel.includes('\0') || !file.startsWith(rendererDir + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found.\n');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const why = url.pathname !== WS_PATH ? 'unknown path' : refuse(req, url, true);
    if (why) {
      log(`Refused a WebSocket upgrade: ${why}.`);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, options.router));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => { server.off('error', reject); resolve(); });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    close: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function serveSocket(ws: WebSocket, router: CallRouter): void {
  const send = (message: HostMessage) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message)); };
  const connection = router.connect(send);
  ws.on('message', (data, isBinary) => {
    let raw: unknown;
    try {
      if (isBinary) throw new Error('binary');
      raw = JSON.parse(data.toString());
    } catch {
      send({ type: 'refused', error: { kind: 'user', message: 'Refused a message that is not JSON text.' } });
      return;
    }
    void connection.receive(raw).then((reply) => { if (reply) send(reply); });
  });
  ws.on('close', () => connection.close());
}
