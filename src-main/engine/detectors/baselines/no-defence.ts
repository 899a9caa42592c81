/**
 * No defence: the benchmark's reference row. It flags nothing and changes nothing, so the
 * attack success rate "after repair" is the rate before.
 */
import type { Detector, DetectorInput, DetectorResult, Mitigation } from '../types.js';

export const noDefenceDetector: Detector = {
  name: 'none',
  label: 'No defence',

  async detect(input: DetectorInput): Promise<DetectorResult> {
    return {
      detector: 'none',
      flagged: false,
      flaggedSamples: [],
      sampleScores: new Float32Array(input.embedding.n),
      summary: 0,
      info: {},
      seconds: 0,
    };
  },

  mitigation(): Mitigation {
    return { kind: 'remove', indices: [] };
  },

  report(): string {
    return 'No defence: nothing scanned, nothing removed.';
  },
};
