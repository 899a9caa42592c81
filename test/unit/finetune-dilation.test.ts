// Fine-tuning refuses, with one sentence naming the layer, a model with a dilated layer whose
// gradient the backend in use cannot take, before anything is trained or written; a dilated
// SeparableConv2D on wasm and a dilated Conv2D of any activation (the engine's own gradients,
// backend/gradients.ts) pass, and the latter trains.
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { assertCanFineTune } from '../../src-main/engine/clear/finetune.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { trainModel } from '../../src-main/engine/model/train.js';

function model(layer: tfl.layers.Layer): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.inputLayer({ inputShape: [12, 12, 2] }));
  m.add(layer);
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax' }));
  return m;
}

const models: tfl.LayersModel[] = [];
beforeAll(async () => { await initBackend('wasm'); });
afterAll(async () => { models.forEach((m) => m.dispose()); await tf.setBackend('wasm'); });

describe('assertCanFineTune', () => {
  it('lets a dilated Conv2D with a linear or tanh activation through, and trainModel trains it on digits (unfused: tfjs-layers\' fused convolution has no dilated gradient)', async () => {
    const ds = await loadDataset('mnist', { limit: 200, seed: 5 });
    for (const activation of ['linear', 'tanh'] as const) {
      const m = tfl.sequential();
      m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation, name: 'wide', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
      m.add(tfl.layers.maxPooling2d({ poolSize: 4 }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }));
      models.push(m);
      expect(() => assertCanFineTune(m, 'x')).not.toThrow();
      const before = m.getLayer('wide').getWeights()[0].dataSync().slice();
      const result = await trainModel(m, ds.train, ds.shape, 10, { epochs: 2, batchSize: 32, learningRate: 0.003, seed: 0 });
      const after = m.getLayer('wide').getWeights()[0].dataSync();
      expect(result.epochs.at(-1)!.loss, activation).toBeLessThan(result.epochs[0].loss);
      expect(after.some((v, i) => Math.abs(v - before[i]) > 1e-4), `${activation}: the dilated kernel moved`).toBe(true);
      // The layer is tfjs-layers' own again after training.
      expect(Object.prototype.hasOwnProperty.call(m.getLayer('wide'), 'call')).toBe(false);
    }
  });

  it('lets a dilated Conv2D with a relu through (its gradient is the engine\'s, on any backend)', () => {
    const m = model(tfl.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: [2, 3], padding: 'same', activation: 'relu' }));
    models.push(m);
    expect(() => assertCanFineTune(m, 'x')).not.toThrow();
  });

  it('lets undilated layers and, on wasm, a dilated SeparableConv2D through; refuses the latter on cpu', async () => {
    const plain = model(tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }));
    const sep = model(tfl.layers.separableConv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'sep' }));
    models.push(plain, sep);
    expect(() => assertCanFineTune(plain, 'x')).not.toThrow();
    expect(tf.getBackend()).toBe('wasm');
    expect(() => assertCanFineTune(sep, 'x')).not.toThrow();
    await tf.setBackend('cpu');
    expect(() => assertCanFineTune(sep, 'in m')).toThrow('its layer "sep" (SeparableConv2D) is dilated (2×2), and training through a dilated SeparableConv2D is not supported on the cpu backend (the engine trains it on wasm)');
    await tf.setBackend('wasm');
  });
});
