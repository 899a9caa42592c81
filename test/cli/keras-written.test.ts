// Issue 11: Keras files the product did not write. test/fixtures/keras/make.py writes Keras 2
// .h5 and Keras 3 .keras files in Keras's own layouts with h5py (libhdf5, the library Keras saves
// with) and NumPy: an MLP trained there on digits with a planted label-flip pocket, and a
// functional CNN (BatchNormalization, ReLU, a dilated tanh Conv2D, DepthwiseConv2D, Add, global
// pooling, custom layer names). The product must compute what NumPy computes from them, find the
// pocket, and write a repaired file that h5py and NumPy read back (check.py) with the target fixed.
// python3-h5py is a test dependency (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { splitModel } from '../../src-main/engine/features/split.js';
import { embedSplit } from '../../src-main/engine/features/embed.js';
import { clearwb, pythonWith } from './helpers.js';

const KERAS = path.resolve('test/fixtures/keras');
const DIGITS = path.resolve('test/fixtures/onnx/digits.npz');
const data = ['--data', `npz:${DIGITS}`];
const expected = JSON.parse(readFileSync(path.join(KERAS, 'expected.json'), 'utf8')) as {
  shown: number;
  mlp: { probabilities: number[][]; accuracy: number; target: number; targetPredicted: number; trueClass: number; attackerClass: number };
  cnn: { probabilities: number[][] };
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-keras-written-'));
let ds: Dataset;
let python = 'python3';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  python = pythonWith(['h5py', 'numpy'], 'python3-h5py');
  await initBackend('wasm');
  ds = await loadDataset(`npz:${DIGITS}`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Keras files written by h5py in Keras\'s layouts', () => {
  it.each(['mlp.h5', 'mlp.keras', 'cnn.h5', 'cnn.keras'])('%s computes what NumPy computes from it on the first test digits', async (file) => {
    const loaded = await loadModel(path.join(KERAS, file));
    const reference = expected[file.startsWith('mlp') ? 'mlp' : 'cnn'].probabilities;
    const indices = reference.map((_, i) => i);
    const out = await predictSplit(loaded.model, ds.test, ds.shape, { indices, withProbabilities: true });
    loaded.model.dispose();
    let worst = 0;
    reference.forEach((row, i) => row.forEach((p, c) => { worst = Math.max(worst, Math.abs(out.probabilities![i * 10 + c] - p)); }));
    expect(worst).toBeLessThan(1e-4);
    // The reference is not flat: its predictions spread over several classes (the first 64 test digits are 0s, 1s and 2s).
    expect(new Set(reference.map((row) => row.indexOf(Math.max(...row)))).size).toBeGreaterThan(file.startsWith('cnn') ? 4 : 2);
  });

  it.each(['h5', 'keras'])('the .%s MLP: scan finds the planted pocket, repair writes a Keras file that h5py reads with the target fixed', async (format) => {
    const model = path.join(KERAS, `mlp.${format}`);
    const before = sha256(model);
    const { target, trueClass, attackerClass } = expected.mlp;
    expect(expected.mlp.targetPredicted, 'the attack took in the NumPy-trained model').toBe(attackerClass);
    const scan = path.join(dir, `scan-${format}.json`);
    const s = clearwb(['scan', '--model', model, ...data, '--out', scan, '--quiet']);
    expect(s.code, s.stderr).toBe(3);
    const pockets = (JSON.parse(readFileSync(scan, 'utf8')) as { pockets: { confirmed: boolean; attackerClass: number; enclosingClass: number; members: number[] }[] }).pockets.filter((p) => p.confirmed);
    expect(pockets.map((p) => [p.attackerClass, p.enclosingClass])).toEqual([[attackerClass, trueClass]]);
    expect(pockets[0].members.length).toBeGreaterThanOrEqual(20);
    // A report of the scan finds the model file and the data again: pictures and confusion matrices are in.
    const html = path.join(dir, `report-${format}.html`);
    const rep = clearwb(['report', '--scan', scan, '--format', 'html', '--out', html]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout + rep.stderr).not.toContain('left out');

    const out = path.join(dir, `repaired-${format}`);
    const r = clearwb(['repair', '--model', model, ...data, '--scan', scan, '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toContain(`model.${format}`);
    expect(sha256(model), 'the original file is unchanged').toBe(before);

    // Read back by the product...
    const repaired = await loadModel(path.join(out, `model.${format}`));
    const hit = await predictSplit(repaired.model, ds.test, ds.shape, { indices: [target] });
    repaired.model.dispose();
    expect(hit.predicted[0]).toBe(trueClass);
    // ...and by h5py and NumPy, where Keras would look for the weights.
    const checked = spawnSync(python, [path.join(KERAS, 'check.py'), path.join(out, `model.${format}`), DIGITS, String(target)], { encoding: 'utf8' });
    expect(checked.status, checked.stderr).toBe(0);
    const result = JSON.parse(checked.stdout) as { accuracy: number; targetPredicted: number };
    expect(result.targetPredicted).toBe(trueClass);
    expect(result.accuracy).toBeGreaterThan(expected.mlp.accuracy - 0.02);
  }, 120_000);

  it('a model trained on pixels × 255 is told so with --input-scale: eval reads it right only then', () => {
    const model = path.join(KERAS, 'mlp-255.h5');
    const accuracy = (...extra: string[]) => {
      const r = clearwb(['eval', '--model', model, ...data, ...extra, '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { accuracy: number }).accuracy;
    };
    expect(accuracy()).toBeLessThan(0.3);
    expect(accuracy('--input-scale', '255')).toBeCloseTo(expected.mlp.accuracy, 3);
    const bad = clearwb(['eval', '--model', model, ...data, '--input-normalize', '0.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--input-normalize takes MEAN:STD');
  });

  it('attack --feature-model takes --input-scale: Feature Collision poisons crafted against a 0–255 model fed as it was trained collide with the target in its features', async () => {
    const model = path.join(KERAS, 'mlp-255.h5');
    const { target, attackerClass } = expected.mlp;
    const craft = (name: string, ...extra: string[]) => {
      const out = path.join(dir, name);
      const r = clearwb(['attack', ...data, '--attack', 'fc', '--target', String(target), '--attacker-class', String(attackerClass), '--poisons', '5', '--feature-model', model, ...extra, '--out', out, '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return { out, manifest: JSON.parse(r.stdout) as { poisonIndices: number[]; featureModel?: string } };
    };
    const told = craft('fc-told', '--input-scale', '255');
    const untold = craft('fc-untold');
    expect(told.manifest.featureModel).toBe(`${model} (fed pixels × 255)`);
    expect(untold.manifest.featureModel).toBe(model);
    // Distances in the features of the model as it was trained to be fed.
    const loaded = await loadModel(model, { scale: 255, mean: [0], std: [1] });
    const parts = splitModel(loaded.model, undefined, loaded.metadata);
    const at = async (split: Dataset['train'], indices: number[]) => (await embedSplit(parts, split, ds.shape, { indices })).features;
    const aim = await at(ds.test, [target]);
    const distance = (f: Float32Array, k: number) => Math.hypot(...aim.map((v, d) => v - f[k * aim.length + d]));
    const mean = (f: Float32Array, n: number) => Array.from({ length: n }, (_, k) => distance(f, k)).reduce((a, b) => a + b, 0) / n;
    const indices = told.manifest.poisonIndices;
    const bases = mean(await at(ds.train, indices), indices.length);
    const collided = mean(await at((await loadDataset(`dir:${told.out}`)).train, indices), indices.length);
    const missed = mean(await at((await loadDataset(`dir:${untold.out}`)).train, untold.manifest.poisonIndices), untold.manifest.poisonIndices.length);
    loaded.model.dispose();
    expect(collided).toBeLessThan(0.5 * bases);
    expect(collided).toBeLessThan(0.5 * missed);
    // Without a feature model there is nothing to scale: one sentence, nothing written.
    const lone = path.join(dir, 'fc-lone');
    const refused = clearwb(['attack', ...data, '--attack', 'fc', '--target', String(target), '--attacker-class', String(attackerClass), '--input-scale', '255', '--out', lone]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--input-scale and --input-normalize say how the --feature-model is fed');
    expect(existsSync(lone)).toBe(false);
  }, 180_000);

  it('a model behind a normalisation: scanned with --input-normalize, repaired as the scan fed it, and written back still expecting it', async () => {
    const model = path.join(KERAS, 'mlp-normalised.keras');
    const transform = ['--input-normalize', '0.1307:0.3081'];
    const scan = path.join(dir, 'scan-normalised.json');
    const s = clearwb(['scan', '--model', model, ...data, ...transform, '--out', scan]);
    expect(s.code, s.stderr).toBe(3);
    expect(s.stdout).toContain('The model was fed (x − 0.1307) / 0.3081 per channel');
    const recorded = JSON.parse(readFileSync(scan, 'utf8')) as { model: { input?: unknown }; pockets: { confirmed: boolean; attackerClass: number; enclosingClass: number }[] };
    expect(recorded.model.input).toEqual({ scale: 1, mean: [0.1307], std: [0.3081] });
    expect(recorded.pockets.filter((p) => p.confirmed).map((p) => [p.attackerClass, p.enclosingClass])).toEqual([[expected.mlp.attackerClass, expected.mlp.trueClass]]);

    // The report feeds it as the scan did (its accuracy is the model's), and says how.
    const html = path.join(dir, 'report-normalised.html');
    const rep = clearwb(['report', '--scan', scan, '--format', 'html', '--out', html]);
    expect(rep.code, rep.stderr).toBe(0);
    const text = readFileSync(html, 'utf8').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('Model input (x − 0.1307) / 0.3081 per channel (as its pipeline feeds it)');
    expect(text).toContain(`The scanned model on the test split: ${(expected.mlp.accuracy * 100).toFixed(1)}% of 300 correct`);
    expect(text).toContain('--input-normalize 0.1307:0.3081');

    // Another transform than the scan's is refused before anything is read or written.
    const other = path.join(dir, 'repaired-other');
    const refused = clearwb(['repair', '--model', model, ...data, '--input-scale', '255', '--scan', scan, '--out', other, '--quiet']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`The scan ${scan} fed the model (x − 0.1307) / 0.3081 per channel, not pixels × 255 as given here`);
    expect(existsSync(other)).toBe(false);

    const out = path.join(dir, 'repaired-normalised');
    const r = clearwb(['repair', '--model', model, ...data, '--scan', scan, '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(out, 'model.keras');
    const t = { scale: 1, mean: [0.1307], std: [0.3081] };
    for (const [input, right] of [[t, true], [undefined, false]] as const) {
      const repaired = await loadModel(file, input);
      const all = await predictSplit(repaired.model, ds.test, ds.shape, {});
      repaired.model.dispose();
      const acc = all.predicted.filter((p, i) => p === ds.test.labels[i]).length / ds.test.count;
      if (right) {
        expect(all.predicted[expected.mlp.target]).toBe(expected.mlp.trueClass);
        expect(acc).toBeGreaterThan(expected.mlp.accuracy - 0.02);
      } else {
        expect(acc, 'the written model still expects normalised pixels').toBeLessThan(0.3);
      }
    }
  }, 120_000);
});
