/**
 * Browser mode's server: 127.0.0.1 only, a token on every request and on the WebSocket
 * upgrade, an Origin check; with the token the page loads and a job makes the round trip.
 * The engine is a stand-in here (the e2e test drives the real one).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CallRouter, type AppHandlers, type JobRunner } from '../../../src-main/host/router.js';
import { startServer, type RunningServer } from '../../../src-main/serve/server.js';

let server: RunningServer;
let base: string;
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
  const app = { 'app.info': async () => ({ mode: 'browser' }) } as unknown as AppHandlers;
  server = await startServer({ rendererDir: dir, router: new CallRouter(runner as unknown as JobRunner, app), port: 0 });
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

  it('refuses requests without the token or with a wrong one (HTTP 403)', async () => {
    for (const url of [`${base}/`, `${base}/index.html`, `${base}/assets/app.js`, `${base}/?token=`, `${base}/?token=wrong`,
      `${base}/?token=${server.token}x`, `${base}/?token=${server.token.slice(1)}`]) {
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

  it('serves the page with the token, and its assets with the cookie the page set', async () => {
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('CLEAR Workbench</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    expect(page.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    const asset = await get(`${base}/assets/app.js`, { Cookie: cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect((await get(`${base}/assets/app.js`, { Cookie: `${cookie.split('=')[0]}=wrong` })).status).toBe(403);
  });

  it('never serves files outside the renderer folder', async () => {
    for (const p of ['/../clear-serve-secret.txt', '/%2e%2e/clear-serve-secret.txt', '/assets/%2e%2e/%2e%2e/clear-serve-secret.txt', '/%E0%A4%A']) {
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
});
