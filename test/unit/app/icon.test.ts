// The app icon: assets/icon.svg rendered (scripts/render-icon.mjs) to the PNGs electron-builder
// and the window use, each the size its name says, transparent outside the rounded square and
// opaque inside; electron-builder.yml names them and packages the set the window reads.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const read = (f: string) => PNG.sync.read(readFileSync(path.join(ROOT, f)));
const alpha = (png: PNG, x: number, y: number) => png.data[(y * png.width + x) * 4 + 3];

describe('app icon', () => {
  it('has every Linux size and the 1,024 px icon, each square, clear at the corner and solid at the centre', () => {
    const names = readdirSync(path.join(ROOT, 'assets', 'icons')).filter((f) => f.endsWith('.png')).sort((a, b) => parseInt(a) - parseInt(b));
    expect(names).toEqual(['16x16.png', '24x24.png', '32x32.png', '48x48.png', '64x64.png', '128x128.png', '256x256.png', '512x512.png']);
    for (const f of [...names.map((n) => `assets/icons/${n}`), 'assets/icon.png']) {
      const png = read(f);
      const size = f === 'assets/icon.png' ? 1024 : parseInt(path.basename(f));
      expect([png.width, png.height], f).toEqual([size, size]);
      expect(alpha(png, 0, 0), f).toBe(0);
      expect(alpha(png, size >> 1, size >> 1), f).toBe(255);
    }
    // The rendered pictures are the same drawing at every size: the background near the bottom edge is blue.
    const big = read('assets/icons/512x512.png');
    const px = (x: number, y: number) => [...big.data.subarray((y * 512 + x) * 4, (y * 512 + x) * 4 + 3)];
    const [r, g, b] = px(256, 470);
    expect(b).toBeGreaterThan(r + 60);
    expect(g).toBeLessThan(b);
  });

  it('is named in electron-builder.yml and packaged for the window', () => {
    const yml = readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(yml).toMatch(/^icon: assets\/icon\.png$/m);
    expect(yml).toMatch(/^ {2}- assets\/icons\/\*\.png$/m);
    expect(yml).toMatch(/^linux:\n(?: {2}.*\n)* {2}icon: assets\/icons$/m);
  });
});
