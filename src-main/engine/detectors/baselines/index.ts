/**
 * The published defences CLEAR is compared with, side by side in
 * one benchmark run. Each implements the Detector contract (detectors/types.ts) and its
 * mitigation is its paper's own: remove the flagged samples, then retrain (the benchmark
 * retrains the head in transfer and the whole model end to end).
 */
import type { Detector } from '../types.js';
import { activationClusteringDetector } from './activation-clustering.js';
import { deepKnnDetector } from './deep-knn.js';
import { noDefenceDetector } from './no-defence.js';
import { spectralSignaturesDetector } from './spectral.js';

export const baselineDetectors: readonly Detector[] = [
  deepKnnDetector,
  spectralSignaturesDetector,
  activationClusteringDetector,
  noDefenceDetector,
];

export { activationClusteringDetector, deepKnnDetector, noDefenceDetector, spectralSignaturesDetector };
