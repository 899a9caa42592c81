/**
 * `npz:FILE` and `npy:X,Y[,XT,YT]`: NumPy arrays as numpy.save and numpy.savez(_compressed)
 * write them, built here byte by byte (numpy.ts). Shapes, labels, values and layout must come
 * out as the arrays hold them, each sample must keep its array and item as its source, and
 * hostile files (a bad magic, a shape above the limits, a truncated file, an archive member
 * that inflates past its declared size) must be refused with one sentence, before anything of
 * the declared size is allocated.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/engine/data/index.js';
import { sampleSource } from '../../../src-main/engine/data/dataset.js';
import { resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { bytePattern, expectUserError, tempDir } from './helpers.js';
import { npyBytes, npzBytes, zipBytes } from './numpy.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

afterEach(() => resetLimits());

async function write(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, bytes);
  return file;
}

const labelsOf = (n: number, classes: number) => Array.from({ length: n }, (_, i) => i % classes);

describe('loadDataset("npz:…")', () => {
  it('reads a stored archive of uint8 N×H×W images with test arrays: shapes, labels, values and sources in order', async () => {
    const dir = await tempDir();
    const x = bytePattern(12 * 4 * 5, 1);
    const xt = bytePattern(6 * 4 * 5, 2);
    const file = await write(dir, 'digits.npz', npzBytes({
      x_train: npyBytes('|u1', [12, 4, 5], x), y_train: npyBytes('<i8', [12], labelsOf(12, 3)),
      x_test: npyBytes('|u1', [6, 4, 5], xt), y_test: npyBytes('|u1', [6], labelsOf(6, 3)),
    }));
    const ds = await loadDataset(`npz:${file}`);
    expect(ds.shape).toEqual([4, 5, 1]);
    expect(ds.classNames).toEqual(['0', '1', '2']);
    expect([ds.train.count, ds.test.count]).toEqual([12, 6]);
    expect(Array.from(ds.train.labels)).toEqual(labelsOf(12, 3));
    expect(Array.from(ds.test.labels)).toEqual(labelsOf(6, 3));
    expect(Array.from(ds.train.images.subarray(0, 20))).toEqual(Array.from(x.subarray(0, 20), (b) => Math.fround(b / 255)));
    expect(pixelsInMemory(ds.test.images)[6 * 20 - 1]).toBe(Math.fround(xt[6 * 20 - 1] / 255));
    expect(sampleSource(ds.train, 7)).toBe(`${file}[x_train][7]`);
    expect(sampleSource(ds.test, 5)).toBe(`${file}[x_test][5]`);
    expect(ds.name).toBe('digits.npz');
    expect(ds.description).toBe('NPZ file digits.npz: x_train 12×4×5 uint8 and x_test 6×4×5 uint8, read as NHW (one channel).');
  });

  it('reads a deflated archive with Zip64 records, moves NCHW float32 images to NHWC and says so', async () => {
    const dir = await tempDir();
    // Image n, channel c, row h, column w holds (n + 2c + 3h + 5w) / 100.
    const [N, C, H, W] = [10, 3, 2, 4];
    const values = new Float32Array(N * C * H * W);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      values[((n * C + c) * H + h) * W + w] = (n + 2 * c + 3 * h + 5 * w) / 100;
    }
    const file = await write(dir, 'colour.npz', npzBytes({
      x_train: npyBytes('<f4', [N, C, H, W], values), y_train: npyBytes('<i4', [N, 1], labelsOf(N, 2)),
    }, { deflate: true, zip64: true }));
    const ds = await loadDataset(`npz:${file}`);
    expect(ds.shape).toEqual([H, W, C]);
    expect(ds.train.count + ds.test.count).toBe(N);
    expect(ds.description).toContain('x_train 10×3×2×4 float32, read as NCHW (channels first), moved to NHWC');
    expect(ds.description).toContain('split 80/20');
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) {
        const n = Number(/\[(\d+)\]$/.exec(sampleSource(split, i)!)![1]);
        expect(split.labels[i]).toBe(n % 2);
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) {
          expect(pixelsInMemory(split.images)[i * H * W * C + (h * W + w) * C + c]).toBe(Math.fround((n + 2 * c + 3 * h + 5 * w) / 100));
        }
      }
    }
  });

  it('names what an archive lacks: x_train, or the half of a test pair', async () => {
    const dir = await tempDir();
    const x = npyBytes('|u1', [4, 2, 2], bytePattern(16));
    const y = npyBytes('|u1', [4], [0, 1, 0, 1]);
    const positional = await write(dir, 'a.npz', npzBytes({ arr_0: x, arr_1: y }));
    await expectUserError(loadDataset(`npz:${positional}`), 'holds no x_train array', 'its arrays are "arr_0", "arr_1"', 'numpy.savez');
    const half = await write(dir, 'b.npz', npzBytes({ x_train: x, y_train: y, x_test: x }));
    await expectUserError(loadDataset(`npz:${half}`), 'holds x_test but no y_test');
    const mismatch = await write(dir, 'c.npz', npzBytes({ x_train: x, y_train: npyBytes('|u1', [3], [0, 1, 0]) }));
    await expectUserError(loadDataset(`npz:${mismatch}`), 'x_train holds 4 images but y_train holds 3 labels');
  });
});

describe('loadDataset("npy:…")', () => {
  it('reads NHWC uint8 images with N×1 int64 labels, splits them 80/20, and keeps each sample\'s file and item', async () => {
    const dir = await tempDir();
    const x = bytePattern(20 * 4 * 2 * 3, 5);
    const xFile = await write(dir, 'x.npy', npyBytes('|u1', [20, 4, 2, 3], x));
    const yFile = await write(dir, 'y.npy', npyBytes('<i8', [20, 1], labelsOf(20, 4)));
    const ds = await loadDataset(`npy:${xFile},${yFile}`);
    expect(ds.shape).toEqual([4, 2, 3]);
    expect([ds.train.count, ds.test.count]).toEqual([16, 4]);
    expect(ds.classNames).toHaveLength(4);
    expect(ds.description).toBe('NPY files: x.npy 20×4×2×3 uint8, read as NHWC (channels last); no test arrays, so it is split 80/20.');
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) {
        const source = sampleSource(split, i)!;
        expect(source.startsWith(`${xFile}[`)).toBe(true);
        const n = Number(/\[(\d+)\]$/.exec(source)![1]);
        expect(split.labels[i]).toBe(n % 4);
        expect(pixelsInMemory(split.images)[i * 24 + 23]).toBe(Math.fround(x[n * 24 + 23] / 255));
      }
    }
  });

  it('reads four files: big-endian float64 values that are whole numbers 0–255 are divided by 255, version 2 headers too', async () => {
    const dir = await tempDir();
    const x = Array.from({ length: 6 * 2 * 2 }, (_, i) => (i * 11) % 256);
    const files = await Promise.all([
      write(dir, 'xtr.npy', npyBytes('>f8', [6, 2, 2], x, { version: 2 })),
      write(dir, 'ytr.npy', npyBytes('<u2', [6], labelsOf(6, 2))),
      write(dir, 'xte.npy', npyBytes('>f8', [2, 2, 2], x.slice(0, 8))),
      write(dir, 'yte.npy', npyBytes('>i4', [2], [1, 0])),
    ]);
    const ds = await loadDataset(`npy:${files.join(',')}`);
    expect(ds.shape).toEqual([2, 2, 1]);
    expect([ds.train.count, ds.test.count]).toEqual([6, 2]);
    expect(Array.from(pixelsInMemory(ds.train.images))).toEqual(x.map((v) => Math.fround(v / 255)));
    expect(Array.from(ds.test.labels)).toEqual([1, 0]);
    expect(sampleSource(ds.test, 1)).toBe(`${files[2]}[1]`);
  });

  it('treats N×F arrays as feature vectors, and prefers NHWC when both ends could be channels, saying so', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [5], labelsOf(5, 2)));
    const vectors = await write(dir, 'v.npy', npyBytes('<f4', [5, 7], Array.from({ length: 35 }, (_, i) => i / 35)));
    const v = await loadDataset(`npy:${vectors},${y}`);
    expect(v.shape).toEqual([1, 1, 7]);
    expect(v.description).toContain('feature vectors');
    const both = await write(dir, 'b.npy', npyBytes('|u1', [5, 3, 4, 3], bytePattern(180)));
    const b = await loadDataset(`npy:${both},${y}`);
    expect(b.shape).toEqual([3, 4, 3]);
    expect(b.description).toContain('channels last was assumed');
  });

  it('refuses images without a channel axis of 1 or 3, values outside 0–1 that are not bytes, and NaN', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [2], [0, 1]));
    const odd = await write(dir, 'odd.npy', npyBytes('|u1', [2, 5, 6, 7], bytePattern(420)));
    await expectUserError(loadDataset(`npy:${odd},${y}`), 'odd.npy', 'no channel axis of size 1 or 3', 'NHWC or NCHW');
    const wide = await write(dir, 'wide.npy', npyBytes('<f4', [2, 2, 2], [0, 0.5, 1, 2.5, 0, 0, 0, 0]));
    await expectUserError(loadDataset(`npy:${wide},${y}`), 'values from 0 to 2.5', 'all lie in 0–1 or all be whole numbers from 0 to 255');
    const nan = await write(dir, 'nan.npy', npyBytes('<f8', [2, 2, 2], [0, Number.NaN, 0, 0, 0, 0, 0, 0]));
    await expectUserError(loadDataset(`npy:${nan},${y}`), 'not a number (NaN)');
    await expectUserError(loadDataset(`npy:${odd}`), 'must name 2 or 4 files', 'npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]');
  });
});

describe('hostile NumPy files', () => {
  it('refuses a bad magic: a .npy file that is not one, and an .npz file that is no zip archive', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [2], [0, 1]));
    const text = await write(dir, 'x.npy', Buffer.from('label,pixel\n0,1\n'));
    await expectUserError(loadDataset(`npy:${text},${y}`), 'The NPY file', 'x.npy is not a NumPy .npy file');
    const npyAsNpz = await write(dir, 'x.npz', npyBytes('|u1', [2, 2, 2], bytePattern(8)));
    await expectUserError(loadDataset(`npz:${npyAsNpz}`), 'x.npz is not a zip archive');
    const inside = await write(dir, 'bad.npz', zipBytes([
      { name: 'x_train.npy', data: Buffer.from('not numpy at all') }, { name: 'y_train.npy', data: npyBytes('|u1', [2], [0, 1]) },
    ]));
    await expectUserError(loadDataset(`npz:${inside}`), 'bad.npz (x_train.npy) is not a NumPy .npy file');
  });

  it('refuses declared shapes above the limits from the header of a small file', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [2], [0, 1]));
    const many = await write(dir, 'many.npy', npyBytes('|u1', [2, 2, 2], bytePattern(8), { header: "{'descr': '|u1', 'fortran_order': False, 'shape': (10000000, 28, 28), }" }));
    await expectUserError(loadDataset(`npy:${many},${y}`), 'declares 10000000 items', 'above the limit of 1000000 samples');
    const huge = await write(dir, 'huge.npy', npyBytes('|u1', [2, 2, 2], bytePattern(8), { header: "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 100000, 100000), }" }));
    await expectUserError(loadDataset(`npy:${huge},${y}`), 'declares images of 100000×100000 pixels', 'imagePixels');
    const bigHeader = Buffer.from(npyBytes('|u1', [2, 2, 2], bytePattern(8)));
    bigHeader.writeUInt16LE(0, 8);
    bigHeader[6] = 2;
    bigHeader.writeUInt32LE(0x7fffffff, 8);
    const longHeader = await write(dir, 'header.npy', bigHeader);
    await expectUserError(loadDataset(`npy:${longHeader},${y}`), 'declares a header of 2147483647 bytes');
    // A genuine array over the datasetValues budget, counted across train and test.
    setLimits({ datasetValues: 100 });
    const x = await write(dir, 'x.npy', npyBytes('|u1', [2, 8, 8], bytePattern(128)));
    await expectUserError(loadDataset(`npy:${x},${y}`), 'declares 2 samples of 64 values', 'datasetValues');
  });

  it('refuses a truncated .npy file and a truncated archive, naming what they hold', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [4], [0, 1, 0, 1]));
    const whole = npyBytes('|u1', [4, 3, 3], bytePattern(36));
    const cut = await write(dir, 'cut.npy', whole.subarray(0, whole.length - 10));
    await expectUserError(loadDataset(`npy:${cut},${y}`), 'cut.npy is truncated', 'declares 4 items but it holds 2');
    const short = await write(dir, 'short.npy', whole.subarray(0, 5));
    await expectUserError(loadDataset(`npy:${short},${y}`), 'short.npy is truncated: it is only 5 bytes long');
    const long = await write(dir, 'long.npy', Buffer.concat([whole, Buffer.alloc(9)]));
    await expectUserError(loadDataset(`npy:${long},${y}`), 'long.npy is longer than its header declares');
    const archive = npzBytes({ x_train: whole, y_train: npyBytes('|u1', [4], [0, 1, 0, 1]) });
    const truncated = await write(dir, 'cut.npz', archive.subarray(0, archive.length - 40));
    await expectUserError(loadDataset(`npz:${truncated}`), 'cut.npz is not a zip archive');
    // A member whose array header declares 5 images but which holds 4.
    const member = npyBytes('|u1', [4, 3, 3], bytePattern(36), { header: "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 3, 3), }" });
    const lying = await write(dir, 'lying.npz', zipBytes([
      { name: 'x_train.npy', data: member, deflate: true }, { name: 'y_train.npy', data: npyBytes('|u1', [4], [0, 1, 0, 1]) },
    ]));
    await expectUserError(loadDataset(`npz:${lying}`), 'lying.npz (x_train.npy) is truncated', 'declares 5 items but it holds 4');
  });

  it('stops inflating a member where its header says the data ends, and refuses sizes above the decompressedBytes limit', async () => {
    const dir = await tempDir();
    const header = npyBytes('|u1', [4, 2, 2], bytePattern(16));
    // 64 MB of zeros after a 16-value array, compressed to a few tens of kilobytes.
    const bomb = Buffer.concat([header, Buffer.alloc(64 * 1024 * 1024)]);
    const file = await write(dir, 'bomb.npz', zipBytes([
      { name: 'x_train.npy', data: bomb, deflate: true, declaredSize: header.length }, { name: 'y_train.npy', data: npyBytes('|u1', [4], [0, 1, 0, 1]) },
    ]));
    const t0 = performance.now();
    await expectUserError(loadDataset(`npz:${file}`), 'bomb.npz (x_train.npy) holds more data than its header declares');
    expect(performance.now() - t0).toBeLessThan(5000);
    setLimits({ decompressedBytes: 100 });
    await expectUserError(loadDataset(`npz:${file}`), 'declares 144 bytes once decompressed', 'decompressedBytes');
  });

  it('refuses object arrays, Fortran order, float labels, a damaged checksum and more members than the files limit', async () => {
    const dir = await tempDir();
    const y = await write(dir, 'y.npy', npyBytes('|u1', [2], [0, 1]));
    const objects = await write(dir, 'o.npy', npyBytes('|u1', [2], [0, 1], { header: "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }" }));
    await expectUserError(loadDataset(`npy:${objects},${y}`), 'holds Python objects (which would need unpickling)');
    const fortran = await write(dir, 'f.npy', npyBytes('|u1', [2, 2, 2], bytePattern(8), { fortranOrder: true }));
    await expectUserError(loadDataset(`npy:${fortran},${y}`), 'Fortran-order');
    const x = await write(dir, 'x.npy', npyBytes('|u1', [2, 2, 2], bytePattern(8)));
    const floatLabels = await write(dir, 'yf.npy', npyBytes('<f4', [2], [0, 1]));
    await expectUserError(loadDataset(`npy:${x},${floatLabels}`), 'holds float32 labels', 'whole numbers');
    const member = npyBytes('|u1', [2, 2, 2], bytePattern(8));
    const crc = await write(dir, 'crc.npz', zipBytes([{ name: 'x_train.npy', data: member, crc: 1234 }, { name: 'y_train.npy', data: npyBytes('|u1', [2], [0, 1]) }]));
    await expectUserError(loadDataset(`npz:${crc}`), 'crc.npz (x_train.npy) is a damaged zip archive', 'CRC-32');
    setLimits({ files: 1 });
    const two = await write(dir, 'two.npz', npzBytes({ x_train: member, y_train: npyBytes('|u1', [2], [0, 1]) }));
    await expectUserError(loadDataset(`npz:${two}`), 'declares 2 members', '(files)');
  });

  it('refuses labels that leave a class empty, naming the array and the item', async () => {
    const dir = await tempDir();
    const file = await write(dir, 'gap.npz', npzBytes({
      x_train: npyBytes('|u1', [3, 2, 2], bytePattern(12)), y_train: npyBytes('<i8', [3], [0, 2, 0]),
    }));
    await expectUserError(loadDataset(`npz:${file}`), 'gap.npz (y_train.npy) has label 2 at item 1', 'no sample has label 1');
  });
});

describe('the engine\'s dataset cache and NumPy files', () => {
  it('reloads an .npz file that changed on disk instead of serving the old arrays', async () => {
    const { getDataset } = await import('../../../src-main/engine/jobs/datasets.js');
    const dir = await tempDir();
    const arrays = (salt: number) => npzBytes({ x_train: npyBytes('|u1', [4, 2, 2], bytePattern(16, salt)), y_train: npyBytes('|u1', [4], [0, 1, 0, 1]) });
    const file = await write(dir, 'c.npz', arrays(1));
    const before = await getDataset({ data: `npz:${file}` });
    await fs.writeFile(file, arrays(2));
    const after = await getDataset({ data: `npz:${file}` });
    expect(after.fingerprint).not.toBe(before.fingerprint);
  });
});
