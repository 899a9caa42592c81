/**
 * Where each sample came from: every loader records it (a CSV line, a file in a folder, an item
 * of an IDX file or of the built-in digits' package), it follows the samples through the 80/20
 * split, `--limit` and attacks, a saved `dir:` dataset keeps it, and a saved record that does
 * not fit its dataset is refused. Each check compares a sample's source with where its pixels
 * really are, found independently of the sources themselves.
 */
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadDataset, saveDatasetDir } from '../../../src-main/engine/data/index.js';
import { sampleSource, sampleSize, type Split } from '../../../src-main/engine/data/dataset.js';
import { encodeIdx } from '../../../src-main/engine/data/idx.js';
import { fileSources, itemSources, joinSources, pickSources, sourceText } from '../../../src-main/engine/data/sources.js';
import { appendPoisons, replaceBases } from '../../../src-main/engine/attacks/common.js';
import { PocketSchema } from '../../../src-main/contract/evidence.js';
import { bytePattern, expectUserError, tempDir, writeIdxPair } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

/** The first value of each sample as a byte: the tests below make it unique per sample. */
const firstByte = (split: Split, size: number, i: number) => Math.round(pixelsInMemory(split.images)[i * size] * 255);

describe('sources', () => {
  it('are written as file[item], file:line or the file itself, and follow picks and joins', () => {
    const a = itemSources('x.idx', 3);
    const b = fileSources(['cat/1.png', 'dog/2.png']);
    const joined = joinSources(joinSources(a, b), itemSources('x.idx', 2, 3));
    expect(Array.from({ length: 7 }, (_, i) => sourceText(joined, i))).toEqual(
      ['x.idx[0]', 'x.idx[1]', 'x.idx[2]', 'cat/1.png', 'dog/2.png', 'x.idx[3]', 'x.idx[4]']);
    expect(joined.places).toEqual(['x.idx', 'cat/1.png', 'dog/2.png']);
    const picked = pickSources(joined, [4, 0, 4]);
    expect([0, 1, 2].map((i) => sourceText(picked, i))).toEqual(['dog/2.png', 'x.idx[0]', 'dog/2.png']);
  });
});

describe('each loader records where its samples came from', () => {
  it('CSV: each row\'s line in the file, counted from 1 with the header and blank lines, through the split column', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'data.csv');
    // Line 1 is the header, line 4 is blank; feature f of a row holds its line number.
    const rows = ['label,split,a,b', '0,train,2,2', '1,train,3,3', '', '0,test,5,5', '1,train,6,6', '0,train,7,7', '1,test,8,8'];
    await fs.writeFile(file, rows.join('\r\n'));
    const ds = await loadDataset(`csv:${file}`);
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) expect(sampleSource(split, i)).toBe(`${file}:${firstByte(split, 2, i)}`);
    }
    expect([sampleSource(ds.test, 0), sampleSource(ds.test, 1)]).toEqual([`${file}:5`, `${file}:8`]);
  });

  it('CSV without a split column: the lines survive the 80/20 split and --limit', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'rows.csv');
    const lines = Array.from({ length: 40 }, (_, r) => `${r % 2},${r + 1},0`);
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    const ds = await loadDataset(`csv:${file}`, { limit: 10, seed: 3 });
    expect(ds.train.count).toBe(10);
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) expect(sampleSource(split, i)).toBe(`${file}:${firstByte(split, 2, i)}`);
    }
  });

  it('folders: each image\'s path inside the folder, under train/ and test/ too', async () => {
    const dir = await tempDir();
    let id = 1;
    const written = new Map<number, string>();
    for (const part of ['train', 'test']) {
      for (const cls of ['ant', 'bee']) {
        await fs.mkdir(path.join(dir, part, cls), { recursive: true });
        for (const name of ['first photo.png', 'x-2.png']) {
          const png = new pngjs.PNG({ width: 2, height: 2 });
          png.data.fill(255);
          png.data[0] = png.data[1] = png.data[2] = id;
          await fs.writeFile(path.join(dir, part, cls, name), pngjs.PNG.sync.write(png, { colorType: 0 }));
          written.set(id++, `${part}/${cls}/${name}`);
        }
      }
    }
    const ds = await loadDataset(`folder:${dir}`);
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) expect(sampleSource(split, i)).toBe(written.get(firstByte(split, 4, i)));
    }
    expect(sampleSource(ds.train, 0)).toBe('train/ant/first photo.png');
  });

  it('IDX: each image\'s item in its images file', async () => {
    const dir = await tempDir();
    const pixels = Uint8Array.from({ length: 20 * 4 }, (_, i) => (i % 4 === 0 ? i / 4 : 7));
    const files = await writeIdxPair(dir, 'train', pixels, [20, 2, 2], Array.from({ length: 20 }, (_, i) => i % 2));
    const ds = await loadDataset(`idx:${files.images},${files.labels}`);
    for (const split of [ds.train, ds.test]) {
      for (let i = 0; i < split.count; i++) expect(sampleSource(split, i)).toBe(`${files.images}[${firstByte(split, 4, i)}]`);
    }
  });

  it('mnist: each digit\'s place in the package, mnist[d][i] being require(\'mnist\')[d].get(i)', async () => {
    const ds = await loadDataset('mnist', { limit: 50 });
    const mnist = createRequire(import.meta.url)('mnist') as { get(i: number): number[] }[];
    for (const i of [0, 17, 49]) {
      const [, digit, item] = /^mnist\[(\d)\]\[(\d+)\]$/.exec(sampleSource(ds.train, i)!)!.map(Number);
      expect(ds.train.labels[i]).toBe(digit);
      const pixels = mnist[digit].get(item);
      const size = sampleSize(ds.shape);
      for (const p of [100, 300, 500]) expect(Math.round(pixelsInMemory(ds.train.images)[i * size + p] * 255)).toBe(Math.round(pixels[p] * 255));
    }
    const rotated = await loadDataset('mnist:rotated', { limit: 50 });
    expect(sampleSource(rotated.train, 3)).toBe(sampleSource(ds.train, 3));
  });
});

describe('saved dir: datasets keep their sources', () => {
  it('through saveDatasetDir and an attack\'s appended poisons', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'd.csv');
    await fs.writeFile(file, Array.from({ length: 30 }, (_, r) => `${r % 3},${r + 1},1`).join('\n'));
    const ds = await loadDataset(`csv:${file}`);
    const { dataset } = appendPoisons(ds, new Float32Array([0.5, 0.5, 0.25, 0.25]), 1, 'label-flip');
    const out = path.join(await tempDir(), 'poisoned');
    await saveDatasetDir(dataset, out);
    const back = await loadDataset(`dir:${out}`);
    expect(back.train.count).toBe(ds.train.count + 2);
    for (let i = 0; i < ds.train.count; i++) expect(sampleSource(back.train, i)).toBe(sampleSource(ds.train, i));
    for (let i = 0; i < ds.test.count; i++) expect(sampleSource(back.test, i)).toBe(sampleSource(ds.test, i));
    expect([sampleSource(back.train, ds.train.count), sampleSource(back.train, ds.train.count + 1)]).toEqual(['label-flip poisons[0]', 'label-flip poisons[1]']);
    expect(back.fingerprint).toBe(dataset.fingerprint);
  });

  it('a clean-label poison in its base\'s place takes the attack\'s source, the other samples keep theirs', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'x', bytePattern(10 * 4), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    const ds = await loadDataset(`idx:${files.images},${files.labels}`);
    const { dataset } = replaceBases(ds, new Float32Array(8).fill(0.5), [5, 2], 'fc');
    const expected = Array.from({ length: ds.train.count }, (_, i) => (i === 5 ? 'fc poisons[0]' : i === 2 ? 'fc poisons[1]' : sampleSource(ds.train, i)));
    expect(Array.from({ length: ds.train.count }, (_, i) => sampleSource(dataset.train, i))).toEqual(expected);
  });

  it('a folder saved before sources were kept loads with its IDX items as sources', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'x', bytePattern(10 * 4), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    const ds = await loadDataset(`idx:${files.images},${files.labels}`);
    const out = path.join(await tempDir(), 'old');
    await saveDatasetDir({ ...ds, train: { ...ds.train, sources: undefined } }, out);
    const description = JSON.parse(await fs.readFile(path.join(out, 'dataset.json'), 'utf8'));
    expect(description.sources).toBeUndefined();
    const back = await loadDataset(`dir:${out}`);
    expect(sampleSource(back.train, 2)).toBe('train-images.idx3-ubyte[2]');
  });

  it('refuses a sources file that does not fit its dataset, in one sentence', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'x', bytePattern(10 * 4), [10, 2, 2], Array.from({ length: 10 }, (_, i) => i % 2));
    const out = path.join(await tempDir(), 'saved');
    await saveDatasetDir(await loadDataset(`idx:${files.images},${files.labels}`), out);
    const name = path.join(out, 'train-sources.idx2-int');
    const pairs = Int32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 0 : i));
    pairs[6] = 99;
    await fs.writeFile(name, encodeIdx('i32', [8, 2], pairs));
    await expectUserError(loadDataset(`dir:${out}`), 'train-sources.idx2-int does not fit its dataset', 'sample 3 names place 99');
    await fs.writeFile(name, encodeIdx('i32', [3, 2], new Int32Array(6)));
    await expectUserError(loadDataset(`dir:${out}`), 'describes 3 samples but the split holds 8');
    await fs.writeFile(name, encodeIdx('i32', [8, 3], new Int32Array(24)));
    await expectUserError(loadDataset(`dir:${out}`), 'declares 3 values per sample');
  });
});

describe('a scan\'s pocket sources, read back', () => {
  const pocket = {
    id: 1, members: [4, 9], attackerClass: 1, enclosingClass: 0, score: 3, pValue: 0.001, confirmed: true, learnt: 1,
    attemptPValue: 1, attempt: false, origin: 'pocket', shell: [2], contaminants: [],
    tightness: { contamination: 0, diameter: 0.1, relativeSpread: 0.1, shellPurity: 1 },
    interiorAttackerRate: 1, flipDistance: 0.5, fittedRate: 1, evidence: {}, explanation: 'Planted.',
  };

  it('are optional (scans made before they were kept) and, being shown only, are read as they are', () => {
    expect(PocketSchema.safeParse(pocket).success).toBe(true);
    expect(PocketSchema.parse({ ...pocket, sources: ['cat/1.png', 'cat/2.png'] }).sources).toEqual(['cat/1.png', 'cat/2.png']);
    // A forged pocket made from a real one keeps its old sources: it is refused for what a repair acts on, not for them.
    expect(PocketSchema.safeParse({ ...pocket, sources: ['cat/1.png'] }).success).toBe(true);
    expect(PocketSchema.safeParse({ ...pocket, sources: ['x'.repeat(9000), 'y'] }).success).toBe(false);
  });
});
