// Issue: engine foundation. Trains the built-in cnn on 2,000 real MNIST digits on the wasm
// backend, saves, reloads, and checks identical predictions and no tensor leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { loadModel, saveModel, fingerprintModelDir, assertModelFitsData } from '../../src-main/engine/model/io.js';
import { evaluateSplit, predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { UserError } from '../../src-main/engine/errors.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cnn on 2,000 MNIST digits (wasm)', () => {
  it('reaches ≥ 90% test accuracy, round-trips through the Layers format, and leaks no tensors', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const ds = await loadDataset('mnist', { limit: 2000 });
    expect(ds.train.count).toBe(2000);
    const tensorsBefore = tf.memory().numTensors;
    const model = buildArchitecture('cnn', { inputShape: ds.shape, numClasses: 10, seed: 1 });
    const progress: number[] = [];
    const result = await trainModel(model, ds.train, ds.shape, 10, { epochs: 4, seed: 1 }, { onProgress: (e) => progress.push(e.fraction) });
    expect(result.epochs).toHaveLength(4);
    expect(result.epochs[3].loss).toBeLessThan(result.epochs[0].loss);
    expect(progress.at(-1)).toBe(1);
    const evaluation = await evaluateSplit(model, ds.test, ds.shape, ds.classNames);
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.9);

    const out = path.join(dir, 'model');
    const fingerprint = await saveModel(model, out, { classNames: ds.classNames });
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintModelDir(out)).toBe(fingerprint);
    const loaded = await loadModel(out);
    expect(loaded.fingerprint).toBe(fingerprint);
    expect(loaded.inputShape).toEqual([28, 28, 1]);
    expect(loaded.numClasses).toBe(10);
    assertModelFitsData(loaded, ds);
    const a = await predictSplit(model, ds.test, ds.shape, { withProbabilities: true });
    const b = await predictSplit(loaded.model, ds.test, ds.shape, { withProbabilities: true });
    expect(Buffer.from(b.predicted.buffer).equals(Buffer.from(a.predicted.buffer))).toBe(true);
    let maxDiff = 0;
    for (let i = 0; i < a.probabilities!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.probabilities![i] - b.probabilities![i]));
    expect(maxDiff).toBeLessThan(1e-6);
    model.dispose(); loaded.model.dispose();
    // Optimiser state belongs to the (disposed) model; nothing else may remain.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensorsBefore);
  }, 600_000);

  it('refuses a model whose class count or input shape does not fit the dataset, naming both', async () => {
    const ds = await loadDataset('mnist', { limit: 100 });
    expect(() => assertModelFitsData({ inputShape: [28, 28, 1], numClasses: 7, dir: 'some/model' }, ds))
      .toThrow(/some\/model predicts 7 classes, but the dataset mnist has 10/);
    expect(() => assertModelFitsData({ inputShape: [32, 32, 3], numClasses: 10, dir: 'm' }, ds)).toThrow(UserError);
  });

  it('gives a one-sentence error for a missing or corrupt model folder and never overwrites one', async () => {
    await expect(loadModel(path.join(dir, 'nope'))).rejects.toThrow(/The model folder .*nope does not exist\./);
    const corrupt = path.join(dir, 'corrupt');
    (await import('node:fs')).mkdirSync(corrupt);
    (await import('node:fs')).writeFileSync(path.join(corrupt, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(corrupt)).rejects.toThrow(/model\.json is not valid JSON\./);
    const model = buildArchitecture('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    await expect(saveModel(model, corrupt)).rejects.toThrow(/already holds files/);
    expect((await import('node:fs')).readFileSync(path.join(corrupt, 'model.json'), 'utf8')).toBe('{"modelTopology": ');
    model.dispose();
  });
});
