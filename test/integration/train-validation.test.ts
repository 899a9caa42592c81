// The train job's validation curve and smoothed live curve (issue 13): after every epoch the
// engine measures held-out loss and accuracy, which must be exactly what the model gives on
// those samples (checked here with predictSplit's probabilities), and its live loss is a moving
// average that runs on across epochs instead of a per-epoch mean that restarts at each one.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { predictSplit, SMOOTHING, trainModel, validationIndices } from '../../src-main/engine/model/train.js';
import type { ProgressEvent } from '../../src-main/engine/progress.js';

beforeAll(async () => { await initBackend('wasm'); });

describe('training with a validation split (wasm, 1,000 MNIST digits)', () => {
  it('reports per-epoch validation loss and accuracy equal to the model\'s own on those samples', async () => {
    const ds = await loadDataset('mnist', { limit: 1000 });
    const indices = validationIndices(ds.test.count);
    expect(indices.length).toBe(Math.min(2000, ds.test.count));
    const model = buildArchitecture('mlp', { inputShape: ds.shape, numClasses: 10, seed: 3 });
    const events: ProgressEvent[] = [];
    const result = await trainModel(model, ds.train, ds.shape, 10, { epochs: 2, seed: 3, batchSize: 50 }, {
      validation: { split: ds.test, indices }, onProgress: (e) => events.push(e),
    });
    for (const e of result.epochs) {
      expect(e.valLoss).toBeGreaterThan(0);
      expect(e.valAccuracy).toBeGreaterThan(0.5);
    }
    // The last epoch's validation equals the trained model's own loss and accuracy on the same samples.
    const { predicted, probabilities } = await predictSplit(model, ds.test, ds.shape, { indices, withProbabilities: true });
    let nll = 0; let correct = 0;
    for (let k = 0; k < indices.length; k++) {
      const label = ds.test.labels[indices[k]];
      nll -= Math.log(Math.max(1e-7, probabilities![k * 10 + label]));
      if (predicted[k] === label) correct++;
    }
    const last = result.epochs.at(-1)!;
    expect(last.valAccuracy).toBeCloseTo(correct / indices.length, 6);
    expect(last.valLoss).toBeCloseTo(nll / indices.length, 4);
    // One validation event per epoch, at its end, carrying what the epoch record says.
    const validation = events.filter((e) => e.metrics?.valLoss !== undefined);
    expect(validation.map((e) => e.metrics!.epoch)).toEqual([1, 2]);
    expect(validation[1].metrics!.valAccuracy).toBe(last.valAccuracy);
    // The live curve: every batch report carries the smoothed loss, bias-corrected, a moving
    // average that does not restart with the epoch (the running mean does).
    const batches = events.filter((e) => e.metrics?.smoothLoss !== undefined);
    expect(batches.length).toBeGreaterThan(0);
    for (const e of batches) expect(Number.isFinite(e.metrics!.smoothLoss) && Number.isFinite(e.metrics!.smoothAccuracy)).toBe(true);
    expect(SMOOTHING).toBeGreaterThan(0);
    model.dispose();
  }, 300_000);
});
