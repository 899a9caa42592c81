/**
 * Hand-made feature data for the baseline tests: Gaussian class blobs in feature space, with
 * planted groups, wrapped as the DetectorInput the detectors read (they use only the
 * embedding and the training labels, so the model parts are stubs).
 */
import type { Dataset } from '../../../src-main/engine/data/dataset.js';
import type { DetectorInput } from '../../../src-main/engine/detectors/types.js';
import { createRng } from '../../../src-main/engine/random.js';

export interface Blob {
  centre: number[];
  std: number;
  count: number;
  label: number;
}

export function blobs(list: Blob[], dim: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const n = list.reduce((a, b) => a + b.count, 0);
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  let row = 0;
  for (const b of list) {
    for (let i = 0; i < b.count; i++, row++) {
      labels[row] = b.label;
      for (let t = 0; t < dim; t++) features[row * dim + t] = (b.centre[t] ?? 0) + b.std * rng.normal();
    }
  }
  return { features, labels };
}

/** A unit-axis centre scaled by `scale`, optionally shifted. */
export function axis(dim: number, k: number, scale: number, shift: number[] = []): number[] {
  return Array.from({ length: dim }, (_, t) => (t === k ? scale : 0) + (shift[t] ?? 0));
}

export function detectorInput(
  features: Float32Array, labels: Int32Array, dim: number, classes: number, extra: Partial<DetectorInput> = {},
): DetectorInput {
  const n = labels.length;
  const dataset: Dataset = {
    spec: 'synthetic', name: 'synthetic', shape: [1, 1, dim],
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    train: { images: features, labels, count: n },
    test: { images: new Float32Array(0), labels: new Int32Array(0), count: 0 },
    fingerprint: 'synthetic',
  };
  return {
    model: {} as DetectorInput['model'],
    parts: {} as DetectorInput['parts'],
    dataset,
    embedding: { n, dim, features, predictions: labels.slice(), confidence: new Float32Array(n).fill(1) },
    seed: 1,
    ...extra,
  };
}
