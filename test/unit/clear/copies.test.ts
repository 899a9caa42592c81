// Copies in pixel space (clear/copies.ts): label-flip copies of one test digit, shifted and
// noised by the product's own attack, are copies of each other once aligned; groups of natural
// digits of one class are not. Real MNIST digits.
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTACKS } from '../../../src-main/engine/attacks/index.js';
import { shiftImage } from '../../../src-main/engine/attacks/label-flip.js';
import { alignedSquaredDistance, PixelCopies } from '../../../src-main/engine/clear/copies.js';
import { gatherPixels, pixelsInMemory, type Dataset } from '../../../src-main/engine/data/dataset.js';
import { loadDataset } from '../../../src-main/engine/data/load.js';
import { buildNeighbourGraph, type NeighbourGraph } from '../../../src-main/engine/features/knn.js';
import { describeGroups } from '../../../src-main/engine/clear/pockets.js';
import { completeCopies } from '../../../src-main/engine/clear/scan.js';

let ds: Dataset;
beforeAll(async () => { ds = await loadDataset('mnist', { limit: 600, seed: 2 }); });

describe('alignedSquaredDistance', () => {
  it('is 0 between a digit and itself shifted within the allowed shift, and not beyond it', () => {
    const [h, w, c] = ds.shape;
    // A digit with 2 blank pixels at its edges, so that a shift by 2 loses nothing.
    const blankEdges = (im: Float32Array) => im.every((v, p) => { const y = Math.floor(p / (w * c)); const x = Math.floor(p / c) % w; return v === 0 || (y >= 2 && y < h - 2 && x >= 2 && x < w - 2); });
    const digit = Array.from({ length: 50 }, (_, i) => gatherPixels(ds.train, ds.shape, [i])).find(blankEdges)!;
    expect(digit).toBeDefined();
    const moved = shiftImage(digit, ds.shape, 2, -1, new Float32Array(digit.length));
    expect(alignedSquaredDistance(digit, moved, h, w, c, 2)).toBeCloseTo(0, 10);
    expect(alignedSquaredDistance(digit, moved, h, w, c, 1)).toBeGreaterThan(1);
    // Under a bound it never computes past, it answers the bound.
    const other = gatherPixels(ds.train, ds.shape, [4]);
    const full = alignedSquaredDistance(digit, other, h, w, c, 2);
    expect(full).toBeGreaterThan(1);
    expect(alignedSquaredDistance(digit, other, h, w, c, 2, full / 2)).toBe(full / 2);
  });

  it('equals the plain sum over every pixel at the best shift, for colour images of any shape', () => {
    // The direct definition: each pixel of a against b's pixel a shift away, or 0 outside b.
    const plain = (a: Float32Array, b: Float32Array, h: number, w: number, c: number, m: number) => {
      let best = Infinity;
      for (let dy = -m; dy <= m; dy++) for (let dx = -m; dx <= m; dx++) {
        let s = 0;
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
          const ys = y + dy; const xs = x + dx;
          const v = ys >= 0 && ys < h && xs >= 0 && xs < w ? b[(ys * w + xs) * c + k] : 0;
          const d = a[(y * w + x) * c + k] - v; s += d * d;
        }
        best = Math.min(best, s);
      }
      return best;
    };
    let state = 7;
    const random = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
    for (const [h, w, c, m] of [[5, 7, 3, 2], [9, 4, 1, 1], [3, 3, 2, 3]]) {
      const a = Float32Array.from({ length: h * w * c }, random);
      const b = Float32Array.from({ length: h * w * c }, random);
      expect(alignedSquaredDistance(a, b, h, w, c, m)).toBeCloseTo(plain(a, b, h, w, c, m), 4);
    }
  });
});

/**
 * MNIST with `poisons` label-flip copies of the first test digit of `targetClass` labelled
 * `attackerClass`, its pixels as the feature space (each sample's `k` nearest images), and the
 * copies measured on that graph.
 */
async function pixelCase(targetClass: number, attackerClass: number, poisons: number, seed: number, k: number) {
  const targetIndex = Array.from(ds.test.labels).indexOf(targetClass);
  const { dataset, manifest } = await ATTACKS['label-flip'].run(ds, { targetIndex, attackerClass, poisons, seed });
  const n = dataset.train.count;
  const dim = dataset.shape.reduce((a, b) => a * b, 1);
  const features = pixelsInMemory(dataset.train.images);
  const graph: NeighbourGraph = await buildNeighbourGraph(features, n, dim, k);
  const copies = new PixelCopies(dataset.train, dataset.shape, dataset.train.labels, graph);
  return { dataset, n, dim, features, graph, copies, poisons: [...manifest.poisonIndices].sort((a, b) => a - b) };
}

describe('PixelCopies', () => {
  it('finds label-flip copies far closer to each other than to the digits around them; natural groups of a class are not', async () => {
    // The pixels as the feature space: each sample's 40 nearest images.
    const { dataset, n, graph, copies, poisons } = await pixelCase(1, 7, 6, 3, 40);
    expect(copies.ratio(poisons)).toBeLessThan(0.3);
    // The same ratio computed plainly: every member, every fellow member and its first 12
    // neighbours of another label compared in full, the median member's ratio.
    const [h, w, c] = dataset.shape;
    const px = (i: number) => gatherPixels(dataset.train, dataset.shape, [i]);
    const plain = poisons.map((i) => {
      const others = Array.from(graph.indices.subarray(i * graph.k, (i + 1) * graph.k)).filter((j) => j !== i && dataset.train.labels[j] !== dataset.train.labels[i]).slice(0, 12);
      const outside = Math.min(...others.map((j) => alignedSquaredDistance(px(i), px(j), h, w, c, 2)));
      const inner = Math.min(...poisons.filter((j) => j !== i).map((j) => alignedSquaredDistance(px(i), px(j), h, w, c, 2)));
      return Math.sqrt(inner / outside);
    }).sort((a, b) => a - b);
    expect(copies.ratio(poisons)).toBeCloseTo(plain[Math.floor(plain.length / 2)], 6);
    // Split in two, each half still finds its copies (the other half is not its outside).
    expect(copies.ratio(poisons.slice(0, 3))).toBeLessThan(0.3);
    // Natural digits: for each class, groups of five of its digits.
    // They count as distinct images: the ratio is recorded as 1 from COPIES_DISTINCT up.
    const natural: number[] = [];
    for (let k = 0; k < 10; k++) {
      const own = Array.from({ length: n }, (_, i) => i).filter((i) => dataset.train.labels[i] === k && !poisons.includes(i));
      for (let g = 0; g + 5 <= Math.min(own.length, 25); g += 5) natural.push(copies.ratio(own.slice(g, g + 5)));
    }
    expect(natural).toHaveLength(50);
    expect(natural.every((r) => r === 1)).toBe(true);
    expect(copies.ratio([poisons[0]])).toBe(1);
  }, 60_000);

  it('completes a fragment of the copies with the rest of them, from every sample of their label, and adds nothing to natural groups', async () => {
    // A small graph (K = 5): most copies are not among a fragment's neighbours, so only a search
    // over the whole label finds them.
    const { dataset, n, copies, poisons } = await pixelCase(3, 0, 8, 5, 5);
    expect(copies.copiesOutside(poisons.slice(0, 2))).toEqual(poisons.slice(2));
    expect(copies.copiesOutside(poisons.slice(3, 6))).toEqual([...poisons.slice(0, 3), ...poisons.slice(6)]);
    expect(copies.copiesOutside(poisons)).toEqual([]);
    // A fragment with a sample of another label, a single copy, and natural groups: nothing.
    const other = Array.from({ length: n }, (_, i) => i).find((i) => dataset.train.labels[i] !== 0)!;
    expect(copies.copiesOutside([poisons[0], poisons[1], other])).toEqual([]);
    expect(copies.copiesOutside([poisons[0]])).toEqual([]);
    for (let k = 0; k < 10; k++) {
      const own = Array.from({ length: n }, (_, i) => i).filter((i) => dataset.train.labels[i] === k && !poisons.includes(i));
      expect(copies.copiesOutside(own.slice(0, 5))).toEqual([]);
    }
  }, 60_000);

  it('as a scan step, replaces a fragment of the copies by the whole group, described afresh, once, and leaves natural groups as they are', async () => {
    const { dataset, n, dim, features, graph, copies, poisons } = await pixelCase(3, 0, 8, 5, 5);
    const labels = dataset.train.labels;
    const input = { features, n, dim, labels, predictions: labels, graph, numClasses: 10, settings: {} };
    // A natural group: a digit with a neighbour of another label, and its nearest neighbours of its own.
    const row = (i: number) => Array.from(graph.indices.subarray(i * graph.k, (i + 1) * graph.k)).filter((j) => j !== i && !poisons.includes(j));
    const sample = Array.from({ length: n }, (_, i) => i).find((i) => !poisons.includes(i)
      && row(i).some((j) => labels[j] !== labels[i]) && row(i).some((j) => labels[j] === labels[i]))!;
    const natural = [sample, ...row(sample).filter((j) => labels[j] === labels[sample])].slice(0, 3);
    expect(natural.length).toBeGreaterThan(1);
    const [first, second, plain] = describeGroups(input, [poisons.slice(0, 2), poisons.slice(4, 7), natural]);
    expect(first).toBeDefined(); expect(second).toBeDefined(); expect(plain).toBeDefined();
    const out = completeCopies([first!, plain!, second!], copies, input);
    // Both fragments complete to the same eight copies: judged once, in the first one's place.
    expect(out).toHaveLength(2);
    expect(out[0].members).toEqual(poisons);
    expect(out[0].size).toBe(8);
    expect(out[0].copiesFound).toBe(6);
    expect(out[0].shell.some((j) => poisons.includes(j))).toBe(false);
    expect(out[1]).toBe(plain);
  }, 60_000);
});
