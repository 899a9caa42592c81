// Repair treats a scan JSON as evidence and its output as all-or-nothing, on a real small model
// (600 MNIST digits, an mlp trained one epoch) and a real scan of it:
//  - tampered scans (indices out of range, negative, non-integer, a string; a class outside the
//    dataset; members not of the attacker class; a pocket marked confirmed against its own
//    p-value) are refused with one sentence naming the file, before any training;
//  - a repair that fails between writing the model and writing its report (cancelled during
//    the rescan, the report's name taken, the engine worker killed) leaves no folder under the
//    output name, and a killed repair's hidden leftover is removed by a later repair once old.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { getDataset, repairJob, scanJob, trainJob } from '../../src-main/engine/jobs/clear.js';
import { CancelledError, UserError } from '../../src-main/engine/errors.js';
import { PARTIAL_MARKER, STALE_PARTIAL_MS } from '../../src-main/engine/model/files.js';
import { EngineHost } from '../../src-main/host/engine-host.js';
import type { ScanResult } from '../../src-main/contract/results.js';
import { buildWorker } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-repair-evidence-'));
const data = { data: 'mnist', limit: 600 };
const model = path.join(dir, 'model');
const scanFile = path.join(dir, 'scan.json');
let scan: ScanResult;
let labels: Int32Array;

beforeAll(async () => {
  await initBackend('wasm');
  await trainJob({ ...data, arch: 'mlp', epochs: 1, batchSize: 64, learningRate: 0.001, seed: 0, out: model });
  scan = await scanJob({ ...data, model, falseAlarm: 0.05, out: scanFile });
  labels = (await getDataset(data)).train.labels;
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** Writes a copy of the real scan changed by `edit` and returns its path. */
function tampered(edit: (s: any) => void): string {
  const copy = JSON.parse(readFileSync(scanFile, 'utf8'));
  edit(copy);
  const file = path.join(dir, `tampered-${++count}.json`);
  writeFileSync(file, JSON.stringify(copy));
  return file;
}

/** Runs a repair of `file` and returns its error, which must be one sentence naming the file. */
async function refusal(file: string): Promise<string> {
  const out = path.join(dir, `refused-${count}`);
  const err = await repairJob({ ...data, model, scan: file, out, seed: 0 }).then(() => null, (e: unknown) => e);
  expect(err, `the repair of ${file} must fail`).toBeInstanceOf(UserError);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message.split(/\.\s/).length, `one sentence: ${message}`).toBe(1);
  expect(existsSync(out)).toBe(false);
  return message;
}

function classMembers(c: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length && out.length < n; i++) if (labels[i] === c) out.push(i);
  return out;
}

describe('a tampered scan', () => {
  it('is refused when a member index is outside the training split, negative, fractional or not a number', async () => {
    expect(scan.pockets.length, 'the real scan has candidate groups to tamper with').toBeGreaterThan(0);
    expect(await refusal(tampered((s) => { s.pockets[0].members[0] = 999999; })))
      .toMatch(/lists training sample 999999 as a member of pocket \d+, but the training split of mnist holds 600 samples \(0–599\), so it is not used for a repair\.$/);
    expect(await refusal(tampered((s) => { s.pockets[0].members[0] = -1; })))
      .toMatch(/is not a CLEAR scan result \(expected schema clear-scan\/2; pockets\.0\.members\.0: Number must be greater than or equal to 0, found -1\)\.$/);
    expect(await refusal(tampered((s) => { s.pockets[0].members[0] = 'x'; })))
      .toMatch(/pockets\.0\.members\.0: Expected number, received string, found "x"\)\.$/);
    expect(await refusal(tampered((s) => { s.pockets[0].members[0] = 1.5; })))
      .toMatch(/pockets\.0\.members\.0: Expected integer, received float, found 1\.5\)\.$/);
    expect(await refusal(tampered((s) => { s.pockets[0].shell.push(600); })))
      .toMatch(/lists training sample 600 as a shell sample of pocket \d+/);
  }, 120_000);

  it('is refused when a class is outside the dataset or the members are not of the attacker class', async () => {
    expect(await refusal(tampered((s) => { s.pockets[0].enclosingClass = 99; })))
      .toMatch(/gives pocket \d+ class 99, but mnist has 10 classes \(0–9\), so it is not used for a repair\.$/);
    const p = scan.pockets[0];
    const other = (p.attackerClass + 1) % 10 === p.enclosingClass ? (p.attackerClass + 2) % 10 : (p.attackerClass + 1) % 10;
    expect(await refusal(tampered((s) => { s.pockets[0].attackerClass = other; })))
      .toMatch(new RegExp(`gives pocket ${p.id} attacker class ${other}, but its member ${p.members[0]} is labelled ${p.attackerClass} in mnist`));
  }, 120_000);

  it('is refused when it asks to repair a pocket its own p-values do not report (a forged "confirmed")', async () => {
    // The probe: every "3" relabelled "5" through one forged pocket would wreck the model.
    const threes = classMembers(3, 1000);
    const forged = (pValue: number, attemptPValue: number) => tampered((s) => {
      s.pockets.unshift({ ...s.pockets[0], id: 999, members: threes, attackerClass: 3, enclosingClass: 5, shell: [], contaminants: [], confirmed: true, attempt: false, pValue, attemptPValue });
      s.verdict.suspected = true;
    });
    expect(await refusal(forged(0.9, 1)))
      .toMatch(/marks pocket 999 a backdoor pocket although its p-value 0\.900 is above the scan's false-alarm level of 5%, so it is not used for a repair\.$/);
    expect(await refusal(tampered((s) => { s.pockets[0].attempt = true; s.pockets[0].attemptPValue = 0.5; })))
      .toMatch(/marks pocket \d+ a poisoning attempt although its p-value 0\.500 is above/);
    expect(await refusal(tampered((s) => { s.verdict.suspected = true; })))
      .toMatch(/says a backdoor is suspected but confirms no pocket/);
    expect(await refusal(tampered((s) => { s.verdict.falseAlarm = 0.5; })))
      .toMatch(/records a false-alarm level of 50% in its verdict but 5% in its settings/);
  }, 120_000);

  it('is refused when it is not a scan at all, or not a regular file', async () => {
    expect(await refusal(tampered((s) => { delete s.pockets; })))
      .toMatch(/is not a CLEAR scan result \(expected schema clear-scan\/2; pockets: Required\)\.$/);
    const folder = path.join(dir, 'a-folder.json');
    mkdirSync(folder);
    expect(await refusal(folder)).toMatch(/is not a regular file, so it is not read\.$/);
  }, 120_000);
});

/** Hidden temporary siblings of `name` in the test folder. */
const leftovers = (name: string) => readdirSync(dir).filter((f) => f.startsWith(`.${name}.partial-`));

describe('a repair output', () => {
  it('is one folder holding the model and its report, with nothing left beside it', async () => {
    const out = path.join(dir, 'repaired');
    const result = await repairJob({ ...data, model, scan: scanFile, out, seed: 0 });
    expect(readdirSync(out).sort()).toEqual(['model.json', 'repair-report.json', 'weights.bin']);
    const report = JSON.parse(readFileSync(path.join(out, 'repair-report.json'), 'utf8'));
    expect(report.model).toEqual(result.model);
    expect(report.rescan.model.dir).toBe(out);
    expect(leftovers('repaired')).toEqual([]);
  }, 300_000);

  it('is absent when the repair is cancelled during its rescan, after the model was written', async () => {
    const out = path.join(dir, 'repaired-cancelled');
    const controller = new AbortController();
    let sawModel = false;
    const err = await repairJob({ ...data, model, scan: scanFile, out, seed: 0 }, {
      signal: controller.signal,
      onProgress: (e) => {
        if (!e.stage.startsWith('verify') || controller.signal.aborted) return;
        // The model is written (in the hidden sibling) by the time the rescan starts.
        sawModel = leftovers('repaired-cancelled').some((f) => existsSync(path.join(dir, f, 'model.json')));
        controller.abort();
      },
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(sawModel).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(leftovers('repaired-cancelled')).toEqual([]);
  }, 300_000);

  it('is absent when the report cannot be written, and what it did not write is left alone', async () => {
    const out = path.join(dir, 'repaired-blocked');
    let intruder = '';
    const err = await repairJob({ ...data, model, scan: scanFile, out, seed: 0 }, {
      onProgress: (e) => {
        if (!e.stage.startsWith('verify') || intruder) return;
        // Something else takes the report's name inside the temporary folder: its write must fail.
        const [staged] = leftovers('repaired-blocked');
        intruder = path.join(dir, staged, 'repair-report.json');
        writeFileSync(intruder, 'not ours');
      },
    }).then(() => null, (e: unknown) => e);
    expect((err as NodeJS.ErrnoException)?.code).toBe('EEXIST');
    expect(existsSync(out)).toBe(false);
    // Our files are gone; the file we did not write is still there.
    expect(readFileSync(intruder, 'utf8')).toBe('not ours');
    expect(readdirSync(path.dirname(intruder))).toEqual(['repair-report.json']);
  }, 300_000);
});

describe('a repair killed in the engine worker', () => {
  it('leaves no output folder, and its leftover is removed by a later repair once it is old', async () => {
    const host = new EngineHost({ workerPath: await buildWorker('repair-evidence-worker'), backend: 'wasm' });
    try {
      const out = path.join(dir, 'repaired-killed');
      const job = host.run('repair', { ...data, model, scan: scanFile, out, seed: 0 }, {
        onProgress: (e) => { if (e.stage.startsWith('verify')) host.kill(); },
      });
      await expect(job).rejects.toThrow(/engine stopped unexpectedly/);
      expect(existsSync(out)).toBe(false);
      const left = leftovers('repaired-killed');
      expect(left).toHaveLength(1);
      const staged = path.join(dir, left[0]);
      expect(readdirSync(staged).sort()).toEqual([PARTIAL_MARKER, 'model.json', 'weights.bin']);
      // A fresh leftover may be a repair still running: kept. An old one is a crash's: removed.
      const old = Date.now() / 1000 - (STALE_PARTIAL_MS / 1000) * 2;
      for (const f of readdirSync(staged)) utimesSync(path.join(staged, f), old, old);
      utimesSync(staged, old, old);
      await host.run('repair', { ...data, model, scan: scanFile, out, seed: 0 });
      expect(readdirSync(out).sort()).toEqual(['model.json', 'repair-report.json', 'weights.bin']);
      expect(leftovers('repaired-killed')).toEqual([]);
    } finally {
      await host.close();
    }
  }, 600_000);
});
