/**
 * The desktop app itself: Electron opens its one window on the Load step, with the page
 * sandboxed (no Node, only the contract bridge). Runs under Xvfb where the Electron binary
 * is installed; elsewhere it is reported as skipped, with the reason.
 *
 * The binary is looked up the way bin/start.js does (node_modules/electron/path.txt), never
 * through require('electron'), which would try to download it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const XVFB = ['/usr/bin/Xvfb', '/usr/local/bin/Xvfb'].find((p) => existsSync(p));

function electronBinary(): { binary: string | null; reason: string } {
  let pkgDir: string;
  try { pkgDir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json')); } catch {
    return { binary: null, reason: 'the electron package is not installed' };
  }
  const pathFile = path.join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return { binary: null, reason: 'its binary was never downloaded (node_modules/electron/path.txt is missing)' };
  const binary = path.join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? { binary, reason: '' } : { binary: null, reason: `${binary} does not exist` };
}

const { binary, reason } = electronBinary();
const skip = !binary ? `the Electron binary is not installed here: ${reason}`
  : !existsSync(path.join(ROOT, 'dist', 'app', 'main.js')) ? 'the app is not built (run npm run build first)'
    : !process.env.DISPLAY && !XVFB ? 'there is no display and no Xvfb (apt-get install -y xvfb)'
      : null;
if (skip) console.warn(`Skipping the Electron smoke test: ${skip}.`);

describe('Electron desktop app', () => {
  let xvfb: ChildProcess | undefined;
  afterAll(() => { xvfb?.kill(); });

  it.skipIf(Boolean(skip))(`opens its window on the Load step, sandboxed${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    let display = process.env.DISPLAY;
    if (!display) {
      display = ':97';
      xvfb = spawn(XVFB!, [display, '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const home = mkdtempSync(path.join(os.tmpdir(), 'clear-electron-'));
    const app = await electron.launch({
      executablePath: binary!,
      args: [ROOT, `--user-data-dir=${path.join(home, 'user-data')}`, '--no-sandbox'],
      env: { ...process.env, DISPLAY: display, CLEAR_CONFIG_DIR: path.join(home, 'config') },
    });
    try {
      const window = await app.firstWindow();
      await expect.poll(() => window.locator('main').getAttribute('data-step'), { timeout: 60_000 }).toBe('load');
      expect(window.url()).toBe('app://renderer/index.html');
      // The page has no Node and sees the contract bridge, nothing else.
      expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await window.evaluate(() => Object.keys((globalThis as unknown as { clear: object }).clear).sort())).toEqual(['cancel', 'invoke', 'onMenu', 'onProgress']);
      await expect.poll(() => window.getByTestId('backend').innerText(), { timeout: 60_000 }).toMatch(/Backend: /);
      mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
      await window.screenshot({ path: path.join(ROOT, 'test-artifacts', 'electron-load.png') });
    } finally {
      await app.close();
    }
  }, 180_000);
});
