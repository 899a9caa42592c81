/**
 * The neighbour graph of the scan: the exact K nearest
 * neighbours of every training sample in feature space, by blocked matrix products on the
 * active tfjs backend.
 *
 * This is the hot path of a scan, so the work is arranged for it:
 * - One matrix product per block gives a *ranking score* directly. With
 *   `a_i = [2·x_i, 1]` and `b_j = [x_j, −|x_j|²]`, `a_i · b_j = 2·x_i·x_j − |x_j|²
 *   = |x_i|² − d²(i, j)`: for a fixed row `i`, the largest scores are the nearest `j`. No
 *   element-wise pass over the block's `rows × n` matrix is needed before `topk`, so a block
 *   holds one such matrix, not four.
 * - Only `rows × (K + 1)` values leave the backend per block; the distance matrix never
 *   does, and never exists for more than one block at a time.
 * - The score is float32 and loses precision through cancellation when two points are much
 *   closer to each other than to the origin (near-duplicates: exactly the points a pocket is
 *   made of). So the features are centred first, and the K distances kept per row are
 *   recomputed exactly in float64 on the CPU and the row re-sorted; the float32 product only
 *   has to *select* the neighbours.
 */
import { tf } from '../backend/index.js';
import { throwIfCancelled } from '../errors.js';

export interface NeighbourGraph {
  /** Number of samples. */
  n: number;
  /** Neighbours kept per sample. */
  k: number;
  /** `n × k`, row-major: row `i` holds the indices of its `k` nearest *other* samples, nearest first. */
  indices: Int32Array;
  /** `n × k`, same layout: the Euclidean distance to each of those neighbours. */
  distances: Float32Array;
  /**
   * Longer neighbour lists for some samples, nearest first, beginning with their `k` above
   * (runs.ts): a sample inside a group of same-label samples larger than `k` sees only its own
   * group in `k` neighbours, and needs the list past its group to judge what encloses it.
   */
  extended?: Map<number, NeighbourRow>;
}

/** One sample's neighbours, nearest first. */
export interface NeighbourRow {
  indices: Int32Array;
  distances: Float32Array;
}

/** Sample `i`'s longest known neighbour list: its extended row when it has one, else its `k` graph neighbours (views, no copy). */
export function neighbourRow(graph: NeighbourGraph, i: number): NeighbourRow {
  const extended = graph.extended?.get(i);
  if (extended) return extended;
  const start = i * graph.k;
  return { indices: graph.indices.subarray(start, start + graph.k), distances: graph.distances.subarray(start, start + graph.k) };
}

export interface NeighbourGraphOptions {
  /** Rows per block; by default as many as keep one block's score matrix under {@link MAX_BLOCK_BYTES}. */
  blockRows?: number;
  signal?: AbortSignal;
  /** Called after each block with the fraction of rows done, in (0, 1]. */
  onProgress?: (fraction: number) => void;
}

/**
 * Memory budget of one block's `rows × n` float32 score matrix (the only large tensor a block
 * makes): 64 MiB keeps a scan of 100k samples at 167 rows a block within a browser tab's
 * wasm heap, and at N = 10k gives blocks of ~1,600 rows, large enough that the matrix
 * product, not per-call overhead, dominates.
 */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

const FLOAT32_BYTES = 4;

export type FeatureNormalisation = 'l2' | 'standardise';

/**
 * Returns a normalised copy of `features` (`n × dim`, row-major).
 * - `'l2'`: each row scaled to unit length (cosine geometry). An all-zero row stays zero.
 * - `'standardise'`: each dimension shifted to mean 0 and scaled to standard deviation 1 over
 *   the `n` rows. A constant dimension becomes 0 rather than NaN.
 * Sums are taken in float64 so that the result does not depend on `n`'s size.
 */
export function normaliseFeatures(
  features: Float32Array,
  n: number,
  dim: number,
  mode: FeatureNormalisation,
): Float32Array {
  checkFeatureShape(features, n, dim, 'normaliseFeatures');
  const out = new Float32Array(n * dim);
  if (mode === 'l2') {
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      let squared = 0;
      for (let t = 0; t < dim; t++) squared += features[row + t] * features[row + t];
      const scale = squared > 0 ? 1 / Math.sqrt(squared) : 0;
      for (let t = 0; t < dim; t++) out[row + t] = features[row + t] * scale;
    }
    return out;
  }
  if (mode === 'standardise') {
    const mean = columnMeans(features, n, dim);
    const variance = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      for (let t = 0; t < dim; t++) {
        const centred = features[row + t] - mean[t];
        variance[t] += centred * centred;
      }
    }
    const inverseStd = new Float64Array(dim);
    for (let t = 0; t < dim; t++) {
      const std = Math.sqrt(variance[t] / n);
      inverseStd[t] = std > 0 ? 1 / std : 0;
    }
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      for (let t = 0; t < dim; t++) out[row + t] = (features[row + t] - mean[t]) * inverseStd[t];
    }
    return out;
  }
  throw new RangeError(`normaliseFeatures: unknown mode '${String(mode)}' (use 'l2' or 'standardise').`);
}

/**
 * The exact `k` nearest neighbours (Euclidean) of each of the `n` rows of `features`
 * (`n × dim`, row-major), excluding the row itself. Distances are exact (float64 from the
 * coordinates); the float32 ranking only decides which neighbours are kept, so a
 * neighbour tied with the k-th to within float32 rounding may be swapped for it. Among
 * equidistant neighbours (duplicates) the order is the backend's `topk` order and may differ
 * between backends; the distances do not.
 */
export async function buildNeighbourGraph(
  features: Float32Array,
  n: number,
  dim: number,
  k: number,
  options: NeighbourGraphOptions = {},
): Promise<NeighbourGraph> {
  checkFeatureShape(features, n, dim, 'buildNeighbourGraph');
  if (!Number.isInteger(k) || k < 1 || k >= n) {
    throw new RangeError(`buildNeighbourGraph: k must be an integer in [1, n − 1] = [1, ${n - 1}], not ${k}.`);
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      throw new RangeError(`buildNeighbourGraph: feature ${i % dim} of sample ${Math.floor(i / dim)} is not finite (${features[i]}).`);
    }
  }
  const { signal, onProgress } = options;
  throwIfCancelled(signal);

  const centred = centreRows(features, n, dim);
  const width = dim + 1;
  const { queryRows, referenceRows } = rankingRows(centred, n, dim);

  const blockRows = chooseBlockRows(n, options.blockRows);
  // Self is almost always among the top k + 1 (score |x_i|², the row maximum); when it is not
  // (more than k exact duplicates), dropping the last of the k + 1 is just as exact.
  const fetched = k + 1;
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const rowDistances = new Float64Array(fetched);
  const rowIndices = new Int32Array(fetched);

  const queries = tf.tensor2d(queryRows, [n, width]);
  // Stored transposed once, so each block is a plain (rows × width)·(width × n) product.
  const referencesTransposed = tf.tidy(() => tf.transpose(tf.tensor2d(referenceRows, [n, width])));
  try {
    for (let start = 0; start < n; start += blockRows) {
      throwIfCancelled(signal);
      const rows = Math.min(blockRows, n - start);
      const top = tf.tidy(() => {
        const block = tf.slice(queries, [start, 0], [rows, width]);
        return tf.topk(tf.matMul(block, referencesTransposed), fetched, true);
      });
      let candidateIndices: Int32Array;
      try {
        candidateIndices = (await top.indices.data()) as Int32Array;
      } finally {
        top.values.dispose();
        top.indices.dispose();
      }
      for (let r = 0; r < rows; r++) {
        const i = start + r;
        exactRow(centred, dim, i, candidateIndices.subarray(r * fetched, (r + 1) * fetched), k, rowIndices, rowDistances);
        indices.set(rowIndices.subarray(0, k), i * k);
        for (let c = 0; c < k; c++) distances[i * k + c] = rowDistances[c];
      }
      onProgress?.((start + rows) / n);
    }
  } finally {
    queries.dispose();
    referencesTransposed.dispose();
  }
  return { n, k, indices, distances };
}

/**
 * The rows whose products rank neighbours (see the module comment): queries `[2·x_i, 1]` for
 * `rows` (default all `n`), references `[x_j, −|x_j|²]` for all `n`, from centred features.
 */
export function rankingRows(centred: Float32Array, n: number, dim: number, rows?: readonly number[]): { queryRows: Float32Array; referenceRows: Float32Array } {
  const width = dim + 1;
  const referenceRows = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    let squared = 0;
    for (let t = 0; t < dim; t++) {
      const value = centred[i * dim + t];
      squared += value * value;
      referenceRows[i * width + t] = value;
    }
    referenceRows[i * width + dim] = -squared;
  }
  const count = rows ? rows.length : n;
  const queryRows = new Float32Array(count * width);
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r;
    for (let t = 0; t < dim; t++) queryRows[r * width + t] = 2 * centred[i * dim + t];
    queryRows[r * width + dim] = 1;
  }
  return { queryRows, referenceRows };
}

/**
 * Sample `i`'s first `wanted` neighbours from the backend's ranked `candidates` (itself
 * dropped), with exact float64 distances, re-sorted by them, into `rowIndices` and
 * `rowDistances`; returns how many were filled.
 */
export function exactRow(
  centred: Float32Array, dim: number, i: number, candidates: ArrayLike<number>, wanted: number,
  rowIndices: Int32Array, rowDistances: Float64Array,
): number {
  let filled = 0;
  for (let c = 0; c < candidates.length && filled < wanted; c++) {
    const j = candidates[c];
    if (j === i) continue;
    rowIndices[filled] = j;
    rowDistances[filled] = exactDistance(centred, i, j, dim);
    filled++;
  }
  sortRowByDistance(rowIndices, rowDistances, filled);
  return filled;
}

export function chooseBlockRows(n: number, requested: number | undefined): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) {
      throw new RangeError(`buildNeighbourGraph: blockRows must be a positive integer, not ${requested}.`);
    }
    return Math.min(requested, n);
  }
  return Math.max(1, Math.min(n, Math.floor(MAX_BLOCK_BYTES / (FLOAT32_BYTES * n))));
}

function checkFeatureShape(features: Float32Array, n: number, dim: number, op: string): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`${op}: n and dim must be positive integers, not n = ${n}, dim = ${dim}.`);
  }
  if (features.length !== n * dim) {
    throw new RangeError(`${op}: features hold ${features.length} values, not n × dim = ${n} × ${dim} = ${n * dim}.`);
  }
}

function columnMeans(features: Float32Array, n: number, dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let t = 0; t < dim; t++) mean[t] += features[row + t];
  }
  for (let t = 0; t < dim; t++) mean[t] /= n;
  return mean;
}

/**
 * Rows minus their mean: distances are unchanged, cancellation much smaller. The mean is
 * float64; the result is float32, which keeps a 100k × 512 scan's copy at 200 MB.
 */
export function centreRows(features: Float32Array, n: number, dim: number): Float32Array {
  const mean = columnMeans(features, n, dim);
  const centred = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let t = 0; t < dim; t++) centred[row + t] = features[row + t] - mean[t];
  }
  return centred;
}

export function exactDistance(rows: Float32Array, i: number, j: number, dim: number): number {
  const a = i * dim;
  const b = j * dim;
  let squared = 0;
  for (let t = 0; t < dim; t++) {
    const delta = rows[a + t] - rows[b + t];
    squared += delta * delta;
  }
  return Math.sqrt(squared);
}

/**
 * Insertion sort of the first `count` entries by distance, stable, so equal distances keep
 * the backend's order. The rows arrive almost sorted (the float32 ranking), so this is
 * close to linear.
 */
export function sortRowByDistance(rowIndices: Int32Array, rowDistances: Float64Array, count: number): void {
  for (let a = 1; a < count; a++) {
    const distance = rowDistances[a];
    const index = rowIndices[a];
    let b = a - 1;
    while (b >= 0 && rowDistances[b] > distance) {
      rowDistances[b + 1] = rowDistances[b];
      rowIndices[b + 1] = rowIndices[b];
      b--;
    }
    rowDistances[b + 1] = distance;
    rowIndices[b + 1] = index;
  }
}
