import { describe, expect, it } from 'vitest';
import { loadDataset, sampleSize } from '../../../src-main/engine/data/index.js';
import { sameArray } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

describe('loadDataset("mnist")', () => {
  it('splits the 10,000 digits 8000/2000 with shape [28,28,1], labels 0..9 and pixels in [0,1]', async () => {
    const start = performance.now();
    const ds = await loadDataset('mnist');
    // Generous bound for a loaded CI machine; a warm load takes a few hundred milliseconds.
    expect(performance.now() - start).toBeLessThan(5000);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.train.count).toBe(8000);
    expect(ds.test.count).toBe(2000);
    expect(ds.train.images.length).toBe(8000 * sampleSize(ds.shape));
    expect(ds.test.images.length).toBe(2000 * 784);
    for (const split of [ds.train, ds.test]) {
      const seen = new Set(split.labels);
      expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      let min = Infinity;
      let max = -Infinity;
      for (const v of pixelsInMemory(split.images)) { if (v < min) min = v; if (v > max) max = v; }
      expect(min).toBe(0);
      expect(max).toBe(1);
    }
    // Pinned: the split (SPLIT_SEED) and the fingerprint format must not change silently,
    // since saved scans and attack manifests refer to samples by (split, index).
    expect(ds.fingerprint).toBe('445d12c0c92801326b670110ae23e841e048a7e9763efacaa2a13bdd6ef55357');
  });

  it('gives the same split and fingerprint on every load, and loads fast once warm', async () => {
    const a = await loadDataset('mnist');
    const start = performance.now();
    const b = await loadDataset('mnist');
    expect(performance.now() - start).toBeLessThan(1000);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(sameArray(b.train.labels, a.train.labels)).toBe(true);
    // Each load returns its own arrays, so one caller cannot corrupt another's data.
    expect(b.train.images === a.train.images).toBe(false);
  });

  it('does not keep the training split grouped by class', async () => {
    const ds = await loadDataset('mnist');
    expect(new Set(ds.train.labels.subarray(0, 50)).size).toBeGreaterThan(5);
  });
});

describe('loadDataset with a limit', () => {
  it('keeps N training samples deterministically and leaves the test split alone', async () => {
    const full = await loadDataset('mnist');
    const a = await loadDataset('mnist', { limit: 300 });
    const b = await loadDataset('mnist', { limit: 300 });
    expect(a.train.count).toBe(300);
    expect(a.train.images.length).toBe(300 * 784);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(sameArray(pixelsInMemory(a.train.images), pixelsInMemory(b.train.images))).toBe(true);
    expect(a.fingerprint).not.toBe(full.fingerprint);
    expect(sameArray(a.test.labels, full.test.labels)).toBe(true);
    expect(sameArray(pixelsInMemory(a.test.images), pixelsInMemory(full.test.images))).toBe(true);
    // Stratified: every digit is represented, roughly in proportion.
    const counts = new Array(10).fill(0);
    for (const l of a.train.labels) counts[l]++;
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(20);
  });

  it('picks another subset with another seed, and ignores a limit above the split size', async () => {
    const a = await loadDataset('mnist', { limit: 300, seed: 0 });
    const c = await loadDataset('mnist', { limit: 300, seed: 1 });
    expect(c.fingerprint).not.toBe(a.fingerprint);
    const full = await loadDataset('mnist');
    expect((await loadDataset('mnist', { limit: 100_000 })).fingerprint).toBe(full.fingerprint);
  });
});
