import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../src-main/engine/backend/index.js';
import { activationClusteringDetector } from '../../../src-main/engine/detectors/baselines/activation-clustering.js';
import { spectralSignaturesDetector } from '../../../src-main/engine/detectors/baselines/spectral.js';
import {
  modifiedZScores, normalQuantile, principalComponents, silhouette, topSingularVectors, twoMeans,
} from '../../../src-main/engine/detectors/baselines/numerics.js';
import { createRng } from '../../../src-main/engine/random.js';
import { axis, blobs, detectorInput } from './synthetic.js';

const DIM = 16;
const CLASSES = 10;
const PER_CLASS = 300;
const PLANTED = 30;
const POISONED_CLASS = 3;

/**
 * The design case of both defences: a trigger moves the poisons of one class to a compact,
 * distinct cluster of that class in feature space.
 */
function data(withPlant: boolean) {
  const list = Array.from({ length: CLASSES }, (_, c) => ({ centre: axis(DIM, c, 10), std: 1, count: PER_CLASS, label: c }));
  if (withPlant) list.push({ centre: axis(DIM, POISONED_CLASS, 10, axis(DIM, 12, 6)), std: 0.3, count: PLANTED, label: POISONED_CLASS });
  return blobs(list, DIM, 21);
}
const planted = Array.from({ length: PLANTED }, (_, j) => CLASSES * PER_CLASS + j);

beforeAll(async () => { await initBackend('cpu'); });

describe('spectral signatures', () => {
  it('ranks a planted cluster on top of its class and flags that class', async () => {
    const { features, labels } = data(true);
    const before = tf.memory().numTensors;
    const result = await spectralSignaturesDetector.detect(detectorInput(features, labels, DIM, CLASSES, { expectedPoisons: PLANTED }));
    expect(tf.memory().numTensors).toBe(before);
    expect(result.flagged).toBe(true);
    expect(result.info.suspectClass).toBe(POISONED_CLASS);
    // 1.5 × 30 removed per class, the planted 30 among class 3's.
    expect(result.flaggedSamples).toHaveLength(CLASSES * 45);
    for (const i of planted) expect(result.flaggedSamples).toContain(i);
    const cleanOfClass = Array.from(labels.keys()).filter((i) => labels[i] === POISONED_CLASS && i < CLASSES * PER_CLASS);
    const lowestPlanted = Math.min(...planted.map((i) => result.sampleScores[i]));
    expect(cleanOfClass.filter((i) => result.sampleScores[i] >= lowestPlanted)).toEqual([]);
    expect(spectralSignaturesDetector.mitigation(result)).toEqual({ kind: 'remove', indices: result.flaggedSamples });
    expect(spectralSignaturesDetector.report(result)).toMatch(/backdoor suspected in class c3/);
  });

  it('does not flag clean classes; removes 1.5 × 5% of each class when the poison count is unknown', async () => {
    const { features, labels } = data(false);
    const result = await spectralSignaturesDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(result.flagged).toBe(false);
    expect(result.flaggedSamples).toHaveLength(CLASSES * Math.round(1.5 * 0.05 * PER_CLASS));
    expect(spectralSignaturesDetector.report(result)).toMatch(/no class stands out/);
  });
});

describe('activation clustering', () => {
  it('splits off exactly the planted cluster and flags only its class', async () => {
    const { features, labels } = data(true);
    const before = tf.memory().numTensors;
    const result = await activationClusteringDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(tf.memory().numTensors).toBe(before);
    expect(result.flagged).toBe(true);
    expect(result.info.flaggedClasses).toEqual([POISONED_CLASS]);
    expect(result.flaggedSamples).toEqual(planted);
    expect(activationClusteringDetector.mitigation(result)).toEqual({ kind: 'remove', indices: planted });
    expect(activationClusteringDetector.report(result)).toMatch(/Class c3: a cluster of 30 of 330 samples/);
  });

  it('does not flag clean Gaussian classes', async () => {
    const { features, labels } = data(false);
    const result = await activationClusteringDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(result.flagged).toBe(false);
    expect(result.flaggedSamples).toEqual([]);
  });

  it('is deterministic for a seed', async () => {
    const { features, labels } = data(true);
    const a = await activationClusteringDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    const b = await activationClusteringDetector.detect(detectorInput(features, labels, DIM, CLASSES));
    expect(a.info.perClass).toEqual(b.info.perClass);
  });
});

describe('baseline numerics', () => {
  it('power iteration and PCA find the known axes of a stretched Gaussian', () => {
    const rng = createRng(3);
    const rows = 400; const dim = 5;
    const x = new Float64Array(rows * dim);
    const scales = [1, 5, 1, 3, 1];
    for (let r = 0; r < rows; r++) for (let t = 0; t < dim; t++) x[r * dim + t] = scales[t] * rng.normal();
    const { vectors, eigenvalues } = topSingularVectors(x, rows, dim, 2, rng);
    expect(Math.abs(vectors[0][1])).toBeGreaterThan(0.99);
    expect(Math.abs(vectors[1][3])).toBeGreaterThan(0.98);
    expect(eigenvalues[0]).toBeGreaterThan(20);
    const pcs = principalComponents(x, rows, dim, 2, rng);
    expect(Math.abs(pcs[0][1])).toBeGreaterThan(0.99);
    expect(Math.abs(pcs[1][3])).toBeGreaterThan(0.98);
  });

  it('2-means separates two blobs, and their silhouette is high', () => {
    const rng = createRng(4);
    const rows = 200; const dim = 2;
    const p = new Float64Array(rows * dim);
    for (let r = 0; r < rows; r++) { p[r * 2] = (r < 50 ? 10 : 0) + rng.normal(); p[r * 2 + 1] = rng.normal(); }
    const split = twoMeans(p, rows, dim, rng, 3);
    expect([...split.sizes].sort((a, b) => a - b)).toEqual([50, 150]);
    expect(silhouette(p, rows, dim, split.assignment, rng, 1000)).toBeGreaterThan(0.7);
    expect(silhouette(p, rows, dim, split.assignment, rng, 60)).toBeGreaterThan(0.6); // subsampled estimate
  });

  it('robust z-scores and normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 5);
    const z = modifiedZScores([1, 1.1, 0.9, 1.05, 0.95, 5]);
    expect(z[5]).toBeGreaterThan(10);
    expect(Math.abs(z[0])).toBeLessThan(1);
    expect(modifiedZScores([2, 2, 2])).toEqual([0, 0, 0]);
  });
});
