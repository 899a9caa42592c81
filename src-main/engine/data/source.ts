/**
 * What each format loader returns before load.ts finishes the dataset (80/20 split when the
 * source has no test split, `--limit`, fingerprint), plus label checks they share.
 */
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import type { Split } from './dataset.js';
import { shown } from './files.js';

export interface LoadedData {
  name: string;
  shape: [number, number, number];
  classNames: string[];
  /** How the files were read, when there was a choice to state (Dataset.description). */
  description?: string;
  /** Both splits as the source defines them, or one pool that load.ts splits 80/20. */
  splits: { train: Split; test: Split } | { pool: Split };
}

/** Class names for numeric labels: the label value is the class index, named '0'…'K-1'. */
export function numericClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** Labels read from one file, and where a sample is, as messages say it (`at item 12`, `on line 14`). */
export interface FileLabels {
  labels: Int32Array;
  file: string;
  where: (index: number) => string;
}

/**
 * The class count of labels that are class indices, K = largest label + 1 (0 when there are no
 * labels). Every label must be a whole number from 0, K must be within the classes limit, and
 * every class 0..K-1 must have a sample: one stray label (255 among digits) is a file error to
 * report, not 246 empty classes to train.
 */
export function inferClassCount(...sources: FileLabels[]): number {
  let max = -1;
  let maxAt: { source: FileLabels; index: number } | undefined;
  for (const source of sources) {
    const { labels } = source;
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i];
      if (label < 0) {
        throw new UserError(`The file ${shown(source.file)} has label ${label} ${source.where(i)}, but labels must be class numbers from 0 up.`);
      }
      if (label > max) {
        max = label;
        maxAt = { source, index: i };
      }
    }
  }
  if (maxAt === undefined) return 0;
  checkLimit('classes', max + 1, `The file ${shown(maxAt.source.file)}`,
    `has label ${max} ${maxAt.source.where(maxAt.index)}, which would make ${max + 1} classes`);
  const seen = new Uint8Array(max + 1);
  for (const { labels } of sources) for (const label of labels) seen[label] = 1;
  const missing = seen.indexOf(0);
  if (missing < 0) return max + 1;
  for (const source of sources) {
    const i = source.labels.findIndex((label) => label > missing);
    if (i >= 0) {
      throw new UserError(
        `The file ${shown(source.file)} has label ${source.labels[i]} ${source.where(i)}, but no sample has label ${missing}: labels must number the classes from 0 without gaps.`);
    }
  }
  throw new Error('unreachable: a missing class below the largest label');
}

/** Every label must be a class index in 0..numClasses-1. */
export function checkLabelRange(labels: Int32Array, numClasses: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label < 0 || label >= numClasses) {
      throw new UserError(
        `The file ${shown(file)} has label ${label} at item ${i}, outside the class range 0–${numClasses - 1}.`);
    }
  }
}

/**
 * The samples and values one dataset declares, counted across its files as their headers are
 * read and checked against the samples and datasetValues limits before anything is allocated
 * for them (train and test files together).
 */
export class DatasetBudget {
  private samples = 0;
  private values = 0;

  /** Counts `count` samples read as they are needed (pixels.ts): their values are not held, so only the samples limit applies. */
  takeLazy(name: string, count: number): void {
    this.samples += count;
    const more = this.samples > count ? ' more' : '';
    checkLimit('samples', this.samples, name, more ? `declares ${count} more samples, ${this.samples} samples in all` : `declares ${count} samples`);
  }

  /** Counts `count` samples of `valuesPerSample` values that `name` (e.g. "The IDX file x") declares. */
  take(name: string, count: number, valuesPerSample: number): void {
    this.samples += count;
    this.values += count * valuesPerSample;
    const more = this.samples > count ? ' more' : '';
    checkLimit('samples', this.samples, name,
      more ? `declares ${count} more samples, ${this.samples} samples in all` : `declares ${count} samples`);
    checkLimit('datasetValues', this.values, name,
      `declares ${count}${more} samples of ${valuesPerSample} values, ${this.values} values in all`);
  }
}
