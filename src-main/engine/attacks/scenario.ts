/**
 * Training the victim on a poisoned set, in the benchmark's two scenarios (README, "The benchmarks"):
 * - `e2e`: a fresh model trained from scratch on the poisoned training split (label-flip
 *   copies; Feature Collision with a watermark).
 * - `transfer`: a copy of a clean-trained model whose layers up to and including the
 *   feature layer are frozen, with its last Dense layer re-initialised and retrained on the
 *   poisoned split — the linear transfer-learning setting of Feature Collision, Convex
 *   Polytope and Bullseye Polytope.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { embedSplit } from '../features/embed.js';
import { splitModel, type SplitModel } from '../features/split.js';
import { numClasses, sampleView, type Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { buildArchitecture } from '../model/architectures.js';
import { predictSplit, trainModel, type TrainResult } from '../model/train.js';
import type { JobContext } from '../progress.js';
import type { CleanFeatureModel } from './feature-model.js';
import type { AttackManifest } from './types.js';

export type { Scenario } from '../../contract/catalogue.js';
import type { Scenario } from '../../contract/catalogue.js';
import { TRANSFER_HEAD_DEFAULTS } from '../../contract/jobs.js';
export const SCENARIOS: readonly Scenario[] = ['e2e', 'transfer'];

/** e2e: epochs of training from scratch when the caller gives none (~97% MNIST test accuracy). */
export const E2E_DEFAULT_EPOCHS = 4;
/**
 * transfer: the head is a linear layer on frozen features, which the papers train to
 * convergence. 20 epochs at Adam 0.01 with batches of 256 gets there on MNIST; at the e2e
 * settings (4 epochs, 0.001, 64) the head is still underfitting, and even 25 exact copies of
 * the target labelled `A` flipped it for only 1 of 8 targets (4 of 8 at these settings;
 * bench/attack-success.ts). The contract holds the numbers: `train --freeze-features` uses them too.
 */
export { TRANSFER_HEAD_DEFAULTS };

export interface VictimOptions {
  arch: string;
  seed: number;
  /** Training settings; when absent, E2E_DEFAULT_EPOCHS or TRANSFER_HEAD_DEFAULTS by scenario. */
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  /** transfer: the clean-trained model whose feature extractor is frozen (the one the attacker used). */
  frozenFeatureModel?: CleanFeatureModel;
  /** The attack's record, to check the target; absent for clean trials. */
  manifest?: AttackManifest;
}

export interface VictimResult {
  model: tfl.LayersModel;
  parts: SplitModel;
  /** The target is classified as the attacker's class (false for clean trials). */
  attackSucceeded: boolean;
  /** The victim's prediction for the target, when a manifest was given. */
  targetPredicted?: number;
  train: TrainResult;
}

/** A deep copy of a model (topology and weights); the original is left untouched. */
export async function cloneModel(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const config = { modelTopology: model.toJSON(null, false) } as Parameters<typeof tfl.models.modelFromJSON>[0];
  const copy = await tfl.models.modelFromJSON(config);
  copy.setWeights(model.getWeights());
  return copy;
}

/**
 * Freezes every layer up to and including the feature layer, and re-initialises the last
 * Dense layer (Glorot-uniform kernel, zero bias, seeded), so the head is learnt from the
 * poisoned data alone rather than inherited from the clean model.
 */
export function prepareTransferModel(model: tfl.LayersModel, featureLayer: string, seed: number): void {
  const featureAt = model.layers.findIndex((l) => l.name === featureLayer);
  if (featureAt < 0) throw new UserError(`The frozen feature model has no layer named "${featureLayer}".`);
  model.layers.forEach((layer, i) => { layer.trainable = i > featureAt; });
  const lastDense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  if (!lastDense) throw new UserError('The frozen feature model has no Dense layer to retrain.');
  const [kernel, bias] = lastDense.getWeights();
  const fresh = tf.tidy(() => [
    tfl.initializers.glorotUniform({ seed }).apply(kernel.shape, 'float32'),
    ...(bias ? [tf.zerosLike(bias)] : []),
  ]);
  lastDense.setWeights(fresh);
  tf.dispose(fresh);
}

/**
 * Trains the head of a transfer victim. φ is frozen, so φ(x) of every training sample is a
 * constant: we compute it once and train the head (which shares the model's layers) on the
 * cached features. This is the same optimisation as training the whole model with frozen
 * layers — the built-in extractors have no dropout or batch statistics — at a fraction of
 * the cost, which lets the head train to convergence as in the papers' linear-transfer runs.
 */
export async function trainHeadOnFrozenFeatures(
  model: tfl.LayersModel, featureLayer: string, ds: Dataset,
  settings: { epochs: number; seed: number; learningRate?: number; batchSize?: number }, ctx: JobContext,
  stage = 'train-victim',
): Promise<TrainResult> {
  const parts = splitModel(model, featureLayer);
  const embedding = await embedSplit(parts, ds.train, ds.shape, { signal: ctx.signal });
  const featureSplit = { images: embedding.features, labels: ds.train.labels, count: ds.train.count };
  return trainModel(parts.head, featureSplit, [1, 1, parts.featureDim], numClasses(ds), settings, { ...ctx, stage });
}

export async function trainVictim(
  ds: Dataset, scenario: Scenario, options: VictimOptions, ctx: JobContext = {},
): Promise<VictimResult> {
  const classes = numClasses(ds);
  const defaults = scenario === 'transfer' ? TRANSFER_HEAD_DEFAULTS : { epochs: E2E_DEFAULT_EPOCHS };
  const settings = {
    ...defaults,
    seed: options.seed,
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  };
  let model: tfl.LayersModel;
  let train: TrainResult;
  if (scenario === 'e2e') {
    model = buildArchitecture(options.arch, { inputShape: ds.shape, numClasses: classes, seed: options.seed });
    train = await trainModel(model, ds.train, ds.shape, classes, settings, { ...ctx, stage: 'train-victim' });
  } else if (scenario === 'transfer') {
    const frozen = options.frozenFeatureModel;
    if (!frozen) throw new UserError('The transfer scenario needs a clean-trained feature model (frozenFeatureModel) to freeze.');
    model = await cloneModel(frozen.model);
    prepareTransferModel(model, frozen.parts.featureLayer, options.seed);
    train = await trainHeadOnFrozenFeatures(model, frozen.parts.featureLayer, ds, settings, ctx);
  } else {
    throw new UserError(`Unknown scenario "${String(scenario)}"; use ${SCENARIOS.join(' or ')}.`);
  }
  const parts = splitModel(model);
  const manifest = options.manifest;
  if (!manifest) return { model, parts, attackSucceeded: false, train };
  const image = sampleView(ds, 'test', manifest.targetIndex);
  const { predicted } = await predictSplit(model, { images: image, count: 1 }, ds.shape, { signal: ctx.signal });
  return { model, parts, attackSucceeded: predicted[0] === manifest.attackerClass, targetPredicted: predicted[0], train };
}
