/**
 * The defence benchmark (README, "The benchmarks"): trials of craft → train victim → run every
 * defence on that same model and data → repair with the defence's own mitigation through
 * the shared fine-tune (clear/finetune.ts), plus clean trials (no poisons) for false alarms.
 *
 * Conventions: `precision` is |found ∩ poisons| / |found| and is 0 when nothing was found;
 * `recall` is |found ∩ poisons| / |poisons|. Both are null in clean trials (no poisons). The
 * summary averages them over the trials where the attack succeeded.
 * A defence that does not flag the model does not repair it (after = before, repairSeconds 0).
 * `scanSeconds` = the shared embedding + neighbour graph (computed once per trial, as a
 * deployment of any one defence would also pay it) + the defence's own detect time.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  ATTACKS, ATTACK_NAMES, cloneModel, trainCleanFeatureModel, trainVictim,
  type AttackManifest, type AttackName, type CleanFeatureModel, type Scenario,
} from '../attacks/index.js';
import { backendInfo, tf } from '../backend/index.js';
import { fineTune, type FineTuneSettings } from '../clear/finetune.js';
import { prepareScan } from '../clear/scan.js';
import type { Dataset } from '../data/dataset.js';
import { detectors as allDetectors } from '../detectors/registry.js';
import type { Detector } from '../detectors/types.js';
import { UserError } from '../errors.js';
import { evaluateSplit, predictSplit } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';

export const BENCH_SCHEMA = 'clear-bench/1';
export const FULL_TRIALS = 20;

export interface BenchOptions {
  attacks?: AttackName[];
  /** Detector names (detectors/registry.ts); default all registered. */
  defences?: string[];
  trials?: number;
  cleanTrials?: number;
  seed?: number;
  /** Victim architecture in every scenario; without it, {@link DEFAULT_ARCHS}. */
  arch?: string;
  /** Overrides every attack's own scenario. */
  scenario?: Scenario;
  poisons?: number;
  epsilon?: number;
  /** Victim training epochs (default: the scenario's default in attacks/scenario.ts). */
  epochs?: number;
  /** Epochs of the clean feature model used by clean-label attacks and transfer victims. */
  cleanEpochs?: number;
  fineTune?: Partial<FineTuneSettings>;
  full?: boolean;
  /** Recorded verbatim in the JSON. */
  argv?: string[];
  /**
   * Trials finished by an earlier, interrupted run with the same settings (bench-jobs.ts reads
   * them from the output folder's checkpoint): a trial whose kind, attack, scenario, index and
   * seed match is taken as it is instead of being run again.
   */
  previous?: TrialRecord[];
  /** Called with each finished trial, before the next starts (the checkpoint). */
  onTrial?: (record: TrialRecord) => void;
  data?: { spec: string; limit?: number; dataSeed?: number };
}

export interface DefenceRecord {
  defence: string;
  flagged: boolean;
  found: number[];
  precision: number | null;
  recall: number | null;
  targetBefore: number | null;
  targetAfter: number | null;
  cleanAccBefore: number;
  cleanAccAfter: number;
  scanSeconds: number;
  repairSeconds: number;
  trainSeconds: number;
  repaired: boolean;
  mitigation: 'relabel' | 'remove' | 'none';
  summaryScore: number;
  /** The verdict's false-alarm level, for defences that have one (CLEAR's family-wise level). */
  falseAlarm: number | null;
}

export interface TrialRecord {
  kind: 'attack' | 'clean';
  attack: AttackName | null;
  scenario: Scenario;
  trial: number;
  seed: number;
  targetIndex: number | null;
  targetClass: number | null;
  attackerClass: number | null;
  poisonIndices: number[];
  attackSucceeded: boolean;
  targetBefore: number | null;
  cleanAccBefore: number;
  trainSeconds: number;
  craftSeconds: number;
  prepareSeconds: number;
  defences: DefenceRecord[];
}

export interface SummaryRow {
  attack: AttackName;
  scenario: Scenario;
  defence: string;
  trials: number;
  successful: number;
  attackSuccessBefore: number;
  /** Over trials where the attack succeeded; null when none did. */
  attackSuccessAfter: number | null;
  detectionRate: number | null;
  falseAlarmRate: number | null;
  cleanTrials: number;
  /**
   * Threshold-free separation: the chance that the defence's summary score on a successfully
   * attacked model exceeds its score on a clean one (ties count half), i.e. the area under its
   * ROC curve over these trials. Null without both kinds of trial.
   */
  scoreAuc: number | null;
  meanPrecision: number | null;
  meanRecall: number | null;
  meanCleanAccDrop: number | null;
  scanToTrain: number | null;
  repairToTrain: number | null;
}

export interface BenchResult {
  schema: typeof BENCH_SCHEMA;
  createdAt: string;
  argv: string[];
  backend: { name: string; threads: number };
  dataset: { spec: string; name: string; fingerprint: string; trainCount: number; testCount: number; limit?: number; dataSeed?: number };
  settings: {
    attacks: AttackName[]; defences: string[]; trials: number; cleanTrials: number; seed: number;
    /** Victim architecture by scenario. */
    archs: Record<Scenario, string>;
    scenarios: Record<string, Scenario>;
    /** Poisons per attack. */
    poisons: Record<string, number>; epsilon?: number; epochs?: number; cleanEpochs?: number; full: boolean;
  };
  trials: TrialRecord[];
  summary: SummaryRow[];
  markdown: string;
  seconds: number;
}

/**
 * Victim architecture per scenario when the caller names none. End to end, the reference cnn.
 * In transfer, the mlp: the clean-label attacks target a fixed feature extractor, and on MNIST
 * the cnn's features resisted them at the papers' budgets (Feature Collision, Convex Polytope
 * and Bullseye Polytope each 0 of 8 targets at defaults, Bullseye 1 of 4 at ε = 0.3), while on
 * the mlp they succeed part of the time as on CIFAR-10 (1, 2 and 4 of 8; bench/attack-success.ts,
 * seed 3, 2026-11-25).
 */
export const DEFAULT_ARCHS: Record<Scenario, string> = { e2e: 'cnn', transfer: 'mlp' };

export function benchArchs(arch?: string): Record<Scenario, string> {
  return arch ? { e2e: arch, transfer: arch } : { ...DEFAULT_ARCHS };
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

export function precisionRecall(found: number[], poisons: number[]): { precision: number | null; recall: number | null } {
  if (!poisons.length) return { precision: null, recall: null };
  const set = new Set(poisons);
  const tp = new Set(found.filter((i) => set.has(i))).size;
  return { precision: found.length ? tp / new Set(found).size : 0, recall: tp / set.size };
}

async function predictTarget(model: tfl.LayersModel, ds: Dataset, index: number): Promise<number> {
  const { predicted } = await predictSplit(model, ds.test, ds.shape, { indices: [index] });
  return predicted[0];
}

function resolveDefences(names?: string[]): Detector[] {
  if (!names || !names.length) return [...allDetectors];
  return names.map((n) => {
    const d = allDetectors.find((x) => x.name === n);
    if (!d) throw new UserError(`Unknown defence "${n}"; the registered ones are ${allDetectors.map((x) => x.name).join(', ')}.`);
    return d;
  });
}

/** The seed of one trial: every trial's target, attacker class, poisons and victim follow from it. */
export function trialSeedOf(seed: number, kind: 'attack' | 'clean', attack: AttackName | null, t: number): number {
  return seed * 10007 + (kind === 'clean' ? 5000 : 0) + (attack ? ATTACK_NAMES.indexOf(attack) * 1000 : 0) + t;
}

export function scenarioFor(attack: AttackName, override?: Scenario): Scenario {
  return override ?? ATTACKS[attack].scenario;
}

/** Which trials a run with these options makes: attacks, trials per attack, clean trials per scenario. */
export function benchPlan(options: Pick<BenchOptions, 'attacks' | 'trials' | 'cleanTrials' | 'full' | 'scenario'>) {
  const full = Boolean(options.full);
  // The full preset measures every attack unless the caller chose some.
  const attacks = options.attacks?.length ? options.attacks : full ? [...ATTACK_NAMES] : (['label-flip'] as AttackName[]);
  for (const a of attacks) if (!(ATTACK_NAMES as readonly string[]).includes(a)) throw new UserError(`Unknown attack "${a}"; use ${ATTACK_NAMES.join(', ')}.`);
  const trials = Math.max(options.trials ?? 2, full ? FULL_TRIALS : 0);
  const cleanTrials = Math.max(options.cleanTrials ?? 1, full ? FULL_TRIALS : 0);
  const scenarios: Record<string, Scenario> = {};
  for (const a of attacks) scenarios[a] = scenarioFor(a, options.scenario);
  const cleanScenarios = [...new Set(Object.values(scenarios))];
  /** The trial belongs to this run (so a run that reuses it keeps it in its result). */
  const includes = (r: Pick<TrialRecord, 'kind' | 'attack' | 'scenario' | 'trial'>) => (r.kind === 'attack'
    ? r.attack !== null && attacks.includes(r.attack) && scenarios[r.attack] === r.scenario && r.trial < trials
    : cleanScenarios.includes(r.scenario) && r.trial < cleanTrials);
  return { full, attacks, trials, cleanTrials, scenarios, cleanScenarios, includes };
}

export async function benchDefences(ds: Dataset, options: BenchOptions = {}, ctx: JobContext = {}): Promise<BenchResult> {
  const started = performance.now();
  const { full, attacks, trials, cleanTrials, scenarios, cleanScenarios } = benchPlan(options);
  const defences = resolveDefences(options.defences);
  const seed = options.seed ?? 0;
  const archs = benchArchs(options.arch);
  const poisons: Record<string, number> = Object.fromEntries(attacks.map((a) => [a, options.poisons ?? ATTACKS[a].defaultPoisons]));
  const needsClean = attacks.some((a) => ATTACKS[a].cleanLabel) || cleanScenarios.includes('transfer');
  const wanted = defences.map((d) => d.name);
  const reusable = (kind: 'attack' | 'clean', attack: AttackName | null, scenario: Scenario, t: number): TrialRecord | undefined =>
    options.previous?.find((r) => r.kind === kind && r.attack === attack && r.scenario === scenario && r.trial === t
      && r.seed === trialSeedOf(seed, kind, attack, t) && wanted.every((n) => r.defences.some((d) => d.defence === n)));
  const remaining = (kind: 'attack' | 'clean', attack: AttackName | null, scenario: Scenario, count: number) =>
    Array.from({ length: count }, (_, t) => t).filter((t) => !reusable(kind, attack, scenario, t));
  const cleanModelNeeded = attacks.some((a) => scenarios[a] === 'transfer' && remaining('attack', a, 'transfer', trials).length > 0)
    || attacks.some((a) => ATTACKS[a].cleanLabel && remaining('attack', a, scenarios[a], trials).length > 0)
    || (cleanScenarios.includes('transfer') && remaining('clean', null, 'transfer', cleanTrials).length > 0);

  const totalUnits = attacks.length * trials + cleanScenarios.length * cleanTrials + (needsClean ? 1 : 0);
  let doneUnits = 0;
  let reusedUnits = 0;
  const progress = (message: string) => {
    const elapsed = (performance.now() - started) / 1000;
    const ran = doneUnits - reusedUnits;
    const eta = ran ? (elapsed / ran) * (totalUnits - doneUnits) : NaN;
    ctx.onProgress?.({
      stage: 'bench', fraction: doneUnits / totalUnits, message,
      metrics: { done: doneUnits, total: totalUnits, elapsedSeconds: elapsed, ...(Number.isFinite(eta) ? { etaSeconds: eta } : {}) },
    });
  };
  const inner: JobContext = { signal: ctx.signal };

  let clean: CleanFeatureModel | undefined;
  if (needsClean && cleanModelNeeded) {
    progress('training the clean feature model');
    // The attacker's and the transfer victims' extractor: the transfer architecture when any
    // trial runs in transfer, else (clean-label attacks forced end to end) the e2e one.
    const cleanArch = cleanScenarios.includes('transfer') ? archs.transfer : archs.e2e;
    clean = await trainCleanFeatureModel(ds, cleanArch, seed, inner, options.cleanEpochs !== undefined ? { epochs: options.cleanEpochs } : {});
    doneUnits++;
  }

  const records: TrialRecord[] = [];
  const runTrial = async (kind: 'attack' | 'clean', attack: AttackName | null, scenario: Scenario, t: number): Promise<TrialRecord> => {
    throwIfCancelled(ctx.signal);
    const trialSeed = trialSeedOf(seed, kind, attack, t);
    const rng = createRng(trialSeed);
    let data = ds;
    let manifest: AttackManifest | undefined;
    let craftSeconds = 0;
    if (kind === 'attack' && attack) {
      const targetIndex = rng.int(ds.test.count);
      const targetClass = ds.test.labels[targetIndex];
      let attackerClass = rng.int(ds.classNames.length - 1);
      if (attackerClass >= targetClass) attackerClass++;
      const t0 = performance.now();
      const crafted = await ATTACKS[attack].run(ds, {
        targetIndex, attackerClass, poisons: poisons[attack], seed: trialSeed,
        ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
        ...(ATTACKS[attack].cleanLabel && clean ? { featureModel: clean.parts } : {}),
      }, inner);
      craftSeconds = (performance.now() - t0) / 1000;
      data = crafted.dataset;
      manifest = crafted.manifest;
    }
    const t1 = performance.now();
    const victim = await trainVictim(data, scenario, {
      arch: archs[scenario], seed: trialSeed, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(clean ? { frozenFeatureModel: clean } : {}), ...(manifest ? { manifest } : {}),
    }, inner);
    const trainSeconds = (performance.now() - t1) / 1000;
    const exclude = manifest ? [manifest.targetIndex] : [];
    const record: TrialRecord = {
      kind, attack, scenario, trial: t, seed: trialSeed,
      targetIndex: manifest?.targetIndex ?? null, targetClass: manifest?.targetClass ?? null, attackerClass: manifest?.attackerClass ?? null,
      poisonIndices: manifest?.poisonIndices ?? [], attackSucceeded: victim.attackSucceeded,
      targetBefore: victim.targetPredicted ?? null, cleanAccBefore: 0, trainSeconds, craftSeconds, prepareSeconds: 0, defences: [],
    };
    try {
      record.cleanAccBefore = (await evaluateSplit(victim.model, data.test, data.shape, data.classNames, { signal: ctx.signal, exclude })).accuracy;
      const tp = performance.now();
      const prep = await prepareScan({ model: victim.model, metadata: {} }, data, { neighbours: 40, normalisation: 'l2' }, inner);
      record.prepareSeconds = (performance.now() - tp) / 1000;
      for (const d of defences) {
        throwIfCancelled(ctx.signal);
        const td = performance.now();
        const r = await d.detect({ model: victim.model, parts: prep.parts, dataset: data, embedding: prep.embedding, graph: prep.graph, seed: trialSeed }, inner);
        const scanSeconds = record.prepareSeconds + (performance.now() - td) / 1000;
        const found = [...r.flaggedSamples];
        const m = d.mitigation(r);
        let targetAfter = record.targetBefore;
        let cleanAccAfter = record.cleanAccBefore;
        let repairSeconds = 0;
        let repaired = false;
        const hasWork = m.kind === 'relabel' ? m.labels.length > 0 : m.indices.length > 0;
        if (r.flagged && hasWork && d.name !== 'none') {
          const tr = performance.now();
          const copy = await cloneModel(victim.model);
          try {
            const correction = m.kind === 'relabel'
              ? { relabel: new Map(m.labels.map((l) => [l.index, l.label] as [number, number])) }
              : { remove: new Set(m.indices) };
            await fineTune(copy, data, correction, { seed: trialSeed, ...options.fineTune }, inner);
            repairSeconds = (performance.now() - tr) / 1000;
            repaired = true;
            if (manifest) targetAfter = await predictTarget(copy, data, manifest.targetIndex);
            cleanAccAfter = (await evaluateSplit(copy, data.test, data.shape, data.classNames, { signal: ctx.signal, exclude })).accuracy;
          } finally { copy.dispose(); }
        }
        const pr = precisionRecall(found, record.poisonIndices);
        record.defences.push({
          defence: d.name, flagged: r.flagged, found, precision: pr.precision, recall: pr.recall,
          targetBefore: record.targetBefore, targetAfter, cleanAccBefore: record.cleanAccBefore, cleanAccAfter,
          scanSeconds, repairSeconds, trainSeconds, repaired,
          mitigation: d.name === 'none' ? 'none' : m.kind, summaryScore: Number.isFinite(r.summary) ? r.summary : 0,
          falseAlarm: typeof r.info.falseAlarm === 'number' ? r.info.falseAlarm : null,
        });
      }
    } finally {
      // The split models share the victim's layers: disposing the model frees them all.
      victim.model.dispose();
    }
    doneUnits++;
    return record;
  };

  if (needsClean && !cleanModelNeeded) { doneUnits++; reusedUnits++; }
  const step = async (kind: 'attack' | 'clean', attack: AttackName | null, scenario: Scenario, t: number, label: string) => {
    const earlier = reusable(kind, attack, scenario, t);
    if (earlier) {
      // Only the defences asked for now, in the order asked for.
      records.push({ ...earlier, defences: wanted.map((n) => earlier.defences.find((d) => d.defence === n)!) });
      doneUnits++;
      reusedUnits++;
      progress(`${label} (from the checkpoint)`);
      return;
    }
    progress(label);
    const record = await runTrial(kind, attack, scenario, t);
    records.push(record);
    options.onTrial?.(record);
  };
  for (const attack of attacks) {
    for (let t = 0; t < trials; t++) await step('attack', attack, scenarios[attack], t, `${attack}: trial ${t + 1} of ${trials}`);
  }
  for (const scenario of cleanScenarios) {
    for (let t = 0; t < cleanTrials; t++) await step('clean', null, scenario, t, `clean (${scenario}): trial ${t + 1} of ${cleanTrials}`);
  }
  progress('done');
  clean?.model.dispose();

  const summary = summarise(records, attacks, scenarios, defences.map((d) => d.name));
  const info = backendInfo();
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    argv: options.argv ?? [],
    backend: { name: info?.name ?? tf.getBackend(), threads: info?.threads ?? 1 },
    dataset: {
      spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint, trainCount: ds.train.count, testCount: ds.test.count,
      ...(options.data?.limit !== undefined ? { limit: options.data.limit } : {}),
      ...(options.data?.dataSeed !== undefined ? { dataSeed: options.data.dataSeed } : {}),
    },
    settings: {
      attacks, defences: defences.map((d) => d.name), trials, cleanTrials, seed, archs, scenarios, poisons,
      ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.cleanEpochs !== undefined ? { cleanEpochs: options.cleanEpochs } : {}),
      full,
    },
    trials: records,
    summary,
    markdown: summaryMarkdown(summary),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Area under the ROC curve of `positive` against `negative` scores (Mann–Whitney, ties half). */
export function rocAuc(positive: number[], negative: number[]): number | null {
  if (!positive.length || !negative.length) return null;
  let wins = 0;
  for (const p of positive) for (const n of negative) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positive.length * negative.length);
}

export function summarise(records: TrialRecord[], attacks: AttackName[], scenarios: Record<string, Scenario>, defences: string[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const attack of attacks) {
    const scenario = scenarios[attack];
    const trials = records.filter((r) => r.kind === 'attack' && r.attack === attack);
    const cleans = records.filter((r) => r.kind === 'clean' && r.scenario === scenario);
    for (const defence of defences) {
      const per = trials.map((r) => ({ r, d: r.defences.find((x) => x.defence === defence)! })).filter((x) => x.d);
      const ok = per.filter((x) => x.r.attackSucceeded);
      const cleanPer = cleans.map((r) => r.defences.find((x) => x.defence === defence)).filter((d): d is DefenceRecord => Boolean(d));
      rows.push({
        attack, scenario, defence,
        trials: per.length,
        successful: ok.length,
        attackSuccessBefore: per.length ? ok.length / per.length : 0,
        attackSuccessAfter: mean(ok.map((x) => (x.d.targetAfter === x.r.attackerClass ? 1 : 0))),
        detectionRate: mean(ok.map((x) => (x.d.flagged ? 1 : 0))),
        falseAlarmRate: mean(cleanPer.map((d) => (d.flagged ? 1 : 0))),
        cleanTrials: cleanPer.length,
        scoreAuc: rocAuc(ok.map((x) => x.d.summaryScore), cleanPer.map((d) => d.summaryScore)),
        // Over successful attacks, like the detection rate: where an attack failed there is no
        // pocket to find, and a defence that rightly finds nothing should not score 0 for it.
        meanPrecision: mean(ok.map((x) => x.d.precision).filter((v): v is number => v !== null)),
        meanRecall: mean(ok.map((x) => x.d.recall).filter((v): v is number => v !== null)),
        meanCleanAccDrop: mean(per.map((x) => x.d.cleanAccBefore - x.d.cleanAccAfter)),
        scanToTrain: mean(per.map((x) => x.d.scanSeconds / Math.max(x.d.trainSeconds, 1e-9))),
        repairToTrain: mean(per.map((x) => x.d.repairSeconds / Math.max(x.d.trainSeconds, 1e-9))),
      });
    }
  }
  return rows;
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(0)}%`);
const pp = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)} pp`);
const ratio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);
const num = (v: number | null) => (v === null ? '–' : v.toFixed(2));

export function summaryMarkdown(rows: SummaryRow[]): string {
  const head = ['attack', 'defence', 'trials', 'ASR before', 'ASR after repair', 'detection', 'false alarms', 'score AUC', 'precision', 'recall', 'clean-acc drop', 'scan / train', 'repair / train'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    lines.push(`| ${[
      `${r.attack} (${r.scenario})`, r.defence, `${r.trials}`, `${pct(r.attackSuccessBefore)} (${r.successful}/${r.trials})`,
      pct(r.attackSuccessAfter), pct(r.detectionRate), `${pct(r.falseAlarmRate)} (of ${r.cleanTrials})`, num(r.scoreAuc),
      num(r.meanPrecision), num(r.meanRecall), pp(r.meanCleanAccDrop), ratio(r.scanToTrain), ratio(r.repairToTrain),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}
