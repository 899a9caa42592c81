/**
 * One contract for every defence (CLEAR and the baselines), after cleanlab's issue managers:
 * each returns a per-sample score in [0, 1] and flags, one summary score, a model-level
 * verdict, and an `info` object; `report()` rebuilds the text from stored results without
 * recomputing. The benchmark, the CLI and the UI iterate over the registry (registry.ts).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset, Split } from '../data/dataset.js';
import type { Embedding } from '../features/embed.js';
import type { SplitModel } from '../features/split.js';
import type { NeighbourGraph } from '../features/knn.js';
import type { JobContext } from '../progress.js';
import type { Correction } from '../clear/finetune.js';

export interface DetectorInput {
  model: tfl.LayersModel;
  parts: SplitModel;
  dataset: Dataset;
  /** φ of the training split, computed once and shared by every detector in a run. */
  embedding: Embedding;
  /** Shared K-NN graph over the normalised training features, when already built. */
  graph?: NeighbourGraph;
  /** Expected number of poisons, when the user (or the benchmark) has a guess. */
  expectedPoisons?: number;
  /** Model-level false-alarm rate for the verdict (default: the detector's own; CLEAR's is DEFAULT_FALSE_ALARM). */
  falseAlarm?: number;
  seed?: number;
  /**
   * A trusted, labelled reference set the defender holds apart from the training data (never
   * containing an attack's target). Detectors whose method can use held-out data do; the
   * benchmark gives the same set to every defence.
   */
  reference?: Split;
}

export interface DetectorResult {
  detector: string;
  /** The model is judged backdoored. */
  flagged: boolean;
  /**
   * The training data is judged to hold a poisoning attempt that the model did not learn (a
   * coherent group of samples whose labels their feature-space neighbours contradict).
   * Detectors without that second verdict leave it undefined.
   */
  attempt?: boolean;
  /** Training indices judged malicious. */
  flaggedSamples: number[];
  /** Per training sample, 0 = clean … 1 = surely malicious (length = training count). */
  sampleScores: Float32Array;
  /** One number summarising how strong the evidence is (detector-specific, documented). */
  summary: number;
  /** Thresholds actually used and detector-specific details (JSON-serialisable). */
  info: Record<string, unknown>;
  seconds: number;
}

/** What a detector's own published mitigation does with its findings. */
export type Mitigation =
  /** Relabel and fine-tune; `hulls` (CLEAR's pockets) are then closed in the head (clear/finetune.ts). */
  | { kind: 'relabel'; labels: { index: number; label: number }[]; hulls?: Correction['hulls'] }
  | { kind: 'remove'; indices: number[] };

export interface Detector {
  name: string;
  label: string;
  detect(input: DetectorInput, ctx?: JobContext): Promise<DetectorResult>;
  mitigation(result: DetectorResult): Mitigation;
  report(result: DetectorResult): string;
}
