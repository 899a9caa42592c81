// The pocket test run for many groups in one head prediction gives exactly what it gives one group at a time.
import { describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../../src-main/engine/backend/index.js';
import { buildProbe, probePocket, runProbes, PROBE_BATCH_POINTS } from '../../../src-main/engine/clear/pocket-test.js';
import type { SplitModel } from '../../../src-main/engine/features/split.js';
import { createRng } from '../../../src-main/engine/random.js';

describe('pocket test', () => {
  it('gives the same results batched as one group at a time, and leaks no tensors', async () => {
    await initBackend('cpu');
    const dim = 8;
    const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [dim], units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) })] });
    const parts = { featureLayer: 'features', featureDim: dim, extractor: head, head } as unknown as SplitModel;
    const rng = createRng(5);
    const n = 300;
    const features = Float32Array.from({ length: n * dim }, () => rng.normal());
    // Enough groups that the batch is split at PROBE_BATCH_POINTS.
    const groups = Array.from({ length: Math.ceil((2 * PROBE_BATCH_POINTS) / (64 + 24 * 16)) + 3 }, (_, g) => ({
      members: [g % n, (g + 7) % n, (g + 13) % n], shell: Array.from({ length: 24 }, (_, k) => (g + 40 + k) % n),
    }));
    const before = tf.memory().numTensors;
    const one = createRng(11); const many = createRng(11);
    const single = groups.map((g) => probePocket(parts, features, g.members, g.shell, 0, 1, one));
    const batched = runProbes(parts, groups.map((g) => buildProbe(dim, features, g.members, g.shell, 0, 1, many)));
    expect(batched).toEqual(single);
    expect(single.some((r) => r.interiorAttackerRate > 0) && single.some((r) => r.interiorAttackerRate < 1)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    head.dispose();
  });
});
