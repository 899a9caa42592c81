/**
 * loadDataset: turns a data spec string into a Dataset.
 *
 *   mnist                                         the 10,000 digits of the mnist package
 *   mnist:rotated | mnist:inverted | mnist:downsampled   the same digits transformed (transforms.ts)
 *   idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]   IDX files, plain or gzipped
 *   folder:DIR                                    one sub-folder of PNG/JPEG images per class
 *   csv:FILE                                      one sample per row
 *   npz:FILE                                      a NumPy archive of x_train, y_train[, x_test, y_test]
 *   npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]             the same arrays as .npy files
 *   cifar:DIR                                     the CIFAR-10 binary batches
 *   dir:DIR                                       a folder written by saveDatasetDir
 *
 * The grammar is listed for users in contract/catalogue.ts (DATA_SPEC_FORMS); this parser and
 * that list change together.
 *
 * Sources without a test split are split 80/20, stratified by class, with the fixed seed
 * SPLIT_SEED (split.ts), so the test set never changes between runs. `limit` then keeps a
 * seeded, stratified subset of the training split (the test split is untouched), and the
 * fingerprint is computed last, over the data actually returned.
 */
import { DATA_SPEC_LIST } from '../../contract/catalogue.js';
import { UserError } from '../errors.js';
import type { Dataset, Split } from './dataset.js';
import { datasetFingerprint } from './fingerprint.js';
import { loadCifar } from './from-cifar.js';
import { loadCsv } from './from-csv.js';
import { loadDir } from './from-dir.js';
import { loadFolder } from './from-folder.js';
import { loadIdx } from './from-idx.js';
import { loadNpy, loadNpz } from './from-npy.js';
import { loadMnist } from './mnist.js';
import { transformMnist } from './transforms.js';
import type { LoadedData } from './source.js';
import { limitSplit, splitTrainTest } from './split.js';
import { LAZY_PIXELS_ABOVE } from './pixels.js';

export interface LoadOptions {
  /** Keep only this many training samples (a seeded, class-stratified subset). */
  limit?: number;
  /** Seed of the `limit` subset; defaults to 0. Does not affect the 80/20 split. */
  seed?: number;
  /**
   * Plain uint8 IDX and NPY images whose float32 data would pass this many bytes are read from
   * their files as they are needed instead of held (pixels.ts; LAZY_PIXELS_ABOVE by default).
   */
  lazyPixelsAbove?: number;
}

/** The spec forms for a message: the catalogue's list. */
export const SPEC_FORMS = DATA_SPEC_LIST;

export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<Dataset> {
  const limit = checkLimit(options.limit);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new UserError(`The data seed ${seed} is not a whole number.`);
  const trimmed = spec.trim();
  const loaded = await loadSource(trimmed, options.lazyPixelsAbove ?? LAZY_PIXELS_ABOVE);
  return finish(trimmed, loaded, limit, seed);
}

function checkLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new UserError(`The limit ${limit} is not a positive whole number of training samples.`);
  }
  return limit;
}

/** Dispatches on the spec prefix (the text before the first colon). */
function loadSource(spec: string, lazyAbove: number): Promise<LoadedData> {
  if (spec === 'mnist') return loadMnist();
  const colon = spec.indexOf(':');
  const prefix = colon < 0 ? '' : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (prefix) {
    case 'idx': return loadIdx(fileList(spec, rest, 'idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]'), lazyAbove);
    case 'npy': return loadNpy(fileList(spec, rest, 'npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]'), lazyAbove);
    case 'npz': return loadNpz(requirePath(spec, rest));
    case 'cifar': return loadCifar(requirePath(spec, rest));
    case 'folder': return loadFolder(requirePath(spec, rest));
    case 'csv': return loadCsv(requirePath(spec, rest));
    case 'dir': return loadDir(requirePath(spec, rest));
    case 'mnist': return loadMnist().then((loaded) => transformMnist(loaded, rest, spec));
    default: throw new UserError(`The data spec "${spec}" is not recognised: use ${SPEC_FORMS}.`);
  }
}

function requirePath(spec: string, rest: string): string {
  if (rest === '') throw new UserError(`The data spec "${spec}" names no path after the colon.`);
  return rest;
}

/** The 2 or 4 comma-separated files of an `idx:` or `npy:` spec. */
function fileList(spec: string, rest: string, form: string): string[] {
  const files = rest.split(',');
  if ((files.length !== 2 && files.length !== 4) || files.some((f) => f === '')) {
    throw new UserError(`The data spec "${spec}" must name 2 or 4 files: ${form}.`);
  }
  return files;
}

/**
 * The files and folders a spec reads, as it names them (none for the built-in `mnist` forms),
 * for a cache that must notice when they change.
 */
export function specPaths(spec: string): string[] {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) return [];
  const prefix = trimmed.slice(0, colon);
  const rest = trimmed.slice(colon + 1);
  if (prefix === 'idx' || prefix === 'npy') return rest.split(',').filter(Boolean);
  if (['folder', 'csv', 'dir', 'npz', 'cifar'].includes(prefix)) return rest ? [rest] : [];
  return [];
}

function finish(spec: string, loaded: LoadedData, limit: number | undefined, seed: number): Dataset {
  const { shape, classNames } = loaded;
  const K = classNames.length;
  const { train: fullTrain, test } = 'pool' in loaded.splits
    ? splitPool(spec, loaded.splits.pool, loaded)
    : loaded.splits;
  if (fullTrain.count === 0) throw new UserError(`The data spec "${spec}" gives no training samples.`);
  if (K < 2) throw new UserError(`The data from "${spec}" has only one class, but a classifier needs at least two.`);
  const train = limit === undefined ? fullTrain : limitSplit(fullTrain, shape, K, limit, seed);
  return {
    spec, name: loaded.name, shape, classNames, train, test,
    ...(loaded.description ? { description: loaded.description } : {}),
    fingerprint: datasetFingerprint(shape, classNames, train, test),
  };
}

function splitPool(spec: string, pool: Split, loaded: LoadedData): { train: Split; test: Split } {
  if (pool.count === 0) throw new UserError(`The data spec "${spec}" gives no samples.`);
  return splitTrainTest(pool, loaded.shape, loaded.classNames.length);
}
