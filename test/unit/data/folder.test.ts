import { promises as fs } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/engine/data/index.js';
import { tempDir } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

/** A w×h PNG whose pixel p has gray value (seed + p) mod 256, stored grayscale or RGBA. */
function pngBytes(w: number, h: number, seed: number, colour = false): Buffer {
  const png = new pngjs.PNG({ width: w, height: h });
  for (let p = 0; p < w * h; p++) {
    const v = (seed + p) & 0xff;
    png.data[p * 4] = v;
    png.data[p * 4 + 1] = colour ? 255 - v : v;
    png.data[p * 4 + 2] = v;
    png.data[p * 4 + 3] = colour ? 128 : 255; // alpha must be dropped, not applied
  }
  return pngjs.PNG.sync.write(png, { colorType: colour ? 6 : 0 });
}

async function writeImage(dir: string, className: string, file: string, bytes: Buffer): Promise<void> {
  await fs.mkdir(path.join(dir, className), { recursive: true });
  await fs.writeFile(path.join(dir, className, file), bytes);
}

describe('loadDataset("folder:…")', () => {
  it('reads one class per sub-folder, grayscale PNGs as one channel, and splits 80/20', async () => {
    const dir = await tempDir();
    const classSeed: Record<string, number> = { cat: 0, ant: 10, bee: 20 };
    for (const [cls, seed] of Object.entries(classSeed)) {
      for (let i = 0; i < 5; i++) await writeImage(dir, cls, `${i}.png`, pngBytes(3, 2, seed + i));
    }
    await fs.writeFile(path.join(dir, 'README.txt'), 'not an image');
    await fs.writeFile(path.join(dir, 'ant', 'notes.txt'), 'ignored');
    const ds = await loadDataset(`folder:${dir}`);
    expect(ds.classNames).toEqual(['ant', 'bee', 'cat']);
    expect(ds.shape).toEqual([2, 3, 1]);
    expect(ds.train.count + ds.test.count).toBe(15);
    expect(ds.test.count).toBe(3);
    expect(ds.name).toBe(path.basename(dir));
    // Every loaded image must be one written for its class: pixel p = (classSeed + i + p) / 255.
    for (const split of [ds.train, ds.test]) {
      for (let n = 0; n < split.count; n++) {
        const first = Math.round(pixelsInMemory(split.images)[n * 6] * 255);
        const i = first - classSeed[ds.classNames[split.labels[n]]];
        expect(i >= 0 && i < 5).toBe(true);
        expect(pixelsInMemory(split.images)[n * 6 + 5]).toBe(Math.fround((first + 5) / 255));
      }
    }
  });

  it('uses train/ and test/ sub-folders as the splits, and 3 channels when an image is in colour', async () => {
    const dir = await tempDir();
    await writeImage(path.join(dir, 'train'), 'a', 'x.png', pngBytes(2, 2, 10, true));
    await writeImage(path.join(dir, 'train'), 'a', 'y.png', pngBytes(2, 2, 20));
    await writeImage(path.join(dir, 'train'), 'b', 'z.png', pngBytes(2, 2, 30));
    const rgba = Buffer.alloc(2 * 2 * 4, 200);
    await writeImage(path.join(dir, 'test'), 'b', 'w.jpg', jpeg.encode({ width: 2, height: 2, data: rgba }, 100).data);
    const ds = await loadDataset(`folder:${dir}`);
    expect(ds.classNames).toEqual(['a', 'b']);
    expect(ds.shape).toEqual([2, 2, 3]);
    expect(ds.train.count).toBe(3);
    expect(ds.test.count).toBe(1);
    expect(Array.from(ds.train.labels)).toEqual([0, 0, 1]);
    // x.png, pixel 0: R = 10, G = 245, B = 10, alpha ignored.
    expect(Array.from(ds.train.images.subarray(0, 3), (v) => Math.round(v * 255))).toEqual([10, 245, 10]);
    // y.png is grayscale: its value is repeated over the three channels.
    expect(Array.from(ds.train.images.subarray(12, 15), (v) => Math.round(v * 255))).toEqual([20, 20, 20]);
    // The JPEG is near-uniform 200 gray (lossy, so only close).
    expect(Math.abs(pixelsInMemory(ds.test.images)[0] * 255 - 200)).toBeLessThan(4);
  });
});
