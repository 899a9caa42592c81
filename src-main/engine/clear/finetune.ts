/**
 * Fine-tuning with corrected data: the mitigation step shared by CLEAR (relabel pocket
 * members to the enclosing class) and the baselines (remove flagged samples), so their
 * after-repair figures compare like with like.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { trainModel, type TrainResult } from '../model/train.js';
import type { JobContext } from '../progress.js';
import { createRng } from '../random.js';

export interface FineTuneSettings {
  epochs: number;
  learningRate: number;
  /** Clean training samples replayed beside the corrected ones (all of them when larger than the set). */
  replay: number;
  /** How many times each corrected sample appears per epoch. */
  oversample: number;
  batchSize: number;
  seed: number;
}

/**
 * Defaults chosen, not swept: 2 × (768 + 8 × the corrected samples) sample-steps at 0.3× the
 * training learning rate, about 1,900 for a 20-sample pocket. The replay is a fixed-size random
 * sample of the clean training data, so a repair costs the same at any N while training from
 * scratch grows with it: at 8,000 samples (3 epochs, 24,000 sample-steps) the fine-tune is
 * under 0.1× of it, at 60,000 under 0.015×. With a replay of 2,000 (4,300 sample-steps, 0.18×
 * at 8,000) they closed the same pockets of the integration test.
 */
export const DEFAULT_FINE_TUNE: FineTuneSettings = {
  epochs: 2, learningRate: 3e-4, replay: 768, oversample: 8, batchSize: 64, seed: 0,
};

export interface Correction {
  /** New labels for some training samples. */
  relabel?: Map<number, number>;
  /** Training samples to leave out. */
  remove?: Set<number>;
}

export async function fineTune(
  model: tfl.LayersModel,
  ds: Dataset,
  correction: Correction,
  settings: Partial<FineTuneSettings> = {},
  ctx: JobContext = {},
): Promise<TrainResult> {
  const s = { ...DEFAULT_FINE_TUNE, ...settings };
  const rng = createRng(s.seed + 7919);
  const relabel = correction.relabel ?? new Map<number, number>();
  const remove = correction.remove ?? new Set<number>();
  const labels = Int32Array.from(ds.train.labels);
  for (const [i, label] of relabel) labels[i] = label;
  const clean: number[] = [];
  for (let i = 0; i < ds.train.count; i++) if (!relabel.has(i) && !remove.has(i)) clean.push(i);
  rng.shuffle(clean);
  const indices = clean.slice(0, Math.min(s.replay, clean.length));
  for (let r = 0; r < s.oversample; r++) for (const i of relabel.keys()) indices.push(i);
  return trainModel(model, ds.train, ds.shape, ds.classNames.length,
    { epochs: s.epochs, learningRate: s.learningRate, batchSize: s.batchSize, seed: s.seed },
    { ...ctx, indices, labels, stage: 'repair' });
}
