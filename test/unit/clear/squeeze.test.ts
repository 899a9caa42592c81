// Squeezing drift (clear/squeeze.ts): clean-label poisons move under bit-depth reduction,
// natural digits of the same class do not. Real MNIST digits, a real (briefly trained) mlp,
// real bullseye and convex polytope poisons at the benchmark's strong budget.
import { describe, expect, it } from 'vitest';
import { ATTACKS, type AttackName } from '../../../src-main/engine/attacks/index.js';
import { POLYTOPE_STRONG_EPSILON } from '../../../src-main/engine/attacks/polytope.js';
import { SqueezeDrift, squeezeValues } from '../../../src-main/engine/clear/squeeze.js';
import { embedSplit } from '../../../src-main/engine/features/embed.js';
import { attackData, attackFeatureModel, pickTarget } from '../attacks/fixture.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

describe('squeezeValues', () => {
  it('rounds each value to the nearest of 8 levels in [0, 1], clamping outside values', () => {
    const out = squeezeValues(Float32Array.from([0, 0.07, 0.08, 0.5, 0.93, 1, -0.3, 1.4]));
    expect(Array.from(out).map((v) => Math.round(v * 7))).toEqual([0, 0, 1, 4, 7, 7, 0, 7]);
    expect(Array.from(squeezeValues(Float32Array.from([0.3, 0.7]), 1))).toEqual([0, 1]);
  });
});

describe.each(['bp', 'cp'] as AttackName[])('fragility of %s poisons', (name) => {
  it('is well above that of natural digits of the poisons\' own class, which move as much as any sample', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await ATTACKS[name].run(ds, {
      targetIndex, attackerClass, poisons: 8, seed: 5, featureModel: parts, iterations: 80, epsilon: POLYTOPE_STRONG_EPSILON, baseChoice: 'nearest',
    });
    const { features } = await embedSplit(parts, dataset.train, dataset.shape);
    const drift = new SqueezeDrift(parts, dataset.train, dataset.shape, features, 0);
    const poisons = manifest.poisonIndices;
    const poisoned = new Set(poisons);
    const natural: number[] = [];
    for (let i = 0; i < dataset.train.count && natural.length < 40; i++) {
      if (dataset.train.labels[i] === attackerClass && !poisoned.has(i)) natural.push(i);
    }
    // Natural digits: five groups of eight, each moving about as far as the median sample, and
    // none further than nine in ten samples do: their fragility does not count.
    for (let g = 0; g < 5; g++) {
      const group = natural.slice(8 * g, 8 * g + 8);
      expect(Math.abs(Math.log(drift.driftRatio(group)))).toBeLessThan(Math.log(1.5));
      expect(drift.fragility(group)).toBeLessThan(0);
    }
    // The poisons move more than twice as far as nine in ten samples do.
    expect(drift.fragility(poisons)).toBeGreaterThan(Math.log(2));
    expect(drift.driftRatio(poisons)).toBeGreaterThan(3);
  }, 120_000);
});

describe('fragility on images that squeezing leaves unchanged', () => {
  it('still singles out the poisons when every other image is binary (natural drift 0)', async () => {
    const ds = await attackData();
    const { parts } = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await ATTACKS.bp.run(ds, {
      targetIndex, attackerClass, poisons: 8, seed: 5, featureModel: parts, iterations: 80, epsilon: POLYTOPE_STRONG_EPSILON, baseChoice: 'nearest',
    });
    const poisoned = new Set(manifest.poisonIndices);
    const size = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
    const images = Float32Array.from(pixelsInMemory(dataset.train.images));
    for (let i = 0; i < dataset.train.count; i++) {
      if (poisoned.has(i)) continue;
      for (let t = i * size; t < (i + 1) * size; t++) images[t] = images[t] >= 0.5 ? 1 : 0;
    }
    const split = { ...dataset.train, images };
    const { features } = await embedSplit(parts, split, dataset.shape);
    const drift = new SqueezeDrift(parts, split, dataset.shape, features, 0);
    const natural = Array.from({ length: dataset.train.count }, (_, i) => i).filter((i) => !poisoned.has(i)).slice(0, 16);
    // Binary images are their own squeezed images: they do not move, so they never count.
    expect(drift.fragility(natural)).toBeLessThan(0);
    expect(drift.fragility(manifest.poisonIndices)).toBeGreaterThan(Math.log(2));
  }, 120_000);
});
