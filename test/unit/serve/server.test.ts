/**
 * Browser mode's server: 127.0.0.1 only, a token on the page and on the WebSocket upgrade
 * (never in a cookie), an Origin check; with the token the page loads and a job makes the
 * round trip. No client can stop it: a bad frame, a message over the size limit, a malformed
 * HTTP request or a flood of calls closes or refuses that client only, and the server still
 * answers. The engine is a stand-in here (the e2e test drives the real one).
 */
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CallRouter, type AppHandlers, type JobRunner } from '../../../src-main/host/router.js';
import { MAX_MESSAGE_BYTES, MAX_PENDING_CALLS, startServer, type RunningServer } from '../../../src-main/serve/server.js';

let server: RunningServer;
let base: string;
let rendererDir: string;
const logged: string[] = [];
const runner = {
  run: vi.fn(async (_job: string, args: unknown, o: { onProgress: (e: { stage: string; fraction: number }) => void }) => {
    o.onProgress({ stage: 'info', fraction: 1 });
    return { echoed: args };
  }),
  cancel: vi.fn(),
};

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-serve-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>CLEAR Workbench</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(os.tmpdir(), 'clear-serve-secret.txt'), 'secret');
  symlinkSync(path.join(os.tmpdir(), 'clear-serve-secret.txt'), path.join(dir, 'assets', 'escape.js'));
  rendererDir = dir;
  const app = { 'app.info': async () => ({ mode: 'browser' }) } as unknown as AppHandlers;
  server = await startServer({ rendererDir: dir, router: new CallRouter(runner as unknown as JobRunner, app), port: 0, log: (l) => logged.push(l) });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/** Opens a WebSocket; resolves with the socket, or with the HTTP status that refused the upgrade. */
function upgrade(url: string, origin?: string): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { headers: { Origin: origin } } : {});
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => { resolve({ status: res.statusCode }); ws.terminate(); });
    ws.on('error', () => resolve({ status: -1 }));
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only, and prints a URL with the token', async () => {
    expect(server.url).toBe(`${base}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      const reachable = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: external.address, port: server.port });
        s.on('connect', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      expect(reachable, `port ${server.port} must not be reachable on ${external.address}`).toBe(false);
    }
  });

  it('refuses the page without the token, and any request with a wrong one (HTTP 403)', async () => {
    for (const url of [`${base}/`, `${base}/index.html`, `${base}//index.html`, `${base}/./index.html`, `${base}/?token=`, `${base}/?token=wrong`,
      `${base}/?token=${server.token}x`, `${base}/?token=${server.token.slice(1)}`, `${base}/assets/app.js?token=wrong`]) {
      const res = await get(url);
      expect(res.status, url).toBe(403);
      expect(res.body).not.toContain('CLEAR Workbench</title>');
    }
  });

  it('refuses requests from another origin or for another host, even with the token', async () => {
    expect((await get(server.url, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(server.url, { Origin: `http://127.0.0.1:${server.port + 1}` })).status).toBe(403);
    expect((await get(server.url, { Host: `evil.example:${server.port}` })).status).toBe(403);
  });

  it('serves the page with the token and its public assets without, and sets no cookie', async () => {
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('CLEAR Workbench</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    // Cookies are not scoped by port: a token cookie would reach every server on 127.0.0.1.
    expect(page.headers['set-cookie']).toBeUndefined();
    const asset = await get(`${base}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['set-cookie']).toBeUndefined();
    // A cookie is no way in.
    expect((await get(`${base}/`, { Cookie: `clear_token_${server.port}=${server.token}; token=${server.token}` })).status).toBe(403);
  });

  it('never serves files outside the renderer folder', async () => {
    for (const p of ['/../clear-serve-secret.txt', '/%2e%2e/clear-serve-secret.txt', '/assets/%2e%2e/%2e%2e/clear-serve-secret.txt', '/%E0%A4%A',
      '/assets/escape.js', '/assets', '/index.html%00.js']) {
      const res = await get(`${base}${p}?token=${server.token}`);
      expect(res.status, p).toBe(404);
    }
  });

  it('refuses WebSocket upgrades without the token, with a wrong token, or from another origin', async () => {
    const ws = `ws://127.0.0.1:${server.port}/ws`;
    expect(await upgrade(ws, base)).toEqual({ status: 403 });
    expect(await upgrade(`${ws}?token=wrong`, base)).toEqual({ status: 403 });
    expect(await upgrade(`${ws}?token=${server.token}`, 'http://evil.example')).toEqual({ status: 403 });
    expect(await upgrade(`${ws}?token=${server.token}`)).toEqual({ status: 403 });
    expect(await upgrade(`ws://127.0.0.1:${server.port}/other?token=${server.token}`, base)).toEqual({ status: 403 });
  });

  it('carries a job over the WebSocket with the token: progress, then the result', async () => {
    const { ws } = await upgrade(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, base);
    expect(ws).toBeDefined();
    const messages: unknown[] = [];
    const done = new Promise<void>((resolve) => ws!.on('message', (data) => {
      const m = JSON.parse(String(data));
      messages.push(m);
      if (m.type === 'done' || m.type === 'failed' || m.type === 'refused') resolve();
    }));
    ws!.send(JSON.stringify({ type: 'invoke', id: 'j1', call: 'info', args: { model: '/m' } }));
    await done;
    expect(messages).toEqual([
      { type: 'progress', id: 'j1', event: { stage: 'info', fraction: 1 } },
      { type: 'done', id: 'j1', value: { echoed: { model: '/m' } } },
    ]);
    const refused = new Promise((resolve) => ws!.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws!.send('not json');
    expect(await refused).toMatchObject({ type: 'refused', error: { kind: 'user' } });
    ws!.close();
  });

  it('survives an invalid UTF-8 frame: that connection closes (1007), the server still answers', async () => {
    const { ws } = await upgrade(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, base);
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
    ws!.on('error', () => {});
    // A text frame whose bytes are not UTF-8.
    ws!.send(Buffer.from([0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0x7d]), { binary: false });
    expect(await closed).toBe(1007);
    await expectStillAnswering();
    expect(logged.some((l) => /Closed a WebSocket connection: .*UTF-8/i.test(l))).toBe(true);
  });

  it('survives a message over the size limit (17 MB): that connection closes (1009), the server still answers', async () => {
    expect(MAX_MESSAGE_BYTES).toBe(16 * 1024 * 1024);
    const { ws } = await upgrade(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, base);
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
    ws!.on('error', () => {});
    ws!.send(JSON.stringify({ type: 'invoke', id: 'big', call: 'info', args: { model: 'x'.repeat(17 * 1024 * 1024) } }));
    expect(await closed).toBe(1009);
    await expectStillAnswering();
    expect(logged.some((l) => /Closed a WebSocket connection: .*payload/i.test(l))).toBe(true);
  });

  it('survives malformed HTTP and a connection reset during the handshake', async () => {
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: server.port });
      let text = '';
      s.on('data', (d) => { text += d; });
      s.on('close', () => resolve(text));
      s.on('error', () => resolve(text));
      s.write('NOT HTTP AT ALL\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: server.port }, () => {
          s.write(`GET /ws?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: ${base}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
            + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
          // A reset (RST), not a clean close.
          setTimeout(() => { s.resetAndDestroy(); resolve(); }, i);
        });
        s.on('error', () => resolve());
      });
    }
    await expectStillAnswering();
  });

  it(`refuses calls beyond ${MAX_PENDING_CALLS} waiting on one connection, lets cancels through, and takes calls again once replies go out`, async () => {
    const release: (() => void)[] = [];
    const slow = {
      run: vi.fn(() => new Promise((resolve) => { release.push(() => resolve('ok')); })),
      cancel: vi.fn(),
    };
    const app = { 'app.info': async () => ({ mode: 'browser' }) } as unknown as AppHandlers;
    const busy = await startServer({ rendererDir, router: new CallRouter(slow as unknown as JobRunner, app), port: 0 });
    try {
      const origin = `http://127.0.0.1:${busy.port}`;
      const { ws } = await upgrade(`ws://127.0.0.1:${busy.port}/ws?token=${busy.token}`, origin);
      const replies: { type: string; id?: string; error?: { message: string } }[] = [];
      ws!.on('message', (d) => replies.push(JSON.parse(String(d))));
      for (let i = 0; i < MAX_PENDING_CALLS + 5; i++) ws!.send(JSON.stringify({ type: 'invoke', id: `c${i}`, call: 'info', args: { model: '/m' } }));
      await vi.waitFor(() => expect(replies).toHaveLength(5));
      expect(replies.map((r) => r.id)).toEqual(['c32', 'c33', 'c34', 'c35', 'c36']);
      for (const r of replies) expect(r).toMatchObject({ type: 'failed', error: { kind: 'user', message: expect.stringMatching(/32 calls are already waiting/) } });
      expect(slow.run).toHaveBeenCalledTimes(MAX_PENDING_CALLS);
      ws!.send(JSON.stringify({ type: 'cancel', id: 'c0' }));
      await vi.waitFor(() => expect(slow.cancel).toHaveBeenCalledOnce());
      for (const r of release.splice(0)) r();
      await vi.waitFor(() => expect(replies.filter((r) => r.type === 'done')).toHaveLength(MAX_PENDING_CALLS));
      ws!.send(JSON.stringify({ type: 'invoke', id: 'again', call: 'info', args: { model: '/m' } }));
      await vi.waitFor(() => expect(slow.run).toHaveBeenCalledTimes(MAX_PENDING_CALLS + 1));
      release.splice(0).forEach((r) => r());
      await vi.waitFor(() => expect(replies.at(-1)).toMatchObject({ type: 'done', id: 'again' }));
      ws!.close();
    } finally {
      await busy.close();
    }
  });
});

/** A fresh connection makes a round trip and the page still loads. */
async function expectStillAnswering(): Promise<void> {
  const { ws } = await upgrade(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, base);
  expect(ws, 'a new WebSocket connection opens').toBeDefined();
  const reply = new Promise((resolve) => ws!.on('message', (d) => { const m = JSON.parse(String(d)); if (m.type === 'done') resolve(m); }));
  ws!.send(JSON.stringify({ type: 'invoke', id: 'alive', call: 'app.info', args: {} }));
  expect(await reply).toEqual({ type: 'done', id: 'alive', value: { mode: 'browser' } });
  ws!.close();
  expect((await get(server.url)).status).toBe(200);
}
