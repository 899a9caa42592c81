import { describe, expect, it } from 'vitest';
import { labelFlipAttack, shiftImage } from '../../../src-main/engine/attacks/label-flip.js';
import { getAttack } from '../../../src-main/engine/attacks/index.js';
import { sampleSize, sampleView } from '../../../src-main/engine/data/dataset.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { attackData, pickTarget, poisonPixels, sameValues } from './fixture.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

describe('label-flip attack', () => {
  it('appends K labelled copies after the clean training split and leaves the rest untouched', async () => {
    const ds = await attackData();
    const { targetIndex, targetClass, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 20, seed: 7 });
    expect(dataset.train.count).toBe(ds.train.count + 20);
    expect(manifest).toMatchObject({ attack: 'label-flip', targetSplit: 'test', targetIndex, targetClass, attackerClass, seed: 7 });
    expect(manifest.poisonIndices).toEqual(Array.from({ length: 20 }, (_, j) => ds.train.count + j));
    for (const i of manifest.poisonIndices) expect(dataset.train.labels[i]).toBe(attackerClass);
    const size = sampleSize(ds.shape);
    expect(sameValues(pixelsInMemory(dataset.train.images).subarray(0, ds.train.count * size), pixelsInMemory(ds.train.images))).toBe(true);
    expect(sameValues(dataset.train.labels.subarray(0, ds.train.count), ds.train.labels)).toBe(true);
    expect(dataset.test).toBe(ds.test);
    expect(dataset.fingerprint).not.toBe(ds.fingerprint);
    expect(ds.train.count).toBe(1000); // the input dataset is not modified
  });

  it('makes shifted, noisy copies of the target within [0, 1]', async () => {
    const ds = await attackData();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 10, seed: 1 });
    const target = sampleView(ds, 'test', targetIndex);
    for (const copy of poisonPixels(dataset, manifest.poisonIndices)) {
      expect(Math.min(...copy)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...copy)).toBeLessThanOrEqual(1);
      // Closer to some 1–2 px shift of the target than noise alone would allow from anything else.
      let best = Infinity;
      const shifted = new Float32Array(copy.length);
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
        shiftImage(target, ds.shape, dy, dx, shifted);
        let d = 0;
        for (let p = 0; p < copy.length; p++) d += (copy[p] - shifted[p]) ** 2;
        best = Math.min(best, Math.sqrt(d / copy.length));
      }
      expect(best).toBeLessThan(0.03);
      let same = 0;
      for (let p = 0; p < copy.length; p++) same += (copy[p] - target[p]) ** 2;
      expect(Math.sqrt(same / copy.length)).toBeGreaterThan(best); // a real shift, not the target itself
    }
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const ds = await attackData();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const a = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 5, seed: 11 });
    const b = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 5, seed: 11 });
    const c = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 5, seed: 12 });
    expect(sameValues(pixelsInMemory(a.dataset.train.images), pixelsInMemory(b.dataset.train.images))).toBe(true);
    expect(a.dataset.fingerprint).toBe(b.dataset.fingerprint);
    expect(sameValues(pixelsInMemory(a.dataset.train.images), pixelsInMemory(c.dataset.train.images))).toBe(false);
  });

  it('shiftImage moves pixels and fills the border with zeros', () => {
    const image = Float32Array.from({ length: 9 }, (_, i) => i + 1); // 3×3×1
    const out = shiftImage(image, [3, 3, 1], 1, -1, new Float32Array(9));
    expect(Array.from(out)).toEqual([0, 0, 0, 2, 3, 0, 5, 6, 0]);
  });

  it('rejects bad settings with one-sentence UserErrors', async () => {
    const ds = await attackData();
    const { targetIndex, targetClass, attackerClass } = pickTarget(ds);
    const run = (params: Record<string, unknown>) =>
      labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 5, seed: 1, ...params } as never);
    await expect(run({ targetIndex: ds.test.count })).rejects.toThrow(/targetIndex .* 0 to 1999/);
    await expect(run({ targetIndex: -1 })).rejects.toBeInstanceOf(UserError);
    await expect(run({ targetIndex: 1.5 })).rejects.toBeInstanceOf(UserError);
    await expect(run({ attackerClass: targetClass })).rejects.toThrow(/attackerClass .* target's own class/);
    await expect(run({ attackerClass: 10 })).rejects.toThrow(/attackerClass 10 must be a class index from 0 to 9/);
    await expect(run({ poisons: 0 })).rejects.toThrow(/poisons setting 0/);
    await expect(run({ noiseStd: -1 })).rejects.toThrow(/noiseStd/);
    await expect(run({ maxShift: 1.5 })).rejects.toThrow(/maxShift/);
    for (const err of await Promise.allSettled([run({ attackerClass: targetClass }), run({ poisons: 0 })])) {
      expect(err.status).toBe('rejected');
      const message = (err as PromiseRejectedResult).reason.message as string;
      expect(message.split(/\. (?=[A-Z])/).length).toBe(1); // one sentence
    }
    expect(() => getAttack('nope')).toThrow(/Unknown attack "nope"/);
  });
});
