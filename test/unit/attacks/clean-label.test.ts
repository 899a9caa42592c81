import { describe, expect, it } from 'vitest';
import { tf } from '../../../src-main/engine/backend/index.js';
import { ATTACKS, type AttackName } from '../../../src-main/engine/attacks/index.js';
import { embedSplit } from '../../../src-main/engine/features/embed.js';
import { sampleSize, sampleView, type Dataset } from '../../../src-main/engine/data/dataset.js';
import type { SplitModel } from '../../../src-main/engine/features/split.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { attackData, attackFeatureModel, pickTarget, poisonPixels, sameValues } from './fixture.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

const CLEAN_LABEL: AttackName[] = ['fc', 'cp', 'bp'];
/** Few poisons and steps keep the tests fast; the benchmark uses the defaults. */
const POISONS = 8;
const ITERATIONS = 60;

/** φ of some training samples, `count × dim`. */
async function features(parts: SplitModel, ds: Dataset, indices: number[]): Promise<Float32Array> {
  return (await embedSplit(parts, ds.train, ds.shape, { indices })).features;
}

function distance(a: Float32Array, aRow: number, b: Float32Array, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += (a[aRow * dim + t] - b[t]) ** 2;
  return Math.sqrt(s);
}

function meanRow(f: Float32Array, rows: number, dim: number, weights?: number[]): Float32Array {
  const out = new Float32Array(dim);
  for (let r = 0; r < rows; r++) for (let t = 0; t < dim; t++) out[t] += (weights ? weights[r] : 1 / rows) * f[r * dim + t];
  return out;
}

describe.each(CLEAN_LABEL)('%s attack', (name) => {
  it('puts each poison in its base\'s place by default: same index, label A, no clean twin left behind', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await ATTACKS[name].run(ds, {
      targetIndex, attackerClass, poisons: POISONS, seed: 3, featureModel: parts, iterations: ITERATIONS,
    });
    expect(manifest.settings).toMatchObject({ placement: 'replace', baseChoice: 'random' });
    // The papers' settings by default: β0 = 0.25 (Feature Collision), ε = 8/255 (the polytope attacks).
    if (name === 'fc') expect(manifest.settings).toMatchObject({ beta0: 0.25, watermark: 0 });
    else expect(manifest.settings.epsilon).toBeCloseTo(8 / 255, 12);
    expect(dataset.train.count).toBe(ds.train.count);
    expect(manifest.poisonIndices).toEqual(manifest.baseIndices);
    expect(sameValues(dataset.train.labels, ds.train.labels)).toBe(true);
    const size = sampleSize(ds.shape);
    const poisoned = new Set(manifest.poisonIndices);
    const bases = poisonPixels(ds, manifest.baseIndices!);
    manifest.poisonIndices.forEach((i, j) => {
      const p = dataset.train.images.subarray(i * size, (i + 1) * size);
      expect(sameValues(p, bases[j])).toBe(false);
      // No training sample is still the base's clean pixels.
      for (let other = 0; other < dataset.train.count; other += 1) {
        if (dataset.train.labels[other] !== attackerClass) continue;
        expect(sameValues(dataset.train.images.subarray(other * size, (other + 1) * size), bases[j])).toBe(false);
      }
    });
    for (let i = 0; i < ds.train.count; i++) {
      if (poisoned.has(i)) continue;
      expect(sameValues(dataset.train.images.subarray(i * size, (i + 1) * size), ds.train.images.subarray(i * size, (i + 1) * size))).toBe(true);
    }
  });

  it('draws random bases by the seed, and nearest-feature bases as a variant', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const run = (seed: number, baseChoice: 'random' | 'nearest') => ATTACKS[name].run(ds, {
      targetIndex, attackerClass, poisons: 4, seed, featureModel: parts, iterations: 1, baseChoice,
    });
    const [a, b, c, n1, n2] = await Promise.all([run(1, 'random'), run(1, 'random'), run(2, 'random'), run(1, 'nearest'), run(2, 'nearest')]);
    expect(a.manifest.baseIndices).toEqual(b.manifest.baseIndices);
    expect(a.manifest.baseIndices).not.toEqual(c.manifest.baseIndices);
    // Nearest bases do not depend on the seed, and are the class-A samples nearest to φ(t).
    expect(n1.manifest.baseIndices).toEqual(n2.manifest.baseIndices);
    expect(n1.manifest.settings.baseChoice).toBe('nearest');
    const target = (await embedSplit(parts, { images: sampleView(ds, 'test', targetIndex), count: 1 }, ds.shape)).features;
    const dim = parts.featureDim;
    const classA = Array.from({ length: ds.train.count }, (_, i) => i).filter((i) => ds.train.labels[i] === attackerClass);
    const f = await features(parts, ds, classA);
    const byDistance = classA.map((i, r) => [i, distance(f, r, target, dim)] as const).sort((x, y) => x[1] - y[1] || x[0] - y[0]);
    expect(n1.manifest.baseIndices).toEqual(byDistance.slice(0, 4).map(([i]) => i));
    await expect(ATTACKS[name].run(ds, { targetIndex, attackerClass, poisons: 2, seed: 1, featureModel: parts, iterations: 1, baseChoice: 'far' as 'random' })).rejects.toThrow(/baseChoice setting "far"/);
  });

  it('appends poisons labelled A, crafted from class-A bases, within [0, 1] (and the ε ball for cp/bp), when asked to', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, targetClass, attackerClass } = pickTarget(ds);
    const epsilon = 0.1;
    const { dataset, manifest } = await ATTACKS[name].run(ds, {
      targetIndex, attackerClass, poisons: POISONS, seed: 3, featureModel: parts, iterations: ITERATIONS, epsilon, placement: 'append',
    });
    expect(manifest).toMatchObject({ attack: name, targetIndex, targetClass, attackerClass });
    expect(manifest.poisonIndices).toEqual(Array.from({ length: POISONS }, (_, j) => ds.train.count + j));
    expect(manifest.baseIndices).toHaveLength(POISONS);
    expect(new Set(manifest.baseIndices).size).toBe(POISONS);
    for (const b of manifest.baseIndices!) expect(ds.train.labels[b]).toBe(attackerClass);
    for (const i of manifest.poisonIndices) expect(dataset.train.labels[i]).toBe(attackerClass);
    const size = sampleSize(ds.shape);
    expect(sameValues(pixelsInMemory(dataset.train.images).subarray(0, ds.train.count * size), pixelsInMemory(ds.train.images))).toBe(true);
    const poisons = poisonPixels(dataset, manifest.poisonIndices);
    const bases = poisonPixels(ds, manifest.baseIndices!);
    let maxChange = 0;
    poisons.forEach((p, j) => {
      for (let q = 0; q < size; q++) {
        expect(p[q]).toBeGreaterThanOrEqual(0);
        expect(p[q]).toBeLessThanOrEqual(1);
        maxChange = Math.max(maxChange, Math.abs(p[q] - bases[j][q]));
      }
    });
    expect(maxChange).toBeGreaterThan(0.01); // the optimiser moved them
    if (name !== 'fc') expect(maxChange).toBeLessThanOrEqual(epsilon + 1e-6);
  });

  it('is deterministic for a seed and leaks no tensors', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds, 1);
    const params = { targetIndex, attackerClass, poisons: 4, seed: 9, featureModel: parts, iterations: 20 };
    await ATTACKS[name].run(ds, params); // warm-up: kernels and caches allocate on first use
    const before = tf.memory().numTensors;
    const a = await ATTACKS[name].run(ds, params);
    expect(tf.memory().numTensors).toBe(before);
    const b = await ATTACKS[name].run(ds, params);
    expect(sameValues(pixelsInMemory(a.dataset.train.images), pixelsInMemory(b.dataset.train.images))).toBe(true);
    expect(a.manifest).toEqual(b.manifest);
  });

  it('moves the poisons\' features towards the target substantially', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const dim = parts.featureDim;
    const { targetIndex, attackerClass } = pickTarget(ds, 2);
    const { dataset, manifest } = await ATTACKS[name].run(ds, {
      // A budget large enough to see the optimiser at work (the papers' 8/255 moves MNIST features little).
      targetIndex, attackerClass, poisons: POISONS, seed: 4, featureModel: parts, iterations: 150, epsilon: 0.2,
    });
    const target = (await embedSplit(parts, { images: sampleView(ds, 'test', targetIndex), count: 1 }, ds.shape)).features;
    const baseF = await features(parts, ds, manifest.baseIndices!);
    const poisonF = await features(parts, dataset, manifest.poisonIndices);
    if (name === 'fc') {
      // Each poison collides with the target on its own.
      let before = 0; let after = 0;
      for (let j = 0; j < POISONS; j++) { before += distance(baseF, j, target, dim); after += distance(poisonF, j, target, dim); }
      expect(after).toBeLessThan(0.6 * before);
    } else {
      // The polytope's combination (bp: the mean) approaches the target.
      const weights = name === 'cp' ? (manifest.settings.coefficients as number[]) : undefined;
      if (weights) expect(weights.reduce((a, c) => a + c, 0)).toBeCloseTo(1, 3);
      const before = distance(meanRow(baseF, POISONS, dim), 0, target, dim);
      const after = distance(meanRow(poisonF, POISONS, dim, weights), 0, target, dim);
      expect(after).toBeLessThan(0.6 * before);
    }
  });

  it('needs a feature model and checks its settings', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const base = { targetIndex, attackerClass, poisons: 2, seed: 1, featureModel: parts, iterations: 2 };
    await expect(ATTACKS[name].run(ds, { ...base, featureModel: undefined })).rejects.toThrow(/needs a feature model/);
    await expect(ATTACKS[name].run(ds, { ...base, iterations: 0 })).rejects.toThrow(/iterations setting 0/);
    await expect(ATTACKS[name].run(ds, { ...base, learningRate: -1 })).rejects.toBeInstanceOf(UserError);
    await expect(ATTACKS[name].run(ds, { ...base, poisons: 500 })).rejects.toThrow(/needs 500 base samples/);
    if (name !== 'fc') await expect(ATTACKS[name].run(ds, { ...base, epsilon: 0 })).rejects.toThrow(/epsilon setting 0/);
    else await expect(ATTACKS[name].run(ds, { ...base, watermark: 1 })).rejects.toThrow(/watermark/);
  });
});

describe('fc watermark', () => {
  it('blends the target into every poison at opacity γ', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await ATTACKS.fc.run(ds, {
      targetIndex, attackerClass, poisons: 2, seed: 1, featureModel: parts, iterations: 5, watermark: 0.3,
    });
    const target = sampleView(ds, 'test', targetIndex);
    const [p] = poisonPixels(dataset, manifest.poisonIndices);
    // Where the target is bright, a poison is at least 0.3 × that bright.
    for (let q = 0; q < p.length; q++) expect(p[q]).toBeGreaterThanOrEqual(0.3 * target[q] - 1e-6);
    expect(manifest.settings.watermark).toBe(0.3);
  });
});
