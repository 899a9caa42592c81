/**
 * The red team's shared vocabulary: what every attack takes, what it
 * returns, and the manifest that records exactly what it did so the benchmark can score a
 * defence against the true poison indices.
 */
import type { Dataset } from '../data/dataset.js';
import type { SplitModel } from '../features/split.js';
import type { JobContext } from '../progress.js';

export { ATTACK_NAMES, type AttackName } from '../../contract/catalogue.js';
import type { AttackName } from '../../contract/catalogue.js';

export type { AttackManifest, AttackSettingValue } from '../../contract/results.js';
import type { AttackManifest } from '../../contract/results.js';

/** A JSON-serialisable record of one attack: enough to score a defence and to rerun it. */
/** What the caller chooses. Settings an attack does not use are ignored (and not recorded). */
export interface AttackParams {
  /** Index of the target sample `t` in the test split. */
  targetIndex: number;
  /** `A`, the class the target should be pushed into. */
  attackerClass: number;
  /** Number of poisons to craft (`K`). */
  poisons: number;
  seed: number;
  /** cp, bp: L∞ budget of each poison around its base, in pixel units of [0, 1]. */
  epsilon?: number;
  /**
   * fc, cp, bp: the feature extractor φ the attacker optimises against (the white-box,
   * transfer-learning threat model of all three papers). Required for those attacks; see
   * trainCleanFeatureModel when the caller has none.
   */
  featureModel?: SplitModel;
  /** fc, cp, bp: optimisation steps. */
  iterations?: number;
  /** fc: gradient step size of the forward step; cp, bp: Adam step size on the poisons. */
  learningRate?: number;
  /** fc: β0 of the proximal term, before the paper's dimension scaling. */
  beta0?: number;
  /** fc: opacity γ of the target watermark blended into each poison (0 = none). */
  watermark?: number;
  /** label-flip: largest random shift, in pixels, of each copy of the target. */
  maxShift?: number;
  /** label-flip: standard deviation of the Gaussian pixel noise added to each copy. */
  noiseStd?: number;
  /**
   * fc, cp, bp: how bases are drawn from class `A`: `random` (the default, seeded by `seed`)
   * or `nearest` (the samples whose features lie nearest to φ(t), a stronger variant).
   */
  baseChoice?: BaseChoice;
  /**
   * fc, cp, bp: `replace` (the default, as published: each poison takes its base's place, so no
   * clean twin of a poison stays in the training set) or `append` (bases kept, poisons added).
   */
  placement?: Placement;
  /** fc, cp, bp: training indices never used as bases (e.g. the poisons of another target). */
  excludeBases?: number[];
}

export type BaseChoice = 'random' | 'nearest';
export type Placement = 'replace' | 'append';

export interface AttackResult {
  /** train = original train with the poisons appended (or in their bases' places); test unchanged. */
  dataset: Dataset;
  manifest: AttackManifest;
}

export type AttackFn = (ds: Dataset, params: AttackParams, ctx?: JobContext) => Promise<AttackResult>;

export interface AttackInfo {
  name: AttackName;
  /** Human name with its source paper. */
  label: string;
  /** Clean-label attacks keep the base's true label and need a feature extractor. */
  cleanLabel: boolean;
  /** The victim-training scenario the attack was designed for. */
  scenario: 'e2e' | 'transfer';
  /** Poisons crafted when the caller gives no count. */
  defaultPoisons: number;
  run: AttackFn;
}
