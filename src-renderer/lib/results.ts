/**
 * The engine results the views read. Job results cross the contract as data the engine
 * defines (src-main/engine/clear/types.ts for scans and repairs; the renderer may not import
 * the engine, ARCHITECTURE.md §Layers), so the fields the views use are restated here.
 * Keep them in step with the engine's; they are read-only views of its JSON.
 */
import type { JobName } from '../../src-main/contract/jobs.js';

export interface Pocket {
  id: number;
  members: number[];
  attackerClass: number;
  enclosingClass: number;
  score: number;
  pValue: number;
  confirmed: boolean;
  tightness: { contamination: number; diameter: number; relativeSpread: number; shellPurity: number };
  interiorAttackerRate: number;
  flipDistance: number;
  fittedRate: number;
  evidence: Record<string, number>;
  explanation: string;
}

export interface ClassStatistics {
  classIndex: number; className: string; samples: number;
  seeds: number; candidates: number; pockets: number; bestScore: number | null; members: number;
}

export interface PairStatistics {
  attackerClass: number; enclosingClass: number;
  seeds: number; candidates: number; pockets: number; bestScore: number | null; members: number;
}

export interface ScanResult {
  createdAt: string;
  settings: { featureLayer: string; normalisation: string; neighbours: number; falseAlarm: number };
  backend: string;
  dataset: { spec: string; name: string; fingerprint: string; trainCount: number; classNames: string[] };
  model: { dir: string; fingerprint: string; featureLayer: string; featureDim: number };
  verdict: { suspected: boolean; falseAlarm: number; pValue: number; summary: string };
  pockets: Pocket[];
  statistics: { classes: ClassStatistics[]; pairs: PairStatistics[]; seeds: number; candidates: number };
  timings: { embed: number; neighbours: number; hulls: number; pocketTest: number; total: number };
}

export interface ModelSide { accuracy: number; perClass: number[]; suspected: boolean; openPockets: number }

export interface RepairResult {
  backend: string;
  model: { from: string; fromFingerprint: string; out: string; fingerprint: string };
  relabelled: { index: number; from: number; to: number }[];
  settings: { epochs: number; learningRate: number; replay: number; interiorProbes: number; seed: number };
  before: ModelSide;
  after: ModelSide;
  pockets: { id: number; attackerClass: number; enclosingClass: number; interiorBefore: number; interiorAfter: number }[];
  target?: { split: 'test'; index: number; trueClass: number; attackerClass: number; before: number; after: number };
  rescan: ScanResult;
  seconds: number;
}

export interface TrainResult {
  model: string; fingerprint: string; architecture: string; backend: string; accuracy: number;
  perClass: { className: string; count: number; accuracy: number }[];
  trainCount: number; testCount: number; trainSeconds: number; samplesPerSecond: number; batchSize: number;
  epochs: { epoch: number; loss: number; accuracy: number; seconds: number }[];
  dataset: { spec: string; name: string; fingerprint: string };
}

export interface InfoResult {
  model: string; fingerprint: string; inputShape: number[]; numClasses: number; featureLayer: string;
  metadata: { architecture?: string; classNames?: string[] }; parameters: number; backend: string;
}

export interface DatasetPreview {
  spec: string; name: string; shape: [number, number, number]; classNames: string[]; fingerprint: string;
  trainCount: number; testCount: number;
  counts: { train: number[]; test: number[] };
  samples: { classIndex: number; index: number; png: string | null }[];
  /** The first test samples, as candidate targets for a simulated attack. */
  targets: { index: number; label: number; png: string | null }[];
}

export interface PocketPoint { index: number; role: 'member' | 'shell' | 'nearby'; x: number; y: number; label: number; predicted: number }

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

/** The attack job's manifest (engine/attacks/types.ts AttackManifest). */
export interface AttackManifest {
  attack: string; targetSplit: 'test'; targetIndex: number; targetClass: number; attackerClass: number;
  poisonIndices: number[]; seed: number;
}

export interface AttackResult { manifest?: AttackManifest; out?: string; data?: string; [key: string]: unknown }

export interface PredictResult { index: number; label: number; predicted: number; probabilities: number[]; classNames: string[] }

export interface ExportReportResult { html: string; json: string; dir: string }

/** What each engine job resolves to, for the typed client. */
export interface JobResults extends Record<JobName, unknown> {
  train: TrainResult;
  info: InfoResult;
  scan: ScanResult;
  repair: RepairResult;
  attack: AttackResult;
  predict: PredictResult;
  datasetPreview: DatasetPreview;
  pocketView: PocketView;
  exportReport: ExportReportResult;
}
