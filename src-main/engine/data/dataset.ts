/**
 * The in-memory dataset every engine function works on.
 *
 * Images are stored flat, NHWC, as float32 in [0, 1] (feature-vector datasets from CSV use
 * shape [1, 1, F]). Every sample keeps its index in its split for life: scan results,
 * attack manifests and reports refer to samples by (split, index). Loaded samples also keep
 * where they came from (sources.ts), which scans and reports show beside the index.
 */
import { pickSources, sourceText, type SampleSources } from './sources.js';

/**
 * Pixels read from their file only when asked, for data too large to hold as float32 (uint8 IDX
 * and NPY files past a size, data/pixels.ts). `subarray(begin, end)` returns a fresh float32
 * copy of values begin..end, which must cover whole samples, exactly as an in-memory array
 * would hold them; `select` gives the same file's samples in another order without reading.
 */
export interface LazyPixels {
  readonly lazy: true;
  readonly length: number;
  subarray(begin: number, end: number): Float32Array;
  select(indices: ArrayLike<number>): LazyPixels;
}

export interface Split {
  /** count × height × width × channels values, NHWC order, in memory or read as needed. */
  images: Float32Array | LazyPixels;
  labels: Int32Array;
  count: number;
  /** Where each sample came from; absent for data built in memory (tests, the benchmark's own splits). */
  sources?: SampleSources;
}

export interface Dataset {
  /** The data spec it was loaded from (`mnist`, `idx:…`, `folder:…`, `csv:…`, `dir:…`). */
  spec: string;
  /** Short human name (`MNIST (built-in)`, a folder name…). */
  name: string;
  /** How the files were read, when there was a choice to state (an array's layout, its value type). */
  description?: string;
  /** [height, width, channels]. */
  shape: [number, number, number];
  classNames: string[];
  train: Split;
  test: Split;
  /** SHA-256 (hex) over shape, class names, and both splits' pixels and labels. */
  fingerprint: string;
}

export type SplitName = 'train' | 'test';

export function sampleSize(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}

export function numClasses(ds: Dataset): number {
  return ds.classNames.length;
}

/** Where sample `index` of the split came from (`data.csv:14`, `cat/001.png`…), or undefined when unknown. */
export function sampleSource(split: Pick<Split, 'sources'>, index: number): string | undefined {
  return split.sources === undefined ? undefined : sourceText(split.sources, index);
}

/** All of a split's values in memory (a lazily read split is read whole). */
export function pixelsInMemory(images: Float32Array | LazyPixels): Float32Array {
  return images instanceof Float32Array ? images : images.subarray(0, images.length);
}

/**
 * The chosen samples' values in the order given, as one array: rows copied from an in-memory
 * split, or one selection read from the file of a lazy one (consecutive samples in one read,
 * not a file opened per sample).
 */
export function gatherPixels(split: Pick<Split, 'images'>, shape: readonly [number, number, number], indices: ArrayLike<number>): Float32Array {
  const size = sampleSize(shape);
  const images = split.images;
  if (!(images instanceof Float32Array)) return images.select(indices).subarray(0, indices.length * size);
  const out = new Float32Array(indices.length * size);
  for (let b = 0; b < indices.length; b++) out.set(images.subarray(indices[b] * size, (indices[b] + 1) * size), b * size);
  return out;
}

/**
 * The pixels of batch `[start, end)` of a pass over a split: the consecutive samples (a view of
 * an in-memory split), or with `indices` the samples they choose at those positions, gathered.
 */
export function batchPixels(split: Pick<Split, 'images'>, shape: readonly [number, number, number], start: number, end: number, indices?: ArrayLike<number>): Float32Array {
  if (indices) return gatherPixels(split, shape, Array.prototype.slice.call(indices, start, end) as number[]);
  const size = sampleSize(shape);
  return split.images.subarray(start * size, end * size);
}

/** One sample's pixels: a view of an in-memory split, a copy read from the file of a lazy one. */
export function sampleView(ds: Dataset, split: SplitName, index: number): Float32Array {
  const size = sampleSize(ds.shape);
  const s = ds[split];
  if (!Number.isInteger(index) || index < 0 || index >= s.count) {
    throw new RangeError(`Sample index ${index} is outside the ${split} split (0–${s.count - 1}).`);
  }
  return s.images.subarray(index * size, (index + 1) * size);
}

/**
 * Copies the chosen samples, in the order given, into a new split. Indices must be valid;
 * the same index may appear twice.
 */
export function selectSamples(
  split: Split, shape: readonly [number, number, number], indices: ArrayLike<number>,
): Split {
  const size = sampleSize(shape);
  const source = split.images;
  const images = source instanceof Float32Array ? new Float32Array(indices.length * size) : source.select(indices);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i];
    if (!Number.isInteger(from) || from < 0 || from >= split.count) {
      throw new RangeError(`Sample index ${from} is outside the split (0–${split.count - 1}).`);
    }
    if (images instanceof Float32Array) images.set(source.subarray(from * size, (from + 1) * size), i * size);
    labels[i] = split.labels[from];
  }
  const picked: Split = { images, labels, count: indices.length };
  if (split.sources) picked.sources = pickSources(split.sources, indices);
  return picked;
}
