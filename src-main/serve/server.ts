/**
 * Browser mode: the renderer served over HTTP and the contract over a WebSocket, for
 * machines without the Electron binary. Same renderer, same engine, same validation.
 *
 * The server is reachable by every program on this machine, and a web page in any browser
 * tab can try to reach 127.0.0.1 too, so it is locked down (the Jupyter model):
 * - it listens on 127.0.0.1 only, never on a network interface;
 * - the WebSocket, the only way to run anything, needs the random token printed with the URL
 *   (`?token=` on the upgrade), and so does the page itself (HTML); the page's scripts,
 *   styles and images are the app's public build and are served without it. No cookie is
 *   set: cookies are not scoped by port, so a token cookie would also go to any other
 *   server on 127.0.0.1 that the browser visits;
 * - the Host header must name 127.0.0.1 or localhost (against DNS rebinding), and an Origin
 *   header, where sent, must be this server's own origin (always required on the upgrade,
 *   which browsers do not subject to the same-origin policy).
 * Anything else gets 403 and nothing runs.
 *
 * No client can take the server down or hog it: every HTTP and WebSocket socket has an error
 * handler (a malformed request, an invalid UTF-8 frame or a reset connection closes that
 * connection only), a message is at most MAX_MESSAGE_BYTES, and a connection may have at
 * most MAX_PENDING_CALLS calls waiting for their reply; more are refused, not queued.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseClientMessage, type HostMessage } from '../contract/host-messages.js';
import { contentSecurityPolicy } from '../host/csp.js';
import type { CallRouter } from '../host/router.js';
import { resolveStaticFile } from '../host/static-files.js';

export const HOST = '127.0.0.1';
export const WS_PATH = '/ws';
/** Large enough for a project file with its scan; small enough to refuse floods. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/**
 * Calls one connection may have waiting for their reply (the page makes a handful at once);
 * more are refused at once instead of queueing without bound. Cancels always go through.
 */
export const MAX_PENDING_CALLS = 32;

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

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererDir = path.resolve(options.rendererDir);
  const log = options.log ?? (() => {});
  let port = 0;
  const allowedHosts = () => [`${HOST}:${port}`, `localhost:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  /** Null when the request may reach this server at all; otherwise why not. */
  function refuse(req: http.IncomingMessage, url: URL, upgrade: boolean): string | null {
    if (!allowedHosts().includes(req.headers.host ?? '')) return 'unexpected Host header';
    const origin = req.headers.origin;
    if (upgrade ? !origin || !allowedOrigins().includes(origin) : origin !== undefined && !allowedOrigins().includes(origin)) {
      return 'request from another origin';
    }
    const queryToken = url.searchParams.get('token');
    if (upgrade) return sameSecret(queryToken, token) ? null : 'missing or wrong token';
    // A token that is given must be right, on any request.
    if (queryToken !== null && !sameSecret(queryToken, token)) return 'wrong token';
    return null;
  }

  const server = http.createServer((req, res) => {
    serveFile(req, res).catch((err: unknown) => {
      log(`Could not answer ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}.`);
      if (res.headersSent) res.destroy(); else res.writeHead(500).end();
    });
  });

  async function serveFile(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    let why = refuse(req, url, false);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Security-Policy': contentSecurityPolicy(allowedHosts().map((h) => `ws://${h}`)), 'X-Content-Type-Options': 'nosniff',
      // The token is in the URL: never send it on in a Referer.
      'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY', 'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin',
    };
    const forbidden = (reason: string) => {
      log(`Refused ${req.method} ${url.pathname}: ${reason}.`);
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Forbidden: open the address that `clearwb serve` printed; it carries the access token.\n');
    };
    if (why) { forbidden(why); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = await resolveStaticFile(rendererDir, url.pathname);
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found.\n');
      return;
    }
    // The page itself needs the token; the files it loads (which carry no query) do not.
    why = path.extname(file) === '.html' && !url.searchParams.has('token') ? 'missing token' : null;
    if (why) { forbidden(why); return; }
    const stream = createReadStream(file);
    // A file that vanished or cannot be read ends this response, never the server.
    stream.on('error', (err) => {
      log(`Could not read ${url.pathname}: ${err.message}.`);
      if (res.headersSent) res.destroy(); else res.writeHead(404, headers).end();
    });
    stream.once('open', () => {
      res.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
      if (req.method === 'HEAD') { stream.destroy(); res.end(); return; }
      stream.pipe(res);
    });
  }

  // A malformed request or a connection reset: answer 400 where the socket still can, and
  // close that connection; nothing else is affected.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code !== 'ECONNRESET') log(`Closed a connection after a bad request: ${err.message}.`);
    if (socket.writable && !(socket as Socket).destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  wss.on('error', (err) => log(`WebSocket server error: ${err.message}.`));
  server.on('upgrade', (req, socket, head) => {
    // Node hands the raw socket over without its own error handler: a reset before the
    // handshake completes must close this socket, not the server.
    const onSocketError = (err: Error) => { log(`Closed a connection during the WebSocket handshake: ${err.message}.`); socket.destroy(); };
    socket.on('error', onSocketError);
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const why = url.pathname !== WS_PATH ? 'unknown path' : refuse(req, url, true);
    if (why) {
      log(`Refused a WebSocket upgrade: ${why}.`);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // The WebSocket owns the socket's errors from here on.
      socket.off('error', onSocketError);
      serveSocket(ws, options.router, log);
    });
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

function serveSocket(ws: WebSocket, router: CallRouter, log: (line: string) => void): void {
  const send = (message: HostMessage) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message)); };
  const connection = router.connect(send);
  let pending = 0;
  // An invalid UTF-8 frame, a message over MAX_MESSAGE_BYTES, a protocol error or a reset:
  // ws closes this connection (1007, 1009, 1002…); without a listener the error would be
  // thrown and stop the whole server.
  ws.on('error', (err) => log(`Closed a WebSocket connection: ${err.message}.`));
  ws.on('message', (data, isBinary) => {
    let raw: unknown;
    try {
      if (isBinary) throw new Error('binary');
      raw = JSON.parse(data.toString());
    } catch {
      send({ type: 'refused', error: { kind: 'user', message: 'Refused a message that is not JSON text.' } });
      return;
    }
    const parsed = parseClientMessage(raw);
    if (parsed.ok && parsed.message.type === 'invoke' && pending >= MAX_PENDING_CALLS) {
      send({ type: 'failed', id: parsed.message.id, error: { kind: 'user', message: `Refused: ${MAX_PENDING_CALLS} calls are already waiting for their reply on this connection; wait for one to finish.` } });
      return;
    }
    pending++;
    void connection.receive(raw)
      .then((reply) => { if (reply) send(reply); }, (err: unknown) => log(`A call failed unexpectedly: ${err instanceof Error ? err.message : String(err)}.`))
      .finally(() => { pending--; });
  });
  ws.on('close', () => connection.close());
}
