// Issue: CLEAR. Real MNIST, seeded, real training: a cnn poisoned with label-flip copies of
// one test digit → the scan finds the pocket with the right classes and ≥ 90% of the poisons;
// repair fixes the target and keeps held-out accuracy within 1 point; a clean model trained
// the same way is not suspected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { loadModel, saveModel, fingerprintModelDir } from '../../src-main/engine/model/io.js';
import { predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { repairModel } from '../../src-main/engine/clear/repair.js';

// Target: test digit 0 (a "1"), pushed into class 7 with 20 copies; checked to succeed below.
const TARGET = 0; const ATTACKER = 7; const POISONS = 20; const SEED = 0; const EPOCHS = 3;
let dir: string;
let clean: Dataset;

async function trainAndSave(ds: Dataset, out: string) {
  const model = buildArchitecture('cnn', { inputShape: ds.shape, numClasses: 10, seed: SEED });
  await trainModel(model, ds.train, ds.shape, 10, { epochs: EPOCHS, seed: SEED });
  await saveModel(model, out, { classNames: ds.classNames, trainedOn: ds.fingerprint });
  model.dispose();
  return loadModel(out);
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-e2e-'));
  clean = await loadDataset('mnist');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLEAR on a label-flip backdoor', () => {
  it('finds the pocket, and repair closes it while keeping accuracy', async () => {
    const { dataset: ds, manifest } = await labelFlipAttack(clean, { targetIndex: TARGET, attackerClass: ATTACKER, poisons: POISONS, seed: SEED });
    const victim = await trainAndSave(ds, path.join(dir, 'victim'));
    const before = await predictSplit(victim.model, ds.test, ds.shape, { indices: [TARGET] });
    expect(before.predicted[0], 'the attack must succeed for this test to mean anything').toBe(ATTACKER);

    const scan = await scanModel(victim, ds, {});
    expect(scan.verdict.suspected).toBe(true);
    const confirmed = scan.pockets.filter((p) => p.confirmed);
    const pocket = confirmed.find((p) => p.attackerClass === ATTACKER && p.enclosingClass === manifest.targetClass);
    expect(pocket, JSON.stringify(confirmed.map((p) => [p.attackerClass, p.enclosingClass, p.members.length]))).toBeDefined();
    const poisons = new Set(manifest.poisonIndices);
    const found = confirmed.flatMap((p) => p.members);
    const hits = found.filter((i) => poisons.has(i)).length;
    expect(hits / POISONS).toBeGreaterThanOrEqual(0.9);
    expect(scan.statistics.classes[ATTACKER].pockets).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(JSON.stringify(scan)).pockets.length).toBe(scan.pockets.length);

    const originalFingerprint = fingerprintModelDir(victim.dir);
    const tensors = tf.memory().numTensors;
    const repair = await repairModel(victim, ds, scan, path.join(dir, 'repaired'), {
      target: { index: TARGET, trueClass: manifest.targetClass, attackerClass: ATTACKER },
    });
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors + 2);
    expect(repair.target?.before).toBe(ATTACKER);
    expect(repair.target?.after).toBe(manifest.targetClass);
    // Held-out accuracy must not drop by more than a point (fine-tuning may also raise it).
    expect(repair.after.accuracy).toBeGreaterThanOrEqual(repair.before.accuracy - 0.01);
    expect(repair.after.suspected).toBe(false);
    expect(repair.pockets[0].interiorAfter).toBeLessThan(0.5);
    // The original model is untouched; the repaired one loads and predicts the target right.
    expect(fingerprintModelDir(victim.dir)).toBe(originalFingerprint);
    const repaired = await loadModel(path.join(dir, 'repaired'));
    const after = await predictSplit(repaired.model, ds.test, ds.shape, { indices: [TARGET] });
    expect(after.predicted[0]).toBe(manifest.targetClass);
    repaired.model.dispose(); victim.model.dispose();
  }, 900_000);

  it('does not suspect a clean model trained the same way', async () => {
    const model = await trainAndSave(clean, path.join(dir, 'clean'));
    const scan = await scanModel(model, clean, {});
    expect(scan.verdict.suspected, scan.verdict.summary).toBe(false);
    expect(scan.pockets.length).toBeGreaterThan(0); // natural pockets exist; none is reported
    expect(existsSync(path.join(dir, 'clean', 'model.json'))).toBe(true);
    model.model.dispose();
  }, 900_000);
});
