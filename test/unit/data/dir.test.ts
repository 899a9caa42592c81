import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadDatasetManifest, loadDataset, saveDatasetDir, type Dataset,
} from '../../../src-main/engine/data/index.js';
import { bytePattern, expectUserError, sameArray, tempDir, writeIdxPair } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

async function smallDataset(): Promise<Dataset> {
  const dir = await tempDir();
  const labels = Array.from({ length: 30 }, (_, i) => i % 3);
  const files = await writeIdxPair(dir, 'small', bytePattern(30 * 5 * 5), [30, 5, 5], labels);
  return loadDataset(`idx:${files.images},${files.labels}`);
}

function expectSameData(a: Dataset, b: Dataset): void {
  expect(b.shape).toEqual(a.shape);
  expect(b.classNames).toEqual(a.classNames);
  for (const split of ['train', 'test'] as const) {
    expect(b[split].count).toBe(a[split].count);
    expect(sameArray(pixelsInMemory(b[split].images), pixelsInMemory(a[split].images))).toBe(true);
    expect(sameArray(b[split].labels, a[split].labels)).toBe(true);
  }
  expect(b.fingerprint).toBe(a.fingerprint);
}

describe('saveDatasetDir and loadDataset("dir:…")', () => {
  it('round-trips 8-bit data through u8 IDX files, fingerprint included', async () => {
    const ds = await smallDataset();
    const out = path.join(await tempDir(), 'saved');
    await saveDatasetDir(ds, out);
    const files = (await fs.readdir(out)).sort();
    expect(files).toContain('train-images.idx3-ubyte');
    expect(files).toContain('test-labels.idx1-ubyte');
    const description = JSON.parse(await fs.readFile(path.join(out, 'dataset.json'), 'utf8'));
    expect(description).toMatchObject({ format: 'clear-dataset', version: 1, name: ds.name, shape: [5, 5, 1] });
    const back = await loadDataset(`dir:${out}`);
    expectSameData(ds, back);
    expect(back.name).toBe(ds.name);
    expect(await loadDatasetManifest(out)).toBeUndefined();
  });

  it('round-trips crafted float pixels exactly through float32 IDX files, with a manifest', async () => {
    const ds = await smallDataset();
    pixelsInMemory(ds.train.images)[7] = 0.123456789; // not a multiple of 1/255: a poison's perturbation
    pixelsInMemory(ds.train.images)[8] = 1 / 3;
    const out = path.join(await tempDir(), 'nested', 'poisoned');
    const manifest = { attack: 'bp', poisons: [{ split: 'train', index: 0 }] };
    await saveDatasetDir(ds, out, { manifest });
    const files = await fs.readdir(out);
    expect(files).toContain('train-images.idx3-float');
    expect(files).toContain('test-images.idx3-ubyte'); // the untouched split stays 8-bit
    const back = await loadDataset(`dir:${out}`);
    expect(pixelsInMemory(back.train.images)[7]).toBe(Math.fround(0.123456789));
    expect(back.fingerprint).not.toBe((await smallDataset()).fingerprint);
    expectSameData({ ...ds, fingerprint: back.fingerprint }, back);
    expect(await loadDatasetManifest(out)).toEqual(manifest);
  });

  it('round-trips colour images and writes into an existing empty folder', async () => {
    const ds = await smallDataset();
    const colour: Dataset = {
      ...ds, shape: [5, 5, 3],
      train: { ...ds.train, count: 8, images: pixelsInMemory(ds.train.images).slice(0, 8 * 75), labels: ds.train.labels.slice(0, 8) },
      test: { ...ds.test, count: 2, images: pixelsInMemory(ds.test.images).slice(0, 2 * 75), labels: ds.test.labels.slice(0, 2) },
    };
    const out = await tempDir(); // exists, empty
    await saveDatasetDir(colour, out);
    const back = await loadDataset(`dir:${out}`);
    expect(back.shape).toEqual([5, 5, 3]);
    expect(sameArray(pixelsInMemory(back.train.images), pixelsInMemory(colour.train.images))).toBe(true);
  });

  it('refuses to overwrite a non-empty folder and leaves no temporary folder behind', async () => {
    const ds = await smallDataset();
    const parent = await tempDir();
    const out = path.join(parent, 'taken');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'keep.txt'), 'precious');
    await expectUserError(saveDatasetDir(ds, out), 'taken', 'not empty');
    expect(await fs.readFile(path.join(out, 'keep.txt'), 'utf8')).toBe('precious');
    expect(await fs.readdir(parent)).toEqual(['taken']);
  });
});
