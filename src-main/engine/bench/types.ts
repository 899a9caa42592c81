/** The defence benchmark's records and results: what a trial, a case and a run are. */
import { DEFAULT_FALSE_ALARM, type BenchSummary } from '../../contract/results.js';
import type { AttackName, Scenario } from '../attacks/index.js';
import type { AttackVariant } from '../attacks/presets.js';
import type { FineTuneSettings } from '../clear/finetune.js';
import type { Rate, RocSeries } from './stats.js';

export { BENCH_SCHEMA } from '../../contract/results.js';

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
  /** Run only the variants' cases, not the published settings' (to extend a variant's trials). */
  variantsOnly?: boolean;
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
  /**
   * Further clean victims per successful attack, each with another seed (same data without the
   * poisons): an attack whose target they all classify correctly too *holds across seeds*.
   * 0 or absent: none. Added to finished trials on --resume.
   */
  cleanSeeds?: number;
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
   * Successful attacks, with --clean-seeds: further clean victims (other seeds, same data
   * without the poisons), each with its prediction of every target.
   */
  cleanSeedChecks?: CleanSeedCheck[];
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

export interface CleanSeedCheck {
  seed: number;
  /** This clean victim's prediction of each target, in the order of `targets`. */
  predicted: number[];
}

/**
 * Detection of the successful attacks split by whether they hold across seeds: every further
 * clean victim of the trial classifies its target(s) correctly too. An attack that does not
 * hold moved a target that clean training itself does not reliably get right.
 */
export interface SeedCheckRow {
  case: string;
  defence: string;
  /** Further clean victims per successful attack (the least any successful trial has). */
  seeds: number;
  successful: number;
  /** Successful attacks that hold across seeds. */
  holding: number;
  detectionHolding: Rate;
  detectionNotHolding: Rate;
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
  /** A poisoning attempt reported among the scenario's clean trials (not flagged): what "noticed" costs. */
  attemptAlarms: Rate;
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

/**
 * CLEAR's false alarms on the clean models at a given level α: a model counts when its scan's
 * smallest p-value (any group's, learnt or not; summaryScore = −log10 of it) is at most α. The
 * verdict at α also needs the group to be learnt, so this is an upper bound on it.
 */
export interface FalseAlarmLevel {
  /** A scenario, or 'all' for every clean model of the run. */
  scenario: Scenario | 'all';
  arch: string;
  defence: string;
  level: number;
  falseAlarms: Rate;
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
    poisons: Record<string, number>; epsilon?: number; epochs?: number; cleanEpochs?: number; cleanSeeds?: number; full: boolean;
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
  /** CLEAR's false alarms at 1% and 5% (absent from runs made before it was recorded). */
  levels?: FalseAlarmLevel[];
  /** With --clean-seeds: detection split by whether the successful attacks hold across seeds. */
  seedChecks?: SeedCheckRow[];
}
