/**
 * Fine-tuning with corrected data: the mitigation step shared by CLEAR (relabel pocket
 * members to the enclosing class, then close the pockets' hulls in the head) and the baselines
 * (remove flagged samples), so their after-repair figures compare like with like, and the
 * benchmark measures the repair the product runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { embedSplit } from '../features/embed.js';
import { splitModel } from '../features/split.js';
import { trainModel, type TrainResult } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { UserError } from '../errors.js';
import { trainsDilatedDepthwise } from '../backend/gradients.js';

export interface FineTuneSettings {
  epochs: number;
  learningRate: number;
  /** Clean training samples replayed beside the corrected ones (all of them when larger than the set). */
  replay: number;
  /** How many times each corrected sample appears per epoch. */
  oversample: number;
  batchSize: number;
  seed: number;
  /** Hull-interior feature mixtures per hull the head is trained on after the fine-tune. */
  interiorProbes: number;
  /** Clean training samples whose features are replayed beside the probes (the head alone trains, so they cost one forward pass). */
  hullReplay: number;
  /** Adam learning rate of the head's training on the probes. */
  hullLearningRate: number;
}

/**
 * Defaults chosen on the development trials (bench/dev/repair-study.ts), not on the held-out
 * benchmark. The fine-tune is 2 × (768 + 8 × the corrected samples) sample-steps at 0.3× the
 * training learning rate, about 1,900 for a 20-sample pocket; its replay is a fixed-size random
 * sample of the clean training data, so a repair costs the same at any N while training from
 * scratch grows with it. On clean-label poisons (feature collisions labelled with their own
 * class) that fine-tune alone left 4 of 13 development targets with the attacker; training the
 * head on hull-interior mixtures afterwards moved all 13 back. Its replay of clean features is
 * large (the head alone trains, so each costs one forward pass): with 768 the head drifted and
 * held-out accuracy fell by up to a point, with 4,096 it stayed within half a point (−0.5 to +0.55).
 */
export const DEFAULT_FINE_TUNE: FineTuneSettings = {
  epochs: 2, learningRate: 3e-4, replay: 768, oversample: 8, batchSize: 64, seed: 0,
  interiorProbes: 256, hullReplay: 4096, hullLearningRate: 1e-3,
};

/** Training samples whose convex hull in feature space the head is taught to call `label`. */
export interface HullGroup {
  members: readonly number[];
  label: number;
}

export interface Correction {
  /** New labels for some training samples. */
  relabel?: Map<number, number>;
  /** Training samples to leave out. */
  remove?: Set<number>;
  /**
   * CLEAR's pockets: after the fine-tune, the head (the layers after `featureLayer`) is trained
   * on random mixtures of each group's features labelled the group's label, so the whole hull,
   * where the unknown target usually sits, is closed and not only its corners.
   */
  hulls?: { featureLayer: string; groups: readonly HullGroup[] };
}

/**
 * Why fine-tuning cannot train through `layer` on `backend`, or undefined when it can. Dilated
 * layers are the only ones in question (backend/gradients.ts): depthwise and separable ones train
 * on wasm only; Conv1D and Conv2D ones on any backend (trainModel runs a dilated Conv2D unfused).
 */
function dilationBlocker(layer: tfl.layers.Layer, backend: string): string | undefined {
  const kind = layer.getClassName();
  if (!['Conv1D', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'SeparableConv2D'].includes(kind)) return undefined;
  const config = layer.getConfig();
  const rate = ([] as number[]).concat((config.dilationRate as number | number[] | undefined) ?? 1);
  if (rate.every((d) => d === 1)) return undefined;
  const dilated = `its layer "${layer.name}" (${kind}) is dilated (${rate.join('×')})`;
  if (kind === 'DepthwiseConv2D' || kind === 'SeparableConv2D') {
    return trainsDilatedDepthwise(backend) ? undefined : `${dilated}, and training through a dilated ${kind} is not supported on the ${backend} backend (the engine trains it on wasm)`;
  }
  return kind === 'Conv1D' || kind === 'Conv2D' ? undefined : `${dilated}, and training through a dilated ${kind} is not supported in TensorFlow.js`;
}

/**
 * Refuses, before anything is written, a model that fine-tuning cannot train: one with a
 * dilated layer whose gradient this backend cannot take. `where` names the model in the sentence.
 */
export function assertCanFineTune(model: tfl.LayersModel, where: string): void {
  const backend = tf.getBackend();
  const visit = (layers: readonly tfl.layers.Layer[]): void => {
    for (const layer of layers) {
      const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
      if (nested) visit(nested);
      const why = dilationBlocker(layer, backend);
      if (why) throw new UserError(`The model ${where} cannot be fine-tuned: ${why}; the scan's findings stand.`);
    }
  };
  visit(model.layers);
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
  const result = await trainModel(model, ds.train, ds.shape, ds.classNames.length,
    { epochs: s.epochs, learningRate: s.learningRate, batchSize: s.batchSize, seed: s.seed },
    { ...ctx, indices, labels, stage: 'repair' });
  const groups = (correction.hulls?.groups ?? []).filter((g) => g.members.length > 0);
  if (groups.length && s.interiorProbes > 0) {
    ctx.onProgress?.({ stage: 'repair', fraction: 1, message: 'closing the hulls in the head' });
    await closeHulls(model, ds, correction.hulls!.featureLayer, groups, clean.slice(0, Math.min(s.hullReplay, clean.length)), s, ctx);
  }
  return result;
}

/** Trains the head alone on hull-interior mixtures labelled with their group's label, beside replayed clean features. */
async function closeHulls(model: tfl.LayersModel, ds: Dataset, featureLayer: string, groups: readonly HullGroup[], replay: number[], s: FineTuneSettings, ctx: JobContext): Promise<void> {
  const parts = splitModel(model, featureLayer);
  // A head with nothing to train (frozen weights) cannot be closed; the fine-tune above is the repair.
  if (!parts.head.trainableWeights.length) return;
  const numClasses = ds.classNames.length;
  const members = [...new Set(groups.flatMap((g) => g.members))];
  const idx = [...members, ...replay];
  const emb = await embedSplit(parts, ds.train, ds.shape, { indices: idx, signal: ctx.signal });
  const pos = new Map(idx.map((v, k) => [v, k]));
  const dim = emb.dim;
  const rng = createRng(s.seed + 104729);
  const n = groups.length * s.interiorProbes + replay.length;
  const xs = new Float32Array(n * dim);
  const targets = new Int32Array(n);
  let row = 0;
  for (const g of groups) {
    for (let q = 0; q < s.interiorProbes; q++, row++) {
      // Uniform (Dirichlet(1)) weights over the members: a random point of the hull.
      const w = g.members.map(() => -Math.log(1 - rng.next()));
      const sum = w.reduce((a, b) => a + b, 0);
      const out = row * dim;
      g.members.forEach((m, k) => { const base = pos.get(m)! * dim; for (let d = 0; d < dim; d++) xs[out + d] += (w[k] / sum) * emb.features[base + d]; });
      targets[row] = g.label;
    }
  }
  for (const i of replay) { xs.set(emb.features.subarray(pos.get(i)! * dim, (pos.get(i)! + 1) * dim), row * dim); targets[row++] = ds.train.labels[i]; }
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, k) => k));
  const optimizer = tf.train.adam(s.hullLearningRate);
  try {
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      for (let b = 0; b < n; b += s.batchSize) {
        throwIfCancelled(ctx.signal);
        const sel = order.subarray(b, Math.min(n, b + s.batchSize));
        const bx = new Float32Array(sel.length * dim); const by = new Float32Array(sel.length * numClasses);
        sel.forEach((r, k) => { bx.set(xs.subarray(r * dim, (r + 1) * dim), k * dim); by[k * numClasses + targets[r]] = 1; });
        tf.tidy(() => {
          const x = tf.tensor2d(bx, [sel.length, dim]); const y = tf.tensor2d(by, [sel.length, numClasses]);
          optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.log(tf.clipByValue(parts.head.apply(x) as tf.Tensor, 1e-7, 1))) as tf.Scalar,
            false, parts.head.trainableWeights.map((w) => w.read() as tf.Variable));
        });
      }
    }
  } finally { optimizer.dispose(); }
}
