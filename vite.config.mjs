// The Svelte renderer: one page, built into dist/renderer, loaded by Electron from
// app://renderer/ and by browser mode over HTTP. Relative asset URLs (base './') work for both.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.join(here, 'src-renderer'),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: path.join(here, 'dist', 'renderer'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // No data: URLs for assets: the CSP allows data: for images only (sample thumbnails).
    assetsInlineLimit: 0,
    // Chart.js and zod make one chunk larger than Vite's default warning limit; it is a local app.
    chunkSizeWarningLimit: 1500,
  },
});
