/**
 * Files from an attacker: every reader must refuse a hostile input with a one-sentence
 * UserError within seconds, before it allocates what the input declares, and must never read
 * outside the folder a spec names or open something that is not a regular file.
 *
 * Each probe is built in a temporary folder. Where the point is memory, the probe measures how
 * far the process's resident set grew during the load (sampled while the loader waits, plus the
 * kernel's peak when that rose), and requires it to stay far below the 500 MB the unguarded
 * readers took.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflate, createGzip, crc32, deflateSync, gzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeIdx, loadDataset, loadDatasetManifest, saveDatasetDir } from '../../../src-main/engine/data/index.js';
import { resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { bytePattern, expectUserError, tempDir, writeIdxPair } from './helpers.js';

afterEach(() => resetLimits());

const MB = 1024 * 1024;
/** A refusal must come this fast, and grow the process by at most this much. */
const MAX_MS = 5000;
const MAX_GROWTH_MB = 100;
const posixOnly = process.platform === 'win32' ? it.skip : it;

interface Probe { error: unknown; ms: number; growthMB: number }

/** Runs a load and reports its error, its duration and how far the resident set grew meanwhile. */
async function probe(run: () => Promise<unknown>): Promise<Probe> {
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const start = process.memoryUsage.rss();
  let sampled = start;
  const timer = setInterval(() => { sampled = Math.max(sampled, process.memoryUsage.rss()); }, 2);
  const t0 = performance.now();
  const error = await run().then(() => undefined, (e: unknown) => e);
  const ms = performance.now() - t0;
  clearInterval(timer);
  sampled = Math.max(sampled, process.memoryUsage.rss());
  const peakAfter = process.resourceUsage().maxRSS * 1024;
  const peak = peakAfter > peakBefore ? Math.max(sampled, peakAfter) : sampled;
  return { error, ms, growthMB: (peak - start) / MB };
}

/** The load must end in a UserError naming every fragment, quickly and without a memory spike. */
async function expectRefused(run: () => Promise<unknown>, ...fragments: string[]): Promise<string> {
  const p = await probe(run);
  const message = await expectUserError(Promise.reject(p.error), ...fragments);
  expect(p.ms, `refused after ${Math.round(p.ms)} ms`).toBeLessThan(MAX_MS);
  expect(p.growthMB, `the process grew by ${Math.round(p.growthMB)} MB`).toBeLessThan(MAX_GROWTH_MB);
  return message;
}

function idxHeader(typeCode: number, dims: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b[2] = typeCode;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
}

/** Compresses a stream of `zeros` zero bytes after `prefix`, 1 MB at a time, so building a bomb stays small. */
async function compressZeros(prefix: Uint8Array, zeros: number, gzip: boolean): Promise<Buffer> {
  const block = Buffer.alloc(MB);
  async function* source() {
    yield Buffer.from(prefix);
    for (let left = zeros; left > 0; left -= MB) yield left >= MB ? block : block.subarray(0, left);
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(source()), gzip ? createGzip({ level: 9 }) : createDeflate({ level: 1 }), async (s: AsyncIterable<Buffer>) => {
    for await (const c of s) out.push(c);
  });
  return Buffer.concat(out);
}

/** A gzip file of `members` concatenated members, each 16 MB of zeros, after a member holding `prefix`. */
async function gzipBomb(prefix: Uint8Array, members: number): Promise<Buffer> {
  const member = await compressZeros(new Uint8Array(0), 16 * MB, true);
  return Buffer.concat([gzipSync(prefix), ...Array.from({ length: members }, () => member)]);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG with the given header fields and compressed pixel data, built by hand (pngjs would refuse to). */
function rawPng(width: number, height: number, idat: Uint8Array, { colourType = 0, interlace = 0 } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colourType;
  ihdr[12] = interlace;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A genuine Adam7-interlaced 8-bit grayscale PNG of pixel(x, y). */
function interlacedPng(w: number, h: number, pixel: (x: number, y: number) => number): Buffer {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const bytes: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= w) continue; // an empty pass has no rows at all
    for (let y = y0; y < h; y += dy) {
      bytes.push(0);
      for (let x = x0; x < w; x += dx) bytes.push(pixel(x, y));
    }
  }
  return rawPng(w, h, deflateSync(Uint8Array.from(bytes)), { interlace: 1 });
}

function grayPng(w: number, h: number, pixel: (x: number, y: number) => number): Buffer {
  const png = new pngjs.PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      png.data[p] = png.data[p + 1] = png.data[p + 2] = pixel(x, y);
      png.data[p + 3] = 255;
    }
  }
  return pngjs.PNG.sync.write(png, { colorType: 0 });
}

/** A JPEG that declares a width × height frame and holds nothing else. */
function jpegFrameOnly(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])]);
}

async function writeIn(dir: string, rel: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(dir, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, data);
  return file;
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

/** A small genuine `dir:` dataset (3 classes, 5×5 images) saved in DIR/saved. */
async function savedDataset(dir: string): Promise<string> {
  const files = await writeIdxPair(dir, 'src', bytePattern(30 * 25), [30, 5, 5], Array.from({ length: 30 }, (_, i) => i % 3));
  const out = path.join(dir, 'saved');
  await saveDatasetDir(await loadDataset(`idx:${files.images},${files.labels}`), out);
  return out;
}

describe('IDX files declaring more than they hold', () => {
  it('refuses a 1.2 KB labels file that declares 10,000,000 items, by the samples limit', async () => {
    const dir = await tempDir();
    const { images } = await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    const labels = await writeIn(dir, 'huge-labels.idx', Buffer.concat([idxHeader(0x08, [10_000_000]), Buffer.alloc(1192)]));
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'huge-labels.idx', 'declares 10000000 items', 'limit of 1000000 samples');
  });

  it('refuses images whose declared size is above the pixel and value limits, before reading them', async () => {
    const dir = await tempDir();
    const labels = (await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2))).labels;
    const wide = await writeIn(dir, 'wide-images.idx', Buffer.concat([idxHeader(0x08, [10, 100_000, 100_000]), Buffer.alloc(100)]));
    await expectRefused(() => loadDataset(`idx:${wide},${labels}`), 'wide-images.idx', '100000×100000', 'imagePixels');
    const deep = await writeIn(dir, 'deep-images.idx', Buffer.concat([idxHeader(0x08, [10, 512, 512, 4]), Buffer.alloc(100)]));
    await expectRefused(() => loadDataset(`idx:${deep},${labels}`), 'deep-images.idx', 'sampleValues');
    const empty = await writeIn(dir, 'flat-images.idx', idxHeader(0x08, [10, 0, 28]));
    await expectRefused(() => loadDataset(`idx:${empty},${labels}`), 'flat-images.idx', '0×28');
  });

  it('compares the file size with the header before reading: a 1 GB file declaring 10 items is not read', async () => {
    const dir = await tempDir();
    const labels = (await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2))).labels;
    const images = await writeIn(dir, 'padded-images.idx', encodeIdx('u8', [10, 2, 2], bytePattern(40)));
    await fs.truncate(images, 1024 * MB); // sparse: no disk space, but 1 GB if read
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'padded-images.idx', 'longer than its header declares');
    const cut = await writeIn(dir, 'cut-images.idx', encodeIdx('u8', [10, 2, 2], bytePattern(40)).subarray(0, 30));
    await expectRefused(() => loadDataset(`idx:${cut},${labels}`), 'cut-images.idx', 'truncated', 'declares 10 items but it holds 3');
  });

  it('refuses a file above the fileBytes limit by its size alone', async () => {
    const dir = await tempDir();
    const { images, labels } = await writeIdxPair(dir, 'ok', bytePattern(400), [100, 2, 2], Array.from({ length: 100 }, (_, i) => i % 2));
    setLimits({ fileBytes: 300 });
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'ok-images.idx3-ubyte', '416 bytes', 'fileBytes');
  });

  it('counts train and test images together against the samples and datasetValues limits', async () => {
    const dir = await tempDir();
    const labels = Array.from({ length: 10 }, (_, i) => i % 2);
    const train = await writeIdxPair(dir, 'train', bytePattern(40), [10, 2, 2], labels);
    const test = await writeIdxPair(dir, 'test', bytePattern(40, 1), [10, 2, 2], labels);
    const spec = `idx:${train.images},${train.labels},${test.images},${test.labels}`;
    setLimits({ samples: 15 });
    await expectRefused(() => loadDataset(spec), 'images.idx3-ubyte', '20 samples', 'limit of 15 samples');
    resetLimits();
    setLimits({ datasetValues: 60 });
    await expectRefused(() => loadDataset(spec), 'images.idx3-ubyte', '80 values', 'datasetValues');
  });
});

describe('gzip files', () => {
  it('checks the IDX magic number of a 1 MB gzip bomb after its first bytes, not after 1 GB', async () => {
    const dir = await tempDir();
    const labels = (await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2))).labels;
    const bomb = await writeIn(dir, 'bomb-images.gz', await gzipBomb(new Uint8Array(0), 64));
    expect((await fs.stat(bomb)).size).toBeLessThan(2 * MB);
    await expectRefused(() => loadDataset(`idx:${bomb},${labels}`), 'bomb-images.gz', 'not an IDX images file', 'magic number');
  });

  it('stops decompressing where the header says the data ends', async () => {
    const dir = await tempDir();
    const labels = (await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2))).labels;
    const bomb = await writeIn(dir, 'long-images.gz', await gzipBomb(encodeIdx('u8', [10, 2, 2], bytePattern(40)), 64));
    await expectRefused(() => loadDataset(`idx:${bomb},${labels}`), 'long-images.gz', 'longer than its header declares');
  });

  it('refuses a header whose decompressed size is above the decompressedBytes limit', async () => {
    const dir = await tempDir();
    const labels = path.join(dir, 'labels.gz');
    await fs.writeFile(labels, gzipSync(encodeIdx('u8', [2000], Uint8Array.from({ length: 2000 }, (_, i) => i % 2))));
    const images = await writeIn(dir, 'images.gz', await compressZeros(idxHeader(0x08, [2000, 28, 28]), 2000 * 784, true));
    setLimits({ decompressedBytes: MB });
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'images.gz', '1568016 bytes', 'decompressedBytes');
  });

  it('still loads genuine gzipped IDX files, byte for byte the same as the plain ones', async () => {
    const dir = await tempDir();
    const labels = Array.from({ length: 200 }, (_, i) => i % 4);
    const plain = await writeIdxPair(dir, 'plain', bytePattern(200 * 64), [200, 8, 8], labels);
    const gz = await writeIdxPair(dir, 'gz', bytePattern(200 * 64), [200, 8, 8], labels, true);
    const a = await loadDataset(`idx:${plain.images},${plain.labels}`);
    const b = await loadDataset(`idx:${gz.images},${gz.labels}`);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.classNames).toEqual(['0', '1', '2', '3']);
  });
});

describe('labels outside the classes', () => {
  it('refuses label 255 among ten classes instead of making 256 classes, naming the item', async () => {
    const dir = await tempDir();
    const labels = Array.from({ length: 100 }, (_, i) => i % 10);
    labels[37] = 255;
    const files = await writeIdxPair(dir, 'gap', bytePattern(400), [100, 2, 2], labels);
    await expectRefused(() => loadDataset(`idx:${files.images},${files.labels}`),
      'gap-labels.idx1-ubyte', 'label 255 at item 37', 'no sample has label 10');
  });

  it('refuses a 1.2 KB int32 labels file whose one label would make ten million classes', async () => {
    const dir = await tempDir();
    const values = Int32Array.from({ length: 300 }, (_, i) => i % 10);
    values[123] = 9_999_999;
    const labels = await writeIn(dir, 'wide-labels.idx', encodeIdx('i32', [300], values));
    const images = await writeIn(dir, 'images.idx', encodeIdx('u8', [300, 2, 2], bytePattern(1200)));
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'wide-labels.idx', 'label 9999999 at item 123', 'classes');
  });

  it('refuses a negative int32 label, naming the item', async () => {
    const dir = await tempDir();
    const values = Int32Array.from({ length: 20 }, (_, i) => i % 2);
    values[4] = -3;
    const labels = await writeIn(dir, 'neg-labels.idx', encodeIdx('i32', [20], values));
    const images = await writeIn(dir, 'images.idx', encodeIdx('u8', [20, 2, 2], bytePattern(80)));
    await expectRefused(() => loadDataset(`idx:${images},${labels}`), 'neg-labels.idx', 'label -3 at item 4');
  });

  it('refuses a gap between train and test labels, naming the test file', async () => {
    const dir = await tempDir();
    const train = await writeIdxPair(dir, 'train', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    const test = await writeIdxPair(dir, 'test', bytePattern(40), [10, 2, 2], [0, 1, 0, 1, 0, 1, 0, 1, 7, 0]);
    await expectRefused(() => loadDataset(`idx:${train.images},${train.labels},${test.images},${test.labels}`),
      'test-labels.idx1-ubyte', 'label 7 at item 8', 'no sample has label 2');
  });

  it('refuses label 255 in a ten-class CSV file, naming the line', async () => {
    const dir = await tempDir();
    const lines = ['label,a,b', ...Array.from({ length: 30 }, (_, i) => `${i === 12 ? 255 : i % 10},0.1,0.2`)];
    const file = await writeIn(dir, 'gap.csv', lines.join('\n'));
    await expectRefused(() => loadDataset(`csv:${file}`), 'gap.csv', 'label 255 on line 14', 'no sample has label 10');
  });

  it('refuses more class folders than the classes limit', async () => {
    const dir = await tempDir();
    for (const c of ['a', 'b', 'c', 'd']) await writeIn(dir, `${c}/x.png`, grayPng(2, 2, () => 0));
    setLimits({ classes: 3 });
    await expectRefused(() => loadDataset(`folder:${dir}`), path.basename(dir), '4 class folders', 'classes');
  });

  it('refuses a dir: dataset declaring more classes than the limit, or images above the pixel limit', async () => {
    const out = await savedDataset(await tempDir());
    setLimits({ classes: 2 });
    await expectRefused(() => loadDataset(`dir:${out}`), 'dataset.json', '3 classes', 'classes');
    resetLimits();
    const descFile = path.join(out, 'dataset.json');
    const desc = JSON.parse(await fs.readFile(descFile, 'utf8'));
    desc.shape = [100_000, 100_000, 1];
    await fs.writeFile(descFile, JSON.stringify(desc));
    await expectRefused(() => loadDataset(`dir:${out}`), 'dataset.json', '100000×100000', 'imagePixels');
  });
});

describe('CSV files', () => {
  it('refuses a 20 MB file with a million columns before splitting its rows', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'wide.csv');
    const row = `0${',0'.repeat(1_000_000)}\n`;
    const handle = await fs.open(file, 'w');
    for (let r = 0; r < 10; r++) await handle.write(row);
    await handle.close();
    expect((await fs.stat(file)).size).toBeGreaterThan(20_000_000);
    await expectRefused(() => loadDataset(`csv:${file}`), 'wide.csv', '1000001 columns on line 1', 'sampleValues');
  });

  it('refuses more rows than the samples limit, and more values than the datasetValues limit', async () => {
    const dir = await tempDir();
    const file = await writeIn(dir, 'long.csv', Array.from({ length: 50 }, (_, i) => `${i % 2},0.1,0.2,0.3`).join('\n'));
    setLimits({ samples: 40 });
    await expectRefused(() => loadDataset(`csv:${file}`), 'long.csv', 'rows', 'limit of 40 samples');
    resetLimits();
    setLimits({ datasetValues: 100 });
    await expectRefused(() => loadDataset(`csv:${file}`), 'long.csv', '150 values', 'datasetValues');
  });

  it('refuses a file above the fileBytes limit before reading it', async () => {
    const dir = await tempDir();
    const file = await writeIn(dir, 'big.csv', Array.from({ length: 50 }, (_, i) => `${i % 2},0.1,0.2,0.3`).join('\n'));
    setLimits({ fileBytes: 100 });
    await expectRefused(() => loadDataset(`csv:${file}`), 'big.csv', 'fileBytes');
  });

  it('never echoes a long or unprintable field from the file', async () => {
    const dir = await tempDir();
    const secret = 'x'.repeat(10_000);
    const long = await writeIn(dir, 'long-field.csv', `label,a\n0,0.1\n1,${secret}\n`);
    const m1 = await expectRefused(() => loadDataset(`csv:${long}`), 'long-field.csv', 'line 3', 'column 2', '10000 characters');
    expect(m1.length).toBeLessThan(300);
    const escape = await writeIn(dir, 'escape.csv', 'label,a\n0,0.1\n\u001b[31m,0.2\n');
    const m2 = await expectRefused(() => loadDataset(`csv:${escape}`), 'escape.csv', 'line 3');
    expect(m2).not.toContain('\u001b');
  });
});

describe('image folders', () => {
  it('refuses four small PNGs that declare huge sizes, from their headers, before decoding', async () => {
    const dir = await tempDir();
    const idat = deflateSync(Buffer.alloc(8001));
    for (const rel of ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png']) await writeIn(dir, rel, rawPng(8000, 8000, idat));
    await expectRefused(() => loadDataset(`folder:${dir}`), '1.png', '8000×8000', 'imagePixels');
  });

  it('refuses an interlaced PNG whose compressed data expands beyond what its size needs', async () => {
    const dir = await tempDir();
    await writeIn(dir, 'a/ok.png', grayPng(800, 800, () => 0));
    await writeIn(dir, 'b/bomb.png', rawPng(800, 800, await compressZeros(new Uint8Array(0), 300 * MB, false), { interlace: 1 }));
    await expectRefused(() => loadDataset(`folder:${dir}`), 'bomb.png', 'expands');
  });

  it('refuses a JPEG that declares a huge frame, from its header', async () => {
    const dir = await tempDir();
    await writeIn(dir, 'a/ok.png', grayPng(4, 4, () => 0));
    await writeIn(dir, 'b/huge.jpg', jpegFrameOnly(9000, 9000));
    await expectRefused(() => loadDataset(`folder:${dir}`), 'huge.jpg', '9000×9000', 'imagePixels');
  });

  it('refuses an image of another size from its header, before decoding it', async () => {
    const dir = await tempDir();
    await writeIn(dir, 'a/first.png', grayPng(4, 4, () => 0));
    await writeIn(dir, 'b/odd.png', rawPng(1000, 1000, Buffer.from('not deflate data at all')));
    await expectRefused(() => loadDataset(`folder:${dir}`), 'odd.png', '1000×1000', 'first.png', '4×4');
  });

  it('counts the entries of a folder against the files limit', async () => {
    const dir = await tempDir();
    for (let i = 0; i < 4; i++) await writeIn(dir, `a/${i}.png`, grayPng(2, 2, () => i));
    for (let i = 0; i < 4; i++) await writeIn(dir, `b/${i}.png`, grayPng(2, 2, () => i));
    setLimits({ files: 6 });
    await expectRefused(() => loadDataset(`folder:${dir}`), path.basename(dir), 'files');
  });

  it('refuses more images in all than the datasetValues limit allows', async () => {
    const dir = await tempDir();
    for (let i = 0; i < 4; i++) await writeIn(dir, `a/${i}.png`, grayPng(4, 4, () => i));
    for (let i = 0; i < 4; i++) await writeIn(dir, `b/${i}.png`, grayPng(4, 4, () => i));
    setLimits({ datasetValues: 100 });
    await expectRefused(() => loadDataset(`folder:${dir}`), path.basename(dir), '8 images', '128 values', 'datasetValues');
  });

  it('still loads a genuine interlaced PNG, pixel for pixel as its plain twin', async () => {
    const pixel = (seed: number) => (x: number, y: number) => (seed * 31 + x * 7 + y * 13) & 0xff;
    const plain = await tempDir();
    const laced = await tempDir();
    for (const c of ['a', 'b']) {
      for (let i = 0; i < 5; i++) {
        const seed = c === 'a' ? i : i + 10;
        await writeIn(plain, `${c}/${i}.png`, grayPng(11, 7, pixel(seed)));
        await writeIn(laced, `${c}/${i}.png`, interlacedPng(11, 7, pixel(seed)));
      }
    }
    const a = await loadDataset(`folder:${plain}`);
    const b = await loadDataset(`folder:${laced}`);
    expect(b.shape).toEqual([7, 11, 1]);
    expect(b.fingerprint).toBe(a.fingerprint);
  });
});

describe('containment: symbolic links and special files', () => {
  posixOnly('refuses an image that is a symbolic link to a file outside the folder', async () => {
    const outside = await tempDir();
    const secret = await writeIn(outside, 'secret.png', grayPng(2, 2, () => 9));
    const dir = await tempDir();
    await writeIn(dir, 'a/x.png', grayPng(2, 2, () => 0));
    await writeIn(dir, 'b/y.png', grayPng(2, 2, () => 1));
    await fs.symlink(secret, path.join(dir, 'b', 'z.png'));
    await expectRefused(() => loadDataset(`folder:${dir}`), 'z.png', 'outside the folder');
  });

  posixOnly('refuses a class folder that is a symbolic link out of the folder, but follows links that stay inside', async () => {
    const outside = await tempDir();
    await writeIn(outside, 'cls/secret.png', grayPng(2, 2, () => 9));
    const dir = await tempDir();
    await writeIn(dir, 'a/x.png', grayPng(2, 2, () => 0));
    await writeIn(dir, 'b/y.png', grayPng(2, 2, () => 1));
    await fs.symlink(path.join(dir, 'a', 'x.png'), path.join(dir, 'b', 'link.png'));
    const ok = await loadDataset(`folder:${dir}`);
    expect(ok.train.count + ok.test.count).toBe(3);
    await fs.symlink(path.join(outside, 'cls'), path.join(dir, 'c'));
    await expectRefused(() => loadDataset(`folder:${dir}`), `${path.sep}c`, 'outside the folder');
  });

  posixOnly('refuses a FIFO with an image name at once instead of hanging on it', async () => {
    const dir = await tempDir();
    await writeIn(dir, 'a/x.png', grayPng(2, 2, () => 0));
    await fs.mkdir(path.join(dir, 'b'));
    mkfifo(path.join(dir, 'b', 'pipe.png'));
    await expectRefused(() => loadDataset(`folder:${dir}`), 'pipe.png', 'not a regular file');
  });

  posixOnly('refuses dir: files that are symbolic links out of the dataset folder', async () => {
    const dir = await tempDir();
    const out = await savedDataset(dir);
    const moved = path.join(dir, 'elsewhere-images.idx');
    await fs.rename(path.join(out, 'train-images.idx3-ubyte'), moved);
    await fs.symlink(moved, path.join(out, 'train-images.idx3-ubyte'));
    await expectRefused(() => loadDataset(`dir:${out}`), 'train-images.idx3-ubyte', 'outside the folder');
  });

  posixOnly('refuses a dataset.json or manifest that is a symbolic link out of the dataset folder', async () => {
    const dir = await tempDir();
    const out = await savedDataset(dir);
    const descFile = path.join(out, 'dataset.json');
    const desc = JSON.parse(await fs.readFile(descFile, 'utf8'));
    desc.files.manifest = 'manifest.json';
    await fs.writeFile(descFile, JSON.stringify(desc));
    await writeIn(dir, 'private.json', '{"secret": 1}');
    await fs.symlink(path.join(dir, 'private.json'), path.join(out, 'manifest.json'));
    await expectRefused(() => loadDatasetManifest(out), 'manifest.json', 'outside the folder');
    const moved = path.join(dir, 'desc.json');
    await fs.rename(descFile, moved);
    await fs.symlink(moved, descFile);
    await expectRefused(() => loadDataset(`dir:${out}`), 'dataset.json', 'outside the folder');
  });

  posixOnly('refuses a FIFO as a dir: labels file and a device as an idx: file, without opening them', async () => {
    const dir = await tempDir();
    const out = await savedDataset(dir);
    await fs.rm(path.join(out, 'test-labels.idx1-ubyte'));
    mkfifo(path.join(out, 'test-labels.idx1-ubyte'));
    await expectRefused(() => loadDataset(`dir:${out}`), 'test-labels.idx1-ubyte', 'not a regular file');
    const { images } = await writeIdxPair(dir, 'ok', bytePattern(40), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    await expectRefused(() => loadDataset(`idx:${images},/dev/null`), '/dev/null', 'not a regular file');
  });

  it('does not echo the text of an invalid dataset.json', async () => {
    const dir = await tempDir();
    await writeIn(dir, 'dataset.json', '{"name": secret-words-from-the-file}');
    const message = await expectRefused(() => loadDataset(`dir:${dir}`), 'dataset.json', 'not valid JSON');
    expect(message).not.toContain('secret');
  });
});
