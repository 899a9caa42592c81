/**
 * The packaging hook that flips Electron's fuses (scripts/fuses.mjs, electron-builder's
 * afterPack). Electron's binary cannot be downloaded here, so the hook runs on a stand-in
 * executable that carries a real fuse wire (@electron/fuses' sentinel, version and states),
 * through electron-builder's own hook loader and its own addElectronFuses, and the wire is
 * read back with @electron/fuses.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const require = createRequire(import.meta.url);
const { FuseV1Options, getCurrentFuseWire } = require('@electron/fuses');
const { PlatformPackager } = require('app-builder-lib');
const { resolveFunction } = require('app-builder-lib/out/util/resolve.js');

// @electron/fuses' constants: the sentinel before the wire, and the states.
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ON = 49; const OFF = 48;

/** An "executable" with a v1 fuse wire of 8 fuses, as Electron's defaults set them. */
function fakeElectron(dir: string, name: string, wire = [ON, OFF, ON, ON, OFF, OFF, OFF, ON]): string {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([Buffer.from('\x7fELF...code...'), Buffer.from(SENTINEL), Buffer.from([1, wire.length, ...wire]), Buffer.from('...more code')]));
  return file;
}

/** electron-builder's afterPack context for one platform, with its real addElectronFuses. */
function context(appOutDir: string, electronPlatformName: string, arch = 1) {
  const packager = { appInfo: { productFilename: 'CLEAR Workbench' }, addElectronFuses: PlatformPackager.prototype.addElectronFuses };
  return { appOutDir, electronPlatformName, arch, packager, outDir: appOutDir, targets: [] };
}

async function loadHook(): Promise<(ctx: unknown, log?: (line: string) => void) => Promise<void>> {
  // As electron-builder loads it from electron-builder.yml.
  const hook = await resolveFunction('afterPack', './scripts/fuses.mjs', 'afterPack', ROOT);
  expect(typeof hook).toBe('function');
  return hook;
}

async function wire(file: string): Promise<Record<number, number>> {
  return getCurrentFuseWire(file);
}

afterEach(() => { vi.unstubAllEnvs(); });

describe('electron-builder.yml', () => {
  it('runs the fuse hook after packing, with the app in an asar archive', () => {
    const yml = readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(yml).toMatch(/^afterPack: \.\/scripts\/fuses\.mjs$/m);
    // OnlyLoadAppFromAsar and the asar integrity check need the archive.
    expect(yml).not.toMatch(/^asar:\s*false/m);
    // One place sets the fuses: electron-builder's own electronFuses would run after the hook.
    expect(yml).not.toMatch(/^electronFuses:/m);
  });
});

describe('the fuse hook', () => {
  it('turns RunAsNode, NODE_OPTIONS, --inspect and file:// privileges off, and cookie encryption, asar integrity and asar-only loading on', async () => {
    vi.stubEnv('CLEAR_TEST_BUILD', '');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-fuses-'));
    const exe = fakeElectron(dir, 'CLEAR Workbench.exe');
    const before = readFileSync(exe);
    const log = vi.fn();
    await (await loadHook())(context(dir, 'win32'), log);
    const fuses = await wire(exe);
    expect(fuses[FuseV1Options.RunAsNode]).toBe(OFF);
    expect(fuses[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(OFF);
    expect(fuses[FuseV1Options.EnableNodeCliInspectArguments]).toBe(OFF);
    expect(fuses[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(OFF);
    expect(fuses[FuseV1Options.EnableCookieEncryption]).toBe(ON);
    expect(fuses[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ON);
    expect(fuses[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ON);
    // The V8 snapshot fuse is left as Electron ships it.
    expect(fuses[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBe(OFF);
    expect(log).not.toHaveBeenCalledWith(expect.stringContaining('tests only'));
    // Only the wire changed: the rest of the executable is byte for byte the same.
    const after = readFileSync(exe);
    const at = before.indexOf(SENTINEL) + SENTINEL.length + 2;
    expect(after.length).toBe(before.length);
    expect(after.subarray(0, at)).toEqual(before.subarray(0, at));
    expect(after.subarray(at + 8)).toEqual(before.subarray(at + 8));
  });

  it('finds the Linux executable by the packager\'s executable name', async () => {
    vi.stubEnv('CLEAR_TEST_BUILD', '');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-fuses-'));
    const exe = fakeElectron(dir, 'clear-workbench');
    const ctx = context(dir, 'linux');
    // electron-builder's Linux packager names the executable itself (not the product name).
    const { LinuxPackager } = require('app-builder-lib');
    const linux = Object.assign(Object.create(LinuxPackager.prototype), { executableName: 'clear-workbench' });
    ctx.packager = linux;
    await (await loadHook())(ctx, () => {});
    expect((await wire(exe))[FuseV1Options.RunAsNode]).toBe(OFF);
  });

  it('keeps only the --inspect fuse on in a test build (CLEAR_TEST_BUILD=1), and says so', async () => {
    vi.stubEnv('CLEAR_TEST_BUILD', '1');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-fuses-'));
    const exe = fakeElectron(dir, 'CLEAR Workbench.exe');
    const log = vi.fn();
    await (await loadHook())(context(dir, 'win32'), log);
    const fuses = await wire(exe);
    expect(fuses[FuseV1Options.EnableNodeCliInspectArguments]).toBe(ON);
    expect(fuses[FuseV1Options.RunAsNode]).toBe(OFF);
    expect(fuses[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(OFF);
    expect(fuses[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ON);
    expect(log).toHaveBeenCalledWith(expect.stringContaining('never release it'));
  });

  it('fails the build when the executable has no fuse wire, instead of shipping it unfused', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-fuses-'));
    writeFileSync(path.join(dir, 'CLEAR Workbench.exe'), 'not electron');
    await expect((await loadHook())(context(dir, 'win32'))).rejects.toThrow(/sentinel/);
  });

  it('asks for the ad-hoc signature to be redone on Apple silicon only', async () => {
    const { fuseConfig } = await import(/* @vite-ignore */ path.join(ROOT, 'scripts', 'fuses.mjs'));
    expect(fuseConfig({ platform: 'darwin', arm64: true }).resetAdHocDarwinSignature).toBe(true);
    expect(fuseConfig({ platform: 'darwin', arm64: false }).resetAdHocDarwinSignature).toBe(false);
    expect(fuseConfig({ platform: 'linux', arm64: true }).resetAdHocDarwinSignature).toBe(false);
  });
});
