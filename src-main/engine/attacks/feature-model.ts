/**
 * The attacker's feature extractor for clean-label attacks. Feature Collision, Convex
 * Polytope and Bullseye Polytope all assume (in their transfer-learning setting) that the
 * attacker knows φ: the victim fine-tunes a head on top of a public, pre-trained extractor.
 * When the caller has no such extractor, this trains one on the clean data, and the
 * transfer scenario then freezes the same one for the victim (scenario.ts).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { splitModel, type SplitModel } from '../features/split.js';
import { numClasses, type Dataset } from '../data/dataset.js';
import { buildArchitecture } from '../model/architectures.js';
import { trainModel, type TrainResult } from '../model/train.js';
import type { JobContext } from '../progress.js';

/** "A couple of epochs": enough for ~95% MNIST test accuracy with the built-in nets. */
export const CLEAN_FEATURE_EPOCHS = 3;

export interface CleanFeatureModel {
  /** The whole clean-trained model (φ and its head). */
  model: tfl.LayersModel;
  parts: SplitModel;
  /** The built-in architecture it was built with. */
  arch: string;
  train: TrainResult;
}

export async function trainCleanFeatureModel(
  ds: Dataset, arch: string, seed: number, ctx: JobContext = {},
  options: { epochs?: number; learningRate?: number; batchSize?: number } = {},
): Promise<CleanFeatureModel> {
  const model = buildArchitecture(arch, { inputShape: ds.shape, numClasses: numClasses(ds), seed });
  const train = await trainModel(model, ds.train, ds.shape, numClasses(ds), {
    epochs: options.epochs ?? CLEAN_FEATURE_EPOCHS,
    seed,
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  }, { ...ctx, stage: 'attack-feature-model' });
  return { model, parts: splitModel(model), arch, train };
}
