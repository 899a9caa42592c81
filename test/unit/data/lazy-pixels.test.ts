// Large uint8 IDX and NPY images are read from their files as they are needed (data/pixels.ts)
// instead of held as float32. Built-in MNIST digits written as IDX and as NPY files (grey, and
// as three-channel planes, NCHW) are loaded both ways: the lazily read dataset has the same
// values, splits, subsets and fingerprint, and the same features through a model; it holds no
// pixel values (a dataset past the datasetValues limit loads lazily and not whole); and a file
// changed after loading is refused in one sentence naming it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx, loadDataset, type Dataset } from '../../../src-main/engine/data/index.js';
import { pixelsInMemory, selectSamples, type LazyPixels } from '../../../src-main/engine/data/dataset.js';
import { resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { buildArchitecture } from '../../../src-main/engine/model/architectures.js';
import { splitModel } from '../../../src-main/engine/features/split.js';
import { embedSplit } from '../../../src-main/engine/features/embed.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { npyBytes } from './numpy.js';
import { sameArray, tempDir } from './helpers.js';

let digits: Dataset;
const bytesOf = (values: Float32Array) => Uint8Array.from(values, (v) => Math.round(v * 255));

beforeAll(async () => {
  digits = await loadDataset('mnist', { limit: 600, seed: 2 });
});
afterEach(() => resetLimits());

const isLazy = (images: Float32Array | LazyPixels) => !(images instanceof Float32Array);

function expectSame(lazy: Dataset, eager: Dataset): void {
  expect(lazy.fingerprint).toBe(eager.fingerprint);
  expect(lazy.shape).toEqual(eager.shape);
  for (const split of ['train', 'test'] as const) {
    expect(lazy[split].count).toBe(eager[split].count);
    expect(sameArray(lazy[split].labels, eager[split].labels)).toBe(true);
    expect(sameArray(pixelsInMemory(lazy[split].images), pixelsInMemory(eager[split].images))).toBe(true);
  }
}

describe('lazily read pixels', () => {
  it('give an IDX dataset the same values, split, subset and fingerprint as reading it whole', async () => {
    const dir = await tempDir();
    const x = path.join(dir, 'x.idx3-ubyte'); const y = path.join(dir, 'y.idx1-ubyte');
    await writeFile(x, encodeIdx('u8', [digits.train.count, 28, 28], bytesOf(pixelsInMemory(digits.train.images))));
    await writeFile(y, encodeIdx('u8', [digits.train.count], digits.train.labels));
    // No test files: the 80/20 split, then a seeded subset, select from the file without reading it.
    const spec = `idx:${x},${y}`;
    const eager = await loadDataset(spec, { limit: 300, seed: 5 });
    const lazy = await loadDataset(spec, { limit: 300, seed: 5, lazyPixelsAbove: 0 });
    expect(isLazy(eager.train.images)).toBe(false);
    expect(isLazy(lazy.train.images)).toBe(true);
    expect(isLazy(lazy.test.images)).toBe(true);
    expectSame(lazy, eager);
    // Any whole-sample range, and a selection of a selection, as in memory.
    const size = 784;
    expect(sameArray(lazy.train.images.subarray(17 * size, 41 * size), pixelsInMemory(eager.train.images).subarray(17 * size, 41 * size))).toBe(true);
    const picked = selectSamples(lazy.train, lazy.shape, [250, 3, 3, 99]);
    expect(isLazy(picked.images)).toBe(true);
    expect(sameArray(pixelsInMemory(picked.images), pixelsInMemory(selectSamples(eager.train, eager.shape, [250, 3, 3, 99]).images))).toBe(true);
    expect(() => lazy.train.images.subarray(10, 20)).toThrow(/whole samples/);
  });

  it('read NCHW colour NPY arrays into the same NHWC values, and the same features through a model', async () => {
    const dir = await tempDir();
    const n = 120;
    const grey = bytesOf(pixelsInMemory(digits.train.images).subarray(0, n * 784));
    const planes = new Uint8Array(n * 3 * 784);
    for (let i = 0; i < n; i++) for (let p = 0; p < 784; p++) {
      const v = grey[i * 784 + p];
      planes[(i * 3 + 0) * 784 + p] = v; planes[(i * 3 + 1) * 784 + p] = 255 - v; planes[(i * 3 + 2) * 784 + p] = v >> 1;
    }
    const x = path.join(dir, 'x.npy'); const y = path.join(dir, 'y.npy');
    await writeFile(x, npyBytes('|u1', [n, 3, 28, 28], planes));
    await writeFile(y, npyBytes('<i4', [n], digits.train.labels.subarray(0, n)));
    const eager = await loadDataset(`npy:${x},${y}`);
    const lazy = await loadDataset(`npy:${x},${y}`, { lazyPixelsAbove: 0 });
    expect(lazy.description).toBe(eager.description);
    expect(lazy.description).toMatch(/NCHW/);
    expect(isLazy(lazy.train.images)).toBe(true);
    expectSame(lazy, eager);
    const first = pixelsInMemory(lazy.train.images).subarray(0, 3 * 784);
    expect(first[3 * 100 + 1]).toBe(pixelsInMemory(eager.train.images)[3 * 100 + 1]);

    await initBackend('wasm');
    const model = buildArchitecture('mlp', { inputShape: [28, 28, 3], numClasses: 10, seed: 1 });
    const parts = splitModel(model);
    const a = await embedSplit(parts, lazy.train, lazy.shape);
    const b = await embedSplit(parts, eager.train, eager.shape);
    expect(sameArray(a.features, b.features)).toBe(true);
    // Chosen samples (read from the file as one selection), as training batches and squeezing read them.
    const picked = [5, 90, 91, 92, 3, 3];
    const c = await embedSplit(parts, lazy.train, lazy.shape, { indices: picked });
    const d = await embedSplit(parts, eager.train, eager.shape, { indices: picked });
    expect(sameArray(c.features, d.features)).toBe(true);
    model.dispose();
  });

  it('hold no pixel values: data past the datasetValues limit loads lazily, and not whole', async () => {
    const dir = await tempDir();
    const x = path.join(dir, 'x.idx3-ubyte'); const y = path.join(dir, 'y.idx1-ubyte');
    await writeFile(x, encodeIdx('u8', [digits.train.count, 28, 28], bytesOf(pixelsInMemory(digits.train.images))));
    await writeFile(y, encodeIdx('u8', [digits.train.count], digits.train.labels));
    setLimits({ datasetValues: 100 * 784 });
    await expect(loadDataset(`idx:${x},${y}`)).rejects.toThrow(/values/);
    const lazy = await loadDataset(`idx:${x},${y}`, { lazyPixelsAbove: 0 });
    expect(lazy.train.count + lazy.test.count).toBe(digits.train.count);
  });

  it('refuse a file that changed after it was loaded, naming it', async () => {
    const dir = await tempDir();
    const x = path.join(dir, 'x.idx3-ubyte'); const y = path.join(dir, 'y.idx1-ubyte');
    const bytes = bytesOf(pixelsInMemory(digits.train.images));
    await writeFile(x, encodeIdx('u8', [digits.train.count, 28, 28], bytes));
    await writeFile(y, encodeIdx('u8', [digits.train.count], digits.train.labels));
    const lazy = await loadDataset(`idx:${x},${y}`, { lazyPixelsAbove: 0 });
    bytes[0] = 255 - bytes[0];
    await writeFile(x, encodeIdx('u8', [500, 28, 28], bytes.subarray(0, 500 * 784)));
    let err: unknown;
    try { lazy.train.images.subarray(0, 784); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain('x.idx3-ubyte');
    expect((err as Error).message).toContain('changed on disk');
  });
});
