import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../src-main/engine/backend/index.js';
import { CancelledError } from '../../../src-main/engine/errors.js';
import { buildNeighbourGraph, normaliseFeatures, type NeighbourGraph } from '../../../src-main/engine/features/knn.js';
import { createRng } from '../../../src-main/engine/random.js';

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
    const blocked = await buildNeighbourGraph(features, n, dim, k, { blockRows: 37, onProgress: (f) => progress.push(f) });
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

  it('stops with CancelledError when the signal fires, without leaking tensors', async () => {
    await initBackend(backend);
    const features = randomFeatures(4, n, dim);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const job = buildNeighbourGraph(features, n, dim, k, {
      blockRows: 50,
      signal: controller.signal,
      onProgress: (fraction) => { if (fraction >= 0.3) controller.abort(); },
    });
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('buildNeighbourGraph input checks', () => {
  it('refuses k ≥ n, wrong lengths and non-finite features with a sentence', async () => {
    await initBackend('cpu');
    const features = randomFeatures(5, 10, 4);
    await expect(buildNeighbourGraph(features, 10, 4, 10)).rejects.toThrow(/k must be an integer in \[1, n − 1\]/);
    await expect(buildNeighbourGraph(features, 9, 4, 3)).rejects.toThrow(/not n × dim/);
    features[7] = Number.NaN;
    await expect(buildNeighbourGraph(features, 10, 4, 3)).rejects.toThrow(/feature 3 of sample 1 is not finite/);
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
