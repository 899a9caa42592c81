// Fuzzing the dataset readers end to end through loadDataset: IDX files plain and gzipped,
// CSV, NumPy .npy and .npz, CIFAR-10 batches, folders of PNG and JPEG images and the
// product's own dir: folders. Each input is a valid seed mutated (bit flips, truncation,
// header fields set to extremes, huge declared sizes, random bytes) or generated, written to a
// temporary folder and loaded; the load must give a dataset within the limits or refuse with a
// one-sentence UserError naming the folder. The limits are set small, so that a reader that
// allocated what a header declares before checking it would show as an over-allocation.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { encodeIdx, loadDataset, saveDatasetDir, type Dataset } from '../../../src-main/engine/data/index.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';
import { limits, resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { npyBytes, zipBytes } from '../data/numpy.js';
import { editJson, fuzz, jsonEditArb, mutatedBytes, mutatedJsonText } from './harness.js';

let root: string;

/** Small limits: the seeds fit well inside them, and declared sizes above them must be refused unread. */
const FUZZ_LIMITS = {
  samples: 2000, classes: 50, imagePixels: 64 * 64, sampleValues: 64 * 64 * 3, datasetValues: 1_000_000,
  decompressedBytes: 1 << 20, fileBytes: 1 << 20, files: 200,
};

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'clear-fuzz-data-'));
  setLimits(FUZZ_LIMITS);
});
afterAll(() => {
  resetLimits();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh folder for one suite; its inputs overwrite its files. */
function suiteDir(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Empties a folder (only folders this test made under its own temporary root). */
function clear(dir: string): void {
  for (const e of readdirSync(dir)) rmSync(path.join(dir, e), { recursive: true, force: true });
}

/** A loaded dataset must be within the limits and hold what it says: labels in range, pixels in [0, 1]. */
function checkDataset(result: unknown): void {
  const ds = result as Dataset;
  const L = limits();
  const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const fail = (what: string) => { throw new Error(`the loaded dataset ${what}`); };
  if (!ds.shape.every((d) => Number.isSafeInteger(d) && d > 0)) fail(`has the shape ${ds.shape.join('×')}`);
  if (ds.shape[0] * ds.shape[1] > L.imagePixels || size > L.sampleValues) fail(`has images of ${ds.shape.join('×')} values, above the limits`);
  if (ds.classNames.length < 2 || ds.classNames.length > L.classes) fail(`has ${ds.classNames.length} classes`);
  if (ds.train.count + ds.test.count > L.samples || (ds.train.count + ds.test.count) * size > L.datasetValues) fail('holds more than the limits allow');
  if (ds.train.count === 0) fail('has no training samples');
  if (!/^[0-9a-f]{64}$/.test(ds.fingerprint)) fail('has no fingerprint');
  for (const split of [ds.train, ds.test]) {
    if (split.images.length !== split.count * size || split.labels.length !== split.count) fail('has arrays that do not match its counts');
    for (const label of split.labels) if (!(label >= 0 && label < ds.classNames.length)) fail(`has the label ${label}`);
    for (const v of pixelsInMemory(split.images)) if (!(v >= 0 && v <= 1)) fail(`has the pixel value ${v}`);
    if (split.sources && (split.sources.place.length !== split.count || split.sources.at.length !== split.count)) fail('has sources that do not match its samples');
  }
}

const labelsOf = (n: number, k: number) => Array.from({ length: n }, (_, i) => i % k);
const pixels = (n: number, salt = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + salt * 11) & 0xff);

// --- IDX, plain and gzipped ------------------------------------------------------------------

const IDX_IMAGES = [
  encodeIdx('u8', [12, 4, 4], pixels(12 * 16)),
  encodeIdx('f32', [12, 3, 3, 1], Float32Array.from({ length: 12 * 9 }, (_, i) => (i % 10) / 10)),
  encodeIdx('u8', [12, 2, 2, 3], pixels(12 * 12, 1)),
];
const IDX_LABELS = [encodeIdx('u8', [12], labelsOf(12, 3)), encodeIdx('i32', [12], labelsOf(12, 2))];
const IDX_TEST_IMAGES = [encodeIdx('u8', [6, 4, 4], pixels(6 * 16, 2))];
const IDX_TEST_LABELS = [encodeIdx('u8', [6], labelsOf(6, 3))];

interface IdxInput { images: Uint8Array; labels: Uint8Array; test?: { images: Uint8Array; labels: Uint8Array } }

const idxInput: fc.Arbitrary<IdxInput> = fc.record({
  images: mutatedBytes(IDX_IMAGES, 4, 4),
  labels: mutatedBytes(IDX_LABELS, 4, 4),
  test: fc.option(fc.record({ images: mutatedBytes(IDX_TEST_IMAGES, 2, 7), labels: mutatedBytes(IDX_TEST_LABELS, 2, 7) }), { nil: undefined, freq: 3 }),
});

async function loadIdxInput(dir: string, input: IdxInput, pack: (b: Uint8Array) => Uint8Array): Promise<Dataset> {
  const files: [string, Uint8Array][] = [['train-images', input.images], ['train-labels', input.labels], ...(input.test ? [['test-images', input.test.images], ['test-labels', input.test.labels]] as [string, Uint8Array][] : [])];
  const paths = files.map(([name, bytes]) => {
    const file = path.join(dir, name);
    writeFileSync(file, pack(bytes));
    return file;
  });
  return loadDataset(`idx:${paths.join(',')}`);
}

// --- gzip: a gzipped IDX file mutated after compression, and decompression bombs ----------------

type GzipInput = { kind: 'mutated'; images: Uint8Array; labels: Uint8Array } | { kind: 'bomb'; header: Uint8Array; zeros: number; labels: Uint8Array };

const GZ_IMAGES = IDX_IMAGES.map((b) => gzipSync(b));
const GZ_LABELS = IDX_LABELS.map((b) => gzipSync(b));

const gzipInput: fc.Arbitrary<GzipInput> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('mutated' as const), images: mutatedBytes(GZ_IMAGES, 4, 3), labels: mutatedBytes(GZ_LABELS, 2, 4) }) },
  {
    weight: 1,
    // An IDX header (possibly declaring far more than the limits) followed by megabytes of zeros that compress to almost nothing.
    arbitrary: fc.record({
      kind: fc.constant('bomb' as const),
      header: fc.tuple(fc.constantFrom(0x08, 0x0d), fc.constantFrom(1, 100, 2000, 2001, 65_535, 1_000_000, 0xffffffff), fc.constantFrom(1, 4, 28, 64, 65, 4096, 0x10000))
        .map(([type, n, side]) => { const h = Buffer.alloc(16); h[2] = type; h[3] = 3; h.writeUInt32BE(n, 4); h.writeUInt32BE(side, 8); h.writeUInt32BE(side, 12); return Uint8Array.from(h); }),
      zeros: fc.constantFrom(0, 1000, 1 << 20, 4 << 20),
      labels: mutatedBytes(GZ_LABELS, 1),
    }),
  },
);

function gzipFiles(input: GzipInput): { images: Uint8Array; labels: Uint8Array } {
  if (input.kind === 'mutated') return input;
  return { images: gzipSync(Buffer.concat([input.header, Buffer.alloc(input.zeros)])), labels: input.labels };
}

// --- CSV ---------------------------------------------------------------------------------------

const CSV_SEEDS = [
  `label,a,b,c,d\n${labelsOf(12, 3).map((l, i) => `${l},${i % 256},${(i * 7) % 256},${(i * 13) % 256},${255 - i}`).join('\n')}\n`,
  `${labelsOf(10, 2).map((l, i) => `${l},${(i / 10).toFixed(2)},0.5,1,0`).join('\r\n')}\r\n`,
  `\uFEFFx,label,split,y\n${labelsOf(12, 3).map((l, i) => `${i},"${l}",${i % 4 === 0 ? 'test' : 'train'},${i * 2}`).join('\n')}`,
].map((s) => new TextEncoder().encode(s));

const CSV_TOKENS = ['0', '1', '2', '255', '256', '-1', '0.5', '1e3', '1e400', 'NaN', 'Infinity', '0x10', '"3"', '""', '"', 'x', '', ' ', 'train', 'test', 'TEST',
  'label', 'split', 'Label', ' 7 ', '\u00e9', '1.0', '-0', '+1', '99999999999999999999'];

/** A CSV built from tokens: rows of varying widths, a header or not, any of three line breaks, a byte-order mark or not. */
const generatedCsv = fc.record({
  bom: fc.boolean(),
  header: fc.option(fc.array(fc.constantFrom('label', 'split', 'a', 'b', 'LABEL', ''), { minLength: 1, maxLength: 6 }), { nil: undefined }),
  rows: fc.array(fc.array(fc.constantFrom(...CSV_TOKENS), { minLength: 1, maxLength: 6 }), { minLength: 0, maxLength: 30 }),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
}).map(({ bom, header, rows, eol }) => new TextEncoder().encode(`${bom ? '\uFEFF' : ''}${[...(header ? [header] : []), ...rows].map((r) => r.join(',')).join(eol)}${eol}`));

// --- NumPy ---------------------------------------------------------------------------------------

const NPY_X = [
  npyBytes('|u1', [12, 4, 4], pixels(12 * 16)),
  npyBytes('<f4', [12, 3, 3, 1], Array.from({ length: 12 * 9 }, (_, i) => (i % 10) / 10)),
  npyBytes('>f8', [12, 1, 3, 3], Array.from({ length: 12 * 9 }, (_, i) => i % 256)),
  npyBytes('<f4', [12, 5], Array.from({ length: 60 }, (_, i) => (i % 5) / 5), { version: 2 }),
];
const NPY_Y = [npyBytes('<i8', [12], labelsOf(12, 3)), npyBytes('|u1', [12, 1], labelsOf(12, 2)), npyBytes('>i4', [12], labelsOf(12, 2))];

const DESCRS = ['|u1', '<u1', '<i8', '<u8', '>i2', '<f4', '>f8', '<f2', '|O', '|b1', '<U10', '<c8', 'V8', '<i16', ''];
/** A .npy header written from generated fields: any type, order and shape (huge ones too), with as many bytes after it as the shape needs, or not. */
const generatedNpy = fc.record({
  descr: fc.constantFrom(...DESCRS),
  fortran: fc.constantFrom('False', 'True', 'false', '0'),
  shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(2000, 2001, 65_536, 2 ** 31, 2 ** 32, 2 ** 53, 99_999_999_999_999)), { minLength: 0, maxLength: 5 }),
  quote: fc.constantFrom("'", '"'),
  body: fc.constantFrom('exact', 'short', 'long'),
  version: fc.constantFrom(1, 2, 3),
}).map(({ descr, fortran, shape, quote, body, version }) => {
  const q = (s: string) => `${quote}${s}${quote}`;
  const header = `{${q('descr')}: ${q(descr)}, ${q('fortran_order')}: ${fortran}, ${q('shape')}: (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const valueBytes = Number(/\d+$/.exec(descr)?.[0] ?? 1) || 1;
  const wanted = shape.reduce((a, b) => a * b, 1) * valueBytes;
  const length = Math.min(4096, Number.isFinite(wanted) ? wanted : 0) + (body === 'short' ? -1 : body === 'long' ? 7 : 0);
  const prefix = Buffer.alloc(version === 1 ? 10 : 12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(prefix);
  prefix[6] = version;
  if (version === 1) prefix.writeUInt16LE(header.length, 8); else prefix.writeUInt32LE(header.length, 8);
  return Uint8Array.from(Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.alloc(Math.max(0, length), 1)]));
});

const npyArray = (seeds: Uint8Array[]) => fc.oneof({ weight: 4, arbitrary: mutatedBytes(seeds, 4, 4) }, { weight: 1, arbitrary: generatedNpy });

const NPZ_SEEDS = [
  zipBytes([{ name: 'x_train.npy', data: NPY_X[0] }, { name: 'y_train.npy', data: NPY_Y[0] }]),
  zipBytes([{ name: 'x_train.npy', data: NPY_X[1], deflate: true }, { name: 'y_train.npy', data: NPY_Y[1], deflate: true }]),
  zipBytes([{ name: 'x_train.npy', data: NPY_X[0] }, { name: 'y_train.npy', data: NPY_Y[2] }, { name: 'x_test.npy', data: npyBytes('|u1', [6, 4, 4], pixels(96, 3)) },
    { name: 'y_test.npy', data: npyBytes('<i8', [6], labelsOf(6, 2)) }], { zip64: true }),
].map((b) => Uint8Array.from(b));

// --- CIFAR-10 -------------------------------------------------------------------------------------

const RECORD = 3073;
function cifarBatch(n: number, classes: number, salt: number): Uint8Array {
  const b = new Uint8Array(n * RECORD);
  for (let r = 0; r < n; r++) {
    b[r * RECORD] = r % classes;
    b.set(pixels(RECORD - 1, salt + r), r * RECORD + 1);
  }
  return b;
}
const CIFAR_BATCHES = [cifarBatch(6, 3, 0), cifarBatch(4, 2, 5)];
const CIFAR_META = ['airplane\nautomobile\nbird\n', 'a\r\nb\r\n\r\n', 'cat\n'].map((s) => new TextEncoder().encode(s));

interface CifarInput { batches: Uint8Array[]; gap: boolean; test?: Uint8Array; meta?: Uint8Array }
const cifarInput: fc.Arbitrary<CifarInput> = fc.record({
  batches: fc.array(mutatedBytes(CIFAR_BATCHES, 3, 5), { minLength: 1, maxLength: 3 }),
  gap: fc.boolean(),
  test: fc.option(mutatedBytes(CIFAR_BATCHES, 2, 5), { nil: undefined }),
  meta: fc.option(fc.oneof(mutatedBytes(CIFAR_META, 3), fc.array(fc.constantFrom('a', 'b', 'a', 'x'.repeat(101), '\u0007', ' ', '\u202e'), { maxLength: 12 }).map((l) => new TextEncoder().encode(l.join('\n')))), { nil: undefined }),
});

// --- folders of images ------------------------------------------------------------------------

function png(width: number, height: number, colour: boolean): Uint8Array {
  const img = new pngjs.PNG({ width, height, colorType: colour ? 2 : 0, inputHasAlpha: false } as never);
  for (let i = 0; i < width * height; i++) img.data.set([i * 16, colour ? i * 8 : i * 16, colour ? 255 - i : i * 16, 255], i * 4);
  return Uint8Array.from(pngjs.PNG.sync.write(img, { colorType: colour ? 2 : 0 } as never));
}

function jpegFile(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4, 0x80);
  return Uint8Array.from(jpeg.encode({ data, width, height }, 90).data);
}

/** An interlaced (Adam7) 8-bit grayscale PNG, which pngjs does not write. */
function interlacedPng(width: number, height: number): Uint8Array {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push((x * 31 + y * 17) & 0xff);
      if (row.length > 0) raw.push(0, ...row);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 0; ihdr[12] = 1;
  return Uint8Array.from(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(raw))), chunk('IEND', Buffer.alloc(0))]));
}

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c;
}

const IMAGE_SEEDS = [png(4, 4, false), png(4, 4, true), jpegFile(4, 4), interlacedPng(4, 4)];
/** The folder's four images: a/1.png, a/2.jpg, b/1.png, b/2.png; one of them is replaced by each input. */
const FOLDER_FILES = [['a', '1.png', 0], ['a', '2.jpg', 2], ['b', '1.png', 1], ['b', '2.png', 3]] as const;

interface FolderInput { target: number; bytes: Uint8Array; split: boolean }
const folderInput: fc.Arbitrary<FolderInput> = fc.record({
  target: fc.nat({ max: FOLDER_FILES.length - 1 }),
  bytes: mutatedBytes(IMAGE_SEEDS, 3),
  split: fc.boolean(),
});

// --- the product's dir: folders ---------------------------------------------------------------

interface DirSeed { files: Record<string, Uint8Array>; description: unknown }
let dirSeeds: DirSeed[] = [];

interface DirInput { seed: number; target: number; bytes: Uint8Array | undefined; edits: Parameters<typeof editJson>[1] }

describe('fuzz: dataset readers', () => {
  it('idx: IDX images and labels files', async () => {
    const dir = suiteDir('idx');
    await fuzz({
      name: 'idx',
      arbitrary: idxInput,
      run: (input) => loadIdxInput(dir, input, (b) => b),
      check: checkDataset,
      names: () => dir,
      toBytes: (input) => input.images,
    });
  });

  it('gzip: gzipped IDX files, mutated after compression, and decompression bombs', async () => {
    const dir = suiteDir('gzip');
    await fuzz({
      name: 'gzip',
      arbitrary: gzipInput,
      run: (input) => loadIdxInput(dir, gzipFiles(input), (b) => b),
      check: checkDataset,
      names: () => dir,
      toBytes: (input) => gzipFiles(input).images,
    });
  });

  it('csv: CSV files', async () => {
    const dir = suiteDir('csv');
    const file = path.join(dir, 'data.csv');
    await fuzz({
      name: 'csv',
      arbitrary: fc.oneof({ weight: 3, arbitrary: mutatedBytes(CSV_SEEDS) }, { weight: 2, arbitrary: generatedCsv }),
      run: (bytes) => { writeFileSync(file, bytes); return loadDataset(`csv:${file}`); },
      check: checkDataset,
      names: () => dir,
      toBytes: (bytes) => bytes,
    });
  });

  it('npy: .npy arrays', async () => {
    const dir = suiteDir('npy');
    await fuzz({
      name: 'npy',
      arbitrary: fc.record({ x: npyArray(NPY_X), y: npyArray(NPY_Y) }),
      run: ({ x, y }) => {
        writeFileSync(path.join(dir, 'x.npy'), x);
        writeFileSync(path.join(dir, 'y.npy'), y);
        return loadDataset(`npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`);
      },
      check: checkDataset,
      names: () => dir,
      toBytes: ({ x }) => x,
    });
  });

  it('npz: .npz archives (zip, stored, deflated and Zip64)', async () => {
    const dir = suiteDir('npz');
    const file = path.join(dir, 'data.npz');
    const members = fc.record({ x: npyArray(NPY_X), y: npyArray(NPY_Y), deflate: fc.boolean(), zip64: fc.boolean() })
      .map(({ x, y, deflate, zip64 }) => Uint8Array.from(zipBytes([{ name: 'x_train.npy', data: x, deflate }, { name: 'y_train.npy', data: y, deflate }], { zip64 })));
    await fuzz({
      name: 'npz',
      arbitrary: fc.oneof({ weight: 3, arbitrary: mutatedBytes(NPZ_SEEDS, 3) }, { weight: 1, arbitrary: members }),
      run: (bytes) => { writeFileSync(file, bytes); return loadDataset(`npz:${file}`); },
      check: checkDataset,
      names: () => dir,
      toBytes: (bytes) => bytes,
    });
  });

  it('cifar: CIFAR-10 binary batches and class names', async () => {
    const dir = suiteDir('cifar');
    await fuzz({
      name: 'cifar',
      arbitrary: cifarInput,
      run: (input) => {
        clear(dir);
        input.batches.forEach((b, i) => writeFileSync(path.join(dir, `data_batch_${i + 1 + (input.gap && i > 0 ? 1 : 0)}.bin`), b));
        if (input.test) writeFileSync(path.join(dir, 'test_batch.bin'), input.test);
        if (input.meta) writeFileSync(path.join(dir, 'batches.meta.txt'), input.meta);
        return loadDataset(`cifar:${dir}`);
      },
      check: checkDataset,
      names: () => dir,
      toBytes: (input) => input.batches[0],
    });
  });

  it('folder: folders of PNG and JPEG images', async () => {
    const dir = suiteDir('folder');
    await fuzz({
      name: 'folder',
      arbitrary: folderInput,
      run: (input) => {
        clear(dir);
        FOLDER_FILES.forEach(([cls, name, seed], k) => {
          for (const split of input.split ? ['train', 'test'] : ['']) {
            mkdirSync(path.join(dir, split, cls), { recursive: true });
            writeFileSync(path.join(dir, split, cls, name), k === input.target && split !== 'test' ? input.bytes : IMAGE_SEEDS[seed]);
          }
        });
        return loadDataset(`folder:${dir}`);
      },
      check: checkDataset,
      names: () => dir,
      toBytes: (input) => input.bytes,
    });
  });

  it('dir: the product\'s dataset folders (dataset.json, IDX files, sources)', async () => {
    const dir = suiteDir('dir');
    const seedDir = suiteDir('dir-seeds');
    // Seeds written by the product itself: one loaded from IDX files (u8 pixels, sources kept), one with float pixels and a manifest.
    const fromIdx = await loadIdxInput(seedDir, { images: IDX_IMAGES[0], labels: IDX_LABELS[0], test: { images: IDX_TEST_IMAGES[0], labels: IDX_TEST_LABELS[0] } }, (b) => b);
    const fromFloat = await loadIdxInput(seedDir, { images: IDX_IMAGES[1], labels: IDX_LABELS[1] }, (b) => b);
    dirSeeds = [];
    for (const [k, [ds, manifest]] of ([[fromIdx, undefined], [fromFloat, { attack: 'label-flip', poisons: [1, 2] }]] as const).entries()) {
      const out = path.join(seedDir, `saved-${k}`);
      await saveDatasetDir(ds, out, manifest ? { manifest } : {});
      const files = Object.fromEntries(readdirSync(out).map((f) => [f, Uint8Array.from(readFileSync(path.join(out, f)))]));
      dirSeeds.push({ files, description: JSON.parse(new TextDecoder().decode(files['dataset.json'])) });
    }
    const maxFiles = Math.max(...dirSeeds.map((s) => Object.keys(s.files).length));
    const dirInput: fc.Arbitrary<DirInput> = fc.record({
      seed: fc.nat({ max: dirSeeds.length - 1 }),
      target: fc.nat({ max: maxFiles }),
      bytes: fc.option(mutatedBytes(dirSeeds.flatMap((s) => Object.values(s.files)), 3), { nil: undefined }),
      edits: fc.array(jsonEditArb, { maxLength: 3 }),
    });
    const write = (input: DirInput) => {
      clear(dir);
      const seed = dirSeeds[input.seed];
      const names = Object.keys(seed.files).sort();
      // The target is dataset.json (edited as JSON) or one of the other files (replaced by mutated bytes).
      const target = names[input.target % names.length];
      for (const name of names) {
        let bytes: Uint8Array | string = seed.files[name];
        if (name === 'dataset.json') bytes = JSON.stringify(editJson(seed.description, input.edits));
        else if (name === target && input.bytes !== undefined) bytes = input.bytes;
        writeFileSync(path.join(dir, name), bytes);
      }
    };
    await fuzz({
      name: 'dir',
      arbitrary: dirInput,
      run: (input) => { write(input); return loadDataset(`dir:${dir}`); },
      check: checkDataset,
      names: () => dir,
      toBytes: (input) => JSON.stringify(editJson(dirSeeds[input.seed].description, input.edits)),
    });
  });

  it('dataset.json as text: broken JSON, odd encodings, generated documents', async () => {
    const dir = suiteDir('dir-json');
    const seed = dirSeeds[0];
    await fuzz({
      name: 'dir-json',
      arbitrary: mutatedJsonText([seed.description]),
      run: (text) => {
        clear(dir);
        for (const [name, bytes] of Object.entries(seed.files)) writeFileSync(path.join(dir, name), name === 'dataset.json' ? text : bytes);
        return loadDataset(`dir:${dir}`);
      },
      check: checkDataset,
      names: () => dir,
      toBytes: (text) => text,
    });
  });
});
