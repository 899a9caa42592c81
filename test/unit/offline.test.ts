/**
 * The app works offline and never reaches the network on its own: in the sources of every
 * process (src-main/, src-renderer/), the only module that touches a network API is the
 * browser-mode server (src-main/serve/server.ts, which listens on 127.0.0.1 only:
 * test/unit/serve/server.test.ts), and the only connection the renderer opens is the
 * WebSocket back to the page's own host in lib/api.ts. A new import of http, https, net, tls,
 * dns, a fetch or an XMLHttpRequest anywhere else fails this test until it is reviewed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (name === 'node_modules' || name === 'public') continue;
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|svelte|js|mjs|html)$/.test(name)) out.push(rel.split(path.sep).join('/'));
  }
  return out;
}

const NETWORK_MODULE = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](?:node:)?(?:http|https|http2|net|tls|dns|dgram|ws|undici)['"]/;
const NETWORK_CALL = /\bfetch\s*\(|\bXMLHttpRequest\b|\bEventSource\b|\bsendBeacon\b|\bnew\s+WebSocket\s*\(|\bopenExternal\b/;

describe('offline', () => {
  const files = [...sources('src-main'), ...sources('src-renderer')];

  it('finds the sources it checks', () => {
    expect(files).toContain('src-main/engine/jobs/index.ts');
    expect(files).toContain('src-renderer/lib/api.ts');
    expect(files.length).toBeGreaterThan(100);
  });

  it('only the browser-mode server imports a network module', () => {
    const importers = files.filter((f) => NETWORK_MODULE.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(importers).toEqual(['src-main/serve/server.ts']);
  });

  it('only the renderer\'s client opens a connection, a WebSocket to the page\'s own host', () => {
    const callers = files.filter((f) => NETWORK_CALL.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(callers).toEqual(['src-renderer/lib/api.ts']);
    const api = readFileSync(path.join(ROOT, 'src-renderer/lib/api.ts'), 'utf8');
    const sockets = [...api.matchAll(/new\s+WebSocket\s*\(([^;]*)\);/g)].map((m) => m[1]);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]).toContain('${location.host}/ws?token=');
  });

  it('the server binds the loopback address and nothing else', () => {
    const server = readFileSync(path.join(ROOT, 'src-main/serve/server.ts'), 'utf8');
    expect(server).toMatch(/export const HOST = '127\.0\.0\.1';/);
    expect([...server.matchAll(/\.listen\(([^)]*)\)/g)].map((m) => m[1].split(',')[1]?.trim())).toEqual(['HOST']);
  });
});
