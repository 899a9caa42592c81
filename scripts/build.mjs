// Builds the main-process bundles (CLI, engine worker, Electron main, preload, browser-mode
// server) with esbuild, and the Svelte renderer with Vite when it exists.
// tfjs packages stay external: they load wasm files and native addons relative to their
// own folders, which a bundle would break.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const external = [
  '@tensorflow/*', 'electron', 'ws', 'mnist', 'pngjs', 'jpeg-js', 'zod', 'playwright-core',
  // Loads its wasm runtime from its own dist folder.
  'onnxruntime-web',
];
// The one version string (contract/version.ts reads it).
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const common = {
  bundle: true, platform: 'node', target: 'node20', sourcemap: true, external, logLevel: 'warning',
  define: { __APP_VERSION__: JSON.stringify(version) },
};

const esmEntries = {
  'cli': 'src-main/cli/main.ts',
  'worker': 'src-main/worker/main.ts',
};
if (existsSync('src-main/app/main.ts')) esmEntries['app/main'] = 'src-main/app/main.ts';
// Browser mode on its own (bin/start.js uses it where the Electron binary is missing).
if (existsSync('src-main/serve/main.ts')) esmEntries['serve'] = 'src-main/serve/main.ts';

rmSync('dist/main', { recursive: true, force: true });
await build({
  ...common, format: 'esm', entryPoints: esmEntries, outdir: 'dist',
  // ESM bundles lose require(); some dependencies still call it.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
// A sandboxed preload must be CommonJS, and it can require only `electron` and a few
// built-ins (Electron docs, "Sandboxed preload scripts"), so everything else it uses (zod,
// the contract) is bundled in.
if (existsSync('src-main/preload/preload.ts')) {
  await build({ ...common, external: ['electron'], platform: 'browser', format: 'cjs', entryPoints: { 'preload': 'src-main/preload/preload.ts' }, outdir: 'dist', outExtension: { '.js': '.cjs' } });
}
if (existsSync('src-renderer/index.html')) {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ configFile: 'vite.config.mjs', logLevel: 'warn' });
}
