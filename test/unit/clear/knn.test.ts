import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../src-main/engine/backend/index.js';
import { CancelledError } from '../../../src-main/engine/errors.js';
import {
  buildNeighbourGraph, centreRows, exactRow, HEAP_FROM, normaliseFeatures, rankCandidates, rankingRows, RunningTopK, type NeighbourGraph,
} from '../../../src-main/engine/features/knn.js';
import { createRng } from '../../../src-main/engine/random.js';
import { simdKernels } from '../../../src-main/engine/backend/simd-kernels.js';

function randomFeatures(seed: number, n: number, dim: number, offset = 0): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = offset + rng.normal();
  return out;
}

/** Exact kNN by sorting every row's float64 distances. */
function bruteForceGraph(features: Float32Array, n: number, dim: number, k: number): NeighbourGraph {
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < dim; t++) s += (features[i * dim + t] - features[j * dim + t]) ** 2;
      row.push([Math.sqrt(s), j]);
    }
    row.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let c = 0; c < k; c++) {
      distances[i * k + c] = row[c][0];
      indices[i * k + c] = row[c][1];
    }
  }
  return { n, k, indices, distances };
}

function expectSameGraph(actual: NeighbourGraph, expected: NeighbourGraph): void {
  expect(actual.n).toBe(expected.n);
  expect(actual.k).toBe(expected.k);
  expect(Array.from(actual.indices)).toEqual(Array.from(expected.indices));
  for (let c = 0; c < expected.distances.length; c++) {
    expect(Math.abs(actual.distances[c] - expected.distances[c])).toBeLessThan(1e-5 * (1 + expected.distances[c]));
  }
}

/**
 * The graph of a whole-row ranking: the Gram matrix of the centred features in one product,
 * each row's columns ranked by 2·G_ij − |x_j|² (score descending, lower column first on ties),
 * its k + 1 best, then the same exact re-sort.
 */
function topkGraph(features: Float32Array, n: number, dim: number, k: number): NeighbourGraph {
  const centred = centreRows(features, n, dim);
  const gram = tf.tidy(() => {
    const x = tf.tensor2d(centred, [n, dim]);
    return tf.matMul(x, tf.transpose(x));
  });
  const products = gram.dataSync() as Float32Array;
  gram.dispose();
  const squared = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) squared[i] += centred[i * dim + t] * centred[i * dim + t];
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const rowIndices = new Int32Array(k + 1);
  const rowDistances = new Float64Array(k + 1);
  for (let i = 0; i < n; i++) {
    const score = (j: number) => 2 * products[i * n + j] - squared[j];
    const candidates = Array.from({ length: n }, (_, j) => j).sort((a, b) => score(b) - score(a) || a - b).slice(0, k + 1);
    exactRow(centred, dim, i, candidates, k, rowIndices, rowDistances);
    indices.set(rowIndices.subarray(0, k), i * k);
    for (let c = 0; c < k; c++) distances[i * k + c] = rowDistances[c];
  }
  return { n, k, indices, distances };
}

/** Gaussian features with some rows overwritten by exact copies of others. */
function withDuplicates(seed: number, n: number, dim: number, copies: number): Float32Array {
  const rng = createRng(seed);
  const features = randomFeatures(seed, n, dim, 1);
  for (let c = 0; c < copies; c++) {
    const from = rng.int(n);
    features.copyWithin(rng.int(n) * dim, from * dim, (from + 1) * dim);
  }
  return features;
}

/**
 * Points of the lattice {−1, 0, 1}^dim drawn with repeats, each with its mirror image, so the
 * mean is exactly 0: every float32 score is then an exact small integer and every distance
 * the root of one, and equal distances are exact ties (most neighbours tie with others).
 */
function latticeWithTies(seed: number, pairs: number, dim: number): Float32Array {
  const rng = createRng(seed);
  const features = new Float32Array(2 * pairs * dim);
  for (let p = 0; p < pairs; p++) {
    for (let t = 0; t < dim; t++) {
      const value = rng.int(3) - 1;
      features[p * dim + t] = value;
      features[(pairs + p) * dim + t] = -value;
    }
  }
  return features;
}

describe.each(['cpu', 'wasm'] as const)('buildNeighbourGraph on the %s backend', (backend) => {
  const n = 500;
  const dim = 16;
  const k = 10;

  it('equals brute-force kNN on random data, without leaking tensors', async () => {
    await initBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    // Offset away from the origin: the centring inside must keep float32 products exact enough.
    const features = randomFeatures(1, n, dim, 5);
    const expected = bruteForceGraph(features, n, dim, k);
    const before = tf.memory().numTensors;
    const graph = await buildNeighbourGraph(features, n, dim, k);
    expect(tf.memory().numTensors).toBe(before);
    expectSameGraph(graph, expected);
  });

  it('gives the same graph for any block size, and reports progress up to 1', async () => {
    await initBackend(backend);
    const features = randomFeatures(2, n, dim);
    const progress: number[] = [];
    const blocked = await buildNeighbourGraph(features, n, dim, k, { blockSize: 37, onProgress: (f) => progress.push(f) });
    expectSameGraph(blocked, await buildNeighbourGraph(features, n, dim, k));
    expect(progress.length).toBe(Math.ceil(n / 37));
    expect(progress[progress.length - 1]).toBe(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('never lists a sample as its own neighbour, and gives duplicates distance 0', async () => {
    await initBackend(backend);
    // 40 distinct points, each present 15 times: more duplicates than k + 1.
    const distinct = randomFeatures(3, 40, dim);
    const copies = 15;
    const count = 40 * copies;
    const features = new Float32Array(count * dim);
    for (let i = 0; i < count; i++) features.set(distinct.subarray((i % 40) * dim, (i % 40 + 1) * dim), i * dim);
    const graph = await buildNeighbourGraph(features, count, dim, k);
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < k; c++) {
        const j = graph.indices[i * k + c];
        expect(j).not.toBe(i);
        expect(j % 40).toBe(i % 40);
        expect(graph.distances[i * k + c]).toBe(0);
      }
    }
  });

  it('equals brute force for several n, k and block shapes, with duplicates and exact ties in index order', async () => {
    await initBackend(backend);
    const cases: [string, Float32Array, number, number, number, { blockSize?: number }][] = [
      ['gaussian with duplicates', withDuplicates(11, 300, 8, 40), 300, 8, 5, { blockSize: 37 }],
      ['gaussian with duplicates', withDuplicates(12, 701, 12, 90), 701, 12, 25, { blockSize: 128 }],
      ['gaussian with duplicates', withDuplicates(13, 257, 5, 30), 257, 5, 256, {}],
      ['lattice ties', latticeWithTies(14, 200, 4), 400, 4, 12, { blockSize: 33 }],
      ['lattice ties', latticeWithTies(15, 350, 6), 700, 6, 40, { blockSize: 1 }],
      ['lattice ties', latticeWithTies(16, 150, 3), 300, 3, 60, {}],
    ];
    for (const [, features, n, dim, k, blocks] of cases) {
      const graph = await buildNeighbourGraph(features, n, dim, k, blocks);
      expectSameGraph(graph, bruteForceGraph(features, n, dim, k));
    }
  });

  it('gives exactly the graph of a topk over whole rows, where float32 cannot tell near-duplicates apart', async () => {
    await initBackend(backend);
    // Tight clusters a float32 score cannot order (spread 1e-6 around points 5 from the
    // origin): which of them are kept is decided by the float32 ranking and its ties.
    const n = 640;
    const dim = 10;
    const rng = createRng(17);
    const centres = randomFeatures(18, 16, dim, 5);
    const features = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < dim; t++) features[i * dim + t] = centres[(i % 16) * dim + t] + 1e-6 * rng.normal();
    }
    for (const k of [3, 39, 41, 80]) {
      const expected = topkGraph(features, n, dim, k);
      for (const blocks of [{}, { blockSize: 13 }, { blockSize: 1 }]) {
        const graph = await buildNeighbourGraph(features, n, dim, k, blocks);
        expect(Array.from(graph.indices)).toEqual(Array.from(expected.indices));
        expect(Array.from(graph.distances)).toEqual(Array.from(expected.distances));
      }
    }
    const normalised = normaliseFeatures(withDuplicates(19, 900, 32, 100), 900, 32, 'l2');
    const expected = topkGraph(normalised, 900, 32, 40);
    const graph = await buildNeighbourGraph(normalised, 900, 32, 40, { blockSize: 100 });
    expect(Array.from(graph.indices)).toEqual(Array.from(expected.indices));
    expect(Array.from(graph.distances)).toEqual(Array.from(expected.distances));
  });

  it('computes only the blocks on and above the diagonal, holds one query block and one product block beyond the features, at any n', async () => {
    await initBackend(backend);
    const dim = 8;
    const k = 10;
    const size = 200;
    for (const n of [600, 2450]) {
      const features = randomFeatures(20 + n, n, dim);
      const blocks = Math.ceil(n / size);
      const before = tf.memory().numBytes;
      const profile = await tf.profile(() => buildNeighbourGraph(features, n, dim, k, { blockSize: size }).then(() => []));
      const products = profile.kernels.filter((kernel) => kernel.name === 'BatchMatMul');
      expect(products.length).toBe((blocks * (blocks + 1)) / 2);
      for (const product of products) {
        const [rows, columns] = product.outputShapes[0];
        expect(rows).toBeLessThanOrEqual(size);
        expect(columns).toBeLessThanOrEqual(size);
      }
      // Tensors at the fullest moment: the features (n × dim, once, as column blocks), one query block, one product block.
      expect(profile.peakBytes - before).toBe(4 * (n * dim + size * dim + size * size));
      expect(profile.newBytes).toBe(0);
      expect(profile.newTensors).toBe(0);
    }
  });

  it('rankCandidates holds one query block and one product block beyond the references, and reuses one selection buffer', async () => {
    await initBackend(backend);
    const dim = 8;
    const width = dim + 1;
    const k = 10;
    const blockRows = 64;
    const blockColumns = 256;
    for (const n of [600, 2400]) {
      const features = randomFeatures(20 + n, n, dim);
      const centred = centreRows(features, n, dim);
      const { queryRows, referenceRows } = rankingRows(centred, n, dim);
      const before = tf.memory().numBytes;
      const seen = new Set<RunningTopK>();
      let rowsSeen = 0;
      const profile = await tf.profile(() => rankCandidates(queryRows, n, referenceRows, n, width, k + 1, (start, rows, top) => {
        expect(start).toBe(rowsSeen);
        rowsSeen += rows;
        seen.add(top);
        expect(top.scores.length).toBe(blockRows * (k + 1));
        expect(top.indices.length).toBe(blockRows * (k + 1));
      }, { blockRows, blockColumns }).then(() => []));
      const products = profile.kernels.filter((kernel) => kernel.name === 'BatchMatMul');
      expect(products.length).toBe(Math.ceil(n / blockRows) * Math.ceil(n / blockColumns));
      expect(profile.peakBytes - before).toBe(4 * (n * width + blockRows * width + blockRows * blockColumns));
      expect(profile.newTensors).toBe(0);
      expect(rowsSeen).toBe(n);
      expect(seen.size).toBe(1);
    }
  });

  it('stops with CancelledError when the signal fires, without leaking tensors', async () => {
    await initBackend(backend);
    const features = randomFeatures(4, n, dim);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const job = buildNeighbourGraph(features, n, dim, k, {
      blockSize: 50,
      signal: controller.signal,
      onProgress: (fraction) => { if (fraction >= 0.3) controller.abort(); },
    });
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the SIMD selection filter on wasm', () => {
  it('returns exactly the columns that pass, in order, for rows and mirrored rows', async () => {
    await initBackend('wasm');
    const kernel = simdKernels(tf.backend());
    // The threaded wasm build runs here: without the filter the graph would silently fall back to JavaScript.
    expect(kernel).toBeDefined();
    const k = kernel!;
    const rng = createRng(41);
    const columns = 64;
    const g = k.malloc(4 * columns); const squared = k.malloc(4 * columns); const thresholds = k.malloc(4 * columns); const out = k.malloc(4 * columns);
    try {
      for (let trial = 0; trial < 20; trial++) {
        const heap = k.heapF32();
        const values = Float32Array.from({ length: columns }, () => rng.int(7) - 3);
        const norms = Float32Array.from({ length: columns }, () => rng.int(3));
        const limits = Float32Array.from({ length: columns }, () => (rng.int(5) ? rng.int(7) - 3 : -Infinity));
        heap.set(values, g >> 2); heap.set(norms, squared >> 2); heap.set(limits, thresholds >> 2);
        const threshold = rng.int(5) - 2; const own = rng.int(3);
        const found = k.filterRow(g, columns, squared, threshold, out);
        expect(Array.from(k.heapI32().subarray(out >> 2, (out >> 2) + found)))
          .toEqual(Array.from({ length: columns }, (_, c) => c).filter((c) => values[c] - norms[c] > threshold));
        const mirrored = k.filterMirror(g, columns, own, thresholds, out);
        expect(Array.from(k.heapI32().subarray(out >> 2, (out >> 2) + mirrored)))
          .toEqual(Array.from({ length: columns }, (_, c) => c).filter((c) => values[c] - own > limits[c]));
      }
    } finally {
      for (const pointer of [g, squared, thresholds, out]) k.free(pointer);
    }
  });

  it('gives the graph the JavaScript selection gives, ties, duplicates and ragged blocks included', async () => {
    await initBackend('wasm');
    const cases: [Float32Array, number, number, number, number][] = [
      [withDuplicates(31, 701, 12, 90), 701, 12, 25, 130],
      [latticeWithTies(32, 350, 6), 700, 6, 40, 97],
      [normaliseFeatures(withDuplicates(33, 900, 32, 100), 900, 32, 'l2'), 900, 32, 40, 2048],
    ];
    for (const [features, n, dim, k, blockSize] of cases) {
      const filtered = await buildNeighbourGraph(features, n, dim, k, { blockSize });
      const scalar = await buildNeighbourGraph(features, n, dim, k, { blockSize, scalarSelection: true });
      expect(Array.from(filtered.indices)).toEqual(Array.from(scalar.indices));
      expect(Array.from(filtered.distances)).toEqual(Array.from(scalar.distances));
      expectSameGraph(filtered, bruteForceGraph(features, n, dim, k));
    }
  });
});

describe('buildNeighbourGraph input checks', () => {
  it('refuses k ≥ n, wrong lengths and non-finite features with a sentence', async () => {
    await initBackend('cpu');
    const features = randomFeatures(5, 10, 4);
    await expect(buildNeighbourGraph(features, 10, 4, 10)).rejects.toThrow(/k must be an integer in \[1, n − 1\]/);
    await expect(buildNeighbourGraph(features, 10, 4, 3, { blockSize: 0 })).rejects.toThrow(/blockSize must be a positive integer/);
    await expect(buildNeighbourGraph(features, 10, 4, 3, { blockSize: 2.5 })).rejects.toThrow(/blockSize must be a positive integer/);
    await expect(buildNeighbourGraph(features, 9, 4, 3)).rejects.toThrow(/not n × dim/);
    features[7] = Number.NaN;
    await expect(buildNeighbourGraph(features, 10, 4, 3)).rejects.toThrow(/feature 3 of sample 1 is not finite/);
  });
});

describe('RunningTopK', () => {
  it('keeps the fetched best of columns offered in blocks, in topk order: score descending, lower column first on ties', () => {
    const rng = createRng(21);
    // Past HEAP_FROM the lists are heaps sorted when read: the same order is expected.
    for (const [rows, columns, fetched, split] of [[5, 300, 7, 64], [3, 50, 50, 7], [4, 1000, 1, 333], [2, 90, 20, 1], [3, 2000, 100, 97], [2, 700, 300, 256], [2, 150, 150, 40], [2, 400, HEAP_FROM + 1, 1]]) {
      // Scores from a few values only, so ties are everywhere.
      const scores = Float32Array.from({ length: rows * columns }, () => rng.int(9) - 4 + (rng.int(2) ? 0.5 : 0));
      const top = new RunningTopK(rows, fetched);
      top.reset(rows);
      for (let first = 0; first < columns; first += split) {
        const width = Math.min(split, columns - first);
        const block = new Float32Array(rows * width);
        for (let r = 0; r < rows; r++) block.set(scores.subarray(r * columns + first, r * columns + first + width), r * width);
        top.offer(block, width, first);
      }
      for (let r = 0; r < rows; r++) {
        const order = Array.from({ length: columns }, (_, c) => c)
          .sort((a, b) => scores[r * columns + b] - scores[r * columns + a] || a - b);
        expect(Array.from(top.row(r))).toEqual(order.slice(0, fetched));
      }
    }
  });

  it('starts every block empty and refuses more rows than it holds', () => {
    const top = new RunningTopK(2, 2);
    top.reset(2);
    top.offer(Float32Array.from([5, 4, 3, 9, 8, 7]), 3, 0);
    expect(Array.from(top.row(0))).toEqual([0, 1]);
    expect(Array.from(top.row(1))).toEqual([0, 1]);
    top.reset(1);
    expect(Array.from(top.row(0))).toEqual([]);
    top.offer(Float32Array.from([1, 2]), 2, 10);
    expect(Array.from(top.row(0))).toEqual([11, 10]);
    expect(() => top.reset(3)).toThrow(/3 rows do not fit its 2/);
  });

  it('refuses, in heap mode, columns offered after a row was read', () => {
    const fetched = HEAP_FROM + 2;
    const top = new RunningTopK(1, fetched);
    top.reset(1);
    top.offer(Float32Array.from({ length: 100 }, (_, c) => c % 7), 100, 0);
    expect(top.row(0).length).toBe(fetched);
    expect(() => top.offer(new Float32Array(5), 5, 100)).toThrow(/read before its last columns/);
    top.reset(1);
    top.offer(Float32Array.from([3, 1, 2]), 3, 0);
    expect(Array.from(top.row(0))).toEqual([0, 2, 1]);
  });
});

describe('normaliseFeatures', () => {
  it("'l2' scales rows to unit length and leaves zero rows at zero", () => {
    const features = randomFeatures(6, 20, 8, 2);
    features.fill(0, 8 * 3, 8 * 4);
    const out = normaliseFeatures(features, 20, 8, 'l2');
    expect(out).not.toBe(features);
    for (let i = 0; i < 20; i++) {
      let s = 0;
      for (let t = 0; t < 8; t++) s += out[i * 8 + t] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(i === 3 ? 0 : 1, 6);
    }
  });

  it("'standardise' gives every dimension mean 0 and deviation 1, constant dimensions 0", () => {
    const n = 200;
    const dim = 6;
    const features = randomFeatures(7, n, dim, 3);
    for (let i = 0; i < n; i++) features[i * dim + 2] = 4.5;
    const out = normaliseFeatures(features, n, dim, 'standardise');
    for (let t = 0; t < dim; t++) {
      let sum = 0;
      let squares = 0;
      for (let i = 0; i < n; i++) {
        sum += out[i * dim + t];
        squares += out[i * dim + t] ** 2;
      }
      expect(sum / n).toBeCloseTo(0, 5);
      expect(squares / n).toBeCloseTo(t === 2 ? 0 : 1, 5);
    }
  });
});
