/**
 * The scan and repair results: plain JSON-serialisable data that crosses every process
 * boundary. The engine produces them, the CLI writes them to files, and the desktop app stores
 * them in the project; its charts read `statistics` directly. Types only: no imports.
 */
export const SCAN_SCHEMA = 'clear-scan/1';
export const REPAIR_SCHEMA = 'clear-repair/1';

/**
 * Default family-wise level at which a scan reports a pocket. 1%, not 5%: the calibration
 * (engine/clear/calibrate.ts) understates how often a clean model's most unusual natural pocket
 * reaches a given p-value — at a 5% setting, 3 of 13 clean MNIST cnn models were reported in
 * the 2026-11-25 benchmark runs — so the nominal level is set below the rate we aim for. The
 * README's benchmark table gives the false-alarm rate measured at this default.
 */
export const DEFAULT_FALSE_ALARM = 0.01;

export interface ScanSettings {
  featureLayer: string;
  normalisation: 'l2' | 'standardise';
  neighbours: number;
  falseAlarm: number;
  minShellPurity: number;
  probesPerPocket: number;
  seed: number;
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
  attackerClass: number;
  enclosingClass: number;
  /** Pocket score: higher = more unlike this model's natural pockets. */
  score: number;
  /** Chance that a natural pocket of this model scores at least this high (family-wise). */
  pValue: number;
  /** pValue ≤ the false-alarm rate: reported as a backdoor pocket and repaired. */
  confirmed: boolean;
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

export interface ScanResult {
  schema: typeof SCAN_SCHEMA;
  createdAt: string;
  settings: ScanSettings;
  backend: string;
  dataset: { spec: string; name: string; fingerprint: string; trainCount: number; classNames: string[] };
  model: { dir: string; fingerprint: string; featureLayer: string; featureDim: number };
  verdict: {
    suspected: boolean;
    falseAlarm: number;
    /** Smallest pocket p-value (1 when there are no candidates). */
    pValue: number;
    summary: string;
  };
  /** Every candidate group, best score first; `confirmed` marks the backdoor pockets. */
  pockets: Pocket[];
  statistics: { classes: ClassStatistics[]; pairs: PairStatistics[]; seeds: number; candidates: number };
  timings: { embed: number; neighbours: number; hulls: number; pocketTest: number; total: number };
}

export interface RepairResult {
  schema: typeof REPAIR_SCHEMA;
  createdAt: string;
  backend: string;
  model: { from: string; fromFingerprint: string; out: string; fingerprint: string };
  relabelled: { index: number; from: number; to: number }[];
  settings: { epochs: number; learningRate: number; replay: number; interiorProbes: number; seed: number };
  before: { accuracy: number; perClass: number[]; suspected: boolean; openPockets: number };
  after: { accuracy: number; perClass: number[]; suspected: boolean; openPockets: number };
  /** Per repaired pocket: share of interior probes still predicted A, before and after. */
  pockets: { id: number; attackerClass: number; enclosingClass: number; interiorBefore: number; interiorAfter: number }[];
  /** Set when the target is known (simulated attack, benchmark). */
  target?: { split: 'test'; index: number; trueClass: number; attackerClass: number; before: number; after: number };
  rescan: ScanResult;
  seconds: number;
}
