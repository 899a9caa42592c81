/** Progress events every long engine job emits; the worker forwards them unchanged. */
export interface ProgressEvent {
  /** Stage name: `train`, `embed`, `neighbours`, `hulls`, `pocket-test`, `repair`, `attack`, … */
  stage: string;
  /** Fraction of this stage done, 0–1. */
  fraction: number;
  message?: string;
  /** Free-form figures (epoch, batch, loss, accuracy, samplesPerSecond, etaSeconds…). */
  metrics?: Record<string, number>;
}

export type ProgressFn = (event: ProgressEvent) => void;

export interface JobContext {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}
export { throwIfCancelled } from './errors.js';
