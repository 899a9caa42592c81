import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/engine/data/load.js';
import { rotateQuarter } from '../../../src-main/engine/data/transforms.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

describe('transformed MNIST data specs', () => {
  it('mnist:rotated turns every digit a quarter turn, labels and split unchanged', async () => {
    const plain = await loadDataset('mnist');
    const rotated = await loadDataset('mnist:rotated');
    expect(rotated.shape).toEqual([28, 28, 1]);
    expect(rotated.spec).toBe('mnist:rotated');
    expect(Array.from(rotated.test.labels)).toEqual(Array.from(plain.test.labels));
    expect(rotated.fingerprint).not.toBe(plain.fingerprint);
    // Pixel (y, x) of the rotated image is pixel (27 − x, y) of the original.
    const i = 7; const y = 5; const x = 20;
    expect(pixelsInMemory(rotated.train.images)[i * 784 + y * 28 + x]).toBe(pixelsInMemory(plain.train.images)[i * 784 + (27 - x) * 28 + y]);
    // Four quarter turns give the original back.
    let four: Float32Array = pixelsInMemory(plain.test.images).slice(0, 784 * 3);
    for (let r = 0; r < 4; r++) four = rotateQuarter(four, 3, 28);
    expect(Array.from(four)).toEqual(Array.from(pixelsInMemory(plain.test.images).slice(0, 784 * 3)));
  });

  it('mnist:inverted is 1 − v, and mnist:downsampled averages 2×2 blocks into 14×14 images', async () => {
    const plain = await loadDataset('mnist', { limit: 500, seed: 2 });
    const inverted = await loadDataset('mnist:inverted', { limit: 500, seed: 2 });
    expect(Array.from(inverted.train.labels)).toEqual(Array.from(plain.train.labels));
    for (const p of [0, 300, 784 * 10 + 400]) expect(pixelsInMemory(inverted.train.images)[p]).toBeCloseTo(1 - pixelsInMemory(plain.train.images)[p], 6);
    const small = await loadDataset('mnist:downsampled', { limit: 500, seed: 2 });
    expect(small.shape).toEqual([14, 14, 1]);
    expect(small.train.images.length).toBe(500 * 196);
    const n = 3; const y = 6; const x = 9;
    const src = (yy: number, xx: number) => pixelsInMemory(plain.train.images)[n * 784 + yy * 28 + xx];
    expect(pixelsInMemory(small.train.images)[n * 196 + y * 14 + x]).toBeCloseTo((src(12, 18) + src(12, 19) + src(13, 18) + src(13, 19)) / 4, 6);
  });

  it('names the known variants when given another', async () => {
    await expect(loadDataset('mnist:mirrored')).rejects.toThrow(UserError);
    await expect(loadDataset('mnist:mirrored')).rejects.toThrow(/"mnist:mirrored" names no MNIST variant we know; use mnist:rotated, mnist:inverted, mnist:downsampled/);
  });
});
