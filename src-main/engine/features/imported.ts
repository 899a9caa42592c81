/**
 * A neighbour graph computed elsewhere (README, "Where one workstation stops"): past what one
 * machine's exact or approximate graph can do, `clearwb features` writes the scan's features as
 * .npy, a vector index on another machine (Faiss's `index.search(x, K + 1)`) finds each row's
 * nearest, and `clearwb scan --neighbour-graph-from FILE` brings the N × K' index array back.
 *
 * The file is not trusted. Its header is checked before room is made for it (an integer N × K'
 * array, N the training samples, K ≤ K' ≤ N); every index must lie in 0…N − 1 (−1, an index's
 * "none", is skipped) and every row must name at least K distinct samples besides itself.
 * Only the choice of candidates is taken from it: each distance is recomputed here exactly as
 * the approximate graph re-ranks its candidates (ann.ts, `rerankRow`: float64 between the
 * centred features), the row's own index dropped wherever it stands (with or without a
 * self-match in column 0), the row sorted and its K nearest kept. Then the recall is measured
 * against brute force on the same seeded rows as the approximate graph's, and recorded.
 */
import path from 'node:path';
import { throwIfCancelled, UserError } from '../errors.js';
import { shown } from '../data/files.js';
import type { NpyHeader } from '../data/npy.js';
import { openNpz, readNpyFile, type NpyArray } from '../data/npy-read.js';
import { DEFAULT_RECALL_ROWS, graphRecall, rerankRow, sampleRows, TARGET_RECALL, type GraphMethod, type GraphReport } from './ann.js';
import { centreRows, type NeighbourGraph } from './knn.js';

/** An index array read from a file and checked: `n × width` candidates, row i for training sample i. */
export interface ImportedNeighbours {
  /** The file as given. */
  file: string;
  n: number;
  /** Candidates per row in the file (K'). */
  width: number;
  /** `n × width`, row-major; −1 where the index found none. */
  candidates: Int32Array;
}

/** Names an .npz member may have when the archive holds more than one array: ours, and Faiss's `D, I = index.search(…)`. */
const NPZ_NAMES = ['indices.npy', 'I.npy'];

/**
 * Reads and checks an N × K' neighbour index (.npy, or an .npz holding it) for `n` training
 * samples and a graph of `k` neighbours. Every refusal is one sentence naming the file.
 */
export async function readNeighbourIndex(file: string, n: number, k: number): Promise<ImportedNeighbours> {
  const name = `The neighbour file ${shown(file)}`;
  const accept = (header: NpyHeader) => {
    const [rows, width] = header.shape;
    if (rows !== n) throw new UserError(`${name} has ${rows} rows, but the training set has ${n} samples: it must hold one row per training sample, in the order of the features \`clearwb features\` wrote.`);
    if (width < k) throw new UserError(`${name} lists ${width} neighbours per sample, fewer than the scan's ${k}: search for at least ${k + 1} (K + 1, counting each sample's match with itself).`);
    if (width > n) throw new UserError(`${name} lists ${width} neighbours per sample, more than the ${n} samples there are.`);
  };
  let array: NpyArray;
  if (path.extname(file).toLowerCase() === '.npz') {
    const archive = await openNpz(file, name);
    try {
      const entries = archive.entries.filter((e) => e.name.endsWith('.npy'));
      const entry = entries.length === 1 ? entries[0] : entries.find((e) => NPZ_NAMES.includes(e.name));
      if (!entry) throw new UserError(`${name} holds ${entries.length ? `${entries.length} arrays, none named indices or I` : 'no array'}; save one array, or name it indices (numpy.savez(file, indices=I)).`);
      array = await archive.read(entry, `${name} (${entry.name})`, 'neighbours', undefined, accept);
    } finally {
      await archive.close();
    }
  } else {
    array = await readNpyFile(file, name, 'neighbours', { accept });
  }
  const width = array.header.shape[1];
  return { file, n, width, candidates: checkedIndices(array, n, k, name) };
}

/** The array's values as int32, each checked to lie in −1…n − 1, and each row to name `k` distinct others. */
function checkedIndices(array: NpyArray, n: number, k: number, name: string): Int32Array {
  const { header, body } = array;
  const width = header.shape[1];
  const size = header.type === 'i8' ? 8 : 4;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out = new Int32Array(n * width);
  const seen = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let distinct = 0;
    let self = false;
    for (let c = 0; c < width; c++) {
      const at = (i * width + c) * size;
      const value = size === 8 ? Number(view.getBigInt64(at, header.littleEndian)) : view.getInt32(at, header.littleEndian);
      if (value < -1 || value >= n) {
        throw new UserError(`${name} has index ${value} at row ${i}, column ${c}, outside the ${n} training samples (0 to ${n - 1}).`);
      }
      out[i * width + c] = value;
      if (value === i) self = true;
      else if (value >= 0 && seen[value] !== i) { seen[value] = i; distinct++; }
    }
    if (distinct < k) {
      const hint = self && width === k ? ` (it holds its own index too: search for ${k + 1})` : '';
      throw new UserError(`${name} lists only ${distinct} distinct samples besides itself at row ${i}, fewer than the scan's ${k}${hint}.`);
    }
  }
  return out;
}

/** How an imported graph was made: its file, its columns (the candidates) and its measured recall. */
export interface ImportedGraphReport extends Omit<GraphReport, 'method'> {
  method: 'imported';
  file: string;
}

export interface ImportedGraphOptions {
  /** Seeds the rows the recall is measured on (as the approximate graph's). */
  seed?: number;
  recallRows?: number;
  /** What the scan's settings asked for, for the record. */
  requested?: GraphMethod;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  onMessage?: (message: string) => void;
}

/**
 * The scan's neighbour graph from imported candidates: each row's candidates re-ranked with the
 * exact graph's own distance (ann.ts, `rerankRow`), the K nearest kept, and the recall against
 * brute force on seeded rows measured as for the approximate graph (ann.ts, `graphRecall`).
 */
export async function buildImportedGraph(
  features: Float32Array, n: number, dim: number, k: number, imported: ImportedNeighbours, options: ImportedGraphOptions = {},
): Promise<{ graph: NeighbourGraph; report: ImportedGraphReport }> {
  if (imported.n !== n) throw new RangeError(`buildImportedGraph: the imported index has ${imported.n} rows, not n = ${n}.`);
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      throw new RangeError(`buildImportedGraph: feature ${i % dim} of sample ${Math.floor(i / dim)} is not finite (${features[i]}).`);
    }
  }
  const { width, candidates } = imported;
  const centred = centreRows(features, n, dim);
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const rowIndices = new Int32Array(width);
  const rowDistances = new Float64Array(width);
  const CHUNK = 16_384;
  for (let start = 0; start < n; start += CHUNK) {
    throwIfCancelled(options.signal);
    const end = Math.min(n, start + CHUNK);
    for (let i = start; i < end; i++) {
      const filled = rerankRow(centred, n, dim, i, (c) => candidates[i * width + c], width, rowIndices, rowDistances);
      // readNeighbourIndex checked that every row names k distinct others.
      if (filled < k) throw new RangeError(`buildImportedGraph: row ${i} has ${filled} distinct candidates, fewer than k = ${k}.`);
      indices.set(rowIndices.subarray(0, k), i * k);
      for (let c = 0; c < k; c++) distances[i * k + c] = rowDistances[c];
    }
    options.onProgress?.(end / n);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const graph: NeighbourGraph = { n, k, indices, distances };
  const started = performance.now();
  const rows = sampleRows(n, options.recallRows ?? DEFAULT_RECALL_ROWS, options.seed ?? 0);
  const recall = graphRecall(graph, centred, dim, rows, options.signal);
  const recallSeconds = (performance.now() - started) / 1000;
  const note = recall < TARGET_RECALL
    ? `The neighbour graph imported from ${shown(imported.file)} kept ${recall.toFixed(4)} of the exact ${k} nearest on ${rows.length} sampled rows, below ${TARGET_RECALL}: it was computed by an approximate index or from other features (another model, layer, data or sample order than \`clearwb features\` wrote for this scan); --neighbour-graph exact builds the exact graph here.`
    : undefined;
  if (note) options.onMessage?.(note);
  const report: ImportedGraphReport = {
    method: 'imported', requested: options.requested ?? 'auto', recall, recallRows: rows.length, candidates: width, recallSeconds,
    file: imported.file, ...(note ? { note } : {}),
  };
  return { graph, report };
}

