/**
 * Shared fixture of the attack tests: 1,000 MNIST training digits and a small mlp trained
 * briefly on them (the attacker's feature extractor). Cached per test file.
 */
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { trainCleanFeatureModel, type CleanFeatureModel } from '../../../src-main/engine/attacks/feature-model.js';
import { sampleSize, type Dataset } from '../../../src-main/engine/data/dataset.js';
import { loadDataset } from '../../../src-main/engine/data/load.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

export const FIXTURE_TRAIN_COUNT = 1000;

let data: Promise<Dataset> | undefined;
let model: Promise<CleanFeatureModel> | undefined;

export function attackData(): Promise<Dataset> {
  data ??= (async () => {
    await initBackend('wasm');
    return loadDataset('mnist', { limit: FIXTURE_TRAIN_COUNT, seed: 3 });
  })();
  return data;
}

export function attackFeatureModel(): Promise<CleanFeatureModel> {
  model ??= attackData().then((ds) => trainCleanFeatureModel(ds, 'mlp', 5, {}, { epochs: 2 }));
  return model;
}

/** A test index and an attacker class different from its label. */
export function pickTarget(ds: Dataset, offset = 0): { targetIndex: number; targetClass: number; attackerClass: number } {
  const targetIndex = 10 + offset;
  const targetClass = ds.test.labels[targetIndex];
  return { targetIndex, targetClass, attackerClass: (targetClass + 3) % ds.classNames.length };
}

export function poisonPixels(ds: Dataset, indices: number[]): Float32Array[] {
  const size = sampleSize(ds.shape);
  return indices.map((i) => pixelsInMemory(ds.train.images).slice(i * size, (i + 1) * size));
}

/** Byte-wise equality of two typed arrays (vitest's deep equality is slow on large arrays). */
export function sameValues(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
