// How a reported pocket gathers its stragglers (scan.ts expandPocket): attacker-labelled samples
// beside it in the enclosing class's region join it; natural attacker-class samples along the
// border between the two classes do not, though they list the pocket among their neighbours.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { buildNeighbourGraph, type NeighbourGraph } from '../../../src-main/engine/features/knn.js';
import { expandPocket } from '../../../src-main/engine/clear/scan.js';
import { createRng } from '../../../src-main/engine/random.js';

const A = 0; const B = 1; const K = 40;
let graph: NeighbourGraph; let labels: Int32Array; let copies: number[][]; let typical: number;

/**
 * Two classes side by side in the plane: "A" fills x in [-1, 0], "B" x in [0, 1] (500 samples
 * each). Planted just inside "B", by the border: three clumps of 6 near-duplicates labelled "A"
 * (as shifted copies of one target are), each clump about two typical neighbour distances from the next.
 */
beforeAll(async () => {
  await initBackend('cpu');
  const rng = createRng(5);
  const xs: number[] = []; const ys: number[] = []; const ls: number[] = [];
  const add = (x: number, y: number, l: number) => { xs.push(x); ys.push(y); ls.push(l); return ls.length - 1; };
  for (let i = 0; i < 500; i++) add(-rng.next(), rng.next(), A);
  for (let i = 0; i < 500; i++) add(rng.next(), rng.next(), B);
  copies = [[0.04, 0.5], [0.04, 0.57], [0.1, 0.535]].map(([cx, cy]) => Array.from({ length: 6 }, () => add(cx + (rng.next() - 0.5) * 0.002, cy + (rng.next() - 0.5) * 0.002, A)));
  const n = ls.length; const features = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) { features[2 * i] = xs[i]; features[2 * i + 1] = ys[i]; }
  labels = Int32Array.from(ls);
  graph = await buildNeighbourGraph(features, n, 2, K);
  const firsts = Array.from({ length: 1000 }, (_, i) => graph.distances[i * K]).sort((a, b) => a - b);
  typical = firsts[500];
});

describe('a reported pocket gathers its stragglers', () => {
  it('takes in every planted clump and no natural "A" sample from the border', () => {
    const all = copies.flat();
    const got = expandPocket(copies[0], A, B, labels, graph, typical);
    expect([...got].sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
  });

  it('without the limit (the reach the calibration keeps out of the null) it runs along the border', () => {
    const planted = new Set(copies.flat());
    const got = expandPocket(copies[0], A, B, labels, graph);
    for (const c of copies.flat()) expect(got).toContain(c);
    expect(got.filter((j) => !planted.has(j)).length).toBeGreaterThan(0);
  });
});
