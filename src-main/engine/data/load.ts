/**
 * loadDataset: turns a data spec string into a Dataset.
 *
 *   mnist                                         the 10,000 digits of the mnist package
 *   mnist:rotated | mnist:inverted | mnist:downsampled   the same digits transformed (transforms.ts)
 *   idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]   IDX files, plain or gzipped
 *   folder:DIR                                    one sub-folder of PNG/JPEG images per class
 *   csv:FILE                                      one sample per row
 *   dir:DIR                                       a folder written by saveDatasetDir
 *
 * Sources without a test split are split 80/20, stratified by class, with the fixed seed
 * SPLIT_SEED (split.ts), so the test set never changes between runs. `limit` then keeps a
 * seeded, stratified subset of the training split (the test split is untouched), and the
 * fingerprint is computed last, over the data actually returned.
 */
import { UserError } from '../errors.js';
import type { Dataset, Split } from './dataset.js';
import { datasetFingerprint } from './fingerprint.js';
import { loadCsv } from './from-csv.js';
import { loadDir } from './from-dir.js';
import { loadFolder } from './from-folder.js';
import { loadIdx } from './from-idx.js';
import { loadMnist } from './mnist.js';
import { transformMnist } from './transforms.js';
import type { LoadedData } from './source.js';
import { limitSplit, splitTrainTest } from './split.js';

export interface LoadOptions {
  /** Keep only this many training samples (a seeded, class-stratified subset). */
  limit?: number;
  /** Seed of the `limit` subset; defaults to 0. Does not affect the 80/20 split. */
  seed?: number;
}

export const SPEC_FORMS =
  'mnist, mnist:rotated, mnist:inverted, mnist:downsampled, idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS], folder:DIR, csv:FILE or dir:DIR';

export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<Dataset> {
  const limit = checkLimit(options.limit);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new UserError(`The data seed ${seed} is not a whole number.`);
  const trimmed = spec.trim();
  const loaded = await loadSource(trimmed);
  return finish(trimmed, loaded, limit, seed);
}

function checkLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new UserError(`The limit ${limit} is not a positive whole number of training samples.`);
  }
  return limit;
}

/** Dispatches on the spec prefix (the text before the first colon). */
function loadSource(spec: string): Promise<LoadedData> {
  if (spec === 'mnist') return loadMnist();
  const colon = spec.indexOf(':');
  const prefix = colon < 0 ? '' : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (prefix) {
    case 'idx': return loadIdx(idxFiles(spec, rest));
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

function idxFiles(spec: string, rest: string): string[] {
  const files = rest.split(',');
  if ((files.length !== 2 && files.length !== 4) || files.some((f) => f === '')) {
    throw new UserError(`The data spec "${spec}" must name 2 or 4 files: idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS].`);
  }
  return files;
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
    fingerprint: datasetFingerprint(shape, classNames, train, test),
  };
}

function splitPool(spec: string, pool: Split, loaded: LoadedData): { train: Split; test: Split } {
  if (pool.count === 0) throw new UserError(`The data spec "${spec}" gives no samples.`);
  return splitTrainTest(pool, loaded.shape, loaded.classNames.length);
}
