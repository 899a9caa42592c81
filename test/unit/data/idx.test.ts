import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeIdx, encodeIdx, loadDataset } from '../../../src-main/engine/data/index.js';
import { bytePattern, expectUserError, sameArray, tempDir, writeIdxPair } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

const H = 4;
const W = 3;

function labelsFor(count: number, classes: number): number[] {
  return Array.from({ length: count }, (_, i) => i % classes);
}

describe('IDX encoding', () => {
  it('round-trips u8, int32 and float32 arrays', () => {
    const f32 = Float32Array.from([0, 0.25, 0.123456, 1, 0.5, 0.75]);
    const decoded = decodeIdx(encodeIdx('f32', [2, 1, 3], f32), 'x', 'images');
    expect(decoded.type).toBe('f32');
    expect(decoded.dims).toEqual([2, 1, 3]);
    expect(Array.from(decoded.data)).toEqual(Array.from(f32));
    const i32 = decodeIdx(encodeIdx('i32', [3], [0, 300, 70000]), 'y', 'labels');
    expect(Array.from(i32.data)).toEqual([0, 300, 70000]);
    const bytes = encodeIdx('u8', [2], [7, 9]);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 0, 8, 1]); // magic 0x00000801
  });
});

describe('loadDataset("idx:…")', () => {
  for (const gzip of [false, true]) {
    it(`loads train and test files${gzip ? ' (gzipped)' : ''} with their values intact`, async () => {
      const dir = await tempDir();
      const trainPixels = bytePattern(12 * H * W, 1);
      const testPixels = bytePattern(5 * H * W, 2);
      const train = await writeIdxPair(dir, 'train', trainPixels, [12, H, W], labelsFor(12, 3), gzip);
      const test = await writeIdxPair(dir, 'test', testPixels, [5, H, W], labelsFor(5, 3), gzip);
      const ds = await loadDataset(`idx:${train.images},${train.labels},${test.images},${test.labels}`);
      expect(ds.shape).toEqual([H, W, 1]);
      expect(ds.classNames).toEqual(['0', '1', '2']);
      expect(ds.name).toBe(path.basename(train.images));
      expect(ds.train.count).toBe(12);
      expect(ds.test.count).toBe(5);
      expect(Array.from(ds.train.labels)).toEqual(labelsFor(12, 3));
      expect(sameArray(pixelsInMemory(ds.train.images), Float32Array.from(trainPixels, (b) => b / 255))).toBe(true);
      expect(sameArray(pixelsInMemory(ds.test.images), Float32Array.from(testPixels, (b) => b / 255))).toBe(true);
    });
  }

  it('gives the same fingerprint for gzipped and plain copies of the same data', async () => {
    const dir = await tempDir();
    const pixels = bytePattern(10 * H * W);
    const plain = await writeIdxPair(dir, 'plain', pixels, [10, H, W], labelsFor(10, 2));
    const gz = await writeIdxPair(dir, 'gz', pixels, [10, H, W], labelsFor(10, 2), true);
    const a = await loadDataset(`idx:${plain.images},${plain.labels}`);
    const b = await loadDataset(`idx:${gz.images},${gz.labels}`);
    expect(a.fingerprint).toBe(b.fingerprint);
  });

  it('splits 80/20 by class when there are no test files, the same way every time', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'all', bytePattern(50 * H * W), [50, H, W], labelsFor(50, 5));
    const spec = `idx:${files.images},${files.labels}`;
    const a = await loadDataset(spec);
    const b = await loadDataset(spec);
    expect(a.train.count).toBe(40);
    expect(a.test.count).toBe(10);
    expect(a.fingerprint).toBe(b.fingerprint);
    const testCounts = new Array(5).fill(0);
    for (const l of a.test.labels) testCounts[l]++;
    expect(testCounts).toEqual([2, 2, 2, 2, 2]);
  });

  it('refuses labels that skip a class instead of numbering classes 0..max label', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'gap', bytePattern(10 * H * W), [10, H, W], [0, 3, 0, 3, 0, 3, 0, 3, 0, 3]);
    await expectUserError(loadDataset(`idx:${files.images},${files.labels}`), 'gap-labels', 'label 3 at item 1', 'no sample has label 1');
  });

  it('reads 4-dimensional (colour) and float32 image files', async () => {
    const dir = await tempDir();
    const pixels = Float32Array.from({ length: 6 * 2 * 2 * 3 }, (_, i) => (i % 7) / 7);
    const images = path.join(dir, 'images.idx');
    const labels = path.join(dir, 'labels.idx');
    await fs.writeFile(images, encodeIdx('f32', [6, 2, 2, 3], pixels));
    await fs.writeFile(labels, encodeIdx('u8', [6], labelsFor(6, 2)));
    const ds = await loadDataset(`idx:${images},${labels},${images},${labels}`);
    expect(ds.shape).toEqual([2, 2, 3]);
    expect(sameArray(pixelsInMemory(ds.train.images), pixels)).toBe(true);
  });
});
