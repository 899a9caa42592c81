/** Every defence by name; the benchmark, the CLI and the UI iterate over this list. */
import { baselineDetectors } from './baselines/index.js';
import { clearDetector } from './clear-detector.js';
import type { Detector } from './types.js';

export const detectors: readonly Detector[] = [clearDetector, ...baselineDetectors];

export function getDetector(name: string): Detector | undefined {
  return detectors.find((d) => d.name === name);
}
