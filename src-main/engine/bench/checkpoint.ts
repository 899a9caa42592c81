/**
 * The defence benchmark's checkpoint: `trials.jsonl` in the output folder, a header line with
 * the run's key, then one finished trial per line, appended as each trial ends, so an
 * interrupted run loses at most the trial that was running. `--resume` reads it back (or a
 * finished bench.json) and reuses every trial whose key matches.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import nodePath from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { benchArchs, benchPlan } from './plan.js';
import { BENCH_SCHEMA, type BenchOptions, type BenchResult, type TrialRecord } from './types.js';

/** The settings a checkpoint's key is made of (the bench job's arguments). */
export type CheckpointSettings = Pick<BenchOptions, 'arch' | 'epsilon' | 'epochs' | 'scenario' | 'reference' | 'seed'>;

/** The checkpoint a defence benchmark writes into its output folder, one finished trial per line. */
export const CHECKPOINT_FILE = 'trials.jsonl';

/**
 * What a reused trial must share with the run that reuses it: the data, the seed and every
 * setting a trial's outcome depends on. The numbers of trials are not part of it, so a finished
 * 5-trial run can be extended to 20 with --resume.
 */
export function checkpointKey(args: CheckpointSettings, ds: Pick<Dataset, 'fingerprint'>) {
  return {
    schema: BENCH_SCHEMA, data: ds.fingerprint, seed: args.seed ?? 0,
    archs: Array.isArray(args.arch) && new Set(args.arch).size > 1 ? [...new Set(args.arch)] : benchArchs(Array.isArray(args.arch) ? args.arch[0] : args.arch),
    epsilon: args.epsilon ?? null, epochs: args.epochs ?? null, scenario: args.scenario ?? null, reference: args.reference ?? 0,
  };
}

function otherSettings(file: string): UserError {
  return new UserError(`${file} was written by a bench with other data or settings; run with the same --data, --seed, --arch, --epsilon, --epochs, --scenario and --reference, or choose another --out.`);
}

export type CheckpointKey = ReturnType<typeof checkpointKey>;

export function readPrevious(out: string, key: CheckpointKey): TrialRecord[] {
  const checkpoint = nodePath.join(out, CHECKPOINT_FILE);
  const finished = nodePath.join(out, 'bench.json');
  const expected = JSON.stringify(key);
  if (existsSync(checkpoint)) {
    const lines = readFileSync(checkpoint, 'utf8').split('\n').filter((l) => l.trim());
    let header: unknown;
    try { header = JSON.parse(lines[0] ?? ''); } catch { throw new UserError(`${checkpoint} is not a bench checkpoint (its first line is not JSON).`); }
    if (JSON.stringify((header as { key?: unknown }).key) !== expected) {
      throw otherSettings(checkpoint);
    }
    const records: TrialRecord[] = [];
    // A line cut short by an interruption is the trial that was running: it is run again.
    for (const line of lines.slice(1)) { try { records.push(JSON.parse(line) as TrialRecord); } catch { break; } }
    // A trial written twice (again after its repairs) counts as its last line.
    const last = new Map<string, TrialRecord>();
    for (const r of records) last.set(JSON.stringify([r.kind, r.case, r.scenario, r.arch, r.trial, r.seed]), r);
    return [...last.values()];
  }
  if (existsSync(finished)) {
    let r: BenchResult & { checkpointKey?: unknown };
    try { r = JSON.parse(readFileSync(finished, 'utf8')) as BenchResult & { checkpointKey?: unknown }; } catch { throw new UserError(`${finished} is not a bench result (it is not valid JSON).`); }
    if (JSON.stringify(r.checkpointKey) !== expected) {
      throw otherSettings(finished);
    }
    return r.trials;
  }
  return [];
}

export interface Checkpoint {
  key: CheckpointKey;
  /** Trials an earlier run with this key finished, to be reused. */
  previous: TrialRecord[];
  append(trial: TrialRecord): void;
  /** Rewrites the file with the run's final records (the counted verdicts), beside bench.json. */
  finish(trials: TrialRecord[]): void;
}

/**
 * Opens the checkpoint of a run in `out`: refuses to start over a finished or unfinished run
 * unless resuming, and refuses a resume that would drop trials the folder holds.
 */
export function openCheckpoint(out: string, key: CheckpointKey, plan: Parameters<typeof benchPlan>[0] & { resume?: boolean }): Checkpoint {
  const file = nodePath.join(out, CHECKPOINT_FILE);
  let previous: TrialRecord[] = [];
  if (plan.resume) {
    previous = readPrevious(out, key);
    // Resuming rewrites the folder's results: a trial this run would not make would be lost.
    const { includes } = benchPlan(plan);
    const dropped = previous.filter((t) => !includes(t)).length;
    if (dropped) {
      throw new UserError(`${out} holds ${dropped} trial(s) this run would leave out; resume with at least the same --attacks, --trials and --clean-trials (or --full), or choose another --out.`);
    }
  } else if (existsSync(nodePath.join(out, 'bench.json'))) {
    throw new UserError(`${out} already holds a finished bench (bench.json); add --resume to extend it, or choose another --out.`);
  } else if (existsSync(file)) {
    throw new UserError(`${out} holds an unfinished bench (${CHECKPOINT_FILE}); add --resume to continue it, or choose another --out.`);
  }
  const write = (trials: TrialRecord[]) => writeFileSync(file, [JSON.stringify({ checkpoint: BENCH_SCHEMA, key }), ...trials.map((t) => JSON.stringify(t))].join('\n') + '\n');
  // The checkpoint starts with what was reused, so an interruption now loses nothing either.
  write(previous);
  return {
    key, previous,
    append: (trial) => appendFileSync(file, `${JSON.stringify(trial)}\n`),
    finish: write,
  };
}
