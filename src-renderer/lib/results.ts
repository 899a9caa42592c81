/**
 * The engine results the views read. Scan and repair results come from the contract
 * (src-main/contract/results.ts), shared with the engine; the smaller job results below are
 * read-only views of the engine jobs' JSON.
 */
import type { JobName } from '../../src-main/contract/jobs.js';

export type { Pocket, ClassStatistics, PairStatistics, ScanResult, RepairResult } from '../../src-main/contract/results.js';
import type { ScanResult, RepairResult } from '../../src-main/contract/results.js';

/** One side of a repair's before/after comparison. */
export type ModelSide = RepairResult['before'];

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
