/**
 * The neighbour graph of the scan: the exact K nearest
 * neighbours of every training sample in feature space, by blocked matrix products on the
 * active tfjs backend.
 *
 * This is the hot path of a scan, so the work is arranged for it:
 * - The products are the Gram matrix of the centred features, `G_ij = x_i · x_j`, in square
 *   blocks of at most {@link BLOCK_SIZE} × {@link BLOCK_SIZE}, and only the blocks on and
 *   above the diagonal: `G` is symmetric, so block (I, J) serves the rows of I (its rows) and
 *   the rows of J (its columns) alike, and the arithmetic is half of a full product. Nothing
 *   N × N ever exists: memory beyond the inputs is one block, and the graph.
 * - Row `i` ranks column `j` by `2·G_ij − |x_j|² = |x_i|² − d²(i, j)`, computed in float64 from
 *   the float32 product, so the same pair gets the same score for both its rows' rankings
 *   whichever block it came from. The K + 1 best columns of every row are selected as each
 *   block is read, once (on wasm in place on the wasm heap, without a copy): a row keeps its K
 *   + 1 best so far and the score of the worst of them, and a score that does not beat it
 *   (nearly every score after the first blocks) costs one comparison. Each row is offered its
 *   columns in increasing order (blocks left of the diagonal through their transpose, then the
 *   diagonal block, then the blocks right of it), so among equal scores the lower column wins
 *   ({@link RunningTopK}), as a whole row's `topk` would order them.
 * - On wasm the scores are not read one by one in JavaScript: a SIMD filter
 *   (backend/simd-kernels.ts) reads each block where the product landed and returns, per row, the
 *   few columns that may beat the row's threshold (and, mirrored, the rows that may beat their
 *   columns' thresholds), which are then compared exactly. On 60,000 clustered 128-d vectors
 *   this and the halved products took the graph from 17.3 s to 8.8 s (same graph, two busy
 *   cores); the products are now most of what is left.
 * - The score is float32 and loses precision through cancellation when two points are much
 *   closer to each other than to the origin (near-duplicates: exactly the points a pocket is
 *   made of). So the features are centred first, and the K distances kept per row are
 *   recomputed exactly in float64 on the CPU and the row re-sorted; the float32 product only
 *   has to *select* the neighbours.
 *
 * Longer lists for a chosen few rows (runs.ts) use {@link rankCandidates}: one product of
 * `[2·x_i, 1]` against `[x_j, −|x_j|²]` per block, which gives the same ranking score without
 * a pass over the block.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../backend/index.js';
import { throwIfCancelled } from '../errors.js';
import { simdKernels, type SimdKernels } from '../backend/simd-kernels.js';

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
  /** Rows and columns of a square product block (default {@link BLOCK_SIZE}). */
  blockSize?: number;
  /** Select in JavaScript even where the SIMD filter could run (tests compare the two). */
  scalarSelection?: boolean;
  signal?: AbortSignal;
  /** Called after each block of rows with the fraction of rows done, in (0, 1]. */
  onProgress?: (fraction: number) => void;
}

/**
 * Rows and columns of the graph's square Gram blocks: 2,048 × 2,048 float32 values, 16 MiB,
 * at any number of samples, as large as {@link BLOCK_ROWS} × {@link BLOCK_COLUMNS} below and
 * for the same reason.
 */
export const BLOCK_SIZE = 2048;

/**
 * Query rows per product block of {@link rankCandidates}. With {@link BLOCK_COLUMNS} a block is 1,024 × 4,096 float32
 * scores, 16 MiB, at any number of samples. Blocks this large keep the per-call costs of a
 * product (a thread-pool dispatch, a tensor) small against its arithmetic: for 30k random
 * 128-d vectors on wasm, 128 × 1,024 blocks took 21.5 s of CPU, 1,024 × 4,096 ones 14.0 s, and
 * larger ones (2,048 × 4,096, 1,024 × 8,192) 13.0–13.7 s. Of those 14 s the products alone
 * take about 11 s; the selection and the exact re-sort the rest.
 */
export const BLOCK_ROWS = 1024;
/** Reference columns per product block (see {@link BLOCK_ROWS}). */
export const BLOCK_COLUMNS = 4096;

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
 * equidistant neighbours the one with the higher float32 score comes first, and among equal
 * scores (duplicates) the lower index, on every backend.
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
  // Self is almost always among the top k + 1 (score |x_i|², the row maximum); when it is not
  // (more than k exact duplicates), dropping the last of the k + 1 is just as exact.
  const fetched = k + 1;
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const rowDistances = new Float64Array(fetched);
  const rowIndices = new Int32Array(fetched);
  await rankSymmetric(centred, n, dim, fetched, (start, rows, top) => {
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      exactRow(centred, dim, i, top.row(i), k, rowIndices, rowDistances);
      indices.set(rowIndices.subarray(0, k), i * k);
      for (let c = 0; c < k; c++) distances[i * k + c] = rowDistances[c];
    }
    onProgress?.((start + rows) / n);
  }, options);
  return { n, k, indices, distances };
}

/**
 * For every one of the `n` rows of `centred` (`n × dim`), the `fetched` columns with the
 * largest `2·x_i·x_j − |x_j|²` (self included), from the upper triangle of blocks of the Gram
 * matrix (see the module comment). Rows finish a block at a time, in order: after the blocks
 * of row block I are read, `onRows(start, rows, top)` receives rows `start…start + rows − 1`
 * as `top.row(start…)`, and the event loop gets a turn, so a cancel can arrive.
 */
export async function rankSymmetric(
  centred: Float32Array,
  n: number,
  dim: number,
  fetched: number,
  onRows: (start: number, rows: number, top: RunningTopK) => void,
  options: { blockSize?: number; signal?: AbortSignal; scalarSelection?: boolean } = {},
): Promise<void> {
  const size = blockSize(n, options.blockSize ?? BLOCK_SIZE, 'blockSize');
  checkFetched(fetched, n, 'rankSymmetric');
  const squared = squaredNorms(centred, n, dim);
  const top = new RunningTopK(n, fetched);
  top.reset(n);
  const blocks = Math.ceil(n / size);
  const columnBlocks: tf.Tensor2D[] = [];
  // On wasm the SIMD filter (backend/simd-kernels.ts) reads the blocks where the products land.
  const kernel = tf.getBackend() === 'wasm' && !options.scalarSelection ? simdKernels(tf.backend()) : undefined;
  const filter = kernel ? new KernelFilter(kernel, squared, size) : undefined;
  // The queries are doubled, so a product holds 2·G_ij exactly (doubling is exact in float32).
  const doubled = new Float32Array(Math.min(size, n) * dim);
  try {
    // Each block's columns are a separate tensor, transposed once: on wasm, XNNPACK packs a
    // product's right operand once per tensor and keeps it, so every row block reuses it.
    for (let b = 0; b < blocks; b++) columnBlocks.push(transposedColumns(centred, dim, b * size, Math.min(size, n - b * size)));
    for (let rb = 0; rb < blocks; rb++) {
      throwIfCancelled(options.signal);
      const start = rb * size;
      const rows = Math.min(size, n - start);
      for (let v = 0; v < rows * dim; v++) doubled[v] = 2 * centred[start * dim + v];
      const queries = tf.tensor2d(doubled.subarray(0, rows * dim), [rows, dim]);
      try {
        for (let cb = rb; cb < blocks; cb++) {
          const product = tf.matMul(queries, columnBlocks[cb]);
          try {
            const gram = readScores(product);
            const first = cb * size;
            const columns = Math.min(size, n - first);
            if (filter) top.offerGramFiltered(gram, start, rows, first, columns, squared, cb !== rb, filter);
            else top.offerGram(gram, start, rows, first, columns, squared, cb !== rb);
          } finally {
            product.dispose();
          }
          throwIfCancelled(options.signal);
        }
      } finally {
        queries.dispose();
      }
      onRows(start, rows, top);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose(columnBlocks);
    filter?.release();
  }
}

/**
 * The SIMD filter's buffers on the backend's heap for one {@link rankSymmetric} run: the
 * squared norms and every row's threshold as float32 (thresholds lowered by a margin that
 * covers float32 rounding, so the filter returns a superset of what the exact float64
 * comparison lets in), and one row's worth of candidate offsets.
 */
class KernelFilter {
  readonly squaredPointer: number;
  readonly thresholdPointer: number;
  readonly outPointer: number;
  /** What the thresholds are lowered by: far above the float32 error of scores bounded by 3·max|x|². */
  readonly margin: number;
  /** Views of the heap, taken again after every product (the heap may have grown). */
  thresholds32: Float32Array<ArrayBufferLike> = new Float32Array(0);
  out: Int32Array<ArrayBufferLike> = new Int32Array(0);

  private readonly n: number;

  constructor(readonly kernel: SimdKernels, squared: Float64Array, readonly size: number) {
    const n = squared.length;
    this.n = n;
    this.squaredPointer = kernel.malloc(4 * n);
    this.thresholdPointer = kernel.malloc(4 * n);
    this.outPointer = kernel.malloc(4 * size);
    let largest = 0;
    for (let i = 0; i < n; i++) largest = Math.max(largest, squared[i]);
    this.margin = 1e-5 * largest + 1e-30;
    this.refresh();
    const heap = kernel.heapF32();
    heap.set(squared, this.squaredPointer >> 2);
    this.thresholds32.fill(-Infinity);
  }

  refresh(): void {
    const n = this.n;
    this.thresholds32 = this.kernel.heapF32().subarray(this.thresholdPointer >> 2, (this.thresholdPointer >> 2) + n);
    this.out = this.kernel.heapI32().subarray(this.outPointer >> 2, (this.outPointer >> 2) + this.size);
  }

  release(): void {
    this.kernel.free(this.squaredPointer);
    this.kernel.free(this.thresholdPointer);
    this.kernel.free(this.outPointer);
  }
}

/**
 * Lists longer than this are kept as heaps, shorter ones sorted by insertion (see
 * {@link RunningTopK}).
 */
export const HEAP_FROM = 64;

/**
 * The running `fetched` best columns of each row of a block of query rows, in the order the
 * backends' `topk` gives them: score descending, and among equal scores the lower column
 * first. Columns are offered in increasing order, so a column whose score only ties the worst
 * one kept ranks below it: one strict comparison with that score (the row's threshold)
 * decides whether a column enters, and only the few that do cost more. The buffers are
 * allocated once, for `capacity` rows, and reused by every block.
 *
 * A short list (the graph's K + 1) is kept sorted by insertion: an entering column moves the
 * few worse ones down. A long one (more than {@link HEAP_FROM}: the extended rows past large
 * groups, hundreds long) is a binary heap with its worst entry at the root, so an entering
 * column costs a logarithmic number of moves instead of up to `fetched`; the heap is sorted
 * once, when the row is read. On 20,000 clustered vectors with 5,752 rows extended to 471
 * neighbours the insertion sort took 6.1 s of a 8.6 s graph and extension.
 */
export class RunningTopK {
  /** `capacity × fetched`: each row's kept scores (best first once the row is read). */
  readonly scores: Float64Array;
  /** `capacity × fetched`: the kept columns, in the same order. */
  readonly indices: Int32Array;
  private readonly filled: Int32Array;
  private readonly thresholds: Float64Array;
  /** Heap mode: rows sorted since the last offer (their heap order is gone). */
  private readonly sorted: Uint8Array;
  private readonly heap: boolean;
  private rows = 0;

  constructor(readonly capacity: number, readonly fetched: number) {
    this.scores = new Float64Array(capacity * fetched);
    this.indices = new Int32Array(capacity * fetched);
    this.filled = new Int32Array(capacity);
    this.thresholds = new Float64Array(capacity);
    this.sorted = new Uint8Array(capacity);
    this.heap = fetched > HEAP_FROM;
  }

  /** Starts a new block of `rows` (≤ capacity) query rows with empty lists. */
  reset(rows: number): void {
    if (rows > this.capacity) throw new RangeError(`RunningTopK: ${rows} rows do not fit its ${this.capacity}.`);
    this.rows = rows;
    this.filled.fill(0, 0, rows);
    this.thresholds.fill(-Infinity, 0, rows);
    this.sorted.fill(0, 0, rows);
  }

  /**
   * Offers `columns` scores per row of the current block (`block` is `rows × columns`,
   * row-major), for columns `firstColumn`… of the references; each call's columns must follow
   * the previous call's, and no row may have been read since the block began. A NaN score
   * never enters (the features are finite, so none arises).
   */
  offer(block: Float32Array, columns: number, firstColumn: number): void {
    const thresholds = this.thresholds;
    const heap = this.heap;
    for (let r = 0; r < this.rows; r++) {
      if (heap && this.sorted[r]) throw new Error('RunningTopK: a row was read before its last columns were offered.');
      let threshold = thresholds[r];
      const base = r * columns;
      for (let c = 0; c < columns; c++) {
        const score = block[base + c];
        if (score > threshold) threshold = this.enter(r, score, firstColumn + c);
      }
      thresholds[r] = threshold;
    }
  }

  /**
   * Offers a block of the doubled Gram matrix (`gram` is `rows × columns`, row-major, `2·G_ij` for rows
   * `firstRow…` and columns `firstColumn…`, both counted among this selection's rows) to its
   * rows, each column `j` scored `2·G_ij − |x_j|²` (`squared[j]`), and, with `mirrored`, to
   * its columns' rows too, each row `i` scored `2·G_ij − |x_i|²` for row `j`. A row's
   * columns must arrive in increasing order over the calls, as {@link rankSymmetric} offers
   * them.
   */
  offerGram(gram: Float32Array, firstRow: number, rows: number, firstColumn: number, columns: number, squared: Float64Array, mirrored: boolean): void {
    const thresholds = this.thresholds;
    for (let r = 0; r < rows; r++) {
      const i = firstRow + r;
      let threshold = thresholds[i];
      const base = r * columns;
      const own = squared[i];
      for (let c = 0; c < columns; c++) {
        const j = firstColumn + c;
        const twice = gram[base + c];
        const score = twice - squared[j];
        if (score > threshold) threshold = this.enter(i, score, j);
        if (mirrored) {
          const back = twice - own;
          if (back > thresholds[j]) thresholds[j] = this.enter(j, back, i);
        }
      }
      thresholds[i] = threshold;
    }
  }

  /**
   * {@link offerGram} with the SIMD filter: each row's candidates (and, mirrored, its columns'
   * rows' candidates) come from the filter in increasing column order, and each is compared
   * again exactly, so the lists and their order are those {@link offerGram} gives. `gram` is
   * the product's own view on the backend's heap.
   */
  offerGramFiltered(gram: Float32Array, firstRow: number, rows: number, firstColumn: number, columns: number, squared: Float64Array, mirrored: boolean, filter: KernelFilter): void {
    const { kernel, margin } = filter;
    filter.refresh();
    const { thresholds32, out } = filter;
    const thresholds = this.thresholds;
    const aligned = columns & ~3;
    const gramPointer = gram.byteOffset;
    const squaredPointer = filter.squaredPointer + 4 * firstColumn;
    const thresholdPointer = filter.thresholdPointer + 4 * firstColumn;
    for (let r = 0; r < rows; r++) {
      const i = firstRow + r;
      const base = r * columns;
      const rowPointer = gramPointer + 4 * base;
      let threshold = thresholds[i];
      // A row whose list is not full yet takes columns here until it is (every column enters
      // until then), up to a multiple of four; the filter reads the rest against its threshold.
      let from = 0;
      if (threshold === -Infinity) {
        while (from < aligned && (threshold === -Infinity || (from & 3) !== 0)) {
          const score = gram[base + from] - squared[firstColumn + from];
          if (score > threshold) threshold = this.enter(i, score, firstColumn + from);
          from++;
        }
      }
      const found = kernel.filterRow(rowPointer + 4 * from, aligned - from, squaredPointer + 4 * from, threshold - margin, filter.outPointer);
      for (let q = 0; q < found; q++) {
        const c = from + out[q];
        const score = gram[base + c] - squared[firstColumn + c];
        if (score > threshold) threshold = this.enter(i, score, firstColumn + c);
      }
      for (let c = Math.max(aligned, from); c < columns; c++) {
        const score = gram[base + c] - squared[firstColumn + c];
        if (score > threshold) threshold = this.enter(i, score, firstColumn + c);
      }
      thresholds[i] = threshold;
      if (!mirrored) continue;
      // Row j's own threshold moves as it takes row i; the filter reads its float32 copy.
      const own = squared[i];
      const back = (c: number): void => {
        const j = firstColumn + c;
        const score = gram[base + c] - own;
        if (score > thresholds[j]) thresholds32[j] = (thresholds[j] = this.enter(j, score, i)) - margin;
      };
      const mirroredFound = kernel.filterMirror(rowPointer, aligned, own, thresholdPointer, filter.outPointer);
      for (let q = 0; q < mirroredFound; q++) back(out[q]);
      for (let c = aligned; c < columns; c++) back(c);
    }
  }

  /** Adds `column` to row `r`'s list (sorted insertion or heap); returns the row's new threshold. */
  private enter(r: number, score: number, column: number): number {
    return this.heap ? this.push(r, score, column) : this.insert(r, score, column);
  }

  /** Row `r`'s kept columns, best first (a view, valid until the next `reset`). */
  row(r: number): Int32Array {
    const start = r * this.fetched;
    if (this.heap && !this.sorted[r]) {
      this.sortRow(start, this.filled[r]);
      this.sorted[r] = 1;
    }
    return this.indices.subarray(start, start + this.filled[r]);
  }

  /** Puts `column` into row `r`'s list after every score at least as high; returns the row's new threshold. */
  private insert(r: number, score: number, column: number): number {
    const { fetched, scores, indices } = this;
    const start = r * fetched;
    let filled = this.filled[r];
    let at = filled < fetched ? filled++ : fetched - 1;
    this.filled[r] = filled;
    while (at > 0 && scores[start + at - 1] < score) {
      scores[start + at] = scores[start + at - 1];
      indices[start + at] = indices[start + at - 1];
      at--;
    }
    scores[start + at] = score;
    indices[start + at] = column;
    return filled === fetched ? scores[start + fetched - 1] : -Infinity;
  }

  /**
   * Heap mode: adds `column` to row `r`'s heap (replacing its worst entry when full); returns
   * the row's new threshold. Worse means a lower score, or an equal score and a higher column.
   */
  private push(r: number, score: number, column: number): number {
    const { fetched, scores, indices } = this;
    const start = r * fetched;
    const filled = this.filled[r];
    if (filled < fetched) {
      // Sift up from the new leaf: parents worse than the entry move down.
      let at = filled;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        const ps = scores[start + parent];
        if (!(ps > score || (ps === score && indices[start + parent] < column))) break;
        scores[start + at] = ps;
        indices[start + at] = indices[start + parent];
        at = parent;
      }
      scores[start + at] = score;
      indices[start + at] = column;
      this.filled[r] = filled + 1;
      return filled + 1 === fetched ? scores[start] : -Infinity;
    }
    // Full: the entry replaces the root and sinks below every child worse than it.
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= fetched) break;
      const right = child + 1;
      if (right < fetched) {
        const cs = scores[start + child];
        const rs = scores[start + right];
        if (rs < cs || (rs === cs && indices[start + right] > indices[start + child])) child = right;
      }
      const cs = scores[start + child];
      if (!(cs < score || (cs === score && indices[start + child] > column))) break;
      scores[start + at] = cs;
      indices[start + at] = indices[start + child];
      at = child;
    }
    scores[start + at] = score;
    indices[start + at] = column;
    return scores[start];
  }

  /** Sorts `count` heap entries from `start` best first: score descending, lower column first on ties. */
  private sortRow(start: number, count: number): void {
    const { scores, indices } = this;
    const order = Array.from({ length: count }, (_, k) => k)
      .sort((a, b) => scores[start + b] - scores[start + a] || indices[start + a] - indices[start + b]);
    const s = order.map((k) => scores[start + k]);
    const c = order.map((k) => indices[start + k]);
    for (let k = 0; k < count; k++) { scores[start + k] = s[k]; indices[start + k] = c[k]; }
  }
}

/**
 * For each of `count` query rows (`queryRows`, `count × width`), the `fetched` references
 * among `n` (`referenceRows`, `n × width`) with the largest products, as the backend's
 * `topk` of the whole row's product would list them. Products are computed on the backend a
 * block of at most `blockRows × blockColumns` at a time, against column blocks made once; each
 * block is read once, into a {@link RunningTopK} whose buffers every block reuses. After each
 * block of rows, `onRows(start, rows, top)` receives rows `start…start + rows − 1` of the
 * queries as `top.row(0…rows − 1)`, and the event loop gets a turn, so a cancel can arrive.
 */
export async function rankCandidates(
  queryRows: Float32Array,
  count: number,
  referenceRows: Float32Array,
  n: number,
  width: number,
  fetched: number,
  onRows: (start: number, rows: number, top: RunningTopK) => void,
  options: { blockRows?: number; blockColumns?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const blockRows = blockSize(count, options.blockRows ?? BLOCK_ROWS, 'blockRows');
  const blockColumns = blockSize(n, options.blockColumns ?? BLOCK_COLUMNS, 'blockColumns');
  checkFetched(fetched, n, 'rankCandidates');
  const top = new RunningTopK(blockRows, fetched);
  const columnBlocks: tf.Tensor2D[] = [];
  try {
    // Each column block is a separate tensor, transposed once: on wasm, XNNPACK packs a
    // product's right operand once per tensor and keeps it, so every row block reuses it.
    for (let first = 0; first < n; first += blockColumns) {
      columnBlocks.push(transposedColumns(referenceRows, width, first, Math.min(blockColumns, n - first)));
    }
    for (let start = 0; start < count; start += blockRows) {
      throwIfCancelled(options.signal);
      const rows = Math.min(blockRows, count - start);
      const queries = tf.tensor2d(queryRows.subarray(start * width, (start + rows) * width), [rows, width]);
      try {
        top.reset(rows);
        for (let b = 0; b < columnBlocks.length; b++) {
          const product = tf.matMul(queries, columnBlocks[b]);
          try {
            top.offer(readScores(product), columnBlocks[b].shape[1], b * blockColumns);
          } finally {
            product.dispose();
          }
        }
      } finally {
        queries.dispose();
      }
      onRows(start, rows, top);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose(columnBlocks);
  }
}

/** Columns `first…first + columns − 1` of the references as a `width × columns` tensor. */
function transposedColumns(referenceRows: Float32Array, width: number, first: number, columns: number): tf.Tensor2D {
  const values = new Float32Array(width * columns);
  for (let c = 0; c < columns; c++) {
    const row = (first + c) * width;
    for (let t = 0; t < width; t++) values[t * columns + c] = referenceRows[row + t];
  }
  return tf.tensor2d(values, [width, columns]);
}

/**
 * A product block's scores. On wasm a view of the tensor's own memory on the wasm heap (no
 * copy; valid until the next tfjs call, which may grow the heap, so it is read at once); the
 * cpu backend's `dataSync` returns the tensor's own array; other backends copy.
 */
function readScores(product: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') return (tf.backend() as unknown as BackendWasm).typedArrayFromHeap(product) as Float32Array;
  return product.dataSync() as Float32Array;
}

/** |x_i|² of each of the `n` rows, summed in float64. */
function squaredNorms(rows: Float32Array, n: number, dim: number): Float64Array {
  const squared = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let t = 0; t < dim; t++) sum += rows[i * dim + t] * rows[i * dim + t];
    squared[i] = sum;
  }
  return squared;
}

function checkFetched(fetched: number, n: number, op: string): void {
  if (!Number.isInteger(fetched) || fetched < 1 || fetched > n) {
    throw new RangeError(`${op}: fetched must be an integer in [1, n] = [1, ${n}], not ${fetched}.`);
  }
}

function blockSize(total: number, requested: number, name: string): number {
  if (!Number.isInteger(requested) || requested < 1) {
    throw new RangeError(`buildNeighbourGraph: ${name} must be a positive integer, not ${requested}.`);
  }
  return Math.max(1, Math.min(requested, total));
}

/**
 * The rows whose products rank neighbours (see the module comment): queries `[2·x_i, 1]` for
 * `rows` (default all `n`), references `[x_j, −|x_j|²]` for all `n`, from centred features.
 */
export function rankingRows(centred: Float32Array, n: number, dim: number, rows?: readonly number[]): { queryRows: Float32Array; referenceRows: Float32Array } {
  const width = dim + 1;
  const referenceRows = new Float32Array(n * width);
  const squared = squaredNorms(centred, n, dim);
  for (let i = 0; i < n; i++) {
    referenceRows.set(centred.subarray(i * dim, (i + 1) * dim), i * width);
    referenceRows[i * width + dim] = -squared[i];
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
