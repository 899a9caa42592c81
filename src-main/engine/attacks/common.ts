/**
 * What the attacks share: parameter checks with one-sentence errors, appending poisons to the
 * training split or putting them in their bases' places, choosing bases (random or nearest), the feature extractor as a differentiable function, and the
 * projections of the clean-label optimisers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SplitModel } from '../features/split.js';
import { embedSplit } from '../features/embed.js';
import { gatherPixels, numClasses, sampleSize, sampleView, type Dataset, type Split } from '../data/dataset.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import { itemSources, joinSources } from '../data/sources.js';
import { UserError } from '../errors.js';
import { modelInput } from '../model/train.js';
import type { JobContext } from '../progress.js';
import { createRng } from '../random.js';
import type { AttackManifest, AttackName, AttackParams, AttackResult, BaseChoice, Placement } from './types.js';

/** The largest poison count an attack accepts: far above any published budget (≤ 1% of training). */
export const MAX_POISONS = 10_000;

/** The target and attacker class after validation. */
export interface AttackTarget {
  targetIndex: number;
  targetClass: number;
  attackerClass: number;
  poisons: number;
  /** The target's pixels (a copy, so callers may keep it). */
  targetImage: Float32Array;
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** Checks the settings every attack has; throws a UserError naming the setting. */
export function validateTarget(ds: Dataset, params: AttackParams): AttackTarget {
  const { targetIndex, attackerClass, poisons, seed } = params;
  if (ds.test.count === 0) {
    throw new UserError(`The dataset ${ds.name} has no test split, so there is no target sample to attack.`);
  }
  if (!isInt(targetIndex) || targetIndex < 0 || targetIndex >= ds.test.count) {
    throw new UserError(`The attack's targetIndex ${String(targetIndex)} must be a test-split index from 0 to ${ds.test.count - 1}.`);
  }
  const classes = numClasses(ds);
  const targetClass = ds.test.labels[targetIndex];
  if (!isInt(attackerClass) || attackerClass < 0 || attackerClass >= classes) {
    throw new UserError(`The attack's attackerClass ${String(attackerClass)} must be a class index from 0 to ${classes - 1}.`);
  }
  if (attackerClass === targetClass) {
    throw new UserError(`The attack's attackerClass ${attackerClass} is the target's own class; choose a different class to push test sample ${targetIndex} into.`);
  }
  if (!isInt(poisons) || poisons < 1 || poisons > MAX_POISONS) {
    throw new UserError(`The attack's poisons setting ${String(poisons)} must be a whole number from 1 to ${MAX_POISONS}.`);
  }
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new UserError(`The attack's seed ${String(seed)} must be a finite number.`);
  }
  return { targetIndex, targetClass, attackerClass, poisons, targetImage: sampleView(ds, 'test', targetIndex).slice() };
}

/** A numeric setting with its default, checked against a range; the message names the setting. */
export function numberSetting(
  name: string, value: number | undefined, fallback: number,
  range: { min: number; max: number; minExclusive?: boolean; integer?: boolean },
): number {
  const v = value ?? fallback;
  const tooLow = range.minExclusive ? v <= range.min : v < range.min;
  if (typeof v !== 'number' || !Number.isFinite(v) || tooLow || v > range.max || (range.integer && !Number.isInteger(v))) {
    const kind = range.integer ? 'a whole number' : 'a number';
    const lower = range.minExclusive ? `above ${range.min}` : `from ${range.min}`;
    throw new UserError(`The attack's ${name} setting ${String(v)} must be ${kind} ${lower} ${range.minExclusive ? 'and at most' : 'to'} ${range.max}.`);
  }
  return v;
}

/** Clean-label attacks optimise against φ; the extractor must take this dataset's samples. */
export function requireFeatureModel(ds: Dataset, params: AttackParams, attack: AttackName): SplitModel {
  const parts = params.featureModel;
  if (!parts) {
    throw new UserError(`The ${attack} attack needs a feature model (featureModel) to craft poisons against; train one on the clean data first.`);
  }
  const want = parts.extractor.inputs[0].shape.slice(1).reduce<number>((a, b) => a * Number(b), 1);
  if (want !== sampleSize(ds.shape)) {
    throw new UserError(`The ${attack} attack's feature model takes inputs of ${want} values, but the dataset ${ds.name} has samples of ${ds.shape.join('×')}.`);
  }
  return parts;
}

/**
 * The poisoned dataset: the original training split with the poisons appended at the end
 * (so every clean sample keeps its index), all labelled `attackerClass`; test unchanged.
 */
export function appendPoisons(
  ds: Dataset, poisonImages: Float32Array, attackerClass: number, attack: AttackName,
): { dataset: Dataset; poisonIndices: number[] } {
  const size = sampleSize(ds.shape);
  const count = poisonImages.length / size;
  const images = new Float32Array((ds.train.count + count) * size);
  images.set(ds.train.images.subarray(0, ds.train.count * size));
  images.set(poisonImages, ds.train.count * size);
  const labels = new Int32Array(ds.train.count + count);
  labels.set(ds.train.labels.subarray(0, ds.train.count));
  labels.fill(attackerClass, ds.train.count);
  const train: Split = { images, labels, count: ds.train.count + count };
  // Each poison's source is its place among the attack's poisons (`label-flip poisons[3]`).
  if (ds.train.sources) train.sources = joinSources(ds.train.sources, itemSources(`${attack} poisons`, count));
  const poisonIndices = Array.from({ length: count }, (_, j) => ds.train.count + j);
  const dataset: Dataset = {
    ...ds,
    name: `${ds.name} + ${count} ${attack} poisons`,
    train,
    fingerprint: datasetFingerprint(ds.shape, ds.classNames, train, ds.test),
  };
  return { dataset, poisonIndices };
}

/**
 * The poisoned dataset of a clean-label attack as published: each poison takes its base's
 * place (same index, same label `A`), so the training set holds no clean twin of any poison
 * and keeps its size; test unchanged.
 */
export function replaceBases(
  ds: Dataset, poisonImages: Float32Array, baseIndices: number[], attack: AttackName,
): { dataset: Dataset; poisonIndices: number[] } {
  const size = sampleSize(ds.shape);
  const images = Float32Array.from(ds.train.images.subarray(0, ds.train.count * size));
  baseIndices.forEach((b, j) => images.set(poisonImages.subarray(j * size, (j + 1) * size), b * size));
  const train: Split = { images, labels: ds.train.labels.slice(0, ds.train.count), count: ds.train.count };
  // A poison in its base's place is the attack's, no longer the base's file: its source says so (`fc poisons[3]`).
  if (ds.train.sources) {
    const poisons = itemSources(`${attack} poisons`, baseIndices.length);
    const sources = joinSources(ds.train.sources, poisons);
    const k = ds.train.count;
    baseIndices.forEach((b, j) => { sources.place[b] = sources.place[k + j]; sources.at[b] = sources.at[k + j]; });
    train.sources = { ...sources, place: sources.place.slice(0, k), at: sources.at.slice(0, k) };
  }
  const dataset: Dataset = {
    ...ds,
    name: `${ds.name} with ${baseIndices.length} ${attack} poisons in place of their bases`,
    train,
    fingerprint: datasetFingerprint(ds.shape, ds.classNames, train, ds.test),
  };
  return { dataset, poisonIndices: [...baseIndices] };
}

export function buildResult(
  ds: Dataset, poisonImages: Float32Array, target: AttackTarget, attack: AttackName,
  settings: AttackManifest['settings'], seed: number, baseIndices?: number[], placement: Placement = 'append',
): AttackResult {
  if (placement === 'replace' && !baseIndices) throw new Error('Poisons can replace their bases only when there are bases.');
  const { dataset, poisonIndices } = placement === 'replace'
    ? replaceBases(ds, poisonImages, baseIndices!, attack)
    : appendPoisons(ds, poisonImages, target.attackerClass, attack);
  const manifest: AttackManifest = {
    attack,
    targetSplit: 'test',
    targetIndex: target.targetIndex,
    targetClass: target.targetClass,
    attackerClass: target.attackerClass,
    poisonIndices,
    ...(baseIndices ? { baseIndices } : {}),
    settings,
    seed,
  };
  return { dataset, manifest };
}

/** φ(x) as a differentiable function of a batch of flat NHWC images. */
export function featuresOf(parts: SplitModel, images: tf.Tensor4D): tf.Tensor2D {
  return parts.extractor.apply(modelInput(parts.extractor, images), { training: false }) as tf.Tensor2D;
}

export function imageBatch(pixels: Float32Array, count: number, shape: readonly [number, number, number]): tf.Tensor4D {
  return tf.tensor4d(pixels, [count, shape[0], shape[1], shape[2]]);
}

/**
 * The `count` training samples of class `attackerClass` whose features lie nearest to φ(t):
 * the usual base choice of feature-space attacks, because a base that already sits near the
 * target needs the smallest perturbation. Ties go to the lower index (deterministic).
 */
export async function nearestBases(
  ds: Dataset, parts: SplitModel, targetImage: Float32Array, attackerClass: number, count: number,
  ctx: JobContext = {}, exclude: readonly number[] = [],
): Promise<number[]> {
  const candidates = classCandidates(ds, attackerClass, count, exclude);
  const dim = parts.featureDim;
  const target = await embedSplit(parts, { images: targetImage, count: 1 }, ds.shape, { signal: ctx.signal });
  const embedded = await embedSplit(parts, ds.train, ds.shape, { indices: candidates, signal: ctx.signal });
  const distance = candidates.map((_, c) => {
    let sum = 0;
    for (let t = 0; t < dim; t++) {
      const d = embedded.features[c * dim + t] - target.features[t];
      sum += d * d;
    }
    return sum;
  });
  const order = candidates.map((_, c) => c).sort((a, b) => distance[a] - distance[b] || candidates[a] - candidates[b]);
  return order.slice(0, count).map((c) => candidates[c]);
}

/**
 * `count` training samples of class `attackerClass` drawn uniformly at random (seeded), in
 * draw order: the published attacks' base choice when nothing is said about nearness.
 */
export function randomBases(ds: Dataset, attackerClass: number, count: number, seed: number, exclude: readonly number[] = []): number[] {
  const candidates = classCandidates(ds, attackerClass, count, exclude);
  // A stream of its own, so the bases do not shift when another part of the attack draws more numbers.
  createRng(seed * 2654435761 + 97).shuffle(candidates);
  return candidates.slice(0, count);
}

function classCandidates(ds: Dataset, attackerClass: number, count: number, exclude: readonly number[]): number[] {
  const excluded = new Set(exclude);
  const candidates: number[] = [];
  for (let i = 0; i < ds.train.count; i++) if (ds.train.labels[i] === attackerClass && !excluded.has(i)) candidates.push(i);
  if (candidates.length < count) {
    throw new UserError(`The attack needs ${count} base samples of class ${ds.classNames[attackerClass]} (attackerClass ${attackerClass}), but the training split holds only ${candidates.length}; lower the poisons setting.`);
  }
  return candidates;
}

/** Validates the base-choice and placement settings and draws the bases. */
export async function chooseBases(
  ds: Dataset, parts: SplitModel, target: AttackTarget, params: AttackParams, ctx: JobContext = {},
): Promise<{ baseIndices: number[]; baseChoice: BaseChoice; placement: Placement }> {
  const baseChoice = params.baseChoice ?? 'random';
  if (baseChoice !== 'random' && baseChoice !== 'nearest') {
    throw new UserError(`The attack's baseChoice setting "${String(baseChoice)}" must be random or nearest.`);
  }
  const placement = params.placement ?? 'replace';
  if (placement !== 'replace' && placement !== 'append') {
    throw new UserError(`The attack's placement setting "${String(placement)}" must be replace or append.`);
  }
  const exclude = params.excludeBases ?? [];
  const baseIndices = baseChoice === 'random'
    ? randomBases(ds, target.attackerClass, target.poisons, params.seed, exclude)
    : await nearestBases(ds, parts, target.targetImage, target.attackerClass, target.poisons, ctx, exclude);
  return { baseIndices, baseChoice, placement };
}

/** The pixels of the chosen training samples, concatenated. */
export function gatherTrainImages(ds: Dataset, indices: number[]): Float32Array {
  return gatherPixels(ds.train, ds.shape, indices);
}

/** Clips to [lower, upper] element-wise: the L∞ ball around the bases intersected with [0, 1]. */
export function boxBounds(bases: tf.Tensor4D, epsilon: number): { lower: tf.Tensor4D; upper: tf.Tensor4D } {
  return tf.tidy(() => ({
    lower: tf.maximum(tf.sub(bases, epsilon), 0) as tf.Tensor4D,
    upper: tf.minimum(tf.add(bases, epsilon), 1) as tf.Tensor4D,
  }));
}

/**
 * Adam (Kingma & Ba 2015) on a tensor, with the usual constants. CP and BP both optimise the
 * poisons with Adam in their reference code.
 */
export class AdamState {
  private m: tf.Tensor;
  private v: tf.Tensor;
  private step = 0;
  private static readonly BETA1 = 0.9;
  private static readonly BETA2 = 0.999;
  private static readonly EPS = 1e-8;

  constructor(shape: number[], private readonly learningRate: number) {
    this.m = tf.zeros(shape);
    this.v = tf.zeros(shape);
  }

  /** Returns `x − lr · m̂ / (√v̂ + eps)`; the caller owns the result, `x` and `grad` are untouched. */
  apply(x: tf.Tensor, grad: tf.Tensor): tf.Tensor {
    this.step++;
    const { BETA1, BETA2, EPS } = AdamState;
    const [m, v, next] = tf.tidy(() => {
      const m = tf.add(tf.mul(this.m, BETA1), tf.mul(grad, 1 - BETA1));
      const v = tf.add(tf.mul(this.v, BETA2), tf.mul(tf.square(grad), 1 - BETA2));
      const mHat = tf.div(m, 1 - BETA1 ** this.step);
      const vHat = tf.div(v, 1 - BETA2 ** this.step);
      return [m, v, tf.sub(x, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), EPS)), this.learningRate))];
    });
    this.m.dispose(); this.v.dispose();
    this.m = m; this.v = v;
    return next;
  }

  dispose(): void {
    this.m.dispose(); this.v.dispose();
  }
}

/** Hands the event loop a turn, so cancel messages and progress reach the host during long loops. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
