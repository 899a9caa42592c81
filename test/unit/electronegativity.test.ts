/**
 * scripts/electronegativity.mjs, the CI gate around Electronegativity: the real tool scans a
 * tiny Electron main file written here (nodeIntegration on), and the gate must fail on what
 * its allow-list does not name, pass once every finding is allowed, and refuse allowances
 * that match nothing or have no reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts', 'electronegativity.mjs');

let dir: string;
let app: string;
/** The gate's run with an empty allow-list, shared by the tests that build allow-lists from it. */
let bare: ReturnType<typeof gate>;

function gate(allow: unknown) {
  const allowFile = path.join(dir, `allow-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(allowFile, JSON.stringify(allow));
  const r = spawnSync(process.execPath, [SCRIPT, '--input', app, '--allow', allowFile], { encoding: 'utf8', timeout: 60_000 });
  const summary = /electronegativity: (\d+) findings, (\d+) allowed, (\d+) new/.exec(r.stdout);
  const fresh = [...r.stdout.matchAll(/^ {2}new: (\S+) at (\S+?):\d+:\d+ /gm)].map((m) => ({ id: m[1], file: m[2] }));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, summary: summary?.slice(1).map(Number), fresh };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-eneg-test-'));
  app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'main.js'), [
    "const { app, BrowserWindow } = require('electron');",
    'app.whenReady().then(() => {',
    '  const win = new BrowserWindow({ webPreferences: { nodeIntegration: true } });',
    "  win.loadFile('index.html');",
    '});',
    '',
  ].join('\n'));
  bare = gate([]);
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('scripts/electronegativity.mjs', () => {
  it('fails on nodeIntegration: true when the allow-list is empty, and names it', () => {
    const r = bare;
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.fresh).toContainEqual({ id: 'NODE_INTEGRATION_JS_CHECK', file: 'main.js' });
    const [findings, allowed, fresh] = r.summary!;
    expect(allowed).toBe(0);
    expect(fresh).toBe(findings);
    expect(r.fresh).toHaveLength(findings);
  });

  it('still fails on nodeIntegration when every other finding is allowed', () => {
    const allFindings = bare.fresh;
    const others = allFindings.filter((f) => f.id !== 'NODE_INTEGRATION_JS_CHECK');
    const r = gate(others.map((f) => ({ ...f, reason: 'Allowed for this test.' })));
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.fresh).toEqual([{ id: 'NODE_INTEGRATION_JS_CHECK', file: 'main.js' }]);
    expect(r.summary).toEqual([allFindings.length, others.length, 1]);
  });

  it('passes once every finding is allowed, and fails again on an allowance that matches nothing', () => {
    const allFindings = bare.fresh;
    expect(allFindings.length).toBeGreaterThan(0);
    const all = allFindings.map((f) => ({ ...f, reason: 'Allowed for this test.' }));
    const ok = gate(all);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.summary).toEqual([allFindings.length, allFindings.length, 0]);

    const stale = gate([...all, { id: 'REMOTE_MODULE_JS_CHECK', file: 'main.js', reason: 'Nothing uses it.' }]);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/stale allowance: REMOTE_MODULE_JS_CHECK in main\.js/);
  });

  it('refuses an allow-list entry without a reason', () => {
    const r = gate([{ id: 'NODE_INTEGRATION_JS_CHECK', file: 'main.js', reason: ' ' }]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/entry 0 .* reason/);
  });
});
