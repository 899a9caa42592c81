/**
 * Engine jobs for the red team and the benchmarks: `attack` (craft poisons, write a `dir:`
 * dataset with its manifest) and `bench` (the defence benchmark, or with `perf` the speed
 * benchmark). Arguments are validated by contract/jobs.ts before they arrive here.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import nodePath from 'node:path';
import { ATTACKS, getAttack, trainCleanFeatureModel, type AttackName, type AttackVariant, type Scenario } from '../attacks/index.js';
import { backendName } from '../backend/index.js';
import { BENCH_SCHEMA, benchArchs, benchDefences, benchPlan, type BenchResult, type TrialRecord } from '../bench/defence.js';
import { rocSvg } from '../bench/stats.js';
import type { Dataset } from '../data/dataset.js';
import { benchPerf, type PerfResult } from '../bench/perf.js';
import { splitModel, type SplitModel } from '../features/split.js';
import { saveDatasetDir } from '../data/save.js';
import { UserError } from '../errors.js';
import { getDataset, type DataOptions } from './clear.js';
import { assertModelFitsData, assertWritableOutput, loadModel } from '../model/io.js';
import type { JobContext } from '../progress.js';

export interface AttackJobArgs extends DataOptions {
  attack: AttackName; target: number; attackerClass: number; poisons?: number;
  epsilon?: number; seed: number; featureModel?: string; out: string;
}

export async function attackJob(args: AttackJobArgs, ctx: JobContext = {}) {
  assertWritableOutput(args.out, 'poisoned dataset folder');
  const ds = await getDataset(args);
  const info = getAttack(args.attack);
  if (args.target >= ds.test.count) throw new UserError(`--target ${args.target} is past the end of the test split (${ds.test.count} samples).`);
  if (args.attackerClass >= ds.classNames.length) throw new UserError(`--attacker-class ${args.attackerClass} is not a class of this dataset (0–${ds.classNames.length - 1}).`);
  let featureModel: SplitModel | undefined;
  let featureSource: string | undefined;
  const disposers: (() => void)[] = [];
  try {
    if (info.cleanLabel) {
      if (args.featureModel) {
        const loaded = await loadModel(args.featureModel);
        disposers.push(() => loaded.model.dispose());
        assertModelFitsData(loaded, ds);
        featureModel = splitModel(loaded.model, undefined, loaded.metadata);
        featureSource = args.featureModel;
      } else {
        ctx.onProgress?.({ stage: 'attack-feature-model', fraction: 0, message: 'training a clean feature model (no --feature-model given)' });
        const clean = await trainCleanFeatureModel(ds, 'cnn', args.seed, ctx);
        disposers.push(() => clean.model.dispose());
        featureModel = clean.parts;
        featureSource = `trained here: cnn, ${clean.train.epochs.length} epochs on clean data, seed ${args.seed}`;
      }
    }
    const t0 = performance.now();
    const result = await info.run(ds, {
      targetIndex: args.target, attackerClass: args.attackerClass, poisons: args.poisons ?? info.defaultPoisons, seed: args.seed,
      ...(args.epsilon !== undefined ? { epsilon: args.epsilon } : {}),
      ...(featureModel ? { featureModel } : {}),
    }, ctx);
    const seconds = (performance.now() - t0) / 1000;
    const manifest = { ...result.manifest, source: { data: ds.spec, fingerprint: ds.fingerprint, limit: args.limit ?? null, dataSeed: args.dataSeed ?? null }, ...(featureSource ? { featureModel: featureSource } : {}) };
    await saveDatasetDir(result.dataset, args.out, { manifest });
    return {
      out: args.out, data: `dir:${args.out}`, attack: args.attack, label: ATTACKS[args.attack].label, scenario: info.scenario,
      manifest, trainCount: result.dataset.train.count, seconds, backend: backendName(),
    };
  } finally {
    for (const d of disposers) d();
  }
}

export interface BenchJobArgs {
  data: string; limit?: number; dataSeed?: number;
  perf?: boolean;
  attacks?: AttackName[]; defences?: string[]; trials?: number; cleanTrials?: number; seed?: number;
  arch?: 'mlp' | 'cnn' | ('mlp' | 'cnn')[]; scenario?: Scenario; poisons?: number | number[]; epsilon?: number; epochs?: number; full?: boolean;
  variants?: AttackVariant[]; reference?: number;
  batches?: number; argv?: string[]; out?: string;
  /** Continue the run whose checkpoint (or finished bench.json) is in `out`, reusing its trials. */
  resume?: boolean;
}

/** The checkpoint a defence benchmark writes into its output folder, one finished trial per line. */
export const CHECKPOINT_FILE = 'trials.jsonl';

/**
 * What a reused trial must share with the run that reuses it: the data, the seed and every
 * setting a trial's outcome depends on. The numbers of trials are not part of it, so a finished
 * 5-trial run can be extended to 20 with --resume.
 */
function checkpointKey(args: BenchJobArgs, ds: Dataset) {
  return {
    schema: BENCH_SCHEMA, data: ds.fingerprint, seed: args.seed ?? 0,
    archs: Array.isArray(args.arch) && new Set(args.arch).size > 1 ? [...new Set(args.arch)] : benchArchs(Array.isArray(args.arch) ? args.arch[0] : args.arch),
    epsilon: args.epsilon ?? null, epochs: args.epochs ?? null, scenario: args.scenario ?? null, reference: args.reference ?? 0,
  };
}

function otherSettings(file: string): UserError {
  return new UserError(`${file} was written by a bench with other data or settings; run with the same --data, --seed, --arch, --epsilon, --epochs, --scenario and --reference, or choose another --out.`);
}

function readPrevious(out: string, key: ReturnType<typeof checkpointKey>): TrialRecord[] {
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

export async function benchJob(args: BenchJobArgs, ctx: JobContext = {}): Promise<BenchResult | PerfResult> {
  if (args.out) mkdirSync(args.out, { recursive: true });
  const ds = await getDataset(args);
  if (args.perf) {
    const r = await benchPerf(ds, { batches: args.batches, argv: args.argv, seed: args.seed, ...(args.arch ? { archs: args.arch === 'mlp' ? ['mlp', 'cnn'] : ['cnn', 'mlp'] } : {}) }, ctx);
    if (args.out) {
      writeFileSync(nodePath.join(args.out, 'perf.json'), JSON.stringify(r, null, 2));
      writeFileSync(nodePath.join(args.out, 'perf.md'), `# clearwb bench --perf\n\n${r.markdown}\n`);
    }
    return r;
  }
  const key = checkpointKey(args, ds);
  let previous: TrialRecord[] = [];
  let checkpoint: string | undefined;
  if (args.out) {
    checkpoint = nodePath.join(args.out, CHECKPOINT_FILE);
    if (args.resume) {
      previous = readPrevious(args.out, key);
      // Resuming rewrites the folder's results: a trial this run would not make would be lost.
      const plan = benchPlan(args);
      const dropped = previous.filter((t) => !plan.includes(t)).length;
      if (dropped) {
        throw new UserError(`${args.out} holds ${dropped} trial(s) this run would leave out; resume with at least the same --attacks, --trials and --clean-trials (or --full), or choose another --out.`);
      }
    } else if (existsSync(nodePath.join(args.out, 'bench.json'))) {
      throw new UserError(`${args.out} already holds a finished bench (bench.json); add --resume to extend it, or choose another --out.`);
    } else if (existsSync(checkpoint)) {
      throw new UserError(`${args.out} holds an unfinished bench (${CHECKPOINT_FILE}); add --resume to continue it, or choose another --out.`);
    }
    // The checkpoint starts with what was reused, so an interruption now loses nothing either.
    writeFileSync(checkpoint, [JSON.stringify({ checkpoint: BENCH_SCHEMA, key }), ...previous.map((t) => JSON.stringify(t))].join('\n') + '\n');
  } else if (args.resume) {
    throw new UserError('--resume needs --out: the folder of the run to continue.');
  }
  const r = await benchDefences(ds, {
    attacks: args.attacks, defences: args.defences, trials: args.trials, cleanTrials: args.cleanTrials, seed: args.seed,
    arch: args.arch, scenario: args.scenario, poisons: args.poisons, epsilon: args.epsilon, epochs: args.epochs,
    variants: args.variants, reference: args.reference,
    full: args.full, argv: args.argv, data: { spec: args.data, limit: args.limit, dataSeed: args.dataSeed },
    previous, ...(checkpoint ? { onTrial: (t: TrialRecord) => appendFileSync(checkpoint, `${JSON.stringify(t)}\n`) } : {}),
  }, ctx);
  if (args.out) {
    const result = { ...r, checkpointKey: key };
    writeFileSync(nodePath.join(args.out, 'bench.json'), JSON.stringify(result, null, 2));
    writeFileSync(nodePath.join(args.out, 'bench.md'), benchMarkdownFile(r));
    for (const plot of r.rocs) {
      const note = `${plot.positives} successful attacks against ${plot.negatives} clean models (${plot.scenario}); score: each defence's model-level summary`;
      writeFileSync(nodePath.join(args.out, rocFileName(plot.case)), rocSvg(`ROC: ${plot.case} (${plot.scenario})`, plot.series, note));
    }
    // trials.jsonl stays beside bench.json, rewritten with the counted verdicts (while the run
    // went on, a calibrated defence's `flagged` was its own verdict): the per-trial record, and
    // what --resume reads first.
    if (checkpoint) writeFileSync(checkpoint, [JSON.stringify({ checkpoint: BENCH_SCHEMA, key }), ...r.trials.map((t) => JSON.stringify(t))].join('\n') + '\n');
  }
  return r;
}

/** The ROC plot of one case: `roc-<case>.svg`, the case name made safe for a file name. */
export function rocFileName(caseId: string): string {
  return `roc-${caseId.replace(/[^A-Za-z0-9._-]+/g, '_')}.svg`;
}

export function benchMarkdownFile(r: BenchResult): string {
  return [
    '# clearwb bench', '',
    `- date: ${r.createdAt}`,
    `- command: \`clearwb ${r.argv.join(' ')}\``,
    `- backend: ${r.backend.name} (${r.backend.threads} threads)`,
    `- data: ${r.dataset.spec} (${r.dataset.trainCount} train / ${r.dataset.testCount} test), victims ${r.settings.archs.e2e.join(' and ') || '–'} (e2e), ${r.settings.archs.transfer.join(' and ') || '–'} (transfer)`,
    `- trials: ${r.settings.trials} per case, ${r.settings.cleanTrials} clean per scenario, poisons per target ${Object.entries(r.settings.poisons).map(([a, k]) => `${a} ${k}`).join(', ')}, seed ${r.settings.seed}`,
    `- reference set: ${r.settings.reference.size ? `${r.settings.reference.size} test samples, given to every defence (CLEAR also runs without it)` : 'none'}`,
    `- ROC curves: ${r.rocs.map((p) => rocFileName(p.case)).join(', ')}`,
    '', r.markdown, '',
  ].join('\n');
}
