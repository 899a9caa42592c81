/** Where the built pieces sit relative to this bundle (dist/app/main.js). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const appPaths = {
  worker: path.join(distDir, 'worker.js'),
  preload: path.join(distDir, 'preload.cjs'),
  renderer: path.join(distDir, 'renderer'),
  /** The window's icon (assets/icons, rendered from assets/icon.svg by scripts/render-icon.mjs; packaged beside dist/). */
  icon: path.join(distDir, '..', 'assets', 'icons', '512x512.png'),
};

/** `--project DIR` or `--project=DIR` on the command line: open that project at start. */
export function startupProjectArg(argv: readonly string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--project' || a.startsWith('--project='));
  if (i < 0) return undefined;
  const value = argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
  return value ? path.resolve(value) : undefined;
}
