/**
 * Small numerical routines the baseline defences share: grouping by class, centring, power
 * iteration, PCA by subspace iteration, 2-means and the silhouette score. All in float64 on
 * the CPU: the matrices are class-sized (hundreds to thousands of rows, ≤ 10 columns after
 * PCA), except the covariance product, which runs on the tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../random.js';
import { throwIfCancelled } from '../../errors.js';
import { median } from '../../features/stats.js';

/** Training indices of each class, in ascending order. */
export function indicesByClass(labels: Int32Array, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, i) => { if (label >= 0 && label < numClasses) out[label].push(i); });
  return out;
}

/** The chosen rows minus their mean, as a float64 `rows × dim` matrix. */
export function centredRows(features: Float32Array, dim: number, rows: number[]): Float64Array {
  const mean = new Float64Array(dim);
  for (const i of rows) for (let t = 0; t < dim; t++) mean[t] += features[i * dim + t];
  for (let t = 0; t < dim; t++) mean[t] /= Math.max(1, rows.length);
  const out = new Float64Array(rows.length * dim);
  rows.forEach((i, r) => {
    for (let t = 0; t < dim; t++) out[r * dim + t] = features[i * dim + t] - mean[t];
  });
  return out;
}

function normalise(v: Float64Array): number {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return norm;
}

function randomUnitVector(dim: number, rng: Rng): Float64Array {
  const v = new Float64Array(dim);
  for (let t = 0; t < dim; t++) v[t] = rng.normal();
  normalise(v);
  return v;
}

/** Removes from `v` its components along the (orthonormal) vectors in `basis`. */
function orthogonalise(v: Float64Array, basis: Float64Array[]): void {
  for (const b of basis) {
    let dot = 0;
    for (let t = 0; t < v.length; t++) dot += v[t] * b[t];
    for (let t = 0; t < v.length; t++) v[t] -= dot * b[t];
  }
}

export const POWER_ITERATIONS = 200;
/** Stop once the direction moves less than this (1 − |cos|) between iterations. */
const POWER_TOLERANCE = 1e-10;

/**
 * The top `count` right singular vectors of the `rows × dim` matrix X and the matching
 * eigenvalues of XᵀX / rows, by power iteration with deflation (v ← Xᵀ(Xv), orthogonalised
 * against the vectors already found). Costs O(rows·dim) per step and never forms XᵀX.
 */
export function topSingularVectors(
  x: Float64Array, rows: number, dim: number, count: number, rng: Rng,
): { vectors: Float64Array[]; eigenvalues: number[] } {
  const vectors: Float64Array[] = [];
  const eigenvalues: number[] = [];
  const xv = new Float64Array(rows);
  for (let k = 0; k < Math.min(count, dim); k++) {
    let v = randomUnitVector(dim, rng);
    orthogonalise(v, vectors);
    normalise(v);
    let eigenvalue = 0;
    for (let it = 0; it < POWER_ITERATIONS; it++) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let t = 0; t < dim; t++) s += x[r * dim + t] * v[t];
        xv[r] = s;
      }
      const next = new Float64Array(dim);
      for (let r = 0; r < rows; r++) {
        const s = xv[r];
        if (s !== 0) for (let t = 0; t < dim; t++) next[t] += x[r * dim + t] * s;
      }
      orthogonalise(next, vectors);
      eigenvalue = normalise(next) / Math.max(1, rows);
      let cos = 0;
      for (let t = 0; t < dim; t++) cos += next[t] * v[t];
      v = next;
      if (eigenvalue === 0 || 1 - Math.abs(cos) < POWER_TOLERANCE) break;
    }
    vectors.push(v);
    eigenvalues.push(eigenvalue);
  }
  return { vectors, eigenvalues };
}

/**
 * Principal components: the top `count` eigenvectors of the covariance XᵀX / rows of a
 * centred matrix, by subspace iteration (Q ← orth(C·Q)) on the `dim × dim` covariance, which
 * is formed once by a matrix product on the tfjs backend.
 */
export function principalComponents(
  x: Float64Array, rows: number, dim: number, count: number, rng: Rng,
): Float64Array[] {
  const k = Math.min(count, dim);
  const covariance = tf.tidy(() => {
    const m = tf.tensor2d(Float32Array.from(x), [rows, dim]);
    return tf.div(tf.matMul(m, m, true, false), Math.max(1, rows));
  });
  const c = Float64Array.from(covariance.dataSync());
  covariance.dispose();
  let basis: Float64Array[] = Array.from({ length: k }, () => randomUnitVector(dim, rng));
  basis = gramSchmidt(basis);
  for (let it = 0; it < SUBSPACE_ITERATIONS; it++) {
    const next = basis.map((q) => {
      const out = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        for (let b = 0; b < dim; b++) s += c[a * dim + b] * q[b];
        out[a] = s;
      }
      return out;
    });
    basis = gramSchmidt(next);
  }
  return basis;
}

/** Subspace-iteration steps; the leading 10 of a class's covariance settle well within this. */
const SUBSPACE_ITERATIONS = 100;

function gramSchmidt(vectors: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const v of vectors) {
    const w = Float64Array.from(v);
    orthogonalise(w, out);
    orthogonalise(w, out); // twice is enough for float64 orthogonality
    if (normalise(w) === 0) w[out.length % w.length] = 1;
    out.push(w);
  }
  return out;
}

/** `rows × components.length` coordinates of the rows of X along the components. */
export function project(x: Float64Array, rows: number, dim: number, components: Float64Array[]): Float64Array {
  const k = components.length;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      const comp = components[j];
      for (let t = 0; t < dim; t++) s += x[r * dim + t] * comp[t];
      out[r * k + j] = s;
    }
  }
  return out;
}

function squaredDistance(a: Float64Array, i: number, b: Float64Array, j: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) {
    const d = a[i * dim + t] - b[j * dim + t];
    s += d * d;
  }
  return s;
}

export interface TwoMeans {
  /** 0 or 1 per row. */
  assignment: Uint8Array;
  sizes: [number, number];
  inertia: number;
}

const KMEANS_MAX_ITERATIONS = 100;

/**
 * 2-means (Lloyd's algorithm, k-means++ start), best of `restarts` by inertia. Deterministic
 * for a given generator state.
 */
export function twoMeans(points: Float64Array, rows: number, dim: number, rng: Rng, restarts: number): TwoMeans {
  let best: TwoMeans | undefined;
  for (let r = 0; r < restarts; r++) {
    const run = lloyd(points, rows, dim, rng);
    if (!best || run.inertia < best.inertia) best = run;
  }
  return best as TwoMeans;
}

function lloyd(points: Float64Array, rows: number, dim: number, rng: Rng): TwoMeans {
  const centres = new Float64Array(2 * dim);
  const first = rng.int(rows);
  centres.set(points.subarray(first * dim, (first + 1) * dim), 0);
  // k-means++: the second centre with probability proportional to squared distance.
  const d2 = new Float64Array(rows);
  let total = 0;
  for (let i = 0; i < rows; i++) { d2[i] = squaredDistance(points, i, centres, 0, dim); total += d2[i]; }
  let second = 0;
  if (total > 0) {
    let pick = rng.next() * total;
    for (second = 0; second < rows - 1; second++) { pick -= d2[second]; if (pick <= 0) break; }
  }
  centres.set(points.subarray(second * dim, (second + 1) * dim), dim);
  const assignment = new Uint8Array(rows);
  let inertia = 0;
  for (let it = 0; it < KMEANS_MAX_ITERATIONS; it++) {
    let changed = false;
    inertia = 0;
    for (let i = 0; i < rows; i++) {
      const a = squaredDistance(points, i, centres, 0, dim);
      const b = squaredDistance(points, i, centres, 1, dim);
      const cluster = b < a ? 1 : 0;
      inertia += Math.min(a, b);
      if (cluster !== assignment[i]) { assignment[i] = cluster; changed = true; }
    }
    if (it > 0 && !changed) break;
    const sums = new Float64Array(2 * dim);
    const counts = [0, 0];
    for (let i = 0; i < rows; i++) {
      const cl = assignment[i];
      counts[cl]++;
      for (let t = 0; t < dim; t++) sums[cl * dim + t] += points[i * dim + t];
    }
    for (let cl = 0; cl < 2; cl++) {
      if (counts[cl] === 0) continue; // keep an empty cluster's centre where it was
      for (let t = 0; t < dim; t++) centres[cl * dim + t] = sums[cl * dim + t] / counts[cl];
    }
  }
  const sizes: [number, number] = [0, 0];
  for (let i = 0; i < rows; i++) sizes[assignment[i]]++;
  return { assignment, sizes, inertia };
}

/**
 * Mean silhouette (Rousseeuw 1987) of a 2-cluster assignment, over at most `maxRows` rows
 * picked at random (the exact score is quadratic in the rows). Distances to a cluster are
 * averaged over all its rows, so the estimate is unbiased. 0 when one cluster is empty.
 */
export function silhouette(
  points: Float64Array, rows: number, dim: number, assignment: Uint8Array, rng: Rng, maxRows: number,
): number {
  const sizes = [0, 0];
  for (let i = 0; i < rows; i++) sizes[assignment[i]]++;
  if (sizes[0] === 0 || sizes[1] === 0) return 0;
  const order = Array.from({ length: rows }, (_, i) => i);
  const sample = rows > maxRows ? rng.shuffle(order).slice(0, maxRows) : order;
  let sum = 0;
  for (const i of sample) {
    const totals = [0, 0];
    for (let j = 0; j < rows; j++) {
      if (j === i) continue;
      totals[assignment[j]] += Math.sqrt(squaredDistance(points, i, points, j, dim));
    }
    const own = assignment[i];
    if (sizes[own] === 1) continue; // a singleton's silhouette is 0 by convention
    const a = totals[own] / (sizes[own] - 1);
    const b = totals[1 - own] / sizes[1 - own];
    const s = Math.max(a, b) > 0 ? (b - a) / Math.max(a, b) : 0;
    sum += s;
  }
  return sum / sample.length;
}

/**
 * Iglewicz–Hoaglin modified z-scores, 0.6745·(x − median)/MAD: a robust "how many
 * standard deviations from typical", not dragged by the outlier it is looking for.
 * When the MAD is 0 (half the values equal), the mean absolute deviation stands in.
 */
export function modifiedZScores(values: number[]): number[] {
  const m = median(values);
  const deviations = values.map((v) => Math.abs(v - m));
  let mad = median(deviations);
  let scale = 0.6745;
  if (!(mad > 0)) {
    mad = deviations.reduce((a, b) => a + b, 0) / Math.max(1, deviations.length);
    scale = 0.7979; // √(2/π): mean absolute deviation of a unit normal
  }
  return values.map((v) => (mad > 0 ? (scale * (v - m)) / mad : 0));
}

/**
 * The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error
 * below 1.2e-9), used to turn a false-alarm rate into a z threshold.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, not ${p}.`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * The walk the per-class baselines (spectral signatures, activation clustering) share: each
 * class with at least `minSize` samples, in class order, as its training indices and its
 * feature rows centred on the class mean; cancellable, reporting progress per class and
 * yielding to the event loop between classes.
 */
export async function* centredClasses(
  embedding: { n: number; dim: number; features: Float32Array }, labels: Int32Array, classes: number, minSize: number,
  progress: { stage: string; classNames: string[]; signal?: AbortSignal; onProgress?: (e: { stage: string; fraction: number; message?: string }) => void },
): AsyncGenerator<{ classIndex: number; rows: number[]; x: Float64Array }> {
  const { n, dim, features } = embedding;
  const byClass = indicesByClass(labels.subarray(0, n), classes);
  for (let c = 0; c < classes; c++) {
    throwIfCancelled(progress.signal);
    const rows = byClass[c];
    if (rows.length < minSize) continue;
    yield { classIndex: c, rows, x: centredRows(features, dim, rows) };
    progress.onProgress?.({ stage: progress.stage, fraction: (c + 1) / classes, message: `class ${progress.classNames[c]}` });
    await new Promise((r) => setImmediate(r));
  }
}
