// electron-builder afterPack hook (electron-builder.yml): flips Electron's fuses in the packaged
// executable, before electron-builder signs it, so that signature then protects them.
//
//   RunAsNode                              off  ELECTRON_RUN_AS_NODE cannot turn the app into Node
//   EnableNodeOptionsEnvironmentVariable   off  NODE_OPTIONS cannot inject code into the app
//   EnableNodeCliInspectArguments          off  --inspect cannot attach a debugger to the main process
//   EnableCookieEncryption                 on   cookies on disk are encrypted with an OS-held key
//   EnableEmbeddedAsarIntegrityValidation  on   app.asar is checked against the hash in the binary
//   OnlyLoadAppFromAsar                    on   the app is loaded from app.asar only, never a folder
//   GrantFileProtocolExtraPrivileges       off  the page is served from app://, file:// needs nothing
//
// The engine worker is an Electron utility process (src-main/app/engine-process.ts), so the app
// itself needs none of the Node switches.
//
// Test builds: Playwright's _electron.launch passes --inspect=0 to the executable and drives
// the main process through that inspector, so a package meant for Playwright must keep
// EnableNodeCliInspectArguments on. Build it with CLEAR_TEST_BUILD=1 (npm run dist); the hook
// says so loudly, and such a package must never be released. Every other fuse is the same.
// (The smoke test in test/electron runs the unpackaged Electron from node_modules, whose
// fuses are untouched, and needs no special build.)
import fuses from '@electron/fuses';

const { FuseV1Options, FuseVersion } = fuses;

/** True when the package is built for Playwright tests (CLEAR_TEST_BUILD=1). */
export function isTestBuild(env = process.env) {
  return env.CLEAR_TEST_BUILD === '1';
}

/** The fuse settings for one packaged executable. */
export function fuseConfig({ platform, arm64 = false, testBuild = false }) {
  return {
    version: FuseVersion.V1,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: testBuild,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    // Flipping a fuse breaks the ad-hoc signature macOS requires of arm64 executables; sign
    // again ad hoc (a real identity, where configured, signs after this hook).
    resetAdHocDarwinSignature: (platform === 'darwin' || platform === 'mas') && arm64,
  };
}

/**
 * The hook. electron-builder's packager knows where the executable is for each platform
 * (the .app bundle, the .exe, the Linux executable name) and flips the fuses with the
 * @electron/fuses it was given.
 */
export async function afterPack(context, log = (line) => console.log(line)) {
  const testBuild = isTestBuild();
  // builder-util's Arch enum: arm64 is 3, universal (which holds an arm64 slice) 4.
  const config = fuseConfig({ platform: context.electronPlatformName, arm64: context.arch === 3 || context.arch === 4, testBuild });
  if (testBuild) {
    log('  • CLEAR_TEST_BUILD=1: the Node inspector fuse stays ON for Playwright. This package is for tests only; never release it.');
  }
  const flipped = await context.packager.addElectronFuses(context, config);
  if (!flipped) throw new Error(`The fuses were not flipped in ${context.appOutDir}.`);
  log(`  • fuses set in ${context.appOutDir}: RunAsNode, NODE_OPTIONS${testBuild ? '' : ', --inspect'} and file:// privileges off; cookie encryption, asar integrity and asar-only loading on`);
}

export default afterPack;
