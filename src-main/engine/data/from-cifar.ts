/**
 * `cifar:DIR`: the CIFAR-10 binary version (the folder `cifar-10-batches-bin` its archive
 * unpacks to): training batches `data_batch_1.bin` … `data_batch_5.bin`, the test batch
 * `test_batch.bin`, and `batches.meta.txt` naming the classes, one per line.
 *
 * A batch is a run of 3073-byte records: one label byte, then 32×32 red values, 32×32 green and
 * 32×32 blue, each row by row. The images are kept as 32×32×3 NHWC, the record order is kept,
 * and each sample's source is its batch and record (`data_batch_1.bin[42]`).
 *
 * The training batches present are read, from data_batch_1.bin up without a gap (a subset of
 * the five is allowed); without test_batch.bin load.ts splits them 80/20. Without
 * batches.meta.txt the classes are named by number. As for every dataset folder, the files must
 * resolve inside DIR and be regular files; a batch's size must be a whole number of records,
 * and the records are counted against the limits before they are read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import type { Split } from './dataset.js';
import { openRoot, openUserFile, quoted, readFully, shown, type Root } from './files.js';
import { bytesToUnit } from './idx.js';
import { DatasetBudget, inferClassCount, numericClassNames, type LoadedData } from './source.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const VALUES = PLANE * 3;
const RECORD = 1 + VALUES;
const TRAIN_BATCHES = 5;
const META_FILE = 'batches.meta.txt';
const TEST_FILE = 'test_batch.bin';
/** batches.meta.txt holds ten short names; a longer file is not one. */
const MAX_META_BYTES = 64 * 1024;
const MAX_CLASS_NAME = 100;

/** Whether DIR/NAME exists at all (what it is, and where a link leads, is checked when it is read). */
async function present(dir: string, name: string): Promise<boolean> {
  return fs.lstat(path.join(dir, name)).then(() => true, () => false);
}

export async function loadCifar(dir: string): Promise<LoadedData> {
  const root = await openRoot(dir);
  const batches: string[] = [];
  for (let n = 1; n <= TRAIN_BATCHES; n++) {
    if (await present(dir, `data_batch_${n}.bin`)) {
      if (batches.length !== n - 1) {
        throw new UserError(`The folder ${shown(dir)} holds data_batch_${n}.bin but not data_batch_${batches.length + 1}.bin: the CIFAR-10 training batches must be numbered from 1 without a gap.`);
      }
      batches.push(`data_batch_${n}.bin`);
    }
  }
  if (batches.length === 0) {
    throw new UserError(`The folder ${shown(dir)} holds no data_batch_1.bin, so it is not the CIFAR-10 binary version (data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt).`);
  }
  const classNames = await present(dir, META_FILE) ? await readClassNames(dir, root) : undefined;
  const budget = new DatasetBudget();
  const train = await readBatches(dir, batches, root, budget);
  const test = await present(dir, TEST_FILE) ? await readBatches(dir, [TEST_FILE], root, budget) : undefined;
  const batchLabels = test ? [...train.batches, ...test.batches] : train.batches;
  let names: string[];
  if (classNames) {
    for (const batch of batchLabels) checkLabels(batch, classNames);
    names = classNames;
  } else {
    names = numericClassNames(inferClassCount(...batchLabels.map(({ labels, file }) => ({ labels, file, where: (i: number) => `in record ${i}` }))));
  }
  const read = `${batches.join(', ')}${test ? ` and ${TEST_FILE}` : ''}`;
  const description = `CIFAR-10 binary batches ${read}: 32×32 RGB images, ${classNames ? `class names from ${META_FILE}` : `no ${META_FILE}, so classes are named by number`}${test ? '' : `; no ${TEST_FILE}, so the training batches are split 80/20`}.`;
  const base = { name: path.basename(path.resolve(dir)), shape: [SIDE, SIDE, 3] as [number, number, number], classNames: names, description };
  return test ? { ...base, splits: { train: train.split, test: test.split } } : { ...base, splits: { pool: train.split } };
}

/** One batch's labels (a view of its split's), for label messages. */
interface BatchLabels {
  file: string;
  labels: Int32Array;
}

/** Every label must name one of batches.meta.txt's classes. */
function checkLabels({ file, labels }: BatchLabels, classNames: string[]): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classNames.length) {
      throw new UserError(`The CIFAR-10 batch ${shown(file)} has label ${labels[i]} in record ${i}, but ${META_FILE} names ${classNames.length} classes (0–${classNames.length - 1}).`);
    }
  }
}

/** A batch's record count from its size, which must be a whole number of records. */
function recordCount(size: number, name: string): number {
  if (size === 0) throw new UserError(`${name} is empty.`);
  if (size % RECORD !== 0) {
    throw new UserError(`${name} is ${size} bytes long, not a whole number of ${RECORD}-byte records (a label byte and 32×32×3 pixels), so it is truncated or not a CIFAR-10 binary batch.`);
  }
  return size / RECORD;
}

/**
 * Reads the batches into one split: their sizes first (each a whole number of records, all of
 * them counted against the limits), then one batch at a time into the split's arrays.
 */
async function readBatches(dir: string, batches: string[], root: Root, budget: DatasetBudget): Promise<{ split: Split; batches: BatchLabels[] }> {
  const counts: number[] = [];
  for (const batch of batches) {
    const file = path.join(dir, batch);
    const name = `The CIFAR-10 batch ${shown(file)}`;
    const { handle, size } = await openUserFile(file, { root });
    await handle.close();
    const count = recordCount(size, name);
    budget.take(name, count, VALUES);
    counts.push(count);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(total * VALUES);
  const labels = new Int32Array(total);
  const place = new Int32Array(total);
  const at = new Int32Array(total);
  const labelViews: BatchLabels[] = [];
  let first = 0;
  for (const [k, batch] of batches.entries()) {
    const file = path.join(dir, batch);
    const count = counts[k];
    const { handle, size } = await openUserFile(file, { root });
    let bytes: Uint8Array;
    try {
      if (size !== count * RECORD) throw new UserError(`The CIFAR-10 batch ${shown(file)} changed while it was read.`);
      bytes = new Uint8Array(size);
      await readFully(handle, bytes, 0, file);
    } finally {
      await handle.close();
    }
    const pixels = new Uint8Array(count * VALUES);
    for (let n = 0; n < count; n++) {
      const r = n * RECORD;
      labels[first + n] = bytes[r];
      const o = n * VALUES;
      // Planes R, G, B of PLANE values each become PLANE pixels of 3 values (NHWC).
      for (let p = 0; p < PLANE; p++) {
        pixels[o + 3 * p] = bytes[r + 1 + p];
        pixels[o + 3 * p + 1] = bytes[r + 1 + PLANE + p];
        pixels[o + 3 * p + 2] = bytes[r + 1 + 2 * PLANE + p];
      }
    }
    images.set(bytesToUnit(pixels), first * VALUES);
    place.fill(k, first, first + count);
    for (let n = 0; n < count; n++) at[first + n] = n;
    labelViews.push({ file, labels: labels.subarray(first, first + count) });
    first += count;
  }
  const sources = { places: batches.slice(), numbering: batches.map(() => 'item' as const), place, at };
  return { split: { images, labels, count: total, sources }, batches: labelViews };
}

/** The class names, one per non-blank line; each must be short, printable and different from the others. */
async function readClassNames(dir: string, root: Root): Promise<string[]> {
  const file = path.join(dir, META_FILE);
  const name = `The file ${shown(file)}`;
  const { handle, size } = await openUserFile(file, { root });
  let bytes: Buffer;
  try {
    if (size > MAX_META_BYTES) throw new UserError(`${name} is ${size} bytes long, more than the ${MAX_META_BYTES} bytes a list of class names may have.`);
    bytes = Buffer.alloc(size);
    await readFully(handle, bytes, 0, file);
  } finally {
    await handle.close();
  }
  const lines = bytes.toString('utf8').split(/\r?\n/);
  const names: string[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const text = line.trim();
    if (text === '') return;
    if (text.length > MAX_CLASS_NAME || /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text)) {
      throw new UserError(`${name} has a class name on line ${i + 1} that is longer than ${MAX_CLASS_NAME} characters or holds characters that cannot be shown.`);
    }
    if (seen.has(text)) throw new UserError(`${name} names the class ${quoted(text)} twice (again on line ${i + 1}).`);
    seen.add(text);
    names.push(text);
  });
  if (names.length < 2) throw new UserError(`${name} names ${names.length} class${names.length === 1 ? '' : 'es'}, but a classifier needs at least two.`);
  checkLimit('classes', names.length, name, `names ${names.length} classes`);
  return names;
}
