/**
 * Shared by the integration tests that run the engine as a separate process: a bundle of an
 * entry built from the sources under test (not dist/, which may be older) into the ignored
 * test-artifacts folder with the options scripts/build.mjs uses, and a digest of a folder's
 * files to check that a job left its inputs as they were.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import path from 'node:path';

/** Bundles `entry` (a .ts file) into test-artifacts/NAME/NAME.js and returns that path. */
export async function buildBundle(name: string, entry: string): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = path.resolve('test-artifacts', name);
  const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
  await build({
    bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning',
    external: ['@tensorflow/*', 'electron', 'ws', 'mnist', 'pngjs', 'jpeg-js', 'zod', 'playwright-core'],
    define: { __APP_VERSION__: JSON.stringify(version) },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    entryPoints: { [name]: entry }, outdir,
  });
  return path.join(outdir, `${name}.js`);
}

/** The engine worker built from the sources under test, as test-artifacts/NAME/NAME.js. */
export function buildWorker(name: string): Promise<string> {
  return buildBundle(name, 'src-main/worker/main.ts');
}

/** Every entry under `dir` (relative path → sha256 of a file's bytes, or its kind), sorted. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const stat = lstatSync(path.join(dir, r));
      if (stat.isDirectory()) { out[`${r}/`] = 'folder'; walk(r); }
      else if (stat.isFile()) out[r] = createHash('sha256').update(readFileSync(path.join(dir, r))).digest('hex');
      else out[r] = 'other';
    }
  };
  walk('');
  return out;
}
