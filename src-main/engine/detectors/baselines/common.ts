/** What the three published baselines share: the start of a detection and their mitigation. */
import { numClasses } from '../../data/dataset.js';
import { createRng } from '../../random.js';
import type { DetectorInput, DetectorResult, Mitigation } from '../types.js';

/**
 * A baseline's starting state: the training split's size and labels, the number of classes,
 * a generator seeded from the input, an empty per-sample score and flag list, and the clock.
 */
export function beginDetection(input: DetectorInput) {
  const { embedding, dataset } = input;
  const start = performance.now();
  return {
    n: embedding.n,
    dim: embedding.dim,
    labels: dataset.train.labels,
    classes: numClasses(dataset),
    rng: createRng(input.seed ?? 0),
    sampleScores: new Float32Array(embedding.n),
    flaggedSamples: [] as number[],
    /** Seconds since the detection began. */
    seconds: () => (performance.now() - start) / 1000,
  };
}

/** The papers' mitigation for Deep k-NN, spectral signatures and activation clustering: remove what was flagged, then retrain. */
export function removeFlagged(result: DetectorResult): Mitigation {
  return { kind: 'remove', indices: [...result.flaggedSamples] };
}
