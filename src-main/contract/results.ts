/**
 * The scan and repair results: plain JSON-serialisable data that crosses every process
 * boundary. The engine produces them, the CLI writes them to files, and the desktop app stores
 * them in the project; its charts read `statistics` directly. Types and schema names only.
 */
import type { AttackName, ScanReportFormat, Scenario } from './catalogue.js';
import type { ModelFileFormat } from './format.js';

export const SCAN_SCHEMA = 'clear-scan/2';
export const REPAIR_SCHEMA = 'clear-repair/1';
export const BENCH_SCHEMA = 'clear-bench/2';
export const PERF_SCHEMA = 'clear-bench-perf/1';

/**
 * Default family-wise level at which a scan reports a pocket or a poisoning attempt: the
 * chance, on a clean model, that the scan reports anything. The null is measured on the model
 * being scanned (engine/clear/calibrate.ts); the README's benchmark table gives the
 * false-alarm rate measured on clean models at this level and at 5%.
 */
export const DEFAULT_FALSE_ALARM = 0.01;

/**
 * How a model is fed when not the pixels as read (0–1): (pixel × scale − mean[c]) / std[c], one
 * mean and std for every channel or one per channel (engine/model/input-transform.ts).
 */
export interface InputTransform {
  scale: number;
  mean: number[];
  std: number[];
}

export interface ScanSettings {
  featureLayer: string;
  normalisation: 'l2' | 'standardise';
  neighbours: number;
  falseAlarm: number;
  minShellPurity: number;
  probesPerPocket: number;
  /** Random border groups scored to measure this model's null (calibrate.ts). */
  nullGroups: number;
  seed: number;
  /** The trusted labelled reference set used for held-out support, or null when the scan had none. */
  reference: string | null;
  /** Neighbour graph: exact, approximate, or `auto` (the default: approximate above `approximateAbove` samples). */
  graph?: 'auto' | 'exact' | 'approximate';
  /** Samples above which `auto` builds the approximate graph (default 100,000). */
  approximateAbove?: number;
}

/** How a scan's neighbour graph was made. */
export interface NeighbourGraphRecord {
  /** Built here exactly or approximately, or imported from a file computed elsewhere (`neighbourGraphFrom`). */
  method: 'exact' | 'approximate' | 'imported';
  requested: 'auto' | 'exact' | 'approximate';
  /** Share of the exact K nearest kept, measured on `recallRows` sampled rows; null for the exact graph. */
  recall: number | null;
  recallRows: number;
  /** Candidates re-ranked exactly per sample (approximate graph; the file's columns for an imported one). */
  candidates: number | null;
  /** The file an imported graph came from. */
  file?: string;
  /** Why the graph is not the one asked for, when it is not. */
  note?: string;
  /** Seconds spent measuring the recall (included in the neighbours stage). */
  recallSeconds?: number;
}

export interface PocketTightness {
  /** Training points not labelled A within ε of the hull (want 0). */
  contamination: number;
  /** Max pairwise member distance (normalised feature space). */
  diameter: number;
  /** Mean pairwise member distance ÷ median K-NN distance inside the enclosing class (≈ 0 for near-duplicates). */
  relativeSpread: number;
  /** Share of the enclosing class among the nearest points outside the hull. */
  shellPurity: number;
}

export interface Pocket {
  id: number;
  /** Training-split indices of the samples that form the pocket, ascending. */
  members: number[];
  /**
   * Where each member came from, in `members` order: a file in a folder dataset (`cat/001.png`),
   * a CSV line (`data.csv:14`), an item of an IDX, NumPy or CIFAR file (`data.npz[x_train][12]`),
   * the built-in digits' place in their package (`mnist[3][17]`). Absent when the training data
   * did not record it (data built in memory, scans made before sources were kept): the field is
   * optional, so those scans keep the schema `clear-scan/2` and still read. Display only: no
   * repair decision reads it.
   */
  sources?: string[];
  attackerClass: number;
  enclosingClass: number;
  /** Pocket score: higher = more unlike this model's natural pockets. */
  score: number;
  /** Chance that a natural pocket of this model scores at least this high (family-wise). */
  pValue: number;
  /** pValue ≤ the false-alarm rate and the model learnt some of it: reported as a backdoor pocket and repaired. */
  confirmed: boolean;
  /** How far the model learnt the group: the larger of fittedRate and interiorAttackerRate. */
  learnt: number;
  /**
   * Family-wise p-value of the group as a poisoning attempt: its structure alone (depth, size,
   * duplication), for a group the model did not learn (learnt < 0.5); 1 for a learnt group.
   */
  attemptPValue: number;
  /** Not a confirmed pocket, and attemptPValue ≤ the false-alarm rate: reported as a poisoning attempt the model did not learn. */
  attempt: boolean;
  /** How the group was found: grown as a pocket, from samples whose neighbours outvote their label, or both. */
  origin: 'pocket' | 'disagreement' | 'both';
  /**
   * The nearest training samples outside the group that the scan judged it by (its shell),
   * nearest first; samples later gathered into a reported group are members, not shell.
   */
  shell: number[];
  /** Training samples of another label within ε of the hull (a target in the training set would be one). */
  contaminants: number[];
  tightness: PocketTightness;
  /** Share of hull-interior probes the head predicts as the attacker class. */
  interiorAttackerRate: number;
  /** Mean fraction of the way from the hull to its shell where the head's prediction leaves A (the pocket's radius). */
  flipDistance: number;
  /** Share of members the model predicts as A (the model fitted them). */
  fittedRate: number;
  /** The score's parts, for "why this was flagged". */
  evidence: Record<string, number>;
  /** One plain-language paragraph. */
  explanation: string;
}

/**
 * Crafted samples on their own (engine/clear/crafted.ts): a class's most fragile training
 * samples under squeezing, apart from the rest of the class, whatever their neighbours.
 */
export interface CraftedGroup {
  id: number;
  /** The class the samples are labelled (and sit in). */
  classIndex: number;
  /** Training-split indices, most fragile first; members of reported pockets and attempts left out. */
  members: number[];
  /** Where each member came from, in `members` order, when the data recorded it. */
  sources?: string[];
  /** Each member's squeezing drift as a multiple of this model's typical drift, in `members` order. */
  driftRatios: number[];
  /** The drift ratio of the class's next most fragile sample: the lower edge of the gap. */
  nextRatio: number;
  /** Family-wise p-value over the classes and group sizes tested; reported at or under the false-alarm level. */
  pValue: number;
  explanation: string;
}

export interface PairStatistics {
  attackerClass: number;
  enclosingClass: number;
  seeds: number;
  candidates: number;
  pockets: number;
  bestScore: number | null;
  members: number;
}

export interface ClassStatistics {
  classIndex: number;
  className: string;
  samples: number;
  /** Seeds labelled with this class (as attacker class A). */
  seeds: number;
  candidates: number;
  pockets: number;
  bestScore: number | null;
  members: number;
}

/**
 * How a scan or a repair was run, for a report's chain of custody: the product and tfjs
 * versions and the `--limit` subset the data was cut to. Optional: files written before it was
 * kept still read.
 */
export interface RunProvenance {
  appVersion: string;
  tfjsVersion: string;
  /** The seeded subset of the training split (`--limit`), null for all of it. */
  limit: number | null;
  /** The subset's seed (`--data-seed`), null when none was given. */
  dataSeed: number | null;
}

/** A repair's provenance also names the scan it followed and that file's SHA-256 when it was read. */
export interface RepairProvenance extends RunProvenance { scan: string; scanSha256: string }

export interface ScanResult {
  schema: typeof SCAN_SCHEMA;
  provenance?: RunProvenance;
  createdAt: string;
  settings: ScanSettings;
  backend: string;
  dataset: { spec: string; name: string; fingerprint: string; trainCount: number; classNames: string[] };
  /** `input`: how the scan fed the model, when not the pixels as read. */
  model: { dir: string; fingerprint: string; featureLayer: string; featureDim: number; input?: InputTransform };
  verdict: {
    /** A backdoor is learnt: at least one confirmed pocket. */
    suspected: boolean;
    /** No pocket confirmed, but the training data holds a poisoning attempt the model did not learn (a group its neighbours contradict, or crafted samples). */
    attempt: boolean;
    /** 'Backdoor suspected', 'Poisoning attempt found' or 'No backdoor found': the verdict in a few words. */
    headline: string;
    falseAlarm: number;
    /** Smallest pocket p-value (1 when there are no candidates). */
    pValue: number;
    /** Smallest poisoning-attempt p-value (1 when no group is unlearnt). */
    attemptPValue: number;
    /** Crafted samples reported (`crafted`); absent in scans made before the test existed. */
    crafted?: boolean;
    /** Smallest crafted-samples p-value over the classes tested (1 when none could be). */
    craftedPValue?: number;
    /** The verdict in a sentence or two, without the headline. */
    summary: string;
  };
  /** The null the p-values come from, measured on this model and data. */
  calibration: {
    /** Random border groups scored. */
    nullGroups: number;
    /** Draws made to get them (a border sample whose neighbourhood gives no shell makes no group). */
    nullDraws: number;
    /** Border samples they were drawn from. */
    borderSamples: number;
    /** Natural groups the largest score is taken over (the max-statistic's family). */
    family: number;
    /** Exponential tail of the null's backdoor scores: threshold, share above it, scale (upper 95% bound). */
    backdoorTail: { threshold: number; share: number; scale: number };
    attemptTail: { threshold: number; share: number; scale: number };
    /** Scores of the null draws that made a group (attemptScore null for a learnt group). */
    nullScores: { score: number; attemptScore: number | null; size: number }[];
  };
  /** Every candidate group, best score first; `confirmed` marks the backdoor pockets. */
  pockets: Pocket[];
  /** Groups of crafted samples reported on their own; absent in scans made before the test existed. */
  crafted?: CraftedGroup[];
  statistics: { classes: ClassStatistics[]; pairs: PairStatistics[]; seeds: number; candidates: number };
  timings: {
    embed: number; neighbours: number; hulls: number; pocketTest: number; total: number;
    /**
     * Parts of the stages above, in seconds (absent in scans made before they were recorded):
     * of `neighbours`, the longer lists for the members of groups larger than K
     * (`extension`, for `extendedRows` samples); of `pocketTest`, squeezing every training
     * sample for the crafted-samples test and running it (`craftedTest`).
     */
    extension?: number; extendedRows?: number; craftedTest?: number;
    /**
     * The engine process's resident-memory peak during the scan, in MiB: the scan's own where
     * the process can reset its high-water mark (`rssScope` 'stage', Linux), else the peak
     * since the process started ('process'). Absent in scans made before it was recorded.
     */
    peakRssMiB?: number; rssScope?: 'stage' | 'process';
    neighbourGraph?: NeighbourGraphRecord;
  };
}

/** What a repair does with one reported group's members. */
export type RepairAction = 'relabel' | 'remove';
export const REPAIR_ACTIONS: readonly RepairAction[] = ['relabel', 'remove'];

/**
 * One reported group in a repair plan: `relabel` gives its members the enclosing class,
 * `remove` leaves them out of the fine-tuning data; either way the group's hull is closed in
 * the head. Members in `exclude` are left alone: they keep their label and stay in the data.
 */
export interface RepairPlanPocket { id: number; action: RepairAction; exclude: number[] }

/**
 * What a repair does with each reported group of its scan (backdoor pockets and poisoning
 * attempts). A reported group the plan does not name is relabelled whole, as without a plan.
 */
export interface RepairPlan { pockets: RepairPlanPocket[] }

export interface RepairResult {
  schema: typeof REPAIR_SCHEMA;
  provenance?: RepairProvenance;
  createdAt: string;
  backend: string;
  model: { from: string; fromFingerprint: string; out: string; fingerprint: string };
  relabelled: { index: number; from: number; to: number }[];
  /** Training samples left out of the fine-tuning data (members of groups the plan removes); absent in reports written before plans. */
  removed?: number[];
  /** The plan followed, one entry per reported group, defaults filled in; absent in reports written before plans. */
  plan?: RepairPlan;
  /** hullReplay and hullLearningRate are absent from reports written before the hull closing had its own settings. */
  settings: { epochs: number; learningRate: number; replay: number; interiorProbes: number; hullReplay?: number; hullLearningRate?: number; seed: number };
  before: { accuracy: number; perClass: number[]; suspected: boolean; openPockets: number };
  after: { accuracy: number; perClass: number[]; suspected: boolean; openPockets: number };
  /** Per repaired pocket: share of interior probes still predicted A, before and after. */
  pockets: { id: number; attackerClass: number; enclosingClass: number; interiorBefore: number; interiorAfter: number }[];
  /** Set when the target is known (simulated attack, benchmark). */
  target?: { split: 'test'; index: number; trueClass: number; attackerClass: number; before: number; after: number };
  rescan: ScanResult;
  seconds: number;
}

// ---- The other jobs' results ----------------------------------------------------------------
// Every engine job's result type lives here; contract/jobs.ts maps job names to them
// (JobResults) and the engine's handler table, the hosts, the CLI and the renderer all use that
// map, so a change to a result is a type error wherever it is read.

export interface PerClassAccuracy { className: string; count: number; accuracy: number }

/**
 * What a simulated attack did to a model trained on its poisoned data: set by `train` when the
 * data is a poisoned `dir:` folder with the attack's manifest.
 */
export interface AttackOutcome {
  attack: string | null;
  targetIndex: number;
  /** `B`, the target's true class, and `A`, the class the attack wants it read as. */
  targetClass: number;
  attackerClass: number;
  /** The target's predicted class by the model just trained on the poisoned data. */
  after: number;
  /**
   * The target's predicted class by a model without the poisons: a clean victim trained in the
   * same job on the attack's source data with the same settings, or a model given to compare
   * with (the project's model before poisoning); null when there was neither.
   */
  before: { predicted: number; by: 'clean-victim' | 'given-model'; model: string | null; accuracy: number | null } | null;
  /** How many poisons are in the training data, and how many of them the model predicts as the attacker class. */
  poisons: number;
  fitted: number;
  /** The target is predicted as the attacker class. */
  succeeded: boolean;
}

export interface TrainResult {
  model: string; fingerprint: string; architecture: string; backend: string; accuracy: number;
  perClass: PerClassAccuracy[];
  trainCount: number; testCount: number; trainSeconds: number; samplesPerSecond: number; batchSize: number; learningRate: number;
  /** Per epoch: mean training loss and accuracy, and (when `validation` is set) held-out loss and accuracy after it. */
  epochs: { epoch: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number; seconds: number }[];
  /** The held-out samples measured after every epoch: the test split, or an even spread of 2,000 of it. */
  validation?: { split: 'test'; count: number };
  dataset: { spec: string; name: string; fingerprint: string };
  /** Set when training started from a saved model; `featuresFrozen`: only a fresh last layer was trained, on its frozen features. */
  from?: { model: string; fingerprint: string; featureLayer: string; featuresFrozen: boolean };
  /** Set when the data holds a simulated attack (an attack manifest beside it). */
  attackOutcome?: AttackOutcome;
}

export interface EvalResult {
  model: string; split: 'train' | 'test'; backend: string; accuracy: number; count: number;
  perClass: PerClassAccuracy[]; modelFingerprint: string;
  dataset: { spec: string; fingerprint: string; classNames: string[] };
  /** Samples of the split by true class (rows) and predicted class (columns). */
  confusion: number[][];
  /** The class names the model carries, when it carries them. */
  modelClassNames: string[] | null;
  /**
   * What is suspect about this pair (engine/jobs/fit.ts): class names in another order or
   * differing, an accuracy far below chance-adjusted expectations. A reader acknowledges them
   * before a scan of the pair means anything.
   */
  warnings: string[];
  /**
   * What the product assumed to feed this model this data, stated so it can be checked (engine/jobs/fit.ts,
   * inputNotes): the order in which an ONNX model's flat input takes a colour image's values.
   */
  notes: string[];
}

export interface PredictResult {
  index: number; split: 'train' | 'test'; label: number; predicted: number; probabilities: number[]; classNames: string[]; backend: string;
}

export interface ModelMetadata {
  classNames?: string[];
  featureLayer?: string;
  architecture?: string;
  /** Fingerprint of the dataset the model was trained or repaired on. */
  trainedOn?: string;
  /** Set on repaired models: the fingerprint of the model they were repaired from. */
  repairedFrom?: string;
  createdAt?: string;
  /**
   * An ONNX model with a flat input: the order in which it takes an image's values, channels
   * first (CHW, PyTorch's flattening) unless the file's metadata declares HWC (engine/model/onnx.ts).
   */
  flatInputOrder?: { order: 'CHW' | 'HWC'; declared: boolean };
}

export interface InfoResult {
  model: string; fingerprint: string; inputShape: [number, number, number]; numClasses: number; featureLayer: string;
  metadata: ModelMetadata; parameters: number; backend: string;
  layers: { name: string; type: string; outputShape: string; parameters: number }[];
}

/** What `features` wrote: the scan's features of the training samples as a float32 .npy file. */
export interface FeaturesResult {
  /** The .npy file written, `samples × dim` float32, row i = training sample i. */
  out: string;
  samples: number;
  dim: number;
  featureLayer: string;
  normalisation: 'l2' | 'standardise';
  /** Neighbours per sample a scan builds by default: a neighbour index elsewhere searches for this + 1 (each row's match with itself). */
  neighbours: number;
  backend: string;
  seconds: number;
  model: { dir: string; fingerprint: string };
  dataset: { spec: string; name: string; fingerprint: string };
}

export type AttackSettingValue = number | string | boolean | number[];

/** What an attack records about the poisons it crafted (the engine's attacks return it). */
export interface AttackManifest {
  attack: AttackName;
  /** The target sample always comes from the held-out split, never from training. */
  targetSplit: 'test';
  targetIndex: number;
  /** `B`: the target's true class. */
  targetClass: number;
  /** `A`: the class the attacker wants the target classified as; every poison carries it. */
  attackerClass: number;
  /**
   * Indices of the poisons in the NEW (poisoned) training split: the appended tail, or, for
   * clean-label poisons that replace their bases, the bases' own indices.
   */
  poisonIndices: number[];
  /** Clean-label attacks: the training index of the base each poison was crafted from, in poison order. */
  baseIndices?: number[];
  /** Every setting the attack used, defaults included (JSON values only). */
  settings: Record<string, AttackSettingValue>;
  seed: number;
}

/** manifest.json beside a poisoned dataset: the attack's manifest and where its data came from. */
export interface PoisonedDataManifest extends AttackManifest {
  source: { data: string; fingerprint: string; limit: number | null; dataSeed: number | null };
  /** Clean-label attacks: the feature extractor the poisons were crafted against. */
  featureModel?: string;
}

export interface AttackResult {
  out: string; data: string; attack: AttackName; label: string; scenario: Scenario;
  manifest: PoisonedDataManifest; trainCount: number; seconds: number; backend: string;
}

export interface DatasetPreview {
  spec: string; name: string; shape: [number, number, number]; classNames: string[]; fingerprint: string;
  /** How the files were read, when the loader had a choice to state (a NumPy array's layout). */
  description?: string;
  trainCount: number; testCount: number;
  counts: { train: number[]; test: number[] };
  samples: { classIndex: number; index: number; png: string | null }[];
  /** The first test samples, as candidate targets for a simulated attack. */
  targets: { index: number; label: number; png: string | null }[];
}

/** Chosen samples of one split: each one's label, thumbnail (null for feature vectors) and where it came from (null when the data does not record it). */
export interface SampleImages {
  split: 'train' | 'test'; fingerprint: string;
  samples: { index: number; label: number; png: string | null; source: string | null }[];
}

export type PointRole = 'member' | 'shell' | 'nearby';

export interface PocketPoint { index: number; role: PointRole; x: number; y: number; label: number; predicted: number }

export interface PocketView {
  pocketId: number; attackerClass: number; enclosingClass: number; classNames: string[]; featureLayer: string;
  explainedVariance: number[];
  points: PocketPoint[];
  hull: [number, number][];
  pairs: {
    member: { index: number; label: number; predicted: number; png: string | null };
    neighbour: { index: number; label: number; predicted: number; png: string | null; distance: number } | null;
  }[];
}

export interface ExportReportResult { html: string; json: string; dir: string; pdf?: string }

/** A model written as one file (the wizard's Export step): the file, its format, size and SHA-256. */
export interface ExportModelFileResult { file: string; format: ModelFileFormat; bytes: number; fingerprint: string }

/**
 * A report written to a file (`clearwb report`): for CSV how many rows (flagged samples) from how
 * many reported groups; for every format the file's SHA-256, and for a PDF its pages. `notes`
 * say what the report could not include (thumbnails when the data cannot be read, …).
 */
export interface ScanReportResult {
  out: string; format: ScanReportFormat; rows: number; groups: number; withSources: boolean;
  sha256: string; pages?: number; notes: string[];
}

/** What every bench result shares (the full records are engine/bench's BenchResult and PerfResult, which extend these). */
export interface BenchSummary {
  schema: typeof BENCH_SCHEMA;
  createdAt: string; argv: string[];
  backend: { name: string; threads: number };
  settings: { trials: number; cleanTrials: number };
  markdown: string; seconds: number;
}

export interface PerfSummary {
  schema: typeof PERF_SCHEMA;
  createdAt: string; argv: string[];
  backend: { name: string; threads: number };
  training: { arch: string; backend: string; threads: number; batchSize: number; samples: number; seconds: number; samplesPerSecond: number }[];
  peakRssMiB: number;
  markdown: string; seconds: number;
}
