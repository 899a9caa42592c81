import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { benchJob, CHECKPOINT_FILE } from '../../../src-main/engine/jobs/bench.js';
import type { BenchResult } from '../../../src-main/engine/bench/defence.js';

// Real (small) runs: a 1,000-sample MNIST subset, an mlp trained for one epoch, and only the
// `none` defence, so each trial is a few seconds and the checkpoint logic is what is tested.
const base = { data: 'mnist', limit: 1000, dataSeed: 0, attacks: ['label-flip' as const], defences: ['none'], seed: 7, arch: 'mlp' as const, epochs: 1, cleanTrials: 0 };

describe('clear bench checkpoint and --resume', () => {
  let dir: string;
  beforeAll(async () => { await initBackend('auto'); dir = mkdtempSync(path.join(os.tmpdir(), 'clear-bench-ckpt-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reuses finished trials after an interruption and runs only the rest', async () => {
    const out = path.join(dir, 'run');
    const first = await benchJob({ ...base, trials: 1, out }) as BenchResult;
    // The checkpoint stays beside bench.json: its header and one line per trial, as counted there.
    const lines = readFileSync(path.join(out, CHECKPOINT_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1])).toEqual(first.trials[0]);
    expect(existsSync(path.join(out, 'roc-label-flip.svg'))).toBe(true);
    const saved = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchResult & { checkpointKey: unknown };
    expect(saved.checkpointKey).toBeTruthy();

    // An interrupted run: its checkpoint holds trial 0 and half a line of trial 1.
    const header = JSON.stringify({ checkpoint: saved.schema, key: saved.checkpointKey });
    writeFileSync(path.join(out, CHECKPOINT_FILE), `${header}\n${JSON.stringify(first.trials[0])}\n{"kind":"att`);
    rmSync(path.join(out, 'bench.json'));

    await expect(benchJob({ ...base, trials: 2, out })).rejects.toThrow(/unfinished bench.*--resume/);
    const resumed = await benchJob({ ...base, trials: 2, out, resume: true }) as BenchResult;
    expect(resumed.trials).toHaveLength(2);
    // Trial 0 is the recorded one (same wall times to the digit), trial 1 was run now.
    expect(resumed.trials[0]).toEqual(first.trials[0]);
    expect(resumed.trials[1].trial).toBe(1);
    expect(resumed.trials[1].seed).not.toBe(first.trials[0].seed);
    expect(readFileSync(path.join(out, CHECKPOINT_FILE), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 300_000);

  it('extends a finished run from its bench.json, and refuses one made with other settings', async () => {
    const out = path.join(dir, 'extend');
    const first = await benchJob({ ...base, trials: 1, out }) as BenchResult;
    const more = await benchJob({ ...base, trials: 2, out, resume: true }) as BenchResult;
    expect(more.trials[0]).toEqual(first.trials[0]);
    expect(more.trials).toHaveLength(2);
    await expect(benchJob({ ...base, seed: 8, trials: 2, out, resume: true })).rejects.toThrow(/trials\.jsonl was written by a bench with other data or settings/);
    await expect(benchJob({ ...base, reference: 50, trials: 2, out, resume: true })).rejects.toThrow(/other data or settings.*--reference/);
    // Without the checkpoint, bench.json is checked the same way.
    rmSync(path.join(out, CHECKPOINT_FILE));
    await expect(benchJob({ ...base, seed: 8, trials: 2, out, resume: true })).rejects.toThrow(/bench\.json was written by a bench with other data or settings/);
    // A finished run is neither overwritten by a new one nor cut down by a smaller resume.
    const before = readFileSync(path.join(out, 'bench.json'), 'utf8');
    await expect(benchJob({ ...base, trials: 2, out })).rejects.toThrow(/already holds a finished bench.*--resume/);
    await expect(benchJob({ ...base, trials: 1, out, resume: true })).rejects.toThrow(/holds 1 trial\(s\) this run would leave out/);
    expect(readFileSync(path.join(out, 'bench.json'), 'utf8')).toBe(before);
    await expect(benchJob({ ...base, trials: 1, resume: true })).rejects.toThrow(/--resume needs --out/);
  }, 300_000);

  it('reads a trial written twice (again after its repairs) as its last line', async () => {
    const out = path.join(dir, 'twice');
    const first = await benchJob({ ...base, trials: 1, out }) as BenchResult;
    const saved = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchResult & { checkpointKey: unknown };
    const header = JSON.stringify({ checkpoint: saved.schema, key: saved.checkpointKey });
    const later = { ...first.trials[0], defences: first.trials[0].defences.map((d) => ({ ...d, repairSeconds: 123 })) };
    writeFileSync(path.join(out, CHECKPOINT_FILE), `${header}\n${JSON.stringify(first.trials[0])}\n${JSON.stringify(later)}\n`);
    rmSync(path.join(out, 'bench.json'));
    const resumed = await benchJob({ ...base, trials: 1, out, resume: true }) as BenchResult;
    expect(resumed.trials).toHaveLength(1);
    expect(resumed.trials[0].defences[0].repairSeconds).toBe(123);
  }, 300_000);
});
