/**
 * What each format loader returns before load.ts finishes the dataset (80/20 split when the
 * source has no test split, `--limit`, fingerprint), plus label checks they share.
 */
import { UserError } from '../errors.js';
import type { Split } from './dataset.js';

export interface LoadedData {
  name: string;
  shape: [number, number, number];
  classNames: string[];
  /** Both splits as the source defines them, or one pool that load.ts splits 80/20. */
  splits: { train: Split; test: Split } | { pool: Split };
}

/** Class names for numeric labels: the label value is the class index, named '0'…'K-1'. */
export function numericClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** Largest label + 1 over all the given label arrays (0 when they are all empty). */
export function classCount(...labelArrays: Int32Array[]): number {
  let max = -1;
  for (const labels of labelArrays) for (const l of labels) if (l > max) max = l;
  return max + 1;
}

/** Every label must be a class index in 0..numClasses-1. */
export function checkLabelRange(labels: Int32Array, numClasses: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label < 0 || label >= numClasses) {
      throw new UserError(
        `The file ${file} has label ${label} at item ${i}, outside the class range 0–${numClasses - 1}.`);
    }
  }
}
