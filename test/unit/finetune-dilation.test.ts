// Fine-tuning refuses, with one sentence naming the layer, a model with a dilated layer whose
// gradient the backend in use cannot take, before anything is trained or written; a dilated
// SeparableConv2D on wasm (the engine's own gradient, backend/gradients.ts) passes.
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { assertCanFineTune } from '../../src-main/engine/clear/finetune.js';

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
  it('refuses a dilated Conv2D with a linear activation (a fused convolution in training), naming the layer, its type and its dilation', () => {
    const m = model(tfl.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'wide' }));
    models.push(m);
    expect(() => assertCanFineTune(m, 'in victim.h5')).toThrow(
      'The model in victim.h5 cannot be fine-tuned: its layer "wide" (Conv2D) is dilated (2×2) with a linear activation, which TensorFlow.js trains through a fused convolution that has no dilated gradient',
    );
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
