/**
 * Feature Collision (Shafahi et al. 2018, "Poison Frogs! Targeted Clean-Label Poisoning
 * Attacks on Neural Networks"). Each poison starts from a base `b` of class `A` and solves
 *
 *     p = argmin_x ‖φ(x) − φ(t)‖² / ‖φ(t)‖²  +  β ‖x − b‖²
 *
 * by forward–backward splitting (the paper's Algorithm 1): a gradient step on the feature
 * term, then the closed-form proximal step of the β term, p = (p̂ + lr·β·b) / (1 + lr·β).
 * The poison looks like `b` (and keeps its true label `A`) but collides with `t` in feature
 * space, so a head retrained on it learns "φ(t) is `A`".
 *
 * Two departures from the paper, both for scale-free defaults: the feature term is divided
 * by ‖φ(t)‖² (as Convex Polytope does), so the step size does not depend on the network's
 * activation scale; and pixels live in [0, 1] and are clipped there after every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';
import { throwIfCancelled } from '../errors.js';
import type { JobContext } from '../progress.js';
import {
  buildResult, chooseBases, featuresOf, gatherTrainImages, imageBatch, numberSetting,
  requireFeatureModel, validateTarget, yieldToEventLoop,
} from './common.js';
import type { AttackParams, AttackResult } from './types.js';

/**
 * Forward–backward iterations and step size. With the step-halving safeguard, a step of 0.5
 * on the normalised loss reaches the β-balanced optimum within ~150 iterations on the
 * built-in mlp; 0.05 had covered only a third of the way after 150.
 */
export const FC_DEFAULT_ITERATIONS = 200;
export const FC_DEFAULT_LEARNING_RATE = 0.5;
/**
 * β0 of the paper's β = β0 · (featureDim / inputDim)²: the paper's 0.25. Our pixels are in
 * [0, 1] and the feature term is normalised by ‖φ(t)‖², so the same β0 weighs the pixel term
 * differently than on the paper's 0–255 inputs; the benchmark reports what it gives rather
 * than tuning β0 to a published success rate. Earlier measurements on MNIST (mlp, 25 nearest
 * bases appended beside their poisons, 10 targets) gave 7/10 at 0.25 and 3/10 at 1.
 */
export const FC_DEFAULT_BETA0 = 0.25;
/** Watermark opacity γ: 0 by default (transfer); the paper's end-to-end attack uses 0.3. */
export const FC_DEFAULT_WATERMARK = 0;
/** Opacity the benchmark uses for Feature Collision in the end-to-end scenario (paper §4.2: 30%). */
export const FC_E2E_WATERMARK = 0.3;
/** The paper halves a poison's step size whenever its objective goes up. */
const STEP_DECAY_ON_INCREASE = 0.5;
/** Highest watermark opacity accepted. */
const MAX_WATERMARK = 0.9;
const PROGRESS_EVERY = 20;

export async function featureCollisionAttack(ds: Dataset, params: AttackParams, ctx: JobContext = {}): Promise<AttackResult> {
  const target = validateTarget(ds, params);
  const parts = requireFeatureModel(ds, params, 'fc');
  const iterations = numberSetting('iterations', params.iterations, FC_DEFAULT_ITERATIONS, { min: 1, max: 100_000, integer: true });
  const learningRate = numberSetting('learningRate', params.learningRate, FC_DEFAULT_LEARNING_RATE, { min: 0, max: 1e6, minExclusive: true });
  const beta0 = numberSetting('beta0', params.beta0, FC_DEFAULT_BETA0, { min: 0, max: 1e9 });
  // Opacity 1 would replace the poison by the target (a label flip, not a clean-label attack).
  const watermark = numberSetting('watermark', params.watermark, FC_DEFAULT_WATERMARK, { min: 0, max: MAX_WATERMARK });

  const K = target.poisons;
  const size = sampleSize(ds.shape);
  const beta = beta0 * (parts.featureDim / size) ** 2;
  const { baseIndices, baseChoice, placement } = await chooseBases(ds, parts, target, params, ctx);
  const basePixels = gatherTrainImages(ds, baseIndices);

  const bases = imageBatch(basePixels, K, ds.shape);
  const targetFeatures = tf.tidy(() => featuresOf(parts, imageBatch(target.targetImage, 1, ds.shape)));
  const targetNorm2 = tf.tidy(() => tf.maximum(tf.sum(tf.square(targetFeatures)), 1e-12));
  // Per-poison objective: the feature term (normalised) plus the β term.
  const objective = (x: tf.Tensor4D): tf.Tensor1D => tf.tidy(() => {
    const feature = tf.div(tf.sum(tf.squaredDifference(featuresOf(parts, x), targetFeatures), 1), targetNorm2);
    return tf.add(feature, tf.mul(tf.sum(tf.squaredDifference(x, bases), [1, 2, 3]), beta)) as tf.Tensor1D;
  });
  // The batch's feature terms are independent, so the gradient of their sum is each poison's own.
  const featureGrad = tf.grad((x: tf.Tensor) =>
    tf.div(tf.sum(tf.squaredDifference(featuresOf(parts, x as tf.Tensor4D), targetFeatures)), targetNorm2));

  let poisons = tf.clone(bases);
  // One step size per poison, so a poison that overshoots slows down without slowing the rest.
  const steps = new Float32Array(K).fill(learningRate);
  const initial = objective(poisons);
  const previous = (await initial.data()).slice() as Float32Array;
  initial.dispose();
  try {
    for (let it = 0; it < iterations; it++) {
      throwIfCancelled(ctx.signal);
      const stepTensor = tf.tensor4d(steps, [K, 1, 1, 1]);
      const next = tf.tidy(() => {
        const forward = tf.sub(poisons, tf.mul(featureGrad(poisons), stepTensor));
        const lrBeta = tf.mul(stepTensor, beta);
        return tf.clipByValue(tf.div(tf.add(forward, tf.mul(bases, lrBeta)), tf.add(lrBeta, 1)), 0, 1) as tf.Tensor4D;
      });
      stepTensor.dispose();
      const objectiveTensor = objective(next);
      const values = await objectiveTensor.data();
      objectiveTensor.dispose();
      poisons.dispose();
      poisons = next;
      for (let j = 0; j < K; j++) {
        if (values[j] > previous[j]) steps[j] *= STEP_DECAY_ON_INCREASE;
        previous[j] = values[j];
      }
      if (it % PROGRESS_EVERY === PROGRESS_EVERY - 1 || it === iterations - 1) {
        const mean = previous.reduce((a, b) => a + b, 0) / K;
        ctx.onProgress?.({ stage: 'attack', fraction: (it + 1) / iterations, message: `feature collision · step ${it + 1}/${iterations}`, metrics: { objective: mean } });
        await yieldToEventLoop();
      }
    }
    if (watermark > 0) {
      // Blend the target in at opacity γ (paper §4.2), which the end-to-end setting needs:
      // there the features move during training, and the watermark carries t's pixels along.
      const target4 = imageBatch(target.targetImage, 1, ds.shape);
      const marked = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(poisons, 1 - watermark), tf.mul(target4, watermark)), 0, 1) as tf.Tensor4D);
      target4.dispose();
      poisons.dispose();
      poisons = marked;
    }
    const pixels = (await poisons.data()) as Float32Array;
    return buildResult(ds, pixels.slice(), target, 'fc',
      { poisons: K, iterations, learningRate, beta0, beta, watermark, baseChoice, placement }, params.seed, baseIndices, placement);
  } finally {
    tf.dispose([poisons, bases, targetFeatures, targetNorm2]);
  }
}
