/**
 * The defence benchmark (README, "The benchmarks"). One attack trial: draw a target from the
 * test split (apart from the reference set), train a clean feature extractor of its own when
 * the scenario or the attack needs one, craft the poisons, train the victim on the poisoned
 * set and, with the same seed, a counterfactual victim on the same data without the poisons;
 * the attack *succeeded* only where the clean victim classifies the target correctly and the
 * poisoned one predicts the attacker's class. Every defence runs on the poisoned victim; every
 * attempt is reported, successful or not. Clean trials train their own model (feature
 * extractor included) and measure false alarms.
 *
 * Verdicts: CLEAR gives its own (it calibrates against each model's natural pockets). The
 * baselines' papers give none, so each baseline is judged by one rule family: its model-level
 * score above a threshold calibrated on clean models that are never scored — the counterfactual
 * clean victims of the attack trials in the same scenario ({@link calibrate}).
 *
 * Repair, in successful attack trials where the defence's counted verdict flagged the model, is
 * each defence's own: CLEAR relabels its pockets' members and fine-tunes (clear/finetune.ts),
 * in the trial; a baseline removes what it found and retrains (the head on the frozen extractor
 * in transfer, the whole model from scratch end to end), after all trials, once the calibrated
 * thresholds are known ({@link repairFlagged}).
 *
 * Conventions: `precision` is |found ∩ poisons| / |found| and is 0 when nothing was found;
 * `recall` is |found ∩ poisons| / |poisons|. Both are null in clean trials (no poisons).
 * `scanSeconds` = the shared embedding + neighbour graph (built once per model at the largest
 * K any defence needs, as a deployment of any one defence would also pay) + the defence's own
 * detect time.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  ATTACKS, ATTACK_NAMES, cloneModel, trainCleanFeatureModel, trainVictim,
  type AttackManifest, type AttackName, type AttackParams, type CleanFeatureModel, type Scenario,
} from '../attacks/index.js';
import { ATTACK_VARIANTS, caseParams, PUBLISHED_SETTINGS, VARIANT_ATTACKS, type AttackVariant } from '../attacks/presets.js';
import { backendInfo, backendName, tf } from '../backend/index.js';
import { chooseDeepKnnK } from '../baselines/deep-knn.js';
import { fineTune, type FineTuneSettings } from '../clear/finetune.js';
import type { NeighbourGraph } from '../features/knn.js';
import { DEFAULT_SCAN_SETTINGS, prepareScan } from '../clear/scan.js';
import { selectSamples, type Dataset, type Split } from '../data/dataset.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import { detectors as allDetectors } from '../detectors/registry.js';
import type { Detector, DetectorInput } from '../detectors/types.js';
import { UserError } from '../errors.js';
import { evaluateSplit } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { DEFAULT_FALSE_ALARM } from '../../contract/results.js';
import { mcnemarExact, rateOf, rocArea, rocCurve, type Rate, type RocSeries } from './stats.js';

export { BENCH_SCHEMA } from '../../contract/results.js';
import { BENCH_SCHEMA, type BenchSummary } from '../../contract/results.js';
export const FULL_TRIALS = 20;
/** The bench-only CLEAR variant that is given the trusted reference set (the same detector). */
export const CLEAR_WITH_REFERENCE = 'clear+ref';
/** Level of the baselines' calibrated verdicts: CLEAR's default family-wise false-alarm level. */
export const CALIBRATION_LEVEL = DEFAULT_FALSE_ALARM;

export interface BenchOptions {
  attacks?: AttackName[];
  /** Detector names (detectors/registry.ts, plus 'clear+ref'); default all registered. */
  defences?: string[];
  trials?: number;
  cleanTrials?: number;
  seed?: number;
  /**
   * Victim architecture in every scenario; without it, {@link DEFAULT_ARCHS}. A list runs every
   * case and the clean trials once per architecture (case names end in `@arch`).
   */
  arch?: string | string[];
  /** Overrides every attack's own scenario. */
  scenario?: Scenario;
  /** Poisons per target; a list runs every attack once per count (a sweep). */
  poisons?: number | number[];
  /** Named variants run beside the published settings (attacks/presets.ts). */
  variants?: AttackVariant[];
  epsilon?: number;
  /** Victim training epochs (default: the scenario's default in attacks/scenario.ts). */
  epochs?: number;
  /** Epochs of each trial's clean feature extractor (clean-label attacks and transfer victims). */
  cleanEpochs?: number;
  /**
   * Size of the trusted reference set: this many test samples, drawn once per run apart from
   * the targets and from the accuracy split, given to every defence (CLEAR runs with and
   * without it). 0 or absent: no reference set.
   */
  reference?: number;
  fineTune?: Partial<FineTuneSettings>;
  full?: boolean;
  /** Recorded verbatim in the JSON. */
  argv?: string[];
  /**
   * Trials finished by an earlier, interrupted run with the same settings (jobs/bench.ts reads
   * them from the output folder's checkpoint): a trial whose kind, case, scenario, index and
   * seed match is taken as it is instead of being run again.
   */
  previous?: TrialRecord[];
  /** Called with each finished trial, before the next starts (the checkpoint). */
  onTrial?: (record: TrialRecord) => void;
  data?: { spec: string; limit?: number; dataSeed?: number };
}

export type VerdictRule = 'own' | 'calibrated';

export interface DefenceRecord {
  defence: string;
  /** The verdict the benchmark counts: the defence's own (CLEAR) or the calibrated one (baselines); see {@link applyVerdicts}. */
  flagged: boolean;
  verdictRule: VerdictRule;
  /** The detector's own model-level verdict. */
  ownFlagged: boolean;
  /** The detector's second verdict: a poisoning attempt the model did not learn (null: it gives none). */
  attempt: boolean | null;
  found: number[];
  precision: number | null;
  recall: number | null;
  targetBefore: number | null;
  /** The target's prediction after this defence's repair (as before when it did not repair). */
  targetAfter: number | null;
  /** Two-target trials: the second target's prediction after repair. */
  otherTargetsAfter: number[];
  cleanAccBefore: number;
  cleanAccAfter: number;
  scanSeconds: number;
  repairSeconds: number;
  trainSeconds: number;
  repaired: boolean;
  mitigation: 'relabel-finetune' | 'remove-retrain' | 'none';
  summaryScore: number;
  /** The verdict's false-alarm level, for defences that have one (CLEAR's family-wise level). */
  falseAlarm: number | null;
  /** The defence was given the trusted reference set. */
  reference: boolean;
}

export interface TargetRecord {
  targetIndex: number;
  targetClass: number;
  /** The counterfactual clean victim's prediction (null in clean trials). */
  cleanPredicted: number;
  /** The poisoned victim's prediction. */
  poisonedPredicted: number;
}

export interface TrialRecord {
  kind: 'attack' | 'clean';
  /** The benchmark case (attack, poison count, variant); null in clean trials. */
  case: string | null;
  attack: AttackName | null;
  variant: AttackVariant | null;
  scenario: Scenario;
  /** The victim's architecture (and the trial's feature extractor's). */
  arch: string;
  trial: number;
  seed: number;
  targetIndex: number | null;
  targetClass: number | null;
  attackerClass: number | null;
  /** Every target of the trial (two in `two-targets`), with both victims' predictions. */
  targets: TargetRecord[];
  poisonIndices: number[];
  /** Clean-label attacks: the training samples the poisons replaced (or were crafted from). */
  baseIndices: number[];
  /** The attack's settings as it ran (defaults included). */
  attackSettings: Record<string, unknown> | null;
  /** The counterfactual victim (same seed, no poisons) classifies every target correctly. */
  cleanVictimCorrect: boolean | null;
  /** The poisoned victim predicts the attacker's class for every target. */
  targetFlipped: boolean;
  /** Counterfactual success: cleanVictimCorrect and targetFlipped. */
  attackSucceeded: boolean;
  targetBefore: number | null;
  cleanAccBefore: number;
  /** The counterfactual clean victim's accuracy on the accuracy split (null in clean trials). */
  cleanVictimAcc: number | null;
  /**
   * Model-level scores of the baselines on the counterfactual clean victim: clean models that
   * are never scored themselves, which calibrate the baselines' verdicts.
   */
  calibrationScores: Record<string, number>;
  /**
   * A checksum of this trial's own clean feature extractor (sum of |w| over its first weight
   * tensor), null when the trial needs none: no two trials share an extractor.
   */
  featureChecksum: number | null;
  trainSeconds: number;
  cleanVictimSeconds: number;
  featureSeconds: number;
  craftSeconds: number;
  prepareSeconds: number;
  defences: DefenceRecord[];
}

export interface CleanGroup {
  scenario: Scenario;
  arch: string;
}

/** One benchmark case: an attack at one poison count, published settings or a named variant, on one victim architecture. */
export interface BenchCase {
  id: string;
  attack: AttackName;
  scenario: Scenario;
  arch: string;
  /** Poisons per target. */
  poisons: number;
  variant: AttackVariant | null;
  targets: number;
}

export interface CaseSummary {
  case: string;
  attack: AttackName;
  variant: AttackVariant | null;
  scenario: Scenario;
  arch: string;
  poisons: number;
  /** Every trial: an attempt whether or not it succeeded. */
  attempts: number;
  /** Counterfactual successes over attempts. */
  success: Rate;
  /** Trials whose clean victim already got a target wrong (never counted as successes). */
  cleanVictimWrong: number;
  /** The poisoned victim predicted the attacker's class although the clean one was wrong too. */
  flippedNotCounted: number;
  meanCleanVictimAcc: number | null;
  meanPoisonedAcc: number | null;
}

export interface SummaryRow {
  case: string;
  attack: AttackName;
  scenario: Scenario;
  arch: string;
  defence: string;
  verdictRule: VerdictRule;
  attempts: number;
  successful: number;
  /** Flagged among successful attacks. */
  detection: Rate;
  /** Flagged or reporting an attempt, among failed attempts. */
  noticedFailed: Rate;
  /** Flagged or reporting an attempt, among all attempts. */
  noticedAll: Rate;
  /** Flagged among the scenario's clean trials. */
  falseAlarms: Rate;
  /** Among successful attacks: the target still predicted the attacker's class after repair. */
  successAfterRepair: Rate;
  /** Area under the ROC curve of the summary score, successful attacks against clean models. */
  scoreAuc: number | null;
  /** Means over the successful attacks the defence flagged. */
  precisionFlagged: number | null;
  recallFlagged: number | null;
  /** Means over all successful attacks; a model not flagged counts as nothing found (0 and 0). */
  precisionAll: number | null;
  recallAll: number | null;
  /** Over successful attacks (0 where the defence did not repair). */
  meanCleanAccDrop: number | null;
  scanToTrain: number | null;
  repairToTrain: number | null;
}

export interface Comparison {
  case: string;
  scenario: Scenario;
  arch: string;
  /** A CLEAR variant. */
  defence: string;
  versus: string;
  /** Successful attacks both were run on. */
  trials: number;
  defenceOnly: number;
  versusOnly: number;
  /** Exact McNemar test, two-sided, on detection of the successful attacks. */
  pValue: number;
}

export interface Calibration {
  scenario: Scenario;
  arch: string;
  defence: string;
  /** Clean models (counterfactual victims) the threshold comes from. */
  models: number;
  /** Flag when the score is above this; null: no calibration models, never flags. */
  threshold: number | null;
  level: number;
  /** The level the threshold attains with this many models: (n + 1 − k) / (n + 1). */
  attainedLevel: number | null;
}

export interface RocPlot {
  case: string;
  scenario: Scenario;
  arch: string;
  positives: number;
  negatives: number;
  series: RocSeries[];
}

export interface AttackSettingsReport {
  case: string;
  attack: AttackName;
  variant: AttackVariant | null;
  /** The settings the trials ran with (from the first trial's attack record). */
  used: Record<string, unknown> | null;
  published: { source: string; settings: Record<string, string | number>; departures: string[] };
}

export interface BenchResult extends BenchSummary {
  dataset: { spec: string; name: string; fingerprint: string; trainCount: number; testCount: number; limit?: number; dataSeed?: number };
  settings: {
    attacks: AttackName[]; cases: BenchCase[]; defences: string[]; trials: number; cleanTrials: number; seed: number;
    /** Victim architectures by scenario. */
    archs: Record<Scenario, string[]>;
    scenarios: Record<string, Scenario>;
    /** Poisons per target, by case. */
    poisons: Record<string, number>; epsilon?: number; epochs?: number; cleanEpochs?: number; full: boolean;
    variants: AttackVariant[];
    /** Trusted reference set: its size and test indices (empty without one). */
    reference: { size: number; indices: number[] };
    verdictRules: Record<string, VerdictRule>;
    calibrationLevel: number;
  };
  attackSettings: AttackSettingsReport[];
  cases: CaseSummary[];
  calibration: Calibration[];
  trials: TrialRecord[];
  summary: SummaryRow[];
  comparisons: Comparison[];
  rocs: RocPlot[];
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

export const isClearVariant = (name: string) => name === 'clear' || name === CLEAR_WITH_REFERENCE;

function resolveDefences(names: string[] | undefined, reference: number): Detector[] {
  const clear = allDetectors.find((d) => d.name === 'clear');
  const withReference: Detector | undefined = clear && { ...clear, name: CLEAR_WITH_REFERENCE, label: `${clear.label}, with the reference set` };
  const known = [...allDetectors, ...(withReference ? [withReference] : [])];
  if (!names || !names.length) {
    // CLEAR with and without the reference set, side by side, when there is one.
    return allDetectors.flatMap((d) => (d.name === 'clear' && reference > 0 && withReference ? [d, withReference] : [d]));
  }
  return names.map((n) => {
    const d = known.find((x) => x.name === n);
    if (!d) throw new UserError(`Unknown defence "${n}"; the registered ones are ${known.map((x) => x.name).join(', ')}.`);
    if (n === CLEAR_WITH_REFERENCE && reference <= 0) throw new UserError(`The defence ${CLEAR_WITH_REFERENCE} needs a reference set; add --reference N.`);
    return d;
  });
}

/** FNV-1a of a string, 31 bits: seeds that depend on names, not on positions in a list. */
function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return (h >>> 0) & 0x7fffffff;
}

/**
 * The seed of one trial: its feature extractor, poisons and victims follow from it. It depends
 * on the case's name (or the clean trial's scenario) and index, so a trial keeps its seed when
 * the run's list of cases changes.
 */
export function trialSeedOf(seed: number, kind: 'attack' | 'clean', caseOrScenario: string, t: number): number {
  return hashSeed(`${seed}|${kind}|${caseOrScenario}|${t}`);
}

/** Trial t of every case of one attack shares its target(s), so a sweep over poison counts is paired. */
function targetSeedOf(seed: number, attack: AttackName, t: number): number {
  return hashSeed(`${seed}|target|${attack}|${t}`);
}

export function scenarioFor(attack: AttackName, override?: Scenario): Scenario {
  return override ?? ATTACKS[attack].scenario;
}

function poisonList(poisons: number | number[] | undefined): number[] | undefined {
  if (poisons === undefined) return undefined;
  const list = Array.isArray(poisons) ? poisons : [poisons];
  for (const k of list) {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`--poisons ${list.join(',')} must list whole numbers of at least 1.`);
  }
  return list.length ? [...new Set(list)] : undefined;
}

/** The cases a run makes: every attack at each poison count, then each variant that applies. */
export function benchCases(options: Pick<BenchOptions, 'poisons' | 'variants' | 'scenario' | 'arch'>, attacks: AttackName[]): BenchCase[] {
  const counts = poisonList(options.poisons);
  const archList = Array.isArray(options.arch) ? [...new Set(options.arch)] : options.arch ? [options.arch] : [];
  const multi = archList.length > 1;
  const archsFor = (scenario: Scenario) => (multi ? archList : [benchArchs(archList[0])[scenario]]);
  const variants = options.variants ?? [];
  for (const v of variants) {
    if (!(ATTACK_VARIANTS as readonly string[]).includes(v)) throw new UserError(`Unknown variant "${v}"; use ${ATTACK_VARIANTS.join(', ')}.`);
    if (!attacks.some((a) => VARIANT_ATTACKS[v].includes(a))) {
      throw new UserError(`The variant ${v} applies to ${VARIANT_ATTACKS[v].join(', ')}; add one of them to --attacks.`);
    }
  }
  const cases: BenchCase[] = [];
  for (const attack of attacks) {
    const scenario = scenarioFor(attack, options.scenario);
    const fallback = ATTACKS[attack].defaultPoisons;
    // The name carries the count whenever it is not the attack's default, so a trial's name
    // says everything its outcome depends on beyond the run's settings.
    for (const arch of archsFor(scenario)) {
      const named = (base: string, k: number) => `${k === fallback ? base : `${base}:${k}`}${multi ? `@${arch}` : ''}`;
      for (const k of counts ?? [fallback]) cases.push({ id: named(attack, k), attack, scenario, arch, poisons: k, variant: null, targets: 1 });
      for (const v of variants) {
        if (!VARIANT_ATTACKS[v].includes(attack)) continue;
        const k = counts?.length === 1 ? counts[0] : fallback;
        cases.push({ id: named(`${attack}+${v}`, k), attack, scenario, arch, poisons: k, variant: v, targets: v === 'two-targets' ? 2 : 1 });
      }
    }
  }
  return cases;
}

/** Which trials a run with these options makes: cases, trials per case, clean trials per scenario. */
export function benchPlan(options: Pick<BenchOptions, 'attacks' | 'trials' | 'cleanTrials' | 'full' | 'scenario' | 'poisons' | 'variants' | 'arch'>) {
  const full = Boolean(options.full);
  // The full preset measures every attack unless the caller chose some.
  const attacks = options.attacks?.length ? options.attacks : full ? [...ATTACK_NAMES] : (['label-flip'] as AttackName[]);
  for (const a of attacks) if (!(ATTACK_NAMES as readonly string[]).includes(a)) throw new UserError(`Unknown attack "${a}"; use ${ATTACK_NAMES.join(', ')}.`);
  const cases = benchCases(options, attacks);
  const trials = Math.max(options.trials ?? 2, full ? FULL_TRIALS : 0);
  const cleanTrials = Math.max(options.cleanTrials ?? 1, full ? FULL_TRIALS : 0);
  const scenarios: Record<string, Scenario> = {};
  for (const c of cases) scenarios[c.id] = c.scenario;
  /** Clean trials run per scenario and victim architecture that some case uses. */
  const cleanGroups: CleanGroup[] = [];
  for (const c of cases) if (!cleanGroups.some((g) => g.scenario === c.scenario && g.arch === c.arch)) cleanGroups.push({ scenario: c.scenario, arch: c.arch });
  const multiArch = new Set(cases.map((c) => c.arch)).size > 1 || (Array.isArray(options.arch) && new Set(options.arch).size > 1);
  /** What names a clean trial's seed: its scenario, and its architecture when a run has several. */
  const cleanKey = (g: CleanGroup) => (multiArch ? `${g.scenario}@${g.arch}` : g.scenario);
  /** The trial belongs to this run (so a run that reuses it keeps it in its result). */
  const includes = (r: Pick<TrialRecord, 'kind' | 'case' | 'scenario' | 'arch' | 'trial'>) => (r.kind === 'attack'
    ? r.case !== null && scenarios[r.case] === r.scenario && r.trial < trials
    : cleanGroups.some((g) => g.scenario === r.scenario && g.arch === r.arch) && r.trial < cleanTrials);
  return { full, attacks, cases, trials, cleanTrials, scenarios, cleanGroups, cleanKey, includes };
}

/**
 * The test split's roles: `reference` (the trusted set, drawn once per run with the run's
 * seed) and `pool` (the rest, where targets are drawn and accuracy is measured, each target
 * excluded from the accuracy of its own trial).
 */
export function splitTestForBench(test: Split, reference: number, seed: number): { reference: number[]; pool: number[] } {
  if (!Number.isInteger(reference) || reference < 0) throw new UserError(`--reference ${reference} must be a whole number of test samples (0 for none).`);
  if (reference > 0 && test.count - reference < 20) {
    throw new UserError(`--reference ${reference} leaves ${Math.max(0, test.count - reference)} of the ${test.count} test samples for targets and accuracy; use at most ${Math.max(0, test.count - 20)}.`);
  }
  const order = Array.from({ length: test.count }, (_, i) => i);
  if (reference > 0) createRng(hashSeed(`${seed}|reference`)).shuffle(order);
  const ref = order.slice(0, reference).sort((a, b) => a - b);
  const inRef = new Set(ref);
  return { reference: ref, pool: Array.from({ length: test.count }, (_, i) => i).filter((i) => !inRef.has(i)) };
}

/** A view of the first k neighbours of each row of a graph with more. */
export function truncateGraph(graph: NeighbourGraph, k: number): NeighbourGraph {
  if (k >= graph.k) return graph;
  const indices = new Int32Array(graph.n * k);
  const distances = new Float32Array(graph.n * k);
  for (let i = 0; i < graph.n; i++) {
    indices.set(graph.indices.subarray(i * graph.k, i * graph.k + k), i * k);
    distances.set(graph.distances.subarray(i * graph.k, i * graph.k + k), i * k);
  }
  return { n: graph.n, k, indices, distances };
}

/** Neighbours per sample a defence reads from the shared graph (0: it builds none). */
function neighboursFor(defence: string, n: number): number {
  if (isClearVariant(defence)) return Math.min(DEFAULT_SCAN_SETTINGS.neighbours, n - 1);
  if (defence === 'deep-knn') return chooseDeepKnnK(n);
  return 0;
}

/** The training split without some samples (indices are renumbered; nothing else changes). */
export function withoutSamples(ds: Dataset, remove: readonly number[]): Dataset {
  const drop = new Set(remove);
  const keep: number[] = [];
  for (let i = 0; i < ds.train.count; i++) if (!drop.has(i)) keep.push(i);
  const train = selectSamples(ds.train, ds.shape, keep);
  return { ...ds, name: `${ds.name} without ${drop.size} samples`, train, fingerprint: datasetFingerprint(ds.shape, ds.classNames, train, ds.test) };
}

export interface TrialSetup {
  /** The trial's own clean feature extractor, when the scenario or the attack needs one (the caller disposes it). */
  feature?: CleanFeatureModel;
  featureChecksum: number | null;
  /** The training data the victim learns from: poisoned in attack trials. */
  data: Dataset;
  /** One per target (none in clean trials). */
  manifests: AttackManifest[];
  featureSeconds: number;
  craftSeconds: number;
}

/**
 * Everything a trial builds before its victims: its clean feature extractor (transfer victims'
 * frozen φ; the clean-label attacker's φ, the white-box transfer threat model), its target(s)
 * and its poisons. Exported so development tools rebuild a benchmark trial exactly.
 */
export async function setupTrial(
  ds: Dataset, settings: { seed: number; arch: string; pool: number[]; epsilon?: number; cleanEpochs?: number },
  benchCase: BenchCase | null, scenario: Scenario, trialSeed: number, t: number, ctx: JobContext = {},
): Promise<TrialSetup> {
  const attack = benchCase?.attack ?? null;
  const out: TrialSetup = { featureChecksum: null, data: ds, manifests: [], featureSeconds: 0, craftSeconds: 0 };
  if (scenario === 'transfer' || (attack && ATTACKS[attack].cleanLabel)) {
    const tf0 = performance.now();
    const feature = await trainCleanFeatureModel(ds, settings.arch, trialSeed, ctx,
      settings.cleanEpochs !== undefined ? { epochs: settings.cleanEpochs } : {});
    out.feature = feature;
    out.featureSeconds = (performance.now() - tf0) / 1000;
    const first = feature.model.getWeights()[0];
    out.featureChecksum = tf.tidy(() => tf.sum(tf.abs(first)).dataSync()[0]);
  }
  if (!benchCase || !attack) return out;
  try {
    const rng = createRng(targetSeedOf(settings.seed, attack, t));
    const first = settings.pool[rng.int(settings.pool.length)];
    let attackerClass = rng.int(ds.classNames.length - 1);
    if (attackerClass >= ds.test.labels[first]) attackerClass++;
    const targetIndices = [first];
    if (benchCase.targets > 1) {
      // Further targets: other test samples (not of the attacker's class), same attacker class.
      const candidates = settings.pool.filter((i) => i !== first && ds.test.labels[i] !== attackerClass);
      for (let j = 1; j < benchCase.targets; j++) targetIndices.push(candidates.splice(rng.int(candidates.length), 1)[0]);
    }
    const t0 = performance.now();
    for (const [j, targetIndex] of targetIndices.entries()) {
      const params: AttackParams = {
        targetIndex, attackerClass, poisons: benchCase.poisons, seed: trialSeed + j,
        ...caseParams(attack, scenario, benchCase.variant ?? undefined),
        ...(settings.epsilon !== undefined ? { epsilon: settings.epsilon } : {}),
        ...(ATTACKS[attack].cleanLabel && out.feature ? { featureModel: out.feature.parts } : {}),
        ...(out.manifests.length ? { excludeBases: out.manifests.flatMap((m) => m.poisonIndices) } : {}),
      };
      const crafted = await ATTACKS[attack].run(out.data, params, ctx);
      out.data = crafted.dataset;
      out.manifests.push(crafted.manifest);
    }
    out.craftSeconds = (performance.now() - t0) / 1000;
    return out;
  } catch (err) {
    out.feature?.model.dispose();
    throw err;
  }
}

export async function benchDefences(ds: Dataset, options: BenchOptions = {}, ctx: JobContext = {}): Promise<BenchResult> {
  const started = performance.now();
  const { full, attacks, cases, trials, cleanTrials, scenarios, cleanGroups, cleanKey } = benchPlan(options);
  const referenceSize = options.reference ?? 0;
  const defences = resolveDefences(options.defences, referenceSize);
  const seed = options.seed ?? 0;
  const roles = splitTestForBench(ds.test, referenceSize, seed);
  const referenceSplit = roles.reference.length ? selectSamples(ds.test, ds.shape, roles.reference) : undefined;
  const wanted = defences.map((d) => d.name);
  const calibrated = wanted.filter((n) => !isClearVariant(n) && n !== 'none');
  const seedKey = (benchCase: BenchCase | null, group: CleanGroup) => benchCase?.id ?? cleanKey(group);
  const reusable = (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number): TrialRecord | undefined =>
    options.previous?.find((r) => r.kind === kind && r.case === (benchCase?.id ?? null) && r.scenario === group.scenario && r.arch === group.arch
      && r.trial === t && r.seed === trialSeedOf(seed, kind, seedKey(benchCase, group), t) && wanted.every((n) => r.defences.some((d) => d.defence === n))
      && calibrated.every((n) => kind === 'clean' || n in r.calibrationScores));

  const totalUnits = cases.length * trials + cleanGroups.length * cleanTrials;
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

  /** Scores the baselines on a model nobody else scores (a counterfactual clean victim). */
  const calibrationScores = async (model: tfl.LayersModel, data: Dataset, trialSeed: number): Promise<Record<string, number>> => {
    const scores: Record<string, number> = {};
    const runs = defences.filter((d) => calibrated.includes(d.name));
    if (!runs.length) return scores;
    const k = Math.max(1, ...runs.map((d) => neighboursFor(d.name, data.train.count)));
    const prep = await prepareScan({ model, metadata: {} }, data, { neighbours: k, normalisation: 'l2' }, inner);
    for (const d of runs) {
      const r = await d.detect({
        model, parts: prep.parts, dataset: data, embedding: prep.embedding, graph: prep.graph, seed: trialSeed,
        ...(referenceSplit ? { reference: referenceSplit } : {}),
      }, inner);
      scores[d.name] = Number.isFinite(r.summary) ? r.summary : 0;
    }
    return scores;
  };

  const runTrial = async (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number): Promise<TrialRecord> => {
    throwIfCancelled(ctx.signal);
    const { scenario, arch: victimArch } = group;
    const trialSeed = trialSeedOf(seed, kind, seedKey(benchCase, group), t);
    const attack = benchCase?.attack ?? null;
    const record: TrialRecord = {
      kind, case: benchCase?.id ?? null, attack, variant: benchCase?.variant ?? null, scenario, arch: victimArch, trial: t, seed: trialSeed,
      targetIndex: null, targetClass: null, attackerClass: null, targets: [], poisonIndices: [], baseIndices: [], attackSettings: null,
      cleanVictimCorrect: null, targetFlipped: false, attackSucceeded: false, targetBefore: null, cleanAccBefore: 0, cleanVictimAcc: null,
      calibrationScores: {}, featureChecksum: null, trainSeconds: 0, cleanVictimSeconds: 0, featureSeconds: 0, craftSeconds: 0, prepareSeconds: 0, defences: [],
    };
    const disposers: (() => void)[] = [];
    try {
      const setup = await setupTrial(ds, { seed, arch: victimArch, pool: roles.pool, epsilon: options.epsilon, cleanEpochs: options.cleanEpochs }, benchCase, scenario, trialSeed, t, inner);
      const { feature, data, manifests } = setup;
      if (feature) disposers.push(() => feature.model.dispose());
      Object.assign(record, { featureSeconds: setup.featureSeconds, featureChecksum: setup.featureChecksum, craftSeconds: setup.craftSeconds });
      if (manifests.length) {
        const m0 = manifests[0];
        Object.assign(record, {
          targetIndex: m0.targetIndex, targetClass: m0.targetClass, attackerClass: m0.attackerClass,
          poisonIndices: manifests.flatMap((m) => m.poisonIndices), baseIndices: manifests.flatMap((m) => m.baseIndices ?? []),
          attackSettings: m0.settings,
        });
      }
      const targetIdx = manifests.map((m) => m.targetIndex);
      const exclude = [...roles.reference, ...targetIdx];
      const victimOptions = {
        arch: victimArch, seed: trialSeed, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        ...(feature ? { frozenFeatureModel: feature } : {}),
      };
      const train = (trainData: Dataset) => trainVictim(trainData, scenario, victimOptions, inner);
      /** Accuracy on the accuracy split, and the targets' predictions, from one pass over the test split. */
      const evaluate = async (model: tfl.LayersModel) => {
        const e = await evaluateSplit(model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude });
        return { accuracy: e.accuracy, targets: targetIdx.map((i) => e.predicted[i]) };
      };

      const t1 = performance.now();
      const victim = await train(data);
      disposers.push(() => victim.model.dispose());
      record.trainSeconds = (performance.now() - t1) / 1000;
      const before = await evaluate(victim.model);
      record.cleanAccBefore = before.accuracy;

      if (manifests.length) {
        // The counterfactual: the same training without the poisons, same seed.
        const tc = performance.now();
        const cleanVictim = await train(ds);
        record.cleanVictimSeconds = (performance.now() - tc) / 1000;
        try {
          const cleanEval = await evaluate(cleanVictim.model);
          record.cleanVictimAcc = cleanEval.accuracy;
          record.targets = manifests.map((m, j) => ({
            targetIndex: m.targetIndex, targetClass: m.targetClass, cleanPredicted: cleanEval.targets[j], poisonedPredicted: before.targets[j],
          }));
          record.cleanVictimCorrect = record.targets.every((x) => x.cleanPredicted === x.targetClass);
          record.targetFlipped = record.targets.every((x) => x.poisonedPredicted === record.attackerClass);
          record.attackSucceeded = record.cleanVictimCorrect && record.targetFlipped;
          record.targetBefore = before.targets[0];
          record.calibrationScores = await calibrationScores(cleanVictim.model, ds, trialSeed);
        } finally {
          cleanVictim.model.dispose();
        }
      }

      const n = data.train.count;
      const k = Math.max(1, ...defences.map((d) => neighboursFor(d.name, n)));
      const tp = performance.now();
      const prep = await prepareScan({ model: victim.model, metadata: {} }, data, { neighbours: k, normalisation: 'l2' }, inner);
      record.prepareSeconds = (performance.now() - tp) / 1000;
      for (const d of defences) {
        throwIfCancelled(ctx.signal);
        const td = performance.now();
        const need = neighboursFor(d.name, n);
        const givenReference = Boolean(referenceSplit) && d.name !== 'clear';
        const input: DetectorInput = {
          model: victim.model, parts: prep.parts, dataset: data, embedding: prep.embedding, seed: trialSeed,
          ...(need > 0 ? { graph: truncateGraph(prep.graph, need) } : {}),
          ...(givenReference ? { reference: referenceSplit } : {}),
        };
        const r = await d.detect(input, inner);
        const scanSeconds = record.prepareSeconds + (performance.now() - td) / 1000;
        const found = [...r.flaggedSamples];
        const m = d.mitigation(r);
        const kindOfRepair: DefenceRecord['mitigation'] = d.name === 'none' ? 'none' : m.kind === 'relabel' ? 'relabel-finetune' : 'remove-retrain';
        let targetAfter = record.targetBefore;
        let otherTargetsAfter = before.targets.slice(1);
        let cleanAccAfter = record.cleanAccBefore;
        let repairSeconds = 0;
        let repaired = false;
        const hasWork = m.kind === 'relabel' ? m.labels.length > 0 : m.indices.length > 0;
        // Repairs matter only where the attack succeeded and the counted verdict flagged. A
        // defence judged by its own verdict repairs now; a calibrated one (remove, then retrain)
        // once the run's thresholds are known ({@link repairFlagged}).
        if (record.attackSucceeded && hasWork && m.kind === 'relabel' && r.flagged && !calibrated.includes(d.name)) {
          const tr = performance.now();
          const repairedModel = await cloneModel(victim.model);
          try {
            await fineTune(repairedModel, data, { relabel: new Map(m.labels.map((l) => [l.index, l.label] as [number, number])) }, { seed: trialSeed, ...options.fineTune }, inner);
            repairSeconds = (performance.now() - tr) / 1000;
            repaired = true;
            const after = await evaluate(repairedModel);
            cleanAccAfter = after.accuracy;
            targetAfter = after.targets[0];
            otherTargetsAfter = after.targets.slice(1);
          } finally { repairedModel.dispose(); }
        }
        const pr = precisionRecall(found, record.poisonIndices);
        record.defences.push({
          defence: d.name, flagged: r.flagged, verdictRule: calibrated.includes(d.name) ? 'calibrated' : 'own', ownFlagged: r.flagged,
          attempt: typeof r.attempt === 'boolean' ? r.attempt : null,
          found, precision: pr.precision, recall: pr.recall,
          targetBefore: record.targetBefore, targetAfter, otherTargetsAfter, cleanAccBefore: record.cleanAccBefore, cleanAccAfter,
          scanSeconds, repairSeconds, trainSeconds: record.trainSeconds, repaired,
          mitigation: kindOfRepair, summaryScore: Number.isFinite(r.summary) ? r.summary : 0,
          falseAlarm: typeof r.info.falseAlarm === 'number' ? r.info.falseAlarm : null,
          reference: givenReference,
        });
      }
    } finally {
      // The split models share their model's layers: disposing the model frees them all.
      for (const dispose of disposers.reverse()) dispose();
    }
    doneUnits++;
    return record;
  };

  const records: TrialRecord[] = [];
  const step = async (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number, label: string) => {
    const earlier = reusable(kind, benchCase, group, t);
    if (earlier) {
      // Only the defences asked for now, in the order asked for.
      records.push({ ...earlier, defences: wanted.map((n) => earlier.defences.find((d) => d.defence === n)!) });
      doneUnits++;
      reusedUnits++;
      progress(`${label} (from the checkpoint)`);
      return;
    }
    progress(label);
    const record = await runTrial(kind, benchCase, group, t);
    records.push(record);
    options.onTrial?.(record);
  };
  for (const c of cases) {
    for (let t = 0; t < trials; t++) await step('attack', c, { scenario: c.scenario, arch: c.arch }, t, `${c.id}: trial ${t + 1} of ${trials}`);
  }
  for (const g of cleanGroups) {
    for (let t = 0; t < cleanTrials; t++) await step('clean', null, g, t, `clean (${g.scenario}, ${g.arch}): trial ${t + 1} of ${cleanTrials}`);
  }
  progress('done');

  const calibration = calibrate(records, cleanGroups, calibrated);
  applyVerdicts(records, calibration);

  await repairFlagged(ds, records, {
    cases, seed, pool: roles.pool, reference: roles.reference, epsilon: options.epsilon, epochs: options.epochs, cleanEpochs: options.cleanEpochs,
    onTrial: options.onTrial, onRepair: (i, n) => progress(`repairing with the flagging defences' own mitigation: trial ${i + 1} of ${n}`),
  }, inner);
  const summary = summarise(records, cases, wanted);
  const caseSummaries = summariseCases(records, cases);
  const comparisons = compareDefences(records, cases, wanted);
  const rocs = rocPlots(records, cases, wanted);
  const attackSettings: AttackSettingsReport[] = cases.map((c) => ({
    case: c.id, attack: c.attack, variant: c.variant,
    used: records.find((r) => r.case === c.id)?.attackSettings ?? null,
    published: PUBLISHED_SETTINGS[c.attack],
  }));
  const info = backendInfo();
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    argv: options.argv ?? [],
    backend: { name: backendName(), threads: info?.threads ?? 1 },
    dataset: {
      spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint, trainCount: ds.train.count, testCount: ds.test.count,
      ...(options.data?.limit !== undefined ? { limit: options.data.limit } : {}),
      ...(options.data?.dataSeed !== undefined ? { dataSeed: options.data.dataSeed } : {}),
    },
    settings: {
      attacks, cases, defences: wanted, trials, cleanTrials, seed, scenarios,
      archs: { e2e: [...new Set(cases.filter((c) => c.scenario === 'e2e').map((c) => c.arch))], transfer: [...new Set(cases.filter((c) => c.scenario === 'transfer').map((c) => c.arch))] },
      poisons: Object.fromEntries(cases.map((c) => [c.id, c.poisons])),
      ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.cleanEpochs !== undefined ? { cleanEpochs: options.cleanEpochs } : {}),
      full, variants: options.variants ?? [],
      reference: { size: roles.reference.length, indices: roles.reference },
      verdictRules: Object.fromEntries(wanted.map((n) => [n, calibrated.includes(n) ? 'calibrated' : 'own'])),
      calibrationLevel: CALIBRATION_LEVEL,
    },
    attackSettings,
    cases: caseSummaries,
    calibration,
    trials: records,
    summary,
    comparisons,
    rocs,
    markdown: benchMarkdown({ cases: caseSummaries, summary, comparisons, calibration, attackSettings }),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Thresholds for the calibrated verdicts: per scenario and defence, the scores of the
 * counterfactual clean victims (clean models no rate is computed on). With n scores sorted
 * ascending, the threshold is the k-th, k = min(n, ⌈(1 − level)(n + 1)⌉), and a model is
 * flagged when its score is above it: for exchangeable clean scores that flags a new clean
 * model with probability (n + 1 − k) / (n + 1), which is ≤ level once n ≥ 1 / level − 1 (with
 * fewer models, the threshold is their largest score and the attained level is reported).
 */
export function calibrate(records: TrialRecord[], groups: CleanGroup[], defences: string[], level = CALIBRATION_LEVEL): Calibration[] {
  const out: Calibration[] = [];
  for (const { scenario, arch } of groups) {
    for (const defence of defences) {
      const scores = records.filter((r) => r.kind === 'attack' && r.scenario === scenario && r.arch === arch && defence in r.calibrationScores)
        .map((r) => r.calibrationScores[defence]).sort((a, b) => a - b);
      const n = scores.length;
      const k = Math.min(n, Math.ceil((1 - level) * (n + 1)));
      out.push({ scenario, arch, defence, models: n, threshold: n ? scores[k - 1] : null, level, attainedLevel: n ? (n + 1 - k) / (n + 1) : null });
    }
  }
  return out;
}

/**
 * The calibrated defences' repairs, once the run's thresholds are known: in each successful
 * attack whose counted verdict flagged and that no earlier run repaired, remove what the
 * defence found, then retrain (the head on the trial's own frozen extractor in transfer, the
 * whole model end to end), with the trial's seed. The poisoned data is rebuilt from the
 * trial's seeds (setupTrial); the poisoned victim itself is not needed. Each repaired record
 * is passed to `onTrial` again (a later checkpoint line supersedes an earlier one).
 */
export async function repairFlagged(
  ds: Dataset, records: TrialRecord[],
  settings: {
    cases: BenchCase[]; seed: number; pool: number[]; reference: number[]; epsilon?: number; epochs?: number; cleanEpochs?: number;
    onTrial?: (record: TrialRecord) => void; onRepair?: (i: number, n: number) => void;
  },
  ctx: JobContext = {},
): Promise<number> {
  const pending = records.filter((r) => r.kind === 'attack' && r.attackSucceeded && r.defences.some(needsRepair));
  for (const [i, r] of pending.entries()) {
    throwIfCancelled(ctx.signal);
    settings.onRepair?.(i, pending.length);
    const benchCase = settings.cases.find((c) => c.id === r.case);
    if (!benchCase) throw new Error(`Trial ${r.trial} of ${String(r.case)} belongs to no case of this run.`);
    const setup = await setupTrial(ds, { seed: settings.seed, arch: r.arch, pool: settings.pool, epsilon: settings.epsilon, cleanEpochs: settings.cleanEpochs }, benchCase, r.scenario, r.seed, r.trial, ctx);
    try {
      const exclude = [...settings.reference, ...r.targets.map((x) => x.targetIndex)];
      for (const d of r.defences.filter(needsRepair)) {
        const tr = performance.now();
        const repaired = await trainVictim(withoutSamples(setup.data, d.found), r.scenario, {
          arch: r.arch, seed: r.seed, ...(settings.epochs !== undefined ? { epochs: settings.epochs } : {}),
          ...(setup.feature ? { frozenFeatureModel: setup.feature } : {}),
        }, ctx);
        try {
          d.repairSeconds = (performance.now() - tr) / 1000;
          const e = await evaluateSplit(repaired.model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude });
          d.repaired = true;
          d.cleanAccAfter = e.accuracy;
          d.targetAfter = e.predicted[r.targets[0].targetIndex];
          d.otherTargetsAfter = r.targets.slice(1).map((x) => e.predicted[x.targetIndex]);
        } finally { repaired.model.dispose(); }
      }
    } finally { setup.feature?.model.dispose(); }
    settings.onTrial?.(r);
  }
  return pending.length;
}

/** A calibrated defence flagged a model and has samples to remove, and no repair was made yet. */
function needsRepair(d: DefenceRecord): boolean {
  return d.verdictRule === 'calibrated' && d.mitigation === 'remove-retrain' && d.flagged && !d.repaired && d.found.length > 0;
}

/** Sets every record's counted verdict: own for CLEAR and `none`, calibrated for the baselines. */
export function applyVerdicts(records: TrialRecord[], calibration: Calibration[]): void {
  for (const r of records) {
    for (const d of r.defences) {
      if (d.verdictRule !== 'calibrated') { d.flagged = d.ownFlagged; continue; }
      const c = calibration.find((x) => x.scenario === r.scenario && x.arch === r.arch && x.defence === d.defence);
      d.flagged = c?.threshold !== null && c?.threshold !== undefined && d.summaryScore > c.threshold;
    }
  }
}

/** Area under the ROC curve of `positive` against `negative` scores (Mann–Whitney, ties half). */
export function rocAuc(positive: number[], negative: number[]): number | null {
  if (!positive.length || !negative.length) return null;
  let wins = 0;
  for (const p of positive) for (const n of negative) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positive.length * negative.length);
}

const count = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length;

/** The attack still works after this defence's repair (it counts only where the defence flagged). */
function stillSucceeds(r: TrialRecord, d: DefenceRecord): boolean {
  if (!d.flagged || !d.repaired) return true;
  return d.targetAfter === r.attackerClass && d.otherTargetsAfter.every((p) => p === r.attackerClass);
}

function defenceOf(r: TrialRecord, defence: string): DefenceRecord | undefined {
  return r.defences.find((x) => x.defence === defence);
}

export function summariseCases(records: TrialRecord[], cases: BenchCase[]): CaseSummary[] {
  return cases.map((c) => {
    const rs = records.filter((r) => r.kind === 'attack' && r.case === c.id);
    return {
      case: c.id, attack: c.attack, variant: c.variant, scenario: c.scenario, arch: c.arch, poisons: c.poisons,
      attempts: rs.length,
      success: rateOf(count(rs, (r) => r.attackSucceeded), rs.length),
      cleanVictimWrong: count(rs, (r) => r.cleanVictimCorrect === false),
      flippedNotCounted: count(rs, (r) => r.targetFlipped && !r.attackSucceeded),
      meanCleanVictimAcc: mean(rs.map((r) => r.cleanVictimAcc).filter((v): v is number => v !== null)),
      meanPoisonedAcc: mean(rs.map((r) => r.cleanAccBefore)),
    };
  });
}

export function summarise(records: TrialRecord[], cases: BenchCase[], defences: string[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const c of cases) {
    const trials = records.filter((r) => r.kind === 'attack' && r.case === c.id);
    const cleans = records.filter((r) => r.kind === 'clean' && r.scenario === c.scenario && r.arch === c.arch);
    for (const defence of defences) {
      const per = trials.map((r) => ({ r, d: defenceOf(r, defence)! })).filter((x) => x.d);
      const ok = per.filter((x) => x.r.attackSucceeded);
      const failed = per.filter((x) => !x.r.attackSucceeded);
      const flaggedOk = ok.filter((x) => x.d.flagged);
      const cleanPer = cleans.map((r) => defenceOf(r, defence)).filter((d): d is DefenceRecord => Boolean(d));
      const noticed = (d: DefenceRecord) => d.flagged || d.attempt === true;
      rows.push({
        case: c.id, attack: c.attack, scenario: c.scenario, arch: c.arch, defence,
        verdictRule: per[0]?.d.verdictRule ?? cleanPer[0]?.verdictRule ?? 'own',
        attempts: per.length,
        successful: ok.length,
        detection: rateOf(flaggedOk.length, ok.length),
        noticedFailed: rateOf(count(failed, (x) => noticed(x.d)), failed.length),
        noticedAll: rateOf(count(per, (x) => noticed(x.d)), per.length),
        falseAlarms: rateOf(count(cleanPer, (d) => d.flagged), cleanPer.length),
        successAfterRepair: rateOf(count(ok, (x) => stillSucceeds(x.r, x.d)), ok.length),
        scoreAuc: rocAuc(ok.map((x) => x.d.summaryScore), cleanPer.map((d) => d.summaryScore)),
        precisionFlagged: mean(flaggedOk.map((x) => x.d.precision ?? 0)),
        recallFlagged: mean(flaggedOk.map((x) => x.d.recall ?? 0)),
        precisionAll: mean(ok.map((x) => (x.d.flagged ? x.d.precision ?? 0 : 0))),
        recallAll: mean(ok.map((x) => (x.d.flagged ? x.d.recall ?? 0 : 0))),
        meanCleanAccDrop: mean(ok.map((x) => (x.d.flagged && x.d.repaired ? x.d.cleanAccBefore - x.d.cleanAccAfter : 0))),
        scanToTrain: mean(per.map((x) => x.d.scanSeconds / Math.max(x.d.trainSeconds, 1e-9))),
        repairToTrain: mean(ok.filter((x) => x.d.flagged).map((x) => x.d.repairSeconds / Math.max(x.d.trainSeconds, 1e-9))),
      });
    }
  }
  return rows;
}

/** Exact McNemar on detection of the successful attacks: each CLEAR variant against every other defence that can flag. */
export function compareDefences(records: TrialRecord[], cases: BenchCase[], defences: string[]): Comparison[] {
  const out: Comparison[] = [];
  for (const c of cases) {
    const ok = records.filter((r) => r.kind === 'attack' && r.case === c.id && r.attackSucceeded);
    for (const defence of defences.filter(isClearVariant)) {
      // Every other defence but `none` (which never flags), each pair of CLEAR variants once.
      for (const versus of defences.filter((n) => n !== defence && n !== 'none' && !(isClearVariant(n) && defences.indexOf(n) < defences.indexOf(defence)))) {
        const paired = ok.map((r) => [defenceOf(r, defence), defenceOf(r, versus)] as const).filter(([a, b]) => a && b);
        const test = mcnemarExact(paired.map(([a]) => a!.flagged), paired.map(([, b]) => b!.flagged));
        out.push({ case: c.id, scenario: c.scenario, arch: c.arch, defence, versus, trials: paired.length, defenceOnly: test.firstOnly, versusOnly: test.secondOnly, pValue: test.pValue });
      }
    }
  }
  return out;
}

/** One ROC plot per case: every defence's summary score, successful attacks against the scenario's clean models. */
export function rocPlots(records: TrialRecord[], cases: BenchCase[], defences: string[]): RocPlot[] {
  return cases.map((c) => {
    const ok = records.filter((r) => r.kind === 'attack' && r.case === c.id && r.attackSucceeded);
    const cleans = records.filter((r) => r.kind === 'clean' && r.scenario === c.scenario && r.arch === c.arch);
    const scores = (rs: TrialRecord[], d: string) => rs.map((r) => defenceOf(r, d)).filter((x): x is DefenceRecord => Boolean(x)).map((x) => x.summaryScore);
    const series = defences.map((d) => {
      const points = rocCurve(scores(ok, d), scores(cleans, d));
      return { name: d, points, auc: rocArea(points) };
    });
    return { case: c.id, scenario: c.scenario, arch: c.arch, positives: ok.length, negatives: cleans.length, series };
  });
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(0)}%`);
const pp = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)} pp`);
const ratio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);
const num = (v: number | null) => (v === null ? '–' : v.toFixed(2));
/** "40% (4/10; 12–74%)": the rate, its count and its exact 95% interval. */
export const rate = (r: Rate) => (r.n === 0 ? '– (0/0)' : `${pct(r.rate)} (${r.k}/${r.n}; ${pct(r.ci!.lower)}–${pct(r.ci!.upper)})`);
const pValue = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));
const settingText = (s: Record<string, unknown> | null) => (s === null ? '–' : Object.entries(s)
  .filter(([k]) => k !== 'finalLoss' && k !== 'coefficients')
  .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(3)) : String(v)}`).join(', '));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function summaryMarkdown(rows: SummaryRow[]): string {
  return table(
    ['case', 'defence', 'verdict', 'detection (successful attacks)', 'noticed (failed attempts)', 'false alarms (clean models)', 'score AUC',
      'ASR after repair', 'precision / recall (flagged)', 'precision / recall (all successful)', 'clean-acc drop', 'scan / train', 'repair / train'],
    rows.map((r) => [
      `${r.case} (${r.scenario}, ${r.arch})`, r.defence, r.verdictRule, rate(r.detection), rate(r.noticedFailed), rate(r.falseAlarms), num(r.scoreAuc),
      rate(r.successAfterRepair), `${num(r.precisionFlagged)} / ${num(r.recallFlagged)}`, `${num(r.precisionAll)} / ${num(r.recallAll)}`,
      pp(r.meanCleanAccDrop), ratio(r.scanToTrain), ratio(r.repairToTrain),
    ]),
  );
}

export function benchMarkdown(parts: {
  cases: CaseSummary[]; summary: SummaryRow[]; comparisons: Comparison[]; calibration: Calibration[]; attackSettings: AttackSettingsReport[];
}): string {
  const attempts = table(
    ['case', 'poisons per target', 'attempts', 'successes (clean victim right, poisoned victim says A)', 'clean victim wrong', 'flipped, not counted', 'accuracy clean / poisoned victim'],
    parts.cases.map((c) => [
      `${c.case} (${c.scenario}, ${c.arch})`, `${c.poisons}`, `${c.attempts}`, rate(c.success), `${c.cleanVictimWrong}`, `${c.flippedNotCounted}`,
      `${pct(c.meanCleanVictimAcc)} / ${pct(c.meanPoisonedAcc)}`,
    ]),
  );
  const settings = table(
    ['case', 'settings used', 'papers\' settings', 'source', 'departures'],
    parts.attackSettings.map((a) => [
      a.case, settingText(a.used), settingText(a.published.settings), a.published.source, a.published.departures.join('; ') || '–',
    ]),
  );
  const mcnemar = table(
    ['case', 'defence', 'versus', 'successful attacks', 'only defence flagged', 'only versus flagged', 'exact McNemar p'],
    parts.comparisons.map((c) => [`${c.case} (${c.scenario}, ${c.arch})`, c.defence, c.versus, `${c.trials}`, `${c.defenceOnly}`, `${c.versusOnly}`, pValue(c.pValue)]),
  );
  const calibration = table(
    ['scenario', 'victim', 'defence', 'clean models', 'threshold (flag above)', 'nominal level', 'attained level'],
    parts.calibration.map((c) => [c.scenario, c.arch, c.defence, `${c.models}`, num(c.threshold), pct(c.level), c.attainedLevel === null ? '–' : `${(c.attainedLevel * 100).toFixed(1)}%`]),
  );
  return [
    '### Attacks: attempts and counterfactual successes', '', attempts, '',
    '### Attack settings next to the papers\'', '', settings, '',
    '### Defences', '',
    'Rates are given as rate (count; exact 95% Clopper–Pearson interval). "Noticed" counts a flagged model or a reported poisoning attempt. Precision and recall (flagged): means over the successful attacks the defence flagged; (all successful): means over every successful attack, a model not flagged counting as nothing found.', '',
    summaryMarkdown(parts.summary), '',
    '### CLEAR against each defence (detection of the same successful attacks)', '', mcnemar, '',
    '### Calibrated verdicts (baselines): thresholds from the counterfactual clean victims', '', calibration,
  ].join('\n');
}
