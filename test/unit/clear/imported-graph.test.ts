// A neighbour graph computed elsewhere (features/imported.ts): the .npy the features are
// written as reads back as written; an index file is refused, in one sentence naming the file,
// for every way it can be wrong; self-matches are dropped wherever they stand, and the graph
// from the true neighbours (with or without them) is the exact graph, with a recall of 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { bruteForceRow } from '../../../src-main/engine/features/ann.js';
import { buildNeighbourGraph, centreRows, normaliseFeatures } from '../../../src-main/engine/features/knn.js';
import { buildImportedGraph, readNeighbourIndex } from '../../../src-main/engine/features/imported.js';
import { float32NpyBytes, writeFloat32Npy } from '../../../src-main/engine/data/npy-write.js';
import { parseNpyHeader } from '../../../src-main/engine/data/npy.js';
import { createRng } from '../../../src-main/engine/random.js';
import { npyBytes, npzBytes } from '../data/numpy.js';

const N = 300; const DIM = 8; const K = 10;
let dir: string;
let features: Float32Array;
/** Each row's exact K + 1 nearest, self first (as Faiss's search(x, K + 1) returns them). */
let withSelf: number[];

function clustered(seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: DIM }, () => 3 * rng.normal()));
  const out = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) {
    const centre = centres[rng.int(centres.length)];
    for (let t = 0; t < DIM; t++) out[i * DIM + t] = centre[t] + 0.5 * rng.normal();
  }
  return normaliseFeatures(out, N, DIM, 'l2');
}

const file = (name: string, bytes: Uint8Array) => { const p = path.join(dir, name); writeFileSync(p, bytes); return p; };
const rows = (width: number, value: (i: number, c: number) => number) => Array.from({ length: N * width }, (_, x) => value(Math.floor(x / width), x % width));

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-imported-'));
  features = clustered(3);
  const centred = centreRows(features, N, DIM);
  withSelf = [];
  for (let i = 0; i < N; i++) withSelf.push(i, ...bruteForceRow(centred, N, DIM, i, K).indices);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the features as .npy', () => {
  it('writes NumPy\'s own layout: a float32 N×d array, values aligned to 64 bytes, read back exactly', () => {
    const values = Float32Array.from({ length: 6 }, (_, i) => i / 7 - 0.3);
    const bytes = float32NpyBytes(values, [3, 2]);
    const header = parseNpyHeader(bytes, 'x', 'images')!;
    expect(header).toMatchObject({ type: 'f4', littleEndian: true, shape: [3, 2] });
    expect(header.headerBytes % 64).toBe(0);
    expect(bytes.length).toBe(header.headerBytes + 24);
    expect(new Float32Array(bytes.slice(header.headerBytes).buffer)).toEqual(values);
    // The same bytes NumPy's own header gives (the test helper writes what numpy.save writes).
    expect(Buffer.from(bytes)).toEqual(npyBytes('<f4', [3, 2], values));
  });

  it('never replaces a file', () => {
    const target = path.join(dir, 'taken.npy');
    writeFileSync(target, 'mine');
    expect(() => writeFloat32Npy(target, new Float32Array(2), 1, 2)).toThrow(`The file ${target} already exists; choose a new name so nothing is overwritten.`);
    expect(readFileSync(target, 'utf8')).toBe('mine');
  });
});

describe('reading a neighbour index', () => {
  it('takes int64 and int32, with each row\'s self-match or without it, and .npz', async () => {
    const a = await readNeighbourIndex(file('i8.npy', npyBytes('<i8', [N, K + 1], withSelf)), N, K);
    expect(a.width).toBe(K + 1);
    expect(Array.from(a.candidates)).toEqual(withSelf);
    const withoutSelf = withSelf.filter((_, x) => x % (K + 1) !== 0);
    const b = await readNeighbourIndex(file('i4.npy', npyBytes('<i4', [N, K], withoutSelf)), N, K);
    expect(b.width).toBe(K);
    const c = await readNeighbourIndex(file('i.npz', npzBytes({ I: npyBytes('<i8', [N, K + 1], withSelf), D: npyBytes('<f4', [N, K + 1], new Array(N * (K + 1)).fill(0)) })), N, K);
    expect(Array.from(c.candidates)).toEqual(withSelf);
  });

  const refusals: [string, () => Uint8Array, RegExp][] = [
    ['not NPY', () => Buffer.from('index,0,1,2\n'), /^The neighbour file \S+ is not a NumPy \.npy file: it does not begin with the bytes \\x93NUMPY\.$/],
    ['float32', () => npyBytes('<f4', [N, K + 1], withSelf), /^The neighbour file \S+ holds float32 values, but neighbour indices must be int32 or int64 \(what Faiss's search returns\)\.$/],
    ['1-D', () => npyBytes('<i8', [N], new Array(N).fill(0)), /^The neighbour file \S+ holds an array of 300 values, but neighbour indices must be one row per training sample \(shape N×K\)\.$/],
    ['wrong N', () => npyBytes('<i8', [N - 1, K + 1], withSelf.slice(0, (N - 1) * (K + 1))), /^The neighbour file \S+ has 299 rows, but the training set has 300 samples: it must hold one row per training sample, in the order of the features `clearwb features` wrote\.$/],
    ['K\' too small', () => npyBytes('<i8', [N, K - 1], rows(K - 1, (i, c) => (i + c + 1) % N)), /^The neighbour file \S+ lists 9 neighbours per sample, fewer than the scan's 10: search for at least 11 \(K \+ 1, counting each sample's match with itself\)\.$/],
    ['out of range', () => npyBytes('<i8', [N, K + 1], withSelf.map((v, x) => (x === 7 * (K + 1) + 3 ? N : v))), /^The neighbour file \S+ has index 300 at row 7, column 3, outside the 300 training samples \(0 to 299\)\.$/],
    ['negative', () => npyBytes('<i4', [N, K + 1], withSelf.map((v, x) => (x === 5 ? -2 : v))), /^The neighbour file \S+ has index -2 at row 0, column 5, outside the 300 training samples \(0 to 299\)\.$/],
    ['duplicates', () => npyBytes('<i8', [N, K + 1], rows(K + 1, (i, c) => (c === 0 ? i : (i + 1 + (c % 3)) % N))), /^The neighbour file \S+ lists only 3 distinct samples besides itself at row 0, fewer than the scan's 10\.$/],
    ['self and only K', () => npyBytes('<i8', [N, K], withSelf.filter((_, x) => x % (K + 1) !== K)), /^The neighbour file \S+ lists only 9 distinct samples besides itself at row 0, fewer than the scan's 10 \(it holds its own index too: search for 11\)\.$/],
    ['too large for its bytes', () => npyBytes('<i8', [N, N], []), /^The neighbour file \S+ is truncated: its header declares 300 items but it holds 0\.$/],
  ];
  it.each(refusals)('refuses %s in one sentence naming the file', async (label, bytes, message) => {
    const p = file(`bad-${label.replace(/\W+/g, '-')}.npy`, bytes());
    await expect(readNeighbourIndex(p, N, K)).rejects.toThrow(message);
  });

  it('refuses an .npz whose array it cannot tell', async () => {
    const p = file('two.npz', npzBytes({ a: npyBytes('<i8', [N, K + 1], withSelf), b: npyBytes('<i8', [N, K + 1], withSelf) }));
    await expect(readNeighbourIndex(p, N, K)).rejects.toThrow(/^The neighbour file \S+ holds 2 arrays, none named indices or I; save one array, or name it indices \(numpy\.savez\(file, indices=I\)\)\.$/);
  });

  it('refuses a missing file', async () => {
    await expect(readNeighbourIndex(path.join(dir, 'none.npy'), N, K)).rejects.toThrow(/none\.npy/);
    expect(existsSync(path.join(dir, 'none.npy'))).toBe(false);
  });
});

describe('the imported graph', () => {
  it('is the exact graph, recall 1, whether each row holds its self-match first, last, or not at all', async () => {
    const exact = await buildNeighbourGraph(features, N, DIM, K);
    const selfLast = withSelf.map((_, x) => { const i = Math.floor(x / (K + 1)); const c = x % (K + 1); return c === K ? i : withSelf[i * (K + 1) + c + 1]; });
    const withoutSelf = withSelf.filter((_, x) => x % (K + 1) !== 0);
    for (const [name, values, width] of [['first', withSelf, K + 1], ['last', selfLast, K + 1], ['none', withoutSelf, K]] as const) {
      const imported = await readNeighbourIndex(file(`self-${name}.npy`, npyBytes('<i8', [N, width], values)), N, K);
      const { graph, report } = await buildImportedGraph(features, N, DIM, K, imported, { seed: 0 });
      expect(Array.from(graph.indices), name).toEqual(Array.from(exact.indices));
      expect(Array.from(graph.distances), name).toEqual(Array.from(exact.distances));
      expect(report).toMatchObject({ method: 'imported', recall: 1, recallRows: 128, candidates: width, file: imported.file });
      expect(report.note).toBeUndefined();
    }
  });

  it('sorts each row by the distance it recomputes, whatever order the file gives, and keeps a repeated candidate once', async () => {
    const shuffled = withSelf.map((_, x) => { const i = Math.floor(x / (K + 1)); const c = x % (K + 1); return withSelf[i * (K + 1) + (K - c)]; });
    // Wider rows: the true neighbours reversed, then the nearest one again.
    const wide = rows(K + 2, (i, c) => (c < K + 1 ? shuffled[i * (K + 1) + c] : withSelf[i * (K + 1) + 1]));
    const imported = await readNeighbourIndex(file('shuffled.npy', npyBytes('<i4', [N, K + 2], wide)), N, K);
    const exact = await buildNeighbourGraph(features, N, DIM, K);
    const { graph, report } = await buildImportedGraph(features, N, DIM, K, imported);
    expect(Array.from(graph.indices)).toEqual(Array.from(exact.indices));
    expect(report.recall).toBe(1);
  });

  it('measures a poor file\'s recall and says so in a note', async () => {
    // Every row's candidates shifted by one sample: the neighbours of another row.
    const wrong = rows(K + 1, (i, c) => (withSelf[((i + 1) % N) * (K + 1) + c]));
    const imported = await readNeighbourIndex(file('wrong.npy', npyBytes('<i8', [N, K + 1], wrong)), N, K);
    const messages: string[] = [];
    const { report } = await buildImportedGraph(features, N, DIM, K, imported, { onMessage: (m) => messages.push(m) });
    expect(report.recall).toBeLessThan(0.99);
    expect(report.note).toMatch(/^The neighbour graph imported from \S+wrong\.npy kept 0\.\d{4} of the exact 10 nearest on 128 sampled rows, below 0\.99: /);
    expect(messages).toEqual([report.note]);
  });
});
