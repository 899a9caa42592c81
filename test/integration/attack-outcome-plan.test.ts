// What the wizard shows right after training on poisoned data, and the repair plan it sends,
// on a real small model (600 MNIST digits with 20 label-flip poisons, an mlp):
//  - `train` on a poisoned `dir:` dataset reports the attack's outcome: the target's prediction
//    by the new model (as `predict` gives it), by a clean victim trained in the same job or by
//    a given model (as `predict` gives it for that model), and how many poisons the model fitted;
//  - `repair` with a plan relabels only the members the plan keeps, removes a group planned
//    `remove`, and records the plan in its result and in repair-report.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { predictJob, repairJob, trainJob } from '../../src-main/engine/jobs/clear.js';
import { attackJob } from '../../src-main/engine/jobs/bench.js';
import { sampleImagesJob } from '../../src-main/engine/jobs/ui.js';
import { exportReportJob } from '../../src-main/engine/jobs/report.js';
import { UserError } from '../../src-main/engine/errors.js';
import type { AttackResult, TrainResult } from '../../src-main/contract/results.js';
import { handMadeScan } from '../e2e/fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-outcome-plan-'));
const clean = { data: 'mnist', limit: 600 };
const TARGET = 0;
const ATTACKER = 7;
const settings = { arch: 'mlp' as const, epochs: 2, batchSize: 32, learningRate: 0.002, seed: 0 };
let attack: AttackResult;
let trained: TrainResult;
let cleanModel: string;

beforeAll(async () => {
  await initBackend('wasm');
  attack = await attackJob({ ...clean, attack: 'label-flip', target: TARGET, attackerClass: ATTACKER, poisons: 20, seed: 0, out: path.join(dir, 'poisoned') });
  cleanModel = path.join(dir, 'clean-model');
  await trainJob({ ...clean, ...settings, out: cleanModel });
  trained = await trainJob({ data: attack.data, ...settings, cleanVictim: true, out: path.join(dir, 'victim') });
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the attack outcome after training', () => {
  it('gives the target\'s prediction by the new model and by a clean victim, and the poisons fitted', async () => {
    const o = trained.attackOutcome!;
    expect(o).toBeDefined();
    const m = attack.manifest;
    expect(o).toMatchObject({ attack: 'label-flip', targetIndex: TARGET, targetClass: m.targetClass, attackerClass: ATTACKER, poisons: 20 });
    const after = await predictJob({ data: attack.data, model: trained.model, split: 'test', index: TARGET });
    expect(o.after).toBe(after.predicted);
    expect(o.succeeded).toBe(after.predicted === ATTACKER);
    // Fitted poisons: the saved model's own predictions of the poison samples.
    let fitted = 0;
    for (const i of m.poisonIndices) fitted += (await predictJob({ data: attack.data, model: trained.model, split: 'train', index: i })).predicted === ATTACKER ? 1 : 0;
    expect(o.fitted).toBe(fitted);
    // The clean victim: same settings on the source data; trained again here, it predicts the same.
    expect(o.before).toMatchObject({ by: 'clean-victim', model: null });
    const victim = await predictJob({ ...clean, model: cleanModel, split: 'test', index: TARGET });
    expect(o.before!.predicted).toBe(victim.predicted);
    expect(o.before!.accuracy).toBeGreaterThan(0.5);
  }, 300_000);

  it('compares with a given model instead, and is absent on data without an attack', async () => {
    const given = await trainJob({ data: attack.data, ...settings, compareWith: cleanModel, out: path.join(dir, 'victim-2') });
    const expected = await predictJob({ ...clean, model: cleanModel, split: 'test', index: TARGET });
    expect(given.attackOutcome!.before).toEqual({ predicted: expected.predicted, by: 'given-model', model: cleanModel, accuracy: null });
    const plain = await trainJob({ ...clean, ...settings, epochs: 1, out: path.join(dir, 'plain') });
    expect(plain.attackOutcome).toBeUndefined();
  }, 300_000);

  it('refuses a clean victim for training that starts from a saved model', async () => {
    const err = await trainJob({ data: attack.data, ...settings, from: cleanModel, cleanVictim: true, out: path.join(dir, 'nope') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
  });
});

describe('the members a repair review lists', () => {
  it('come with their label, thumbnail and source, and an index outside the split is refused', async () => {
    const poisons = attack.manifest.poisonIndices.slice(0, 3);
    const images = await sampleImagesJob({ data: attack.data, split: 'train', indices: [poisons[0], 5, ...poisons.slice(1)] });
    expect(images.fingerprint).toBe(trained.dataset.fingerprint);
    expect(images.samples.map((s) => s.index)).toEqual([poisons[0], 5, ...poisons.slice(1)]);
    expect(images.samples.filter((s) => poisons.includes(s.index)).map((s) => [s.label, s.source])).toEqual(poisons.map((_, j) => [ATTACKER, `label-flip poisons[${j}]`]));
    expect(images.samples[1].source).toMatch(/^mnist\[\d\]\[\d+\]$/);
    expect(images.samples.every((s) => s.png?.startsWith('data:image/png;base64,'))).toBe(true);
    const err = await sampleImagesJob({ data: attack.data, split: 'train', indices: [attack.trainCount] }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/outside the train split/);
  });
});

describe('a repair plan', () => {
  /** A scan of the victim whose one backdoor pocket is the attack's poisons (indices and fingerprints real). */
  function scanFile(name: string): { file: string; members: number[] } {
    const members = [...attack.manifest.poisonIndices].sort((a, b) => a - b);
    const scan = handMadeScan({
      dataset: { spec: attack.data, fingerprint: trained.dataset.fingerprint, trainCount: attack.trainCount },
      model: { dir: trained.model, fingerprint: trained.fingerprint }, members, attackerClass: ATTACKER, enclosingClass: attack.manifest.targetClass,
    });
    // Only the planted group: the fixture's natural groups have made-up members.
    scan.pockets = [{ ...scan.pockets[0], shell: [] }];
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(scan));
    return { file, members };
  }

  it('leaves an excluded member with its label, relabels the rest, and records the plan in the result, the report and the HTML', async () => {
    const { file, members } = scanFile('scan-relabel');
    const excluded = members[3];
    const out = path.join(dir, 'repaired-relabel');
    const result = await repairJob({ data: attack.data, model: trained.model, scan: file, out, seed: 0, epochs: 1, plan: { pockets: [{ id: 0, action: 'relabel', exclude: [excluded] }] } });
    expect(result.relabelled.map((r) => r.index).sort((a, b) => a - b)).toEqual(members.filter((m) => m !== excluded));
    expect(result.relabelled.every((r) => r.from === ATTACKER && r.to === attack.manifest.targetClass)).toBe(true);
    expect(result.removed).toEqual([]);
    expect(result.plan).toEqual({ pockets: [{ id: 0, action: 'relabel', exclude: [excluded] }] });
    const report = JSON.parse(readFileSync(path.join(out, 'repair-report.json'), 'utf8'));
    expect(report.plan).toEqual(result.plan);
    const html = readFileSync((await exportReportJob({ scan: file, repair: result as unknown as Record<string, unknown>, out: path.join(dir, 'report') })).html, 'utf8');
    expect(html).toContain('Repair plan');
    expect(html).toMatch(new RegExp(`<td>${excluded}</td>`));
  }, 600_000);

  it('removes the members of a group planned remove instead of relabelling them', async () => {
    const { file, members } = scanFile('scan-remove');
    const result = await repairJob({ data: attack.data, model: trained.model, scan: file, out: path.join(dir, 'repaired-remove'), seed: 0, epochs: 1, plan: { pockets: [{ id: 0, action: 'remove', exclude: [] }] } });
    expect(result.relabelled).toEqual([]);
    expect(result.removed).toEqual(members);
  }, 600_000);

  it('is refused before anything is read when it leaves out a sample that is not a member', async () => {
    const { file } = scanFile('scan-bad-plan');
    const out = path.join(dir, 'repaired-bad');
    const err = await repairJob({ data: attack.data, model: trained.model, scan: file, out, seed: 0, plan: { pockets: [{ id: 0, action: 'relabel', exclude: [1] }] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/leaves out training sample 1 from group 0, but it is not a member of that group/);
  }, 60_000);
});
