// A scan is unsigned, so repair measures again what it acts on (engine/clear/recheck.ts) and
// refuses a repair that costs more than MAX_ACCURACY_DROP of held-out accuracy, on a real small
// model (600 MNIST digits, an mlp trained two epochs, seed 3) and a real scan of it:
//  - every group of the real scan reproduces on the same model and data within the tolerance;
//  - a forged pocket (genuine "3"s listed as a pocket inside class 5, its p-value and figures
//    written to pass the scan's own checks) is refused before any training, in one sentence
//    naming the file and the pocket, and nothing is written;
//  - a forgery whose figures are the ones this model really gives (so the re-check passes) but
//    relabels whole classes is stopped by the accuracy guard, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { getDataset, repairJob, scanJob, trainJob } from '../../src-main/engine/jobs/clear.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { disposeSplitModel } from '../../src-main/engine/features/split.js';
import { UserError } from '../../src-main/engine/errors.js';
import { assertPocketsReproduce, recomputePockets, RECHECK_TOLERANCE } from '../../src-main/engine/clear/recheck.js';
import { MAX_ACCURACY_DROP } from '../../src-main/engine/clear/repair.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import type { Pocket, ScanResult } from '../../src-main/contract/results.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-repair-recheck-'));
const data = { data: 'mnist', limit: 600 };
const model = path.join(dir, 'model');
const scanFile = path.join(dir, 'scan.json');
let scan: ScanResult;
let ds: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  await trainJob({ ...data, arch: 'mlp', epochs: 2, batchSize: 32, learningRate: 0.003, seed: 3, out: model });
  scan = await scanJob({ ...data, model, falseAlarm: 0.05, out: scanFile });
  ds = await getDataset(data);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const classMembers = (c: number) => Array.from(ds.train.labels.keys()).filter((i) => ds.train.labels[i] === c);

/** A pocket that lists every training sample of class `a` as planted inside class `b`, reported as a confirmed backdoor. */
function forgedPocket(id: number, a: number, b: number, figures: Partial<Pocket> = {}): Pocket {
  const template = scan.pockets[0];
  const members = classMembers(a);
  return {
    ...template, id, members, attackerClass: a, enclosingClass: b, shell: classMembers(b).slice(0, 20), contaminants: [],
    confirmed: true, attempt: false, pValue: 0.001, attemptPValue: 1, learnt: 1, fittedRate: 1, interiorAttackerRate: 1,
    tightness: { ...template.tightness, shellPurity: 0.9 }, origin: 'pocket', ...figures,
  } as Pocket;
}

let count = 0;
function writeScan(pockets: Pocket[]): string {
  const copy = JSON.parse(readFileSync(scanFile, 'utf8'));
  delete copy.pockets[0].sources;
  copy.pockets = [...pockets, ...copy.pockets.map((p: Pocket) => ({ ...p, confirmed: false, attempt: false }))];
  copy.verdict.suspected = true;
  const file = path.join(dir, `forged-${++count}.json`);
  writeFileSync(file, JSON.stringify(copy));
  return file;
}

async function refusal(file: string): Promise<string> {
  const out = path.join(dir, `out-${count}`);
  const before = readdirSync(dir).sort();
  const err = await repairJob({ ...data, model, scan: file, out, seed: 0 }).then(() => null, (e: unknown) => e);
  expect(err, `the repair of ${file} must fail`).toBeInstanceOf(UserError);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message.split(/\.\s/).length, `one sentence: ${message}`).toBe(1);
  expect(readdirSync(dir).sort(), 'nothing written beside the output, no hidden leftover').toEqual(before);
  return message;
}

describe('repair re-checks the pockets it acts on', () => {
  it('reproduces every group of a real scan on the same model and data within the tolerance', async () => {
    expect(scan.pockets.length, 'the real scan has groups to re-check').toBeGreaterThan(0);
    const loaded = await loadModel(model);
    try {
      const again = await recomputePockets(loaded, ds, scan, scan.pockets);
      scan.pockets.forEach((p, k) => {
        expect(Math.abs(again[k].shellPurity - p.tightness.shellPurity), `pocket ${p.id} shell purity`).toBeLessThanOrEqual(RECHECK_TOLERANCE.shellPurity);
        expect(Math.abs(again[k].fittedRate - p.fittedRate), `pocket ${p.id} fitted share`).toBeLessThanOrEqual(RECHECK_TOLERANCE.fittedRate);
        expect(Math.abs(again[k].interiorAttackerRate - p.interiorAttackerRate), `pocket ${p.id} interior share`).toBeLessThanOrEqual(RECHECK_TOLERANCE.interiorAttackerRate);
      });
      await assertPocketsReproduce(loaded, ds, scan, scan.pockets, scanFile);
    } finally { disposeSplitModel(loaded.model); }
  }, 120_000);

  it('refuses a forged pocket of genuine samples, naming the file and the pocket, before anything is written', async () => {
    const message = await refusal(writeScan([forgedPocket(999, 3, 5)]));
    expect(message).toMatch(/reports pocket 999 \(\d+ training samples labelled 3 inside class 5\) with shell purity 0\.90, fitted share 1\.00 and interior share 1\.00, but this model and data give (\d\.\d\d), \d\.\d\d and \d\.\d\d, so the scan does not describe them and is not used for a repair\.$/);
    const purity = Number(/data give (\d\.\d\d)/.exec(message)![1]);
    expect(purity, 'genuine 3s are surrounded by 3s, not 5s').toBeLessThan(0.9 - RECHECK_TOLERANCE.shellPurity);
  }, 300_000);

  it('refuses a pocket whose figures are copied from elsewhere (a real group\'s members given a forged shell purity)', async () => {
    const real = scan.pockets[0];
    const forged = { ...real, id: 77, confirmed: true, pValue: 0.001, tightness: { ...real.tightness, shellPurity: real.tightness.shellPurity > 0.5 ? 0 : 1 } };
    expect(await refusal(writeScan([forged]))).toMatch(/reports pocket 77 .* but this model and data give/);
  }, 300_000);

  it('stops a consistently forged repair (its figures the ones this model gives) by the held-out accuracy it costs', async () => {
    const loaded = await loadModel(model);
    let pockets: Pocket[];
    try {
      const draft = [forgedPocket(901, 3, 5), forgedPocket(902, 1, 7), forgedPocket(903, 0, 6)];
      const again = await recomputePockets(loaded, ds, scan, draft);
      pockets = draft.map((p, k) => ({
        ...p, shell: again[k].shell, fittedRate: again[k].fittedRate, interiorAttackerRate: again[k].interiorAttackerRate,
        learnt: Math.max(again[k].fittedRate, again[k].interiorAttackerRate), tightness: { ...p.tightness, shellPurity: again[k].shellPurity },
      }));
    } finally { disposeSplitModel(loaded.model); }
    const message = await refusal(writeScan(pockets));
    const m = /lowered held-out accuracy on the test split of mnist from ([\d.]+)% to ([\d.]+)%, more than the (\d+) points a repair may cost, so the repaired model is not written\.$/.exec(message);
    expect(m, message).not.toBeNull();
    expect(Number(m![3])).toBe(Math.round(MAX_ACCURACY_DROP * 100));
    expect(Number(m![1]) - Number(m![2])).toBeGreaterThan(MAX_ACCURACY_DROP * 100);
    expect(existsSync(path.join(dir, `out-${count}`))).toBe(false);
  }, 300_000);
});
