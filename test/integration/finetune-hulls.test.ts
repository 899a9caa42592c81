// The repair's last step closes a pocket's whole hull in the head: after the relabel-and-
// fine-tune, the head is trained on random mixtures of the group's features labelled the
// group's enclosing class (clear/finetune.ts). On real MNIST (1,200 training digits, seeded)
// with the built-in mlp and a label-flip pocket (20 copies of a test digit labelled 7), the
// same fine-tune from the same weights with nothing relabelled, with and without the pocket's
// hull, shows that step alone doing the work: the hull's interior and the target go back to the
// target's class, and held-out accuracy stays.
// The benchmark's CLEAR mitigation carries the same hulls, so it measures this repair.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { evaluateSplit, predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { cloneModel } from '../../src-main/engine/attacks/index.js';
import { fineTune, type HullGroup } from '../../src-main/engine/clear/finetune.js';
import { splitModel } from '../../src-main/engine/features/split.js';
import { embedSplit } from '../../src-main/engine/features/embed.js';
import { createRng } from '../../src-main/engine/random.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { clearDetector, fromScan } from '../../src-main/engine/detectors/clear-detector.js';
import type * as tfl from '@tensorflow/tfjs-layers';

const SEED = 4;
const ATTACKER = 7;
let ds: Dataset;
let trained: tfl.LayersModel;
let target: number;
let group: HullGroup;

beforeAll(async () => {
  await initBackend('wasm');
  const clean = await loadDataset('mnist', { limit: 1200, seed: SEED });
  target = clean.test.labels.indexOf(1);
  const attacked = await labelFlipAttack(clean, { targetIndex: target, attackerClass: ATTACKER, poisons: 20, maxShift: 0, seed: SEED });
  ds = attacked.dataset;
  group = { members: attacked.manifest.poisonIndices, label: attacked.manifest.targetClass };
  trained = buildArchitecture('mlp', { inputShape: ds.shape, numClasses: 10, seed: SEED });
  await trainModel(trained, ds.train, ds.shape, 10, { epochs: 4, batchSize: 32, learningRate: 0.002, seed: SEED });
}, 300_000);

/** Share of 200 random mixtures of the group's features (Dirichlet(1) weights) the head predicts as `label`. */
async function interiorShare(model: tfl.LayersModel, group: HullGroup): Promise<number> {
  const parts = splitModel(model);
  const emb = await embedSplit(parts, ds.train, ds.shape, { indices: [...group.members] });
  const rng = createRng(99);
  const rows = 200; const dim = emb.dim;
  const xs = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const w = group.members.map(() => -Math.log(1 - rng.next()));
    const sum = w.reduce((a, b) => a + b, 0);
    group.members.forEach((_, k) => { for (let d = 0; d < dim; d++) xs[r * dim + d] += (w[k] / sum) * emb.features[k * dim + d]; });
  }
  const predicted = tf.tidy(() => tf.argMax(parts.head.predict(tf.tensor2d(xs, [rows, dim])) as tf.Tensor, -1).dataSync());
  let hits = 0;
  for (const p of predicted) if (p === group.label) hits++;
  return hits / rows;
}

describe('closing hulls in the head after the fine-tune', () => {
  it('turns the interior of a pocket and its target to the hull label, which the fine-tune alone does not, and keeps held-out accuracy', async () => {
    const hit = await predictSplit(trained, ds.test, ds.shape, { indices: [target] });
    expect(hit.predicted[0], 'the attack must succeed for this test to mean anything').toBe(ATTACKER);
    const before = await evaluateSplit(trained, ds.test, ds.shape, ds.classNames, { exclude: [target] });

    const plain = await cloneModel(trained);
    await fineTune(plain, ds, {}, { seed: SEED });
    const closed = await cloneModel(trained);
    const tensors = tf.memory().numTensors;
    await fineTune(closed, ds, { hulls: { featureLayer: splitModel(closed).featureLayer, groups: [group] } }, { seed: SEED });
    expect(tf.memory().numTensors, 'the hull closing frees its tensors').toBeLessThanOrEqual(tensors + 2);

    const plainShare = await interiorShare(plain, group);
    const closedShare = await interiorShare(closed, group);
    const after = await evaluateSplit(closed, ds.test, ds.shape, ds.classNames, { exclude: [target] });
    const targetAfter = (m: tfl.LayersModel) => predictSplit(m, ds.test, ds.shape, { indices: [target] }).then((p) => p.predicted[0]);
    console.log(`interior predicted ${group.label}: fine-tune alone ${plainShare}, with the hull closed ${closedShare}; accuracy ${before.accuracy} -> ${after.accuracy}`);
    expect(plainShare).toBeLessThan(0.5);
    expect(await targetAfter(plain)).toBe(ATTACKER);
    expect(closedShare).toBeGreaterThanOrEqual(0.95);
    expect(await targetAfter(closed)).toBe(group.label);
    expect(after.accuracy).toBeGreaterThanOrEqual(before.accuracy - 0.01);
    plain.dispose(); closed.dispose();
  }, 300_000);

  it('gives the benchmark the hulls of the reported groups with their enclosing class', () => {
    const pocket = (id: number, members: number[], enclosingClass: number, confirmed: boolean, attempt: boolean) =>
      ({ id, members, enclosingClass, confirmed, attempt, pValue: 0.5 });
    const scan = {
      settings: { featureLayer: 'features' },
      verdict: { suspected: true, attempt: true, pValue: 0.001, attemptPValue: 0.002, headline: 'h', summary: 's', falseAlarm: 0.01 },
      pockets: [pocket(1, [3, 4], 5, true, false), pocket(2, [7], 2, false, false), pocket(3, [9, 10, 11], 1, false, true)],
    };
    const result = fromScan(scan as never, 20, 0);
    const m = clearDetector.mitigation(result);
    expect(m.kind).toBe('relabel');
    if (m.kind !== 'relabel') return;
    expect(m.labels).toEqual([{ index: 3, label: 5 }, { index: 4, label: 5 }, { index: 9, label: 1 }, { index: 10, label: 1 }, { index: 11, label: 1 }]);
    expect(m.hulls).toEqual({ featureLayer: 'features', groups: [{ members: [3, 4], label: 5 }, { members: [9, 10, 11], label: 1 }] });
  });
});
