import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../src-main/engine/backend/index.js';
import { chooseDeepKnnK, deepKnnDetector, deepKnnMinGroup } from '../../../src-main/engine/detectors/baselines/deep-knn.js';
import { baselineDetectors, noDefenceDetector } from '../../../src-main/engine/detectors/baselines/index.js';
import { buildNeighbourGraph, normaliseFeatures } from '../../../src-main/engine/features/knn.js';
import { axis, blobs, detectorInput } from './synthetic.js';

const DIM = 8;
const CLASSES = 4;
const PER_CLASS = 150;
const PLANTED = 12;

/** Four well-separated classes (cosine geometry: one axis each), plus optional planted groups. */
function data(planted: { label: number; inside: number; count: number }[]) {
  const list = Array.from({ length: CLASSES }, (_, c) => ({ centre: axis(DIM, c, 10, [4, 4, 4, 4, 4, 4, 4, 4]), std: 1, count: PER_CLASS, label: c }));
  // A planted group: a compact cluster of one label sitting in another class's region.
  for (const p of planted) list.push({ centre: axis(DIM, p.inside, 10, [4, 4, 4, 4, 4, 4, 4, 4]), std: 0.2, count: p.count, label: p.label });
  return blobs(list, DIM, 5);
}

beforeAll(async () => { await initBackend('cpu'); });

describe('Deep k-NN', () => {
  it('uses k = 2 × expected poisons, or 50 when unknown, capped by the data', () => {
    expect(chooseDeepKnnK(10_000, 20)).toBe(40);
    expect(chooseDeepKnnK(10_000)).toBe(50);
    expect(chooseDeepKnnK(30)).toBe(29);
    expect(deepKnnMinGroup(50)).toBe(17);
    expect(deepKnnMinGroup(40)).toBe(14);
    expect(deepKnnMinGroup(2)).toBe(3);
  });

  it('flags exactly the planted mislabeled group and the model', async () => {
    const { features, labels } = data([{ label: 1, inside: 0, count: PLANTED }]);
    const planted = Array.from({ length: PLANTED }, (_, j) => CLASSES * PER_CLASS + j);
    const before = tf.memory().numTensors;
    const result = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: PLANTED }));
    expect(tf.memory().numTensors).toBe(before);
    expect(result.flaggedSamples).toEqual(planted);
    expect(result.flagged).toBe(true);
    expect(result.summary).toBe(PLANTED);
    expect(result.info.k).toBe(2 * PLANTED);
    const groups = result.info.groups as { label: number; neighbourLabel: number; members: number[] }[];
    expect(groups[0]).toEqual({ label: 1, neighbourLabel: 0, members: planted });
    expect(result.sampleScores).toHaveLength(labels.length);
    for (const i of planted) expect(result.sampleScores[i]).toBeGreaterThan(0.5);
    expect(deepKnnDetector.mitigation(result)).toEqual({ kind: 'remove', indices: planted });
    expect(deepKnnDetector.report(result)).toMatch(/12 samples labelled c1 inside the region of c0[\s\S]*backdoor suspected/);
    expect(JSON.parse(JSON.stringify(result.info)).groups[0].members).toEqual(planted);
  });

  it('reads a shared neighbour graph with more neighbours than it needs, with the same result as its own', async () => {
    const { features, labels } = data([{ label: 1, inside: 0, count: PLANTED }]);
    const n = labels.length;
    const own = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: PLANTED }));
    // The bench's graph: built once at a larger K on the same L2-normalised features.
    const graph = await buildNeighbourGraph(normaliseFeatures(features, n, DIM, 'l2'), n, DIM, 3 * PLANTED);
    const shared = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: PLANTED, graph }));
    expect(own.info.sharedGraph).toBe(false);
    expect(shared.info.sharedGraph).toBe(true);
    expect(shared.info.k).toBe(own.info.k);
    expect(shared.flaggedSamples).toEqual(own.flaggedSamples);
    expect(Array.from(shared.sampleScores)).toEqual(Array.from(own.sampleScores));
    // Too few neighbours in the shared graph: it builds its own.
    const small = await buildNeighbourGraph(normaliseFeatures(features, n, DIM, 'l2'), n, DIM, 5);
    const fallback = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: PLANTED, graph: small }));
    expect(fallback.info.sharedGraph).toBe(false);
    expect(fallback.flaggedSamples).toEqual(own.flaggedSamples);
  });

  it('flags scattered disagreeing samples but not the model when no group is coherent', async () => {
    // Single mislabeled samples, each alone in a different class's region.
    const { features, labels } = data([
      { label: 1, inside: 0, count: 1 }, { label: 2, inside: 3, count: 1 }, { label: 3, inside: 1, count: 1 },
    ]);
    const result = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(result.flaggedSamples).toEqual([600, 601, 602]);
    expect(result.flagged).toBe(false);
    expect(result.summary).toBeLessThan(deepKnnMinGroup(result.info.k as number));
    expect(deepKnnDetector.report(result)).toMatch(/no backdoor found/);
  });

  it('finds nothing on clean, separated classes', async () => {
    const { features, labels } = data([]);
    const result = await deepKnnDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: 10 }));
    expect(result.flaggedSamples).toEqual([]);
    expect(result.flagged).toBe(false);
  });

  it('the registry holds every baseline, and no-defence flags nothing', async () => {
    expect(baselineDetectors.map((d) => d.name)).toEqual(['deep-knn', 'spectral', 'activation-clustering', 'none']);
    const { features, labels } = data([{ label: 1, inside: 0, count: PLANTED }]);
    const result = await noDefenceDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(result.flagged).toBe(false);
    expect(result.flaggedSamples).toEqual([]);
    expect(noDefenceDetector.mitigation(result)).toEqual({ kind: 'remove', indices: [] });
  });
});
