#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed; browser mode otherwise.
//
// The binary is found the way the electron package finds it (node_modules/electron/path.txt,
// written by its installer, naming the executable under dist/), but without calling
// require('electron'): since Electron 45 that downloads the binary on first use, which
// machines without internet access cannot do (README, "The desktop app").
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Electron executable, or null with the reason it is not usable. */
export function findElectron() {
  const require = createRequire(import.meta.url);
  let pkgDir;
  try { pkgDir = path.dirname(require.resolve('electron/package.json')); } catch {
    return { binary: null, reason: 'the electron package is not installed' };
  }
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkgDir, 'dist');
  const pathFile = path.join(pkgDir, 'path.txt');
  if (!process.env.ELECTRON_OVERRIDE_DIST_PATH && !existsSync(pathFile)) {
    return { binary: null, reason: 'its binary was never downloaded (node_modules/electron/path.txt is missing)' };
  }
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : (process.platform === 'win32' ? 'electron.exe' : 'electron');
  const binary = path.join(distDir, name);
  return existsSync(binary) ? { binary, reason: null } : { binary: null, reason: `its binary ${binary} does not exist` };
}

async function main() {
  const args = process.argv.slice(2);
  const { binary, reason } = findElectron();
  if (binary) {
    const child = spawn(binary, [root, ...args], { stdio: 'inherit' });
    child.on('exit', (code, signal) => { process.exitCode = code ?? (signal ? 1 : 0); });
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
    return;
  }
  process.stdout.write(`Electron is not available here (${reason}); starting browser mode instead.\n`);
  await import(pathToFileURL(path.join(root, 'dist', 'serve.js')).href);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
