// Issue 11 (Keras in and out): models trained here on a few hundred seeded MNIST digits are
// exported as Keras .h5 and .keras files, read back, and must predict the test split exactly
// as before; a model read from a Keras file and written again keeps the file's layout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { loadModel, modelFiles, saveModel } from '../../src-main/engine/model/io.js';
import { kerasBytes, type KerasFormat } from '../../src-main/engine/model/keras.js';
import { predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { readHdf5 } from '../../src-main/engine/model/hdf5.js';
import { unzipSync } from 'fflate';

let dir: string;
let ds: Dataset;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-keras-'));
  ds = await loadDataset('mnist', { limit: 300, seed: 7 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A functional model with two branches joined by Add and Concatenate, and batch normalisation. */
function functionalModel(seed: number): tfl.LayersModel {
  const init = (salt: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + salt });
  const input = tfl.input({ shape: [28, 28, 1], name: 'pixels' });
  const scaled = tfl.layers.rescaling({ scale: 2, offset: -1, name: 'scale' }).apply(input) as tfl.SymbolicTensor;
  const c1 = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(1), name: 'c1' }).apply(scaled) as tfl.SymbolicTensor;
  const b1 = tfl.layers.batchNormalization({ name: 'bn1' }).apply(c1) as tfl.SymbolicTensor;
  const r1 = tfl.layers.activation({ activation: 'relu', name: 'r1' }).apply(b1) as tfl.SymbolicTensor;
  const c2 = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2), name: 'dw' }).apply(r1) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([r1, c2]) as tfl.SymbolicTensor;
  const sep = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthwiseInitializer: init(3), pointwiseInitializer: init(4), name: 'sep' }).apply(sum) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'cat' }).apply([sum, sep]) as tfl.SymbolicTensor;
  const pool = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(cat) as tfl.SymbolicTensor;
  const avg = tfl.layers.averagePooling2d({ poolSize: 2, name: 'avg' }).apply(pool) as tfl.SymbolicTensor;
  const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(avg) as tfl.SymbolicTensor;
  const drop = tfl.layers.dropout({ rate: 0.1, name: 'drop' }).apply(gap) as tfl.SymbolicTensor;
  const feat = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(5), name: 'features' }).apply(drop) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(6), name: 'logits' }).apply(feat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'branches' });
}

async function predictions(model: tfl.LayersModel) {
  return predictSplit(model, ds.test, ds.shape, { withProbabilities: true });
}

function agreement(a: Awaited<ReturnType<typeof predictions>>, b: Awaited<ReturnType<typeof predictions>>) {
  let same = 0;
  for (let i = 0; i < a.predicted.length; i++) if (a.predicted[i] === b.predicted[i]) same++;
  let maxDiff = 0;
  for (let i = 0; i < a.probabilities!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.probabilities![i] - b.probabilities![i]));
  return { agree: same / a.predicted.length, maxDiff };
}

describe('Keras export and import round trip (wasm, 300 MNIST digits)', () => {
  for (const [name, build] of [['the built-in cnn (Sequential)', () => buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 })],
    ['a functional model with Add, Concatenate and BatchNormalization', () => functionalModel(3)]] as const) {
    it(`${name}: .h5 and .keras read back predict the test split identically`, async () => {
      const model = build();
      // Trained on wasm, depthwise and separable layers included (wasm-kernels.ts).
      await trainModel(model, ds.train, ds.shape, 10, { epochs: 1, seed: 3 });
      if (!(model instanceof tfl.Sequential)) {
        // One short epoch barely moves the batch-normalisation statistics: seeded ones that
        // are far from the identity must survive the round trip too.
        const bn = model.getLayer('bn1');
        bn.setWeights(bn.getWeights().map((w, k) => tf.randomUniform(w.shape, k === 3 ? 0.5 : -0.5, k === 3 ? 2 : 0.5, 'float32', 11 + k)));
      }
      const before = await predictions(model);
      for (const format of ['h5', 'keras'] as KerasFormat[]) {
        const started = performance.now();
        const bytes = await kerasBytes(model, format, { classNames: ds.classNames });
        const file = path.join(dir, `${model.name}.${format}`);
        writeFileSync(file, bytes);
        const loaded = await loadModel(file);
        const seconds = (performance.now() - started) / 1000;
        expect(loaded.inputShape).toEqual([28, 28, 1]);
        expect(loaded.numClasses).toBe(10);
        expect(loaded.metadata.classNames).toEqual(ds.classNames);
        expect(loaded.model.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
        const after = await predictions(loaded.model);
        const { agree, maxDiff } = agreement(before, after);
        console.log(`${model.name} .${format}: ${bytes.length} bytes, written and read in ${seconds.toFixed(2)} s; agreement ${agree} on ${before.predicted.length} test digits, largest probability difference ${maxDiff}`);
        expect(agree).toBe(1);
        expect(maxDiff).toBeLessThan(1e-6);

        // Written again from the model read back: the file's own layout and config are kept.
        const again = await kerasBytes(loaded.model, format, {});
        const second = path.join(dir, `${model.name}-again.${format}`);
        writeFileSync(second, again);
        const reread = await loadModel(second);
        expect(agreement(before, await predictions(reread.model)).agree).toBe(1);
        if (format === 'keras') {
          const a = unzipSync(bytes); const b = unzipSync(again);
          expect(Buffer.from(b['config.json']).toString()).toBe(Buffer.from(a['config.json']).toString());
        } else {
          const config = (u: Uint8Array) => readHdf5(u, 'f', (f) => f.attrs.model_config.value);
          expect(await config(again)).toBe(await config(bytes));
        }
        loaded.model.dispose(); reread.model.dispose();
      }
      model.dispose();
    }, 600_000);
  }

  it('a model read from a Keras file is saved with the Layers files and a copy in its own format', async () => {
    const model = buildArchitecture('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    await trainModel(model, ds.train, ds.shape, 10, { epochs: 1, seed: 5 });
    const before = await predictions(model);
    for (const format of ['h5', 'keras'] as KerasFormat[]) {
      const file = path.join(dir, `mlp-source.${format}`);
      writeFileSync(file, await kerasBytes(model, format));
      const loaded = await loadModel(file);
      const files = await modelFiles(loaded.model, {});
      expect(Object.keys(files).sort()).toEqual([format === 'h5' ? 'model.h5' : 'model.keras', 'model.json', 'weights.bin'].sort());
      const out = path.join(dir, `saved-${format}`);
      await saveModel(loaded.model, out, {});
      expect(readdirSync(out).sort()).toEqual(Object.keys(files).sort());
      for (const p of [out, path.join(out, format === 'h5' ? 'model.h5' : 'model.keras')]) {
        const back = await loadModel(p);
        expect(agreement(before, await predictions(back.model)).agree).toBe(1);
        back.model.dispose();
      }
      loaded.model.dispose();
    }
    // A model trained here is saved as a Layers folder only.
    const plain = path.join(dir, 'plain');
    await saveModel(model, plain, {});
    expect(existsSync(path.join(plain, 'model.h5'))).toBe(false);
    model.dispose();
    expect(tf.getBackend()).toBe('wasm');
  }, 600_000);
});
