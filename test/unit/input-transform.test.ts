// A model fed through an input transform computes what the same model computes on the
// transformed pixels, trains through it, and is written without it (its topology and weights
// untouched); a transform whose channel count does not match is refused in one sentence.
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { applyInputTransform, describeInputTransform, isIdentityTransform, sameTransform } from '../../src-main/engine/model/input-transform.js';
import { UserError } from '../../src-main/engine/errors.js';
import { unfuseDilatedConv2Ds } from '../../src-main/engine/backend/gradients.js';

const models: tfl.LayersModel[] = [];
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => models.forEach((m) => m.dispose()));

const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
function sequential(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }));
  models.push(m);
  return m;
}
/** The input read by two layers (a conv branch and a pooled one), then added. */
function functional(): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 3] });
  const a = tfl.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(3) }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.averagePooling2d({ poolSize: 1 }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(4) }).apply(tfl.layers.flatten().apply(sum)) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  models.push(m);
  return m;
}

const t = { scale: 255, mean: [120, 110, 100], std: [60, 50, 40] };
const x = () => tf.randomUniform([5, 6, 6, 3], 0, 1, 'float32', 7);
const byHand = (v: tf.Tensor) => tf.div(tf.sub(tf.mul(v, 255), tf.tensor1d(t.mean)), tf.tensor1d(t.std));

describe('applyInputTransform', () => {
  it.each([['a Sequential model', sequential], ['a functional model whose input two layers read', functional]])('feeds %s the transformed pixels, and leaves its topology and weights as they were', (_, build) => {
    const m = build();
    const plain = build();
    plain.setWeights(m.getWeights());
    const json = JSON.stringify(m.toJSON(null, false));
    const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
    const input = x();
    const expected = (plain.predict(byHand(input)) as tf.Tensor).dataSync();
    const before = (m.predict(input) as tf.Tensor).dataSync();
    applyInputTransform(m, t, 'in test');
    const after = (m.predict(input) as tf.Tensor).dataSync();
    expect(Array.from(after).map((v, i) => Math.abs(v - expected[i])).every((d) => d < 1e-5)).toBe(true);
    expect(Array.from(after).some((v, i) => Math.abs(v - before[i]) > 1e-3), 'the transform changed the outputs').toBe(true);
    expect(JSON.stringify(m.toJSON(null, false))).toBe(json);
    expect(m.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(weights);
    // Applied twice, it is applied once.
    applyInputTransform(m, t, 'in test');
    expect(Array.from((m.predict(input) as tf.Tensor).dataSync())).toEqual(Array.from(after));
  });

  it('trains through the transform as through the same model fed transformed pixels', async () => {
    const m = sequential();
    const plain = sequential();
    plain.setWeights(m.getWeights());
    const before = m.getWeights()[0].dataSync().slice();
    applyInputTransform(m, t, 'in test');
    const input = x();
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3);
    for (const [model, fed] of [[m, input], [plain, byHand(input)]] as const) {
      model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
      await model.trainOnBatch(fed, y);
    }
    const a = m.getWeights()[0].dataSync(); const b = plain.getWeights()[0].dataSync();
    const worst = Math.max(...Array.from(a).map((v, i) => Math.abs(v - b[i]))); const moved = Math.max(...Array.from(a).map((v, i) => Math.abs(v - before[i])));
    expect(worst, `moved ${moved}`).toBeLessThan(1e-5);
  });

  it('trains a dilated Conv2D that reads the input, run unfused (gradients.ts), through the transform too', async () => {
    const dilated = () => {
      const m = tfl.sequential();
      m.add(tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', kernelInitializer: init(5) }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(6) }));
      models.push(m);
      return m;
    };
    const m = dilated();
    const plain = dilated();
    plain.setWeights(m.getWeights());
    applyInputTransform(m, t, 'in test');
    const input = x();
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3);
    for (const [model, fed] of [[m, input], [plain, byHand(input)]] as const) {
      model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
      const restore = unfuseDilatedConv2Ds(model);
      try { await model.trainOnBatch(fed, y); } finally { restore(); }
    }
    const a = m.getWeights()[0].dataSync(); const b = plain.getWeights()[0].dataSync();
    expect(Math.max(...Array.from(a).map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
    // Put back: the layer is the transform's wrapper again.
    expect(Array.from((m.predict(input) as tf.Tensor).dataSync()).map((v, i) => Math.abs(v - (plain.predict(byHand(input)) as tf.Tensor).dataSync()[i])).every((d) => d < 1e-5)).toBe(true);
  });

  it('refuses a mean or std list whose length is neither 1 nor the channel count, naming the model', () => {
    const m = sequential();
    expect(() => applyInputTransform(m, { scale: 1, mean: [0.5, 0.5], std: [0.2] }, 'in net.h5')).toThrow(UserError);
    expect(() => applyInputTransform(m, { scale: 1, mean: [0.5, 0.5], std: [0.2] }, 'in net.h5'))
      .toThrow('The input normalisation gives 2 mean values, but the model in net.h5 takes images of 3 channels; give one value, or one per channel.');
  });

  it('says what it does, and knows the identity', () => {
    expect(describeInputTransform(undefined)).toBe('pixels 0–1 as read');
    expect(describeInputTransform({ scale: 255, mean: [0], std: [1] })).toBe('pixels × 255');
    expect(describeInputTransform({ scale: 1, mean: [0.1307], std: [0.3081] })).toBe('(x − 0.1307) / 0.3081 per channel');
    expect(describeInputTransform(t)).toBe('pixels × 255, then (x − [120, 110, 100]) / [60, 50, 40] per channel');
    expect(isIdentityTransform({ scale: 1, mean: [0, 0, 0], std: [1] })).toBe(true);
    expect(sameTransform(undefined, { scale: 1, mean: [0], std: [1] })).toBe(true);
    expect(sameTransform(t, { ...t, scale: 1 })).toBe(false);
  });
});
