// A Keras model with DepthwiseConv2D and SeparableConv2D layers is repaired on the wasm backend,
// whose stock kernels have no gradient for depthwise convolutions (wasm-kernels.ts registers
// them; without them training and repair stop at "Kernel 'DepthwiseConv2dNativeBackpropInput'
// not registered for backend 'wasm'"). Real MNIST (2,000 training digits, seeded) with a
// label-flip backdoor of 20 noise-only copies of one test "1" labelled 7; the model is trained
// here, written as a Keras .h5 file, read back, scanned and repaired through repairModel, whose
// fine-tuning trains every layer, the depthwise and separable ones included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { kerasBytes } from '../../src-main/engine/model/keras.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { repairModel } from '../../src-main/engine/clear/repair.js';

const SEED = 0; const ATTACKER = 7; const POISONS = 20; const EPOCHS = 6;
let dir: string;
let clean: Dataset;

/** Conv2D, then a strided DepthwiseConv2D with channel multiplier 2, then a SeparableConv2D dilated by 2 (tfjs-core's own gradient refuses dilations; gradients.ts lifts that on wasm). */
function depthwiseModel(seed: number): tfl.LayersModel {
  const init = (salt: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + salt });
  const model = tfl.sequential({ name: 'depthwise' });
  model.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c1' }));
  model.add(tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu', depthwiseInitializer: init(2), name: 'dw' }));
  model.add(tfl.layers.separableConv2d({ filters: 16, kernelSize: 3, dilationRate: 2, padding: 'valid', activation: 'relu', depthwiseInitializer: init(3), pointwiseInitializer: init(4), name: 'sep' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  model.add(tfl.layers.flatten({ name: 'flat' }));
  model.add(tfl.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(5), name: 'features' }));
  model.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(6), name: 'logits' }));
  return model;
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-depthwise-'));
  clean = await loadDataset('mnist', { limit: 2000, seed: 3 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repair of a Keras model with depthwise and separable convolutions on wasm', () => {
  it('fine-tunes the depthwise and separable weights and closes the planted pocket', async () => {
    expect(tf.getBackend()).toBe('wasm');
    // The first test digit "1": 20 label-flip copies of it are added as 7s.
    const target = clean.test.labels.indexOf(1);
    const { dataset: ds, manifest } = await labelFlipAttack(clean, { targetIndex: target, attackerClass: ATTACKER, poisons: POISONS, maxShift: 0, seed: SEED });

    const built = depthwiseModel(SEED);
    await trainModel(built, ds.train, ds.shape, 10, { epochs: EPOCHS, batchSize: 32, learningRate: 0.003, seed: SEED });
    const file = path.join(dir, 'victim.h5');
    writeFileSync(file, await kerasBytes(built, 'h5', { classNames: ds.classNames }));
    built.dispose();
    const victim = await loadModel(file);
    expect(victim.model.layers.map((l) => l.getClassName())).toEqual(
      ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);
    expect(victim.model.getLayer('sep').getConfig().dilationRate, 'the Keras file keeps the dilation').toEqual([2, 2]);
    const hit = await predictSplit(victim.model, ds.test, ds.shape, { indices: [target] });
    expect(hit.predicted[0], 'the attack must succeed for this test to mean anything').toBe(ATTACKER);

    const scan = await scanModel(victim, ds, {});
    const confirmed = scan.pockets.filter((p) => p.confirmed);
    console.log(`scan: ${scan.verdict.summary}; confirmed ${JSON.stringify(confirmed.map((p) => [p.attackerClass, p.enclosingClass, p.members.length]))}`);
    expect(confirmed.some((p) => p.attackerClass === ATTACKER && p.enclosingClass === manifest.targetClass)).toBe(true);

    const weightsBefore = ['dw', 'sep'].map((name) => victim.model.getLayer(name).getWeights().map((w) => w.dataSync().slice()));
    const tensors = tf.memory().numTensors;
    const out = path.join(dir, 'repaired');
    const repair = await repairModel(victim, ds, scan, out, {
      target: { index: target, trueClass: manifest.targetClass, attackerClass: ATTACKER },
    });
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors + 2);
    console.log(`repair: accuracy ${repair.before.accuracy} -> ${repair.after.accuracy}, target ${repair.target?.before} -> ${repair.target?.after}, suspected after ${repair.after.suspected}, ${repair.seconds.toFixed(1)} s`);
    expect(repair.relabelled.length).toBeGreaterThan(0);
    expect(repair.target?.after).toBe(manifest.targetClass);
    expect(repair.after.accuracy).toBeGreaterThanOrEqual(repair.before.accuracy - 0.02);

    // The repaired model keeps the Keras copy and its depthwise and separable weights moved.
    expect(readdirSync(out)).toContain('model.h5');
    const repaired = await loadModel(path.join(out, 'model.h5'));
    ['dw', 'sep'].forEach((name, k) => {
      const after = repaired.model.getLayer(name).getWeights().map((w) => w.dataSync());
      expect(after.length).toBe(weightsBefore[k].length);
      after.forEach((w, j) => {
        let moved = 0;
        for (let i = 0; i < w.length; i++) moved = Math.max(moved, Math.abs(w[i] - weightsBefore[k][j][i]));
        expect(moved, `${name} weight ${j} changed by the fine-tuning`).toBeGreaterThan(1e-4);
        expect(w.every(Number.isFinite)).toBe(true);
      });
    });
    const fixed = await predictSplit(repaired.model, ds.test, ds.shape, { indices: [target] });
    expect(fixed.predicted[0]).toBe(manifest.targetClass);
    expect(existsSync(file)).toBe(true);
    repaired.model.dispose(); victim.model.dispose();
  }, 900_000);
});
