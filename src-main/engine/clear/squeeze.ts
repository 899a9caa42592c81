/**
 * Squeezing: how far a training sample's feature vector moves when its image loses the finest
 * detail of its values, reduced to {@link SQUEEZE_BITS} bits per value (feature squeezing, Xu,
 * Evans & Qi, NDSS 2018). Clean-label poisons (feature collision, convex polytope, bullseye
 * polytope) are images of one class nudged, within a small budget, until the network places
 * them beside a target of another class: their place in feature space rests on a crafted
 * perturbation, and reducing the bit depth breaks it. A natural sample's place rests on what the
 * image shows, which eight levels per value keep.
 *
 * Measured on development trials (MNIST, transfer mlp, convex and bullseye polytope at ε = 0.2):
 * the poisons moved 4–9 times as far as the median training sample (medians 0.38 and 0.73 of a
 * typical nearest-neighbour distance, against 0.08), the members of the scan's natural
 * candidate groups as far as any sample (0.09).
 *
 * The drift of a sample is the distance between its L2-normalised feature vectors before and
 * after squeezing. What counts is how much more a group moves than this model's samples do: its
 * median member's drift against the 90th percentile of a seeded sample of the training split
 * (natural border groups of a dozen or more members reached 1.2–1.3 times the median drift on
 * development models, below that percentile; poisons 3.6–13.5 times).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherPixels, type Split } from '../data/dataset.js';
import { featureTensor } from '../features/embed.js';
import type { SplitModel } from '../features/split.js';
import { median } from '../features/stats.js';
import { createRng } from '../random.js';

/** Bits per value the squeezed image keeps: 8 levels in [0, 1]. */
export const SQUEEZE_BITS = 3;
/** Training samples whose drifts set the typical drift. */
export const TYPICAL_DRIFT_SAMPLES = 512;
/** The sampled drift a group's median member must pass before its fragility counts. */
export const HIGH_DRIFT_QUANTILE = 0.9;
/**
 * Least drift scale, as a share of the median distance between two samples: where squeezing
 * moves almost no sample, a drift is judged against this instead of against nothing.
 */
export const DRIFT_FLOOR_SHARE = 1e-3;
/** Samples squeezed and embedded per model call. */
const BATCH = 256;

/** An image's values reduced to `bits` bits each (values are in [0, 1]). */
export function squeezeValues(values: Float32Array, bits = SQUEEZE_BITS): Float32Array {
  const levels = 2 ** bits - 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i])) * levels) / levels;
  return out;
}

/** Distance between the L2-normalised rows `a[ai]` and `b[bi]` of width `dim`. */
function normalisedDistance(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let na = 0; let nb = 0;
  for (let t = 0; t < dim; t++) { na += a[ai * dim + t] ** 2; nb += b[bi * dim + t] ** 2; }
  na = Math.sqrt(na) || 1; nb = Math.sqrt(nb) || 1;
  let d = 0;
  for (let t = 0; t < dim; t++) d += (a[ai * dim + t] / na - b[bi * dim + t] / nb) ** 2;
  return Math.sqrt(d);
}

/**
 * Per-sample squeezing drifts, computed on demand and kept: the scan asks for the members of
 * its candidates and of its null groups, never the whole training split at once.
 */
export class SqueezeDrift {
  private readonly drift = new Map<number, number>();
  /** The median and the 90th percentile of the sampled training samples' drifts. */
  private typical = 0;
  private high = 0;

  constructor(
    private readonly parts: SplitModel,
    private readonly split: Pick<Split, 'images' | 'count'>,
    private readonly shape: readonly [number, number, number],
    /** The feature-layer activations of the unsqueezed training split, n × dim. */
    private readonly features: Float32Array,
    seed: number,
  ) {
    const rng = createRng(seed + 0x5eed);
    const count = Math.min(split.count, TYPICAL_DRIFT_SAMPLES);
    const picked = new Set<number>();
    while (picked.size < count) picked.add(rng.int(split.count));
    this.measure([...picked]);
    const drifts = [...picked].map((i) => this.drift.get(i)!).sort((a, b) => a - b);
    // Images whose values already sit on the eight levels (binary ones, say) do not move at
    // all; the drifts are then measured against a small share of the distance between two
    // samples, so that a crafted sample among them still stands out.
    const floor = DRIFT_FLOOR_SHARE * this.pairDistance([...picked], rng);
    this.typical = Math.max(median(drifts) || 0, floor);
    this.high = Math.max(drifts[Math.floor(HIGH_DRIFT_QUANTILE * (drifts.length - 1))] || 0, floor);
  }

  /** The median distance between the L2-normalised feature vectors of random pairs among `rows`. */
  private pairDistance(rows: number[], rng: ReturnType<typeof createRng>): number {
    if (rows.length < 2) return 0;
    return median(rows.map(() => {
      const a = rows[rng.int(rows.length)]; let b = rows[rng.int(rows.length)];
      if (a === b) b = rows[(rows.indexOf(a) + 1) % rows.length];
      return normalisedDistance(this.features, a, this.features, b, this.parts.featureDim);
    }));
  }

  /** Squeezes and embeds every sample of `indices` not measured yet. */
  measure(indices: Iterable<number>): void {
    const wanted = [...new Set(indices)].filter((i) => !this.drift.has(i));
    const dim = this.parts.featureDim;
    for (let start = 0; start < wanted.length; start += BATCH) {
      const rows = wanted.slice(start, start + BATCH);
      const xs = squeezeValues(gatherPixels(this.split, this.shape, rows));
      // Read outside the tidy, which would walk a returned typed array element by element (headPredict).
      const tensor = tf.tidy(() => featureTensor(this.parts, xs, rows.length, this.shape));
      const squeezed = tensor.dataSync() as Float32Array;
      tensor.dispose();
      rows.forEach((r, k) => this.drift.set(r, normalisedDistance(this.features, r, squeezed, k, dim)));
    }
  }

  /**
   * A group's squeezing figures, from one median over its members of ln(drift ÷ the typical
   * drift): `driftRatio`, how far the median member moves as a multiple of the typical (median)
   * sample's drift (or of the floor, when samples do not move); and `fragility`, the same median
   * against the 90th percentile of the sampled drifts, so above 0 only when the median member
   * moves further than nine in ten of the model's samples (0 when every sample's feature
   * vector is the same: nothing to compare with).
   */
  group(members: readonly number[]): { driftRatio: number; fragility: number } {
    if (!(this.typical > 0)) return { driftRatio: 1, fragility: 0 };
    this.measure(members);
    const logRatio = median(members.map((m) => Math.log(Math.max(this.drift.get(m)!, 1e-12) / this.typical)));
    return { driftRatio: Math.exp(logRatio), fragility: logRatio - Math.log(this.high / this.typical) };
  }

  /** Every sample's drift as a multiple of the typical drift (or of the floor), squeezing those not measured yet. */
  ratios(count: number): Float64Array {
    this.measure(Array.from({ length: count }, (_, i) => i));
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.typical > 0 ? this.drift.get(i)! / this.typical : 0;
    return out;
  }

  driftRatio(members: readonly number[]): number {
    return this.group(members).driftRatio;
  }

  fragility(members: readonly number[]): number {
    return this.group(members).fragility;
  }
}
