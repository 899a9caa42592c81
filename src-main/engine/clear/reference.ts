/**
 * Held-out support of a pocket: which held-out (reference) samples land in it.
 *
 * A natural pocket is a real sub-population of its class (a way of writing a "1" that looks
 * like a "2"): held-out samples of the same class land in it too, and the model gets them
 * right. A planted pocket exists for one target: no held-out sample of the attacker class
 * lands in it, and a held-out sample of the enclosing class that does (the target, when it is
 * in the reference set) is misclassified. The reference set is the dataset's test split,
 * which the model was not trained on.
 */
import { tf } from '../backend/index.js';
import type { Split } from '../data/dataset.js';
import type { JobContext } from '../progress.js';
import { embedSplit } from '../features/embed.js';
import { normaliseFeatures } from '../features/knn.js';
import type { SplitModel } from '../features/split.js';

/** Nearest training samples kept per reference sample. */
export const LANDING_NEIGHBOURS = 3;

export interface ReferenceLanding {
  /** For each reference sample, its LANDING_NEIGHBOURS nearest training samples (L2-normalised features), row-major. */
  nearestTraining: Int32Array;
  labels: Int32Array;
  predictions: Int32Array;
  seconds: number;
}

/** Reference rows per matrix product: 512 × N float32 stays small for N up to 100k. */
const REFERENCE_BLOCK = 512;

export async function landReferenceSamples(
  parts: SplitModel,
  reference: Split,
  shape: readonly [number, number, number],
  trainNormalised: Float32Array,
  n: number,
  ctx: JobContext = {},
): Promise<ReferenceLanding> {
  const start = performance.now();
  const emb = await embedSplit(parts, reference, shape, { signal: ctx.signal, onProgress: (e) => ctx.onProgress?.({ ...e, stage: 'embed' }) });
  const dim = emb.dim;
  const ref = normaliseFeatures(emb.features, emb.n, dim, 'l2');
  const nearestTraining = new Int32Array(emb.n * LANDING_NEIGHBOURS);
  const train = tf.tensor2d(trainNormalised, [n, dim]);
  const trainT = tf.transpose(train);
  try {
    for (let s = 0; s < emb.n; s += REFERENCE_BLOCK) {
      const e = Math.min(emb.n, s + REFERENCE_BLOCK);
      // Unit vectors: the largest dot product is the nearest neighbour.
      const best = tf.tidy(() => tf.topk(tf.matMul(tf.tensor2d(ref.subarray(s * dim, e * dim), [e - s, dim]), trainT), LANDING_NEIGHBOURS).indices);
      nearestTraining.set(await best.data() as Int32Array, s * LANDING_NEIGHBOURS);
      best.dispose();
    }
  } finally {
    train.dispose(); trainT.dispose();
  }
  return { nearestTraining, labels: reference.labels, predictions: emb.predictions, seconds: (performance.now() - start) / 1000 };
}

export interface HeldOutSupport {
  /** Reference samples of the attacker class whose nearest training sample is a member. */
  attackerClass: number;
  /** Reference samples of another class landing in the pocket that the model predicts as A. */
  misclassified: number;
  landed: number;
}

export function heldOutSupport(landing: ReferenceLanding, members: readonly number[], attackerClass: number): HeldOutSupport {
  const set = new Set(members);
  let a = 0; let mis = 0; let landed = 0;
  const rows = landing.labels.length;
  for (let r = 0; r < rows; r++) {
    // A reference sample lands in the pocket when any of its nearest training samples is a member.
    let inside = false;
    for (let q = 0; q < LANDING_NEIGHBOURS; q++) if (set.has(landing.nearestTraining[r * LANDING_NEIGHBOURS + q])) inside = true;
    if (!inside) continue;
    landed++;
    if (landing.labels[r] === attackerClass) a++;
    else if (landing.predictions[r] === attackerClass) mis++;
  }
  return { attackerClass: a, misclassified: mis, landed };
}
