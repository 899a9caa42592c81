/**
 * `cifar:DIR`: the CIFAR-10 binary batches, built here record by record (a label byte, then the
 * red, green and blue 32×32 planes). Images come out 32×32×3 NHWC, labels and class names as the
 * batches and batches.meta.txt give them, each sample with its batch and record as its source;
 * a truncated batch, a label beyond the named classes or a batch leading out of the folder is
 * refused with one sentence.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/engine/data/index.js';
import { sampleSource } from '../../../src-main/engine/data/dataset.js';
import { resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { expectUserError, tempDir } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

afterEach(() => resetLimits());

const PLANE = 32 * 32;
const RECORD = 1 + 3 * PLANE;
const NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The value of channel c of pixel p in record r of a batch salted `salt`. */
const value = (salt: number, r: number, c: number, p: number) => (salt * 31 + r * 7 + c * 50 + p) & 0xff;

/** A batch of records whose labels are given; pixel values follow `value`. */
function batch(salt: number, labels: number[]): Buffer {
  const bytes = Buffer.alloc(labels.length * RECORD);
  labels.forEach((label, r) => {
    bytes[r * RECORD] = label;
    for (let c = 0; c < 3; c++) for (let p = 0; p < PLANE; p++) bytes[r * RECORD + 1 + c * PLANE + p] = value(salt, r, c, p);
  });
  return bytes;
}

async function cifarFolder(batches: Record<string, Buffer>, meta: string | null = `${NAMES.join('\n')}\n\n`): Promise<string> {
  const dir = await tempDir();
  for (const [name, bytes] of Object.entries(batches)) await fs.writeFile(path.join(dir, name), bytes);
  if (meta !== null) await fs.writeFile(path.join(dir, 'batches.meta.txt'), meta);
  return dir;
}

describe('loadDataset("cifar:…")', () => {
  it('reads the training batches in order and the test batch, as 32×32×3 NHWC, with class names and sources', async () => {
    const dir = await cifarFolder({
      'data_batch_1.bin': batch(1, [6, 9, 9, 4]),
      'data_batch_2.bin': batch(2, [1, 0, 2]),
      'test_batch.bin': batch(3, [3, 8]),
    });
    const ds = await loadDataset(`cifar:${dir}`);
    expect(ds.shape).toEqual([32, 32, 3]);
    expect(ds.classNames).toEqual(NAMES);
    expect([ds.train.count, ds.test.count]).toEqual([7, 2]);
    expect(Array.from(ds.train.labels)).toEqual([6, 9, 9, 4, 1, 0, 2]);
    expect(Array.from(ds.test.labels)).toEqual([3, 8]);
    // Training sample 5 is record 1 of data_batch_2.bin: pixel p's channel c is value(2, 1, c, p).
    for (const p of [0, 33, PLANE - 1]) {
      for (let c = 0; c < 3; c++) expect(pixelsInMemory(ds.train.images)[(5 * PLANE + p) * 3 + c]).toBe(Math.fround(value(2, 1, c, p) / 255));
    }
    expect(pixelsInMemory(ds.test.images)[(1 * PLANE + 7) * 3 + 2]).toBe(Math.fround(value(3, 1, 2, 7) / 255));
    expect(sampleSource(ds.train, 0)).toBe('data_batch_1.bin[0]');
    expect(sampleSource(ds.train, 5)).toBe('data_batch_2.bin[1]');
    expect(sampleSource(ds.test, 1)).toBe('test_batch.bin[1]');
    expect(ds.name).toBe(path.basename(dir));
    expect(ds.description).toContain('data_batch_1.bin, data_batch_2.bin and test_batch.bin');
  });

  it('without test_batch.bin splits 80/20, and without batches.meta.txt names the classes by number', async () => {
    const labels = Array.from({ length: 10 }, (_, i) => i % 3);
    const dir = await cifarFolder({ 'data_batch_1.bin': batch(1, labels) }, null);
    const ds = await loadDataset(`cifar:${dir}`);
    expect(ds.classNames).toEqual(['0', '1', '2']);
    expect([ds.train.count, ds.test.count]).toEqual([8, 2]);
    expect(ds.description).toContain('split 80/20');
    for (let i = 0; i < ds.train.count; i++) {
      const r = Number(/^data_batch_1\.bin\[(\d+)\]$/.exec(sampleSource(ds.train, i)!)![1]);
      expect(ds.train.labels[i]).toBe(labels[r]);
      expect(pixelsInMemory(ds.train.images)[i * 3 * PLANE]).toBe(Math.fround(value(1, r, 0, 0) / 255));
    }
  });

  it('refuses a folder without data_batch_1.bin, and a gap in the batch numbers', async () => {
    const none = await cifarFolder({ 'test_batch.bin': batch(1, [0, 1]) });
    await expectUserError(loadDataset(`cifar:${none}`), 'holds no data_batch_1.bin', 'not the CIFAR-10 binary version');
    const gap = await cifarFolder({ 'data_batch_1.bin': batch(1, [0, 1]), 'data_batch_3.bin': batch(3, [0, 1]) });
    await expectUserError(loadDataset(`cifar:${gap}`), 'holds data_batch_3.bin but not data_batch_2.bin');
  });
});

describe('hostile CIFAR-10 folders', () => {
  it('refuses a truncated batch by its size, before reading it', async () => {
    const whole = batch(1, [0, 1, 2]);
    const dir = await cifarFolder({ 'data_batch_1.bin': whole.subarray(0, whole.length - 100) });
    await expectUserError(loadDataset(`cifar:${dir}`), 'data_batch_1.bin is 9119 bytes long, not a whole number of 3073-byte records');
    const empty = await cifarFolder({ 'data_batch_1.bin': Buffer.alloc(0) });
    await expectUserError(loadDataset(`cifar:${empty}`), 'data_batch_1.bin is empty');
  });

  it('refuses a label beyond the classes batches.meta.txt names, naming the batch and record', async () => {
    const dir = await cifarFolder({ 'data_batch_1.bin': batch(1, [0, 1]), 'test_batch.bin': batch(2, [1, 255]) });
    await expectUserError(loadDataset(`cifar:${dir}`), 'test_batch.bin has label 255 in record 1', 'names 10 classes');
    const noMeta = await cifarFolder({ 'data_batch_1.bin': batch(1, [0, 2]) }, null);
    await expectUserError(loadDataset(`cifar:${noMeta}`), 'data_batch_1.bin has label 2 in record 1', 'no sample has label 1');
  });

  it('refuses class names that cannot be shown, a repeated name, and an oversized meta file', async () => {
    const records = { 'data_batch_1.bin': batch(1, [0, 1]) };
    await expectUserError(loadDataset(`cifar:${await cifarFolder(records, 'cat\n\u001b[31mdog\n')}`), 'line 2', 'cannot be shown');
    await expectUserError(loadDataset(`cifar:${await cifarFolder(records, 'cat\ndog\ncat\n')}`), 'names the class "cat" twice (again on line 3)');
    await expectUserError(loadDataset(`cifar:${await cifarFolder(records, 'x\n'.repeat(40_000))}`), 'more than the 65536 bytes');
  });

  it('counts every batch against the limits before reading any', async () => {
    const dir = await cifarFolder({ 'data_batch_1.bin': batch(1, [0, 1, 2]), 'data_batch_2.bin': batch(2, [3, 4]) });
    setLimits({ samples: 4 });
    await expectUserError(loadDataset(`cifar:${dir}`), 'data_batch_2.bin', 'declares 2 more samples, 5 samples in all');
  });

  it('refuses a batch that is a symbolic link out of the folder', async () => {
    if (process.platform === 'win32') return;
    const outside = await tempDir();
    await fs.writeFile(path.join(outside, 'secret.bin'), batch(1, [0, 1]));
    const dir = await cifarFolder({});
    await fs.symlink(path.join(outside, 'secret.bin'), path.join(dir, 'data_batch_1.bin'));
    await expectUserError(loadDataset(`cifar:${dir}`), 'data_batch_1.bin leads outside the folder');
  });
});
