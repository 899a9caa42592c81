/**
 * The neighbour graph past about {@link APPROXIMATE_ABOVE} samples: the exact graph
 * (knn.ts) costs N² products, about an hour at 250k and hours at 1M, so larger sets get an
 * approximate one. An HNSW index (the `usearch` package: N-API, with prebuilt binaries
 * inside the package for Linux, Windows and macOS, so it installs without a download or a
 * compiler, its install script is not run, and it loads in Electron without a rebuild) proposes {@link DEFAULT_CANDIDATES} candidates per sample; they
 * are re-ranked exactly, with the distance the exact graph keeps (float64 Euclidean between
 * the centred float32 features), and the K nearest kept, nearest first, equal distances by
 * the lower index. The rest of the engine gets the same kind of graph: only a true neighbour
 * the index never proposed can be missing.
 *
 * How many are missing is measured on every build: for a seeded random sample of rows, their
 * exact K nearest are found by brute force (every distance in float64) and the recall is the
 * share of the graph's neighbours that are among them, ties with the K-th counted as hits.
 *
 * Where the library does not load, the exact graph is built instead and the report says why.
 */
import { availableParallelism } from 'node:os';
import { throwIfCancelled } from '../errors.js';
import { createRng } from '../random.js';
import { buildNeighbourGraph, centreRows, exactDistance, type NeighbourGraph, type NeighbourGraphOptions } from './knn.js';

/** `auto`: exact up to {@link APPROXIMATE_ABOVE} samples, approximate above; or either forced. */
export type GraphMethod = 'auto' | 'exact' | 'approximate';
export const GRAPH_METHODS: readonly GraphMethod[] = ['auto', 'exact', 'approximate'];

/** Samples above which `auto` builds the approximate graph. At 60k the exact one takes about a minute on two cores. */
export const APPROXIMATE_ABOVE = 100_000;
/** Candidates proposed per sample before the exact re-ranking (K' > K), at first. */
export const DEFAULT_CANDIDATES = 64;
/** The recall the search is widened for: below it, the candidates are doubled and the search run again. */
export const TARGET_RECALL = 0.99;
/** The widest search: candidates per sample. */
export const MAX_CANDIDATES = 512;
/** Rows whose exact neighbours are found by brute force to measure the recall. */
export const DEFAULT_RECALL_ROWS = 128;
/**
 * HNSW settings: graph degree, and the search breadth while adding and while querying (a
 * search asking for more candidates searches at least that wide). On clustered 128-d features
 * (500 clusters with 16-d spread, 60,000 samples) these kept 0.998 of the exact 40 nearest with
 * 64 candidates, in 43 s of CPU against the exact graph's 63 s. Uniform random 128-d vectors
 * are the hardest case (nothing is much nearer than anything else): there they kept 0.74 at
 * 30,000, and a degree of 32 with a breadth of 256 and 100 candidates 0.969 in 5× the exact
 * graph's time. Hence the measured recall decides: below {@link TARGET_RECALL} the search is
 * widened (candidates doubled, up to {@link MAX_CANDIDATES}) on the same index.
 */
export const DEFAULT_INDEX = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

/** How the graph was made, for the scan's result and the benchmark. */
export interface GraphReport {
  method: 'exact' | 'approximate';
  requested: GraphMethod;
  /** Share of the sampled rows' exact K nearest in the graph (ties counted); null for the exact graph. */
  recall: number | null;
  /** Rows the recall was measured on. */
  recallRows: number;
  /** Candidates re-ranked per sample (null for the exact graph). */
  candidates: number | null;
  /** Why the method differs from the one asked for (the library is missing), when it does. */
  note?: string;
  /** Seconds of the build spent measuring the recall (brute force on the sampled rows). */
  recallSeconds?: number;
}

/** The part of the library used here. */
export interface AnnIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vectors: Float32Array, k: number, threads?: number): { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };
}
export interface AnnLibrary {
  Index: new (config: {
    dimensions: number; metric: 'l2sq'; quantization: 'f32'; connectivity: number; expansion_add: number; expansion_search: number; multi: boolean;
  }) => AnnIndex;
}

export interface GraphBuildOptions extends NeighbourGraphOptions {
  method?: GraphMethod;
  approximateAbove?: number;
  /** Seeds the rows the recall is measured on. */
  seed?: number;
  recallRows?: number;
  /** Candidates per sample at first (default {@link DEFAULT_CANDIDATES}). */
  candidates?: number;
  /** Widen the search until the measured recall reaches this (default {@link TARGET_RECALL}). */
  targetRecall?: number;
  /** …or the candidates reach this (default {@link MAX_CANDIDATES}). */
  maxCandidates?: number;
  index?: Partial<typeof DEFAULT_INDEX>;
  /** Loads the library (tests replace it); default: the `usearch` package. */
  loadLibrary?: () => Promise<AnnLibrary>;
  /** Told when the method asked for cannot be used (the same text as the report's note). */
  onMessage?: (message: string) => void;
}

const LIBRARY = 'usearch';

/** The `usearch` package, as the part of it used here. */
export async function loadUsearch(): Promise<AnnLibrary> {
  // Loaded only when needed, and it may be missing (no binary for this platform): a variable
  // specifier keeps the bundler from resolving it.
  const name = LIBRARY;
  const module = await import(/* @vite-ignore */ name) as { default?: AnnLibrary } & AnnLibrary;
  const library = module.Index ? module : module.default;
  if (!library?.Index) throw new Error(`the package ${LIBRARY} has no Index`);
  return library;
}

/** Which method `auto` (or a forced one) means for `n` samples. */
export function chooseGraphMethod(n: number, method: GraphMethod = 'auto', approximateAbove = APPROXIMATE_ABOVE): 'exact' | 'approximate' {
  if (method === 'exact' || method === 'approximate') return method;
  return n > approximateAbove ? 'approximate' : 'exact';
}

/**
 * The scan's neighbour graph by the method chosen for `n` ({@link chooseGraphMethod}): the
 * exact graph of knn.ts, or the approximate one re-ranked exactly, with its measured recall.
 */
export async function buildGraph(
  features: Float32Array,
  n: number,
  dim: number,
  k: number,
  options: GraphBuildOptions = {},
): Promise<{ graph: NeighbourGraph; report: GraphReport }> {
  const requested = options.method ?? 'auto';
  const method = chooseGraphMethod(n, requested, options.approximateAbove);
  if (method === 'exact') {
    return { graph: await buildNeighbourGraph(features, n, dim, k, options), report: { method, requested, recall: null, recallRows: 0, candidates: null } };
  }
  let library: AnnLibrary;
  try {
    library = await (options.loadLibrary ?? loadUsearch)();
  } catch (error) {
    const note = `Approximate neighbours need the package ${LIBRARY}, which did not load here (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); the exact graph was built instead, which takes much longer at ${n.toLocaleString('en-US')} samples.`;
    options.onMessage?.(note);
    const graph = await buildNeighbourGraph(features, n, dim, k, options);
    return { graph, report: { method: 'exact', requested, recall: null, recallRows: 0, candidates: null, note } };
  }
  const { graph, candidates, recall, recallRows, recallSeconds } = await buildApproximateGraph(library, features, n, dim, k, options);
  const target = options.targetRecall ?? TARGET_RECALL;
  const note = recall < target
    ? `The approximate neighbour graph kept ${recall.toFixed(4)} of the exact ${k} nearest on ${recallRows} sampled rows, below ${target}, even with ${candidates} candidates per sample: these features have little neighbourhood structure; --neighbour-graph exact gives the exact graph.`
    : undefined;
  if (note) options.onMessage?.(note);
  return { graph, report: { method, requested, recall, recallRows, candidates, recallSeconds, ...(note ? { note } : {}) } };
}

/** Rows added to, and searched in, the index per call: progress and cancellation come between calls. */
const CHUNK = 16_384;
/**
 * Rows added one thread at a time before the rest are added in parallel. Threads inserting
 * into a nearly empty index link new nodes to a graph that is itself still being built, and
 * can leave a few nodes that no search reaches: on 600 random 8-d vectors, two threads kept
 * 0.98 of the exact 10 nearest even with 512 candidates in 1 build of 30 (one thread: 1.0 in
 * 30 of 30). Seeding the graph serially removes that, and makes small indexes reproducible
 * (searched on one thread too: the index then holds one thread's search context).
 */
const SERIAL_ROWS = 4_096;

async function buildApproximateGraph(
  library: AnnLibrary, features: Float32Array, n: number, dim: number, k: number, options: GraphBuildOptions,
): Promise<{ graph: NeighbourGraph; candidates: number; recall: number; recallRows: number; recallSeconds: number }> {
  if (!Number.isInteger(k) || k < 1 || k >= n) {
    throw new RangeError(`buildGraph: k must be an integer in [1, n − 1] = [1, ${n - 1}], not ${k}.`);
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      throw new RangeError(`buildGraph: feature ${i % dim} of sample ${Math.floor(i / dim)} is not finite (${features[i]}).`);
    }
  }
  const { signal, onProgress } = options;
  const settings = { ...DEFAULT_INDEX, ...options.index };
  // Self and K others, and more: the index's own order is only approximate.
  let candidates = Math.min(n, Math.max(k + 1, options.candidates ?? DEFAULT_CANDIDATES));
  const maxCandidates = Math.min(n, Math.max(candidates, options.maxCandidates ?? MAX_CANDIDATES));
  const target = options.targetRecall ?? TARGET_RECALL;
  const threads = Math.max(1, availableParallelism());
  const centred = centreRows(features, n, dim);
  const index = new library.Index({
    dimensions: dim, metric: 'l2sq', quantization: 'f32', connectivity: settings.connectivity,
    expansion_add: settings.expansionAdd, expansion_search: Math.max(settings.expansionSearch, candidates), multi: false,
  });
  // Adding is about half the work, searching the other half.
  for (let start = 0; start < n;) {
    throwIfCancelled(signal);
    const serial = start < SERIAL_ROWS;
    const rows = Math.min(serial ? SERIAL_ROWS - start : CHUNK, n - start);
    const keys = new BigUint64Array(rows);
    for (let r = 0; r < rows; r++) keys[r] = BigInt(start + r);
    index.add(keys, centred.subarray(start * dim, (start + rows) * dim), serial ? 1 : threads);
    start += rows;
    onProgress?.(0.5 * start / n);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // The sampled rows' exact K-th distances, found once by brute force, judge every search.
  let recallSeconds = 0;
  let started = performance.now();
  const rows = sampleRows(n, options.recallRows ?? DEFAULT_RECALL_ROWS, options.seed ?? 0);
  const limits = exactLimits(centred, n, dim, rows, k, signal);
  recallSeconds += (performance.now() - started) / 1000;
  for (;;) {
    // The index serves as many threads as its last add used: one, when every row was serial.
    const graph = await searchGraph(index, centred, n, dim, k, candidates, n > SERIAL_ROWS ? threads : 1, options);
    started = performance.now();
    const recall = recallFromLimits(graph, centred, dim, rows, limits);
    recallSeconds += (performance.now() - started) / 1000;
    if (recall >= target || candidates >= maxCandidates) return { graph, candidates, recall, recallRows: rows.length, recallSeconds };
    candidates = Math.min(maxCandidates, candidates * 2);
  }
}

/** Every sample's `candidates` nearest by the index, re-ranked exactly, the K nearest kept. */
async function searchGraph(
  index: AnnIndex, centred: Float32Array, n: number, dim: number, k: number, candidates: number, threads: number, options: GraphBuildOptions,
): Promise<NeighbourGraph> {
  const { signal, onProgress } = options;
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const rowIndices = new Int32Array(candidates);
  const rowDistances = new Float64Array(candidates);
  const short: number[] = [];
  for (let start = 0; start < n; start += CHUNK) {
    throwIfCancelled(signal);
    const rows = Math.min(CHUNK, n - start);
    const found = index.search(centred.subarray(start * dim, (start + rows) * dim), candidates, threads);
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      const count = found.counts ? Number(found.counts[r]) : found.keys.length;
      const filled = rerankRow(centred, n, dim, i, (c) => Number(found.keys[r * candidates + c]), Math.min(count, candidates), rowIndices, rowDistances);
      if (filled < k) { short.push(i); continue; }
      indices.set(rowIndices.subarray(0, k), i * k);
      for (let c = 0; c < k; c++) distances[i * k + c] = rowDistances[c];
    }
    onProgress?.(0.5 + 0.5 * (start + rows) / n);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // A sample the index returned fewer than K others for (rare: a poorly linked node) gets its exact row.
  for (const i of short) {
    throwIfCancelled(signal);
    const row = bruteForceRow(centred, n, dim, i, k);
    indices.set(row.indices, i * k);
    for (let c = 0; c < k; c++) distances[i * k + c] = row.distances[c];
  }
  return { n, k, indices, distances };
}

/**
 * Sample `i`'s candidates re-ranked exactly: the `count` proposed by `candidate(0…count − 1)`
 * (from an index, or a file computed elsewhere), less `i` itself and anything outside
 * 0…n − 1 (an index's "none", −1), each at its float64 distance from `centred` (the exact
 * graph's distance), sorted by distance then index, a candidate proposed twice kept once.
 * Fills `rowIndices` and `rowDistances` (room for `count`) and returns how many distinct
 * candidates they hold.
 */
export function rerankRow(
  centred: Float32Array, n: number, dim: number, i: number, candidate: (c: number) => number, count: number,
  rowIndices: Int32Array, rowDistances: Float64Array,
): number {
  let filled = 0;
  for (let c = 0; c < count; c++) {
    const j = candidate(c);
    if (j === i || j < 0 || j >= n) continue;
    rowIndices[filled] = j;
    rowDistances[filled] = exactDistance(centred, i, j, dim);
    filled++;
  }
  sortByDistanceThenIndex(rowIndices, rowDistances, filled);
  // Sorted by distance then index, a repeated candidate sits next to itself.
  let distinct = 0;
  for (let c = 0; c < filled; c++) {
    if (distinct > 0 && rowIndices[distinct - 1] === rowIndices[c]) continue;
    rowIndices[distinct] = rowIndices[c];
    rowDistances[distinct] = rowDistances[c];
    distinct++;
  }
  return distinct;
}

/** Sorts the first `count` entries by distance, then by index (an insertion sort: the index's order is nearly right). */
function sortByDistanceThenIndex(rowIndices: Int32Array, rowDistances: Float64Array, count: number): void {
  for (let a = 1; a < count; a++) {
    const distance = rowDistances[a];
    const index = rowIndices[a];
    let b = a - 1;
    while (b >= 0 && (rowDistances[b] > distance || (rowDistances[b] === distance && rowIndices[b] > index))) {
      rowDistances[b + 1] = rowDistances[b];
      rowIndices[b + 1] = rowIndices[b];
      b--;
    }
    rowDistances[b + 1] = distance;
    rowIndices[b + 1] = index;
  }
}

/**
 * Sample `i`'s exact `k` nearest others by brute force: every distance in float64, the `k`
 * smallest kept, equal distances by the lower index.
 */
export function bruteForceRow(centred: Float32Array, n: number, dim: number, i: number, k: number): { indices: Int32Array; distances: Float64Array } {
  const indices = new Int32Array(k);
  const distances = new Float64Array(k).fill(Infinity);
  let worst = Infinity;
  let filled = 0;
  const a = i * dim;
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    const b = j * dim;
    let squared = 0;
    for (let t = 0; t < dim; t++) {
      const delta = centred[a + t] - centred[b + t];
      squared += delta * delta;
    }
    if (filled === k && squared >= worst) continue;
    // Insert by squared distance (the order is the same); j is larger than every index kept, so it goes after equals.
    let at = filled < k ? filled++ : k - 1;
    while (at > 0 && distances[at - 1] > squared) {
      distances[at] = distances[at - 1];
      indices[at] = indices[at - 1];
      at--;
    }
    distances[at] = squared;
    indices[at] = j;
    if (filled === k) worst = distances[k - 1];
  }
  for (let c = 0; c < k; c++) distances[c] = Math.sqrt(distances[c]);
  return { indices, distances };
}

/** `count` distinct rows of `n`, seeded, in increasing order (all rows when count ≥ n). */
export function sampleRows(n: number, count: number, seed: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed + 65_537);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rng.int(n));
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Recall of `graph` at its K against exact brute-force rows for `rows`: the share of the
 * sampled rows' graph neighbours whose distance is at most the exact K-th distance (a
 * neighbour tied with the K-th is as near as any the brute force could have kept).
 * Distances are recomputed here in float64 from `centred`, as the exact graph's are.
 */
export function graphRecall(graph: NeighbourGraph, centred: Float32Array, dim: number, rows: readonly number[], signal?: AbortSignal): number {
  return recallFromLimits(graph, centred, dim, rows, exactLimits(centred, graph.n, dim, rows, graph.k, signal));
}

/** The exact K-th distance of each of `rows`, by brute force. */
function exactLimits(centred: Float32Array, n: number, dim: number, rows: readonly number[], k: number, signal?: AbortSignal): Float64Array {
  return Float64Array.from(rows, (i) => {
    throwIfCancelled(signal);
    return bruteForceRow(centred, n, dim, i, k).distances[k - 1];
  });
}

function recallFromLimits(graph: NeighbourGraph, centred: Float32Array, dim: number, rows: readonly number[], limits: Float64Array): number {
  if (!rows.length) return 1;
  const { k } = graph;
  let hits = 0;
  rows.forEach((i, r) => {
    for (let c = 0; c < k; c++) {
      if (exactDistance(centred, i, graph.indices[i * k + c], dim) <= limits[r]) hits++;
    }
  });
  return hits / (rows.length * k);
}
