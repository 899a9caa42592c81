/**
 * Training and inference loops over in-memory splits, in batches (bounded memory), seeded,
 * with progress and cancellation. Used by `clearwb train`, the attacks' victim training, the
 * benchmark and repair's fine-tuning.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { unfuseDilatedConv2Ds } from '../backend/gradients.js';
import { batchPixels, gatherPixels, type Split } from '../data/dataset.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { onnxFlatInputOrder } from './onnx.js';

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = { epochs: 3, batchSize: 64, learningRate: 0.001, seed: 0 };

export interface EpochRecord {
  epoch: number;
  /** Mean training loss and accuracy over the epoch's batches. */
  loss: number;
  accuracy: number;
  /** Loss and accuracy on the held-out validation samples after the epoch, when asked for. */
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
}

/** Held-out samples measured after every epoch (never trained on). */
export interface Validation {
  split: Pick<Split, 'images' | 'labels' | 'count'>;
  /** A subset of the split; all of it when absent. */
  indices?: ArrayLike<number>;
}

/**
 * Smoothing of the per-batch loss and accuracy shown live: an exponential moving average over
 * batches that runs on across epochs (bias-corrected, so its start is not pulled to zero). A
 * per-epoch running mean restarts at every epoch, which draws a saw-tooth at each boundary.
 */
export const SMOOTHING = 0.9;

/** Test samples measured after every epoch of the train job (its validation curve): all of them up to 2,000, else 2,000 spread evenly. */
export const VALIDATION_SAMPLES = 2000;
export function validationIndices(count: number): Int32Array {
  const n = Math.min(count, VALIDATION_SAMPLES);
  return Int32Array.from({ length: n }, (_, k) => Math.floor((k * count) / n));
}

/** Mean categorical cross-entropy and accuracy of `model` on held-out samples, in batches. */
export async function validationLoss(
  model: tfl.LayersModel,
  v: Validation,
  shape: readonly [number, number, number],
  numClasses: number,
  ctx: JobContext & { batchSize?: number } = {},
): Promise<{ loss: number; accuracy: number; count: number }> {
  const indices = v.indices ? Int32Array.from(v.indices) : Int32Array.from({ length: v.split.count }, (_, i) => i);
  const batchSize = ctx.batchSize ?? 256;
  let lossSum = 0; let correct = 0;
  for (let start = 0; start < indices.length; start += batchSize) {
    throwIfCancelled(ctx.signal);
    const idx = indices.subarray(start, Math.min(indices.length, start + batchSize));
    const { x, y } = makeBatch(v.split, idx, shape, numClasses);
    const [loss, hits] = tf.tidy(() => {
      const p = model.predict(modelInput(model, x)) as tf.Tensor2D;
      const nll = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1))), 1));
      return [tf.sum(nll), tf.sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(y, 1)), 'float32'))];
    });
    x.dispose(); y.dispose();
    lossSum += (await loss.data())[0]; correct += (await hits.data())[0];
    loss.dispose(); hits.dispose();
  }
  const n = indices.length;
  return { loss: n ? lossSum / n : Number.NaN, accuracy: n ? correct / n : Number.NaN, count: n };
}

export interface TrainResult {
  epochs: EpochRecord[];
  seconds: number;
  samplesPerSecond: number;
}

/** Copies the chosen samples into one batch tensor pair (x: NHWC, y: one-hot). */
export function makeBatch(
  split: Pick<Split, 'images' | 'labels'>,
  indices: ArrayLike<number>,
  shape: readonly [number, number, number],
  numClasses: number,
  labelOverride?: Int32Array,
): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = indices.length;
  const xs = gatherPixels(split, shape, indices);
  const ys = new Float32Array(n * numClasses);
  for (let b = 0; b < n; b++) {
    const i = indices[b];
    const label = labelOverride ? labelOverride[i] : split.labels[i];
    ys[b * numClasses + label] = 1;
  }
  return { x: tf.tensor4d(xs, [n, shape[0], shape[1], shape[2]]), y: tf.tensor2d(ys, [n, numClasses]) };
}

/** Compiles with a fresh Adam optimiser and returns it: the caller disposes it (a model does not own an optimiser it was handed). */
export function compileForTraining(model: tfl.LayersModel, learningRate: number): tf.Optimizer {
  const optimizer = tf.train.adam(learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return optimizer;
}

/**
 * Reshapes flat samples to what the model takes (images, or flat feature vectors). An ONNX model
 * with a flat input takes an image of several channels channels first unless its file says
 * otherwise (onnx.ts, onnxFlatInputOrder), so the H×W×C samples are reordered to C×H×W first.
 */
export function modelInput(model: tfl.LayersModel, x: tf.Tensor4D): tf.Tensor {
  const want = model.inputs[0].shape;
  if (want.length === 4) return x;
  const shape = [x.shape[0], ...want.slice(1).map(Number)];
  if (x.shape[3] > 1 && onnxFlatInputOrder(model)?.order === 'CHW') return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), shape));
  return tf.reshape(x, shape);
}

/**
 * Trains `model` in place on `split` (or the `indices` subset of it). `labels` overrides the
 * split's labels (repair uses it to train with corrected labels).
 */
export async function trainModel(
  model: tfl.LayersModel,
  split: Split,
  shape: readonly [number, number, number],
  numClasses: number,
  settings: Partial<TrainSettings> = {},
  ctx: JobContext & { indices?: ArrayLike<number>; labels?: Int32Array; stage?: string; compile?: boolean; validation?: Validation } = {},
): Promise<TrainResult> {
  const s = { ...DEFAULT_TRAIN_SETTINGS, ...settings };
  const optimizer = ctx.compile !== false ? compileForTraining(model, s.learningRate) : undefined;
  // A dilated Conv2D with a linear (or tanh…) activation would train through a fused convolution without a dilated gradient.
  const restore = unfuseDilatedConv2Ds(model);
  try {
    return await trainLoop(model, split, shape, numClasses, s, ctx);
  } finally {
    restore();
    // Adam's moment estimates are tensors; a second training run compiles a fresh optimiser.
    optimizer?.dispose();
  }
}

async function trainLoop(
  model: tfl.LayersModel,
  split: Split,
  shape: readonly [number, number, number],
  numClasses: number,
  s: TrainSettings,
  ctx: JobContext & { indices?: ArrayLike<number>; labels?: Int32Array; stage?: string; validation?: Validation },
): Promise<TrainResult> {
  const rng = createRng(s.seed);
  const order = ctx.indices ? Int32Array.from(ctx.indices) : Int32Array.from({ length: split.count }, (_, i) => i);
  const batchesPerEpoch = Math.ceil(order.length / s.batchSize);
  const totalBatches = batchesPerEpoch * s.epochs;
  const start = performance.now();
  let lastReport = 0;
  let samplesDone = 0;
  const epochs: EpochRecord[] = [];
  // The smoothed curve (SMOOTHING): running sums and the number of batches folded in.
  let smoothLoss = 0; let smoothAcc = 0; let smoothed = 0;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    rng.shuffle(order);
    const epochStart = performance.now();
    let lossSum = 0; let accSum = 0; let seen = 0;
    for (let b = 0; b < batchesPerEpoch; b++) {
      throwIfCancelled(ctx.signal);
      const idx = order.subarray(b * s.batchSize, Math.min(order.length, (b + 1) * s.batchSize));
      const { x, y } = makeBatch(split, idx, shape, numClasses, ctx.labels);
      let out: number | number[];
      try {
        const input = modelInput(model, x);
        out = await model.trainOnBatch(input, y);
        if (input !== x) input.dispose();
      } finally {
        x.dispose(); y.dispose();
      }
      const [loss, acc] = Array.isArray(out) ? out : [out, NaN];
      lossSum += loss * idx.length; accSum += acc * idx.length; seen += idx.length;
      samplesDone += idx.length;
      smoothLoss = SMOOTHING * smoothLoss + (1 - SMOOTHING) * loss;
      smoothAcc = SMOOTHING * smoothAcc + (1 - SMOOTHING) * acc;
      smoothed++;
      const correction = 1 - SMOOTHING ** smoothed;
      const now = performance.now();
      const doneBatches = epoch * batchesPerEpoch + b + 1;
      if (ctx.onProgress && (now - lastReport > 250 || doneBatches === totalBatches)) {
        lastReport = now;
        const elapsed = (now - start) / 1000;
        const rate = samplesDone / elapsed;
        ctx.onProgress({
          stage: ctx.stage ?? 'train',
          fraction: doneBatches / totalBatches,
          message: `epoch ${epoch + 1}/${s.epochs} · batch ${b + 1}/${batchesPerEpoch} · loss ${(lossSum / seen).toFixed(4)} · acc ${(accSum / seen).toFixed(3)}`,
          metrics: {
            epoch: epoch + 1, epochs: s.epochs, batch: b + 1, batches: batchesPerEpoch,
            loss: lossSum / seen, accuracy: accSum / seen, samplesPerSecond: rate,
            smoothLoss: smoothLoss / correction, smoothAccuracy: smoothAcc / correction,
            etaSeconds: (totalBatches - doneBatches) * (elapsed / doneBatches),
          },
        });
      }
      // Let the event loop breathe so cancel messages are seen during long epochs.
      if (b % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    const record: EpochRecord = { epoch: epoch + 1, loss: lossSum / seen, accuracy: accSum / seen, seconds: (performance.now() - epochStart) / 1000 };
    if (ctx.validation) {
      const v = await validationLoss(model, ctx.validation, shape, numClasses, { signal: ctx.signal });
      record.valLoss = v.loss; record.valAccuracy = v.accuracy;
      const done = (epoch + 1) * batchesPerEpoch;
      ctx.onProgress?.({
        stage: ctx.stage ?? 'train',
        fraction: done / totalBatches,
        message: `epoch ${epoch + 1}/${s.epochs} · validation loss ${v.loss.toFixed(4)} · acc ${v.accuracy.toFixed(3)}`,
        metrics: {
          epoch: epoch + 1, epochs: s.epochs, batch: batchesPerEpoch, batches: batchesPerEpoch,
          loss: record.loss, accuracy: record.accuracy, valLoss: v.loss, valAccuracy: v.accuracy, validationCount: v.count,
          samplesPerSecond: samplesDone / ((performance.now() - start) / 1000),
          etaSeconds: (totalBatches - done) * ((performance.now() - start) / 1000 / done),
        },
      });
    }
    epochs.push(record);
  }
  const seconds = (performance.now() - start) / 1000;
  return { epochs, seconds, samplesPerSecond: samplesDone / seconds };
}

export interface Predictions {
  predicted: Int32Array;
  /** count × numClasses, when asked for. */
  probabilities?: Float32Array;
}

/** Runs the model over a split (or an index subset) in batches. */
export async function predictSplit(
  model: tfl.LayersModel,
  split: Pick<Split, 'images' | 'count'>,
  shape: readonly [number, number, number],
  options: JobContext & { batchSize?: number; indices?: ArrayLike<number>; withProbabilities?: boolean; stage?: string } = {},
): Promise<Predictions> {
  const batchSize = options.batchSize ?? 256;
  const indices = options.indices;
  const n = indices ? indices.length : split.count;
  const numClasses = Number(model.outputs[0].shape[model.outputs[0].shape.length - 1]);
  const predicted = new Int32Array(n);
  const probabilities = options.withProbabilities ? new Float32Array(n * numClasses) : undefined;
  for (let start = 0; start < n; start += batchSize) {
    throwIfCancelled(options.signal);
    const end = Math.min(n, start + batchSize);
    const xs = batchPixels(split, shape, start, end, indices);
    const [probs, arg] = tf.tidy(() => {
      const x = modelInput(model, tf.tensor4d(xs, [end - start, shape[0], shape[1], shape[2]]));
      const p = model.predict(x) as tf.Tensor2D;
      return [probabilities ? p : null, tf.argMax(p, 1)] as const;
    });
    predicted.set(await arg.data() as Int32Array, start);
    arg.dispose();
    if (probs && probabilities) { probabilities.set(await probs.data() as Float32Array, start * numClasses); probs.dispose(); }
    options.onProgress?.({ stage: options.stage ?? 'predict', fraction: end / n });
  }
  return { predicted, probabilities };
}

export interface Evaluation {
  accuracy: number;
  count: number;
  perClass: { className: string; count: number; accuracy: number }[];
  predicted: Int32Array;
}

export async function evaluateSplit(
  model: tfl.LayersModel,
  split: Split,
  shape: readonly [number, number, number],
  classNames: string[],
  options: JobContext & { exclude?: number[] } = {},
): Promise<Evaluation> {
  const { predicted } = await predictSplit(model, split, shape, { ...options, stage: 'evaluate' });
  const excluded = new Set(options.exclude ?? []);
  const correct = new Array(classNames.length).fill(0);
  const counts = new Array(classNames.length).fill(0);
  let right = 0; let total = 0;
  for (let i = 0; i < split.count; i++) {
    if (excluded.has(i)) continue;
    const label = split.labels[i];
    counts[label]++; total++;
    if (predicted[i] === label) { correct[label]++; right++; }
  }
  return {
    accuracy: total ? right / total : 0,
    count: total,
    perClass: classNames.map((className, c) => ({ className, count: counts[c], accuracy: counts[c] ? correct[c] / counts[c] : 0 })),
    predicted,
  };
}
