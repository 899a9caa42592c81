// The approximate neighbour graph (features/ann.ts) against the exact one, the method switch,
// and the fallback to the exact graph when the index library does not load.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import {
  bruteForceRow, buildGraph, chooseGraphMethod, graphRecall, loadUsearch, sampleRows, APPROXIMATE_ABOVE,
} from '../../../src-main/engine/features/ann.js';
import { buildNeighbourGraph, centreRows, normaliseFeatures, type NeighbourGraph } from '../../../src-main/engine/features/knn.js';
import { createRng } from '../../../src-main/engine/random.js';

function randomUnitVectors(seed: number, n: number, dim: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return normaliseFeatures(out, n, dim, 'l2');
}

/** `clusters` Gaussian blobs: most neighbours share a blob, as a trained model's features do. */
function clusteredFeatures(seed: number, n: number, dim: number, clusters: number): Float32Array {
  const rng = createRng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => 3 * rng.normal()));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const centre = centres[rng.int(clusters)];
    for (let t = 0; t < dim; t++) out[i * dim + t] = centre[t] + 0.5 * rng.normal();
  }
  return out;
}

/**
 * Share of `graph`'s neighbours that are among the exact graph's K (a neighbour as near as the
 * exact K-th counts: equal distances may be kept in either order).
 */
function recallAgainst(graph: NeighbourGraph, exact: NeighbourGraph): number {
  let hits = 0;
  for (let i = 0; i < graph.n; i++) {
    const exactSet = new Set(exact.indices.subarray(i * exact.k, (i + 1) * exact.k));
    const limit = exact.distances[(i + 1) * exact.k - 1];
    for (let c = 0; c < graph.k; c++) {
      const j = graph.indices[i * graph.k + c];
      if (exactSet.has(j) || graph.distances[i * graph.k + c] <= limit) hits++;
    }
  }
  return hits / (graph.n * graph.k);
}

function expectWellFormed(graph: NeighbourGraph): void {
  for (let i = 0; i < graph.n; i++) {
    const row = graph.indices.subarray(i * graph.k, (i + 1) * graph.k);
    expect(new Set(row).size).toBe(graph.k);
    expect(row.includes(i)).toBe(false);
    for (let c = 1; c < graph.k; c++) expect(graph.distances[i * graph.k + c]).toBeGreaterThanOrEqual(graph.distances[i * graph.k + c - 1]);
  }
}

describe('approximate neighbour graph', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('keeps at least 99% of the exact neighbours of random unit vectors, and measures that itself', async () => {
    const n = 3000; const dim = 32; const k = 20;
    const features = randomUnitVectors(11, n, dim);
    const exact = await buildNeighbourGraph(features, n, dim, k);
    const { graph, report } = await buildGraph(features, n, dim, k, { method: 'approximate', seed: 3 });
    expect(report.method).toBe('approximate');
    expect(report.note).toBeUndefined();
    expect(report.candidates).toBeGreaterThan(k);
    expectWellFormed(graph);
    const recall = recallAgainst(graph, exact);
    expect(recall).toBeGreaterThanOrEqual(0.99);
    expect(report.recall).not.toBeNull();
    expect(report.recall!).toBeGreaterThanOrEqual(0.99);
    expect(report.recallRows).toBe(128);
    // Distances are the exact graph's: the same float64 distance of the same centred features.
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const j = graph.indices[i * k + c];
        const at = exact.indices.subarray(i * k, (i + 1) * k).indexOf(j);
        if (at >= 0) expect(graph.distances[i * k + c]).toBe(exact.distances[i * k + at]);
      }
    }
  });

  it('keeps at least 99% of the exact neighbours of clustered features', async () => {
    const n = 4000; const dim = 64; const k = 40;
    const features = clusteredFeatures(5, n, dim, 25);
    const exact = await buildNeighbourGraph(features, n, dim, k);
    const { graph, report } = await buildGraph(features, n, dim, k, { method: 'approximate' });
    expectWellFormed(graph);
    expect(recallAgainst(graph, exact)).toBeGreaterThanOrEqual(0.99);
    expect(report.recall!).toBeGreaterThanOrEqual(0.99);
  });

  it('widens the search, on the same index, until the recall reaches the target or the widest search', async () => {
    const n = 2000; const dim = 32; const k = 10;
    const features = randomUnitVectors(9, n, dim);
    const narrow = { connectivity: 4, expansionAdd: 8, expansionSearch: 8 };
    const first = await buildGraph(features, n, dim, k, { method: 'approximate', index: narrow, candidates: 16, targetRecall: 0 });
    expect(first.report.candidates).toBe(16);
    const widened = await buildGraph(features, n, dim, k, { method: 'approximate', index: narrow, candidates: 16, maxCandidates: 256 });
    expect(widened.report.candidates).toBeGreaterThan(16);
    expect(widened.report.recall!).toBeGreaterThan(first.report.recall!);
    const messages: string[] = [];
    const capped = await buildGraph(features, n, dim, k, { method: 'approximate', index: narrow, candidates: 16, maxCandidates: 32, targetRecall: 1.01, onMessage: (m) => messages.push(m) });
    expect(capped.report.candidates).toBe(32);
    expect(capped.report.note).toMatch(/^The approximate neighbour graph kept 0\.\d{4} of the exact 10 nearest on 128 sampled rows, below 1\.01, even with 32 candidates per sample/);
    expect(messages).toEqual([capped.report.note]);
  });

  it('measures the recall of the exact graph as 1, and of a damaged one as less', async () => {
    const n = 800; const dim = 16; const k = 10;
    const features = randomUnitVectors(7, n, dim);
    const exact = await buildNeighbourGraph(features, n, dim, k);
    const centred = centreRows(features, n, dim);
    const rows = sampleRows(n, 50, 1);
    expect(rows).toHaveLength(50);
    expect(new Set(rows).size).toBe(50);
    expect(graphRecall(exact, centred, dim, rows)).toBe(1);
    for (const i of rows) {
      const brute = bruteForceRow(centred, n, dim, i, k);
      expect(Array.from(brute.indices)).toEqual(Array.from(exact.indices.subarray(i * k, (i + 1) * k)));
    }
    // Replace every row's last neighbour with its farthest sample: one miss in k per row.
    const damaged = { ...exact, indices: Int32Array.from(exact.indices) };
    for (let i = 0; i < n; i++) {
      let far = -1; let farthest = -1;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        let d = 0;
        for (let t = 0; t < dim; t++) d += (centred[i * dim + t] - centred[j * dim + t]) ** 2;
        if (d > farthest) { farthest = d; far = j; }
      }
      damaged.indices[i * k + k - 1] = far;
    }
    expect(graphRecall(damaged, centred, dim, rows)).toBeCloseTo(1 - 1 / k, 10);
  });
});

describe('choosing the graph', () => {
  it('is exact up to the threshold and approximate above it, unless forced', () => {
    expect(APPROXIMATE_ABOVE).toBe(100_000);
    expect(chooseGraphMethod(100_000)).toBe('exact');
    expect(chooseGraphMethod(100_001)).toBe('approximate');
    expect(chooseGraphMethod(1_000_000, 'exact')).toBe('exact');
    expect(chooseGraphMethod(50, 'approximate')).toBe('approximate');
    expect(chooseGraphMethod(600, 'auto', 500)).toBe('approximate');
    expect(chooseGraphMethod(500, 'auto', 500)).toBe('exact');
  });

  it('builds the exact graph when asked, or below the threshold, and the approximate one above it', async () => {
    await initBackend('wasm');
    const n = 600; const dim = 8; const k = 10;
    const features = randomUnitVectors(2, n, dim);
    const exact = await buildNeighbourGraph(features, n, dim, k);
    let loads = 0;
    const loadLibrary = () => { loads++; return loadUsearch(); };
    const forced = await buildGraph(features, n, dim, k, { method: 'exact', approximateAbove: 10, loadLibrary });
    expect(forced.report).toEqual({ method: 'exact', requested: 'exact', recall: null, recallRows: 0, candidates: null });
    expect(Array.from(forced.graph.indices)).toEqual(Array.from(exact.indices));
    const below = await buildGraph(features, n, dim, k, { loadLibrary });
    expect(below.report.method).toBe('exact');
    expect(loads).toBe(0);
    const above = await buildGraph(features, n, dim, k, { approximateAbove: 500, loadLibrary, recallRows: 40 });
    expect(loads).toBe(1);
    expect(above.report).toMatchObject({ method: 'approximate', requested: 'auto', recallRows: 40 });
    expect(above.report.recall!).toBeGreaterThanOrEqual(0.99);
  });

  it('falls back to the exact graph with a message when the library does not load', async () => {
    await initBackend('wasm');
    const n = 400; const dim = 8; const k = 5;
    const features = randomUnitVectors(4, n, dim);
    const messages: string[] = [];
    const { graph, report } = await buildGraph(features, n, dim, k, {
      method: 'approximate',
      loadLibrary: () => Promise.reject(new Error('Cannot find package \'usearch\'')),
      onMessage: (m) => messages.push(m),
    });
    expect(report.method).toBe('exact');
    expect(report.requested).toBe('approximate');
    expect(report.note).toMatch(/package usearch.*did not load here \(Cannot find package 'usearch'\).*exact graph was built instead/);
    expect(messages).toEqual([report.note]);
    expect(Array.from(graph.indices)).toEqual(Array.from((await buildNeighbourGraph(features, n, dim, k)).indices));
  });
});
