import { describe, expect, it } from 'vitest';
import { tf } from '../../../src-main/engine/backend/index.js';
import { labelFlipAttack } from '../../../src-main/engine/attacks/label-flip.js';
import { cloneModel, trainVictim } from '../../../src-main/engine/attacks/scenario.js';
import { sampleView } from '../../../src-main/engine/data/dataset.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { predictSplit } from '../../../src-main/engine/model/train.js';
import { attackData, attackFeatureModel, pickTarget } from './fixture.js';

function weightsOf(model: { getWeights(): tf.Tensor[] }): Float32Array[] {
  // Layer by layer: a model's getWeights() lists trainable weights first, so freezing reorders it.
  return model.getWeights().map((w) => w.dataSync() as Float32Array).map((a) => a.slice());
}

describe('victim training', () => {
  it('transfer: freezes the clean extractor, retrains a fresh last layer, leaves the clean model alone', async () => {
    const ds = await attackData();
    const clean = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await labelFlipAttack(ds, { targetIndex, attackerClass, poisons: 10, seed: 1 });
    const layerWeights = (model: typeof clean.model, name: string) => weightsOf(model.getLayer(name));
    const same = (a: Float32Array[], b: Float32Array[]) => a.every((w, i) => Buffer.from(w.buffer).equals(Buffer.from(b[i].buffer)));
    const names = ['dense_1', 'features', 'logits'];
    const cleanWeights = names.map((n) => layerWeights(clean.model, n));
    const victim = await trainVictim(dataset, 'transfer', { arch: 'mlp', seed: 3, epochs: 2, frozenFeatureModel: clean, manifest });
    const after = names.map((n) => layerWeights(victim.model, n));
    expect(same(after[0], cleanWeights[0])).toBe(true);
    expect(same(after[1], cleanWeights[1])).toBe(true);
    expect(same(after[2], cleanWeights[2])).toBe(false);
    names.forEach((n, i) => expect(same(layerWeights(clean.model, n), cleanWeights[i])).toBe(true));
    expect(victim.model.layers.filter((l) => l.trainable).map((l) => l.name)).toEqual(['logits']);
    const { predicted } = await predictSplit(victim.model, { images: sampleView(ds, 'test', targetIndex), count: 1 }, ds.shape);
    expect(victim.targetPredicted).toBe(predicted[0]);
    expect(victim.attackSucceeded).toBe(predicted[0] === attackerClass);
    expect(victim.parts.featureLayer).toBe('features');
    victim.model.dispose();
  });

  it('e2e: trains a fresh model on the poisoned set; without a manifest nothing is claimed', async () => {
    const ds = await attackData();
    const victim = await trainVictim(ds, 'e2e', { arch: 'mlp', seed: 3, epochs: 1 });
    expect(victim.attackSucceeded).toBe(false);
    expect(victim.targetPredicted).toBeUndefined();
    expect(victim.train.epochs).toHaveLength(1);
    expect(victim.train.epochs[0].accuracy).toBeGreaterThan(0.5);
    victim.model.dispose();
  });

  it('needs a frozen model for transfer and a known scenario', async () => {
    const ds = await attackData();
    await expect(trainVictim(ds, 'transfer', { arch: 'mlp', seed: 1 })).rejects.toBeInstanceOf(UserError);
    await expect(trainVictim(ds, 'other' as never, { arch: 'mlp', seed: 1 })).rejects.toThrow(/Unknown scenario "other"/);
  });

  it('cloneModel copies weights without sharing them', async () => {
    const clean = await attackFeatureModel();
    const copy = await cloneModel(clean.model);
    const a = weightsOf(clean.model);
    const b = weightsOf(copy);
    a.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(b[i].buffer))).toBe(true));
    copy.dispose();
    expect(weightsOf(clean.model)[0][0]).toBe(a[0][0]); // disposing the copy keeps the original alive
  });
});
