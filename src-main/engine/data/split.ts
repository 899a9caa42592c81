/**
 * Seeded sample selection: the 80/20 train/test split for data that comes without a test
 * split, and the `--limit` training subset.
 */
import { createRng, type Rng } from '../random.js';
import { selectSamples, type Split } from './dataset.js';

/**
 * Seed of the 80/20 split. It is a constant, independent of `--seed`/`dataSeed`, so the same
 * data always gets the same test set: scan results and attack manifests refer to samples by
 * (split, index) and must stay valid across runs.
 */
export const SPLIT_SEED = 20_240_601;
export const TRAIN_FRACTION = 0.8;

/**
 * Picks `n` of the samples, class by class in proportion to each class's size (largest
 * remainder rounding, so the total is exactly n), at random within a class. Returns the
 * picked indices in ascending order.
 */
export function stratifiedPick(labels: Int32Array, numClasses: number, n: number, rng: Rng): Int32Array {
  const byClass = groupByClass(labels, numClasses);
  for (const members of byClass) rng.shuffle(members);
  const quotas = proportionalQuotas(byClass.map((m) => m.length), Math.min(n, labels.length));
  const picked = new Int32Array(quotas.reduce((a, b) => a + b, 0));
  let k = 0;
  byClass.forEach((members, c) => {
    for (let i = 0; i < quotas[c]; i++) picked[k++] = members[i];
  });
  return picked.sort();
}

function groupByClass(labels: Int32Array, numClasses: number): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, i) => byClass[label].push(i));
  return byClass;
}

/** Splits `total` into integer quotas proportional to `sizes` (largest remainder method). */
function proportionalQuotas(sizes: number[], total: number): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  if (all === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (total * s) / all);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((a, b) => a + b, 0);
  // Ties go to the lower class index, which keeps the result deterministic.
  const order = exact.map((e, c) => ({ c, frac: e - quotas[c] })).sort((a, b) => b.frac - a.frac || a.c - b.c);
  for (const { c } of order) {
    if (left === 0) break;
    if (quotas[c] < sizes[c]) {
      quotas[c]++;
      left--;
    }
  }
  return quotas;
}

/**
 * Splits one pool of samples 80/20 into train and test, stratified by class, with the fixed
 * SPLIT_SEED. Both splits come out in a seeded shuffled order, because source data is often
 * grouped by class (MNIST's digits, a folder per class) and grouped data trains badly.
 */
export function splitTrainTest(
  pool: Split, shape: readonly [number, number, number], numClasses: number,
): { train: Split; test: Split } {
  const rng = createRng(SPLIT_SEED);
  const trainIdx = stratifiedPick(pool.labels, numClasses, Math.round(pool.count * TRAIN_FRACTION), rng);
  const inTrain = new Uint8Array(pool.count);
  trainIdx.forEach((i) => { inTrain[i] = 1; });
  const testIdx = new Int32Array(pool.count - trainIdx.length);
  let t = 0;
  for (let i = 0; i < pool.count; i++) if (!inTrain[i]) testIdx[t++] = i;
  rng.shuffle(trainIdx);
  rng.shuffle(testIdx);
  return { train: selectSamples(pool, shape, trainIdx), test: selectSamples(pool, shape, testIdx) };
}

/**
 * The `--limit` subset: `limit` training samples picked with `seed`, stratified by class,
 * kept in their original relative order. A limit at or above the split size keeps it whole.
 */
export function limitSplit(
  split: Split, shape: readonly [number, number, number], numClasses: number, limit: number, seed: number,
): Split {
  if (limit >= split.count) return split;
  return selectSamples(split, shape, stratifiedPick(split.labels, numClasses, limit, createRng(seed)));
}
