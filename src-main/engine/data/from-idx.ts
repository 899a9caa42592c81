/**
 * `idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]`: IDX files, plain or gzipped.
 * Labels are class indices, so the classes are 0..K-1 with K = largest label + 1 and named
 * '0'…'K-1'. Without test files the data is split 80/20 by load.ts.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { Split } from './dataset.js';
import { readMaybeGzipped } from './files.js';
import { decodeIdx, idxImageShape, idxLabels, idxPixelsToFloat } from './idx.js';
import { classCount, numericClassNames, type LoadedData } from './source.js';

type Shape = [number, number, number];

export async function readIdxImages(file: string): Promise<{ images: Float32Array; shape: Shape; count: number }> {
  const idx = decodeIdx(await readMaybeGzipped(file), file, 'images');
  return { images: idxPixelsToFloat(idx, file), shape: idxImageShape(idx), count: idx.dims[0] };
}

export async function readIdxLabels(file: string): Promise<Int32Array> {
  return idxLabels(decodeIdx(await readMaybeGzipped(file), file, 'labels'));
}

/**
 * Reads one images/labels pair and checks that they hold the same number of samples.
 * An empty pair is an error unless `allowEmpty` (a saved dataset may have no test split).
 */
export async function readIdxPair(
  imagesFile: string, labelsFile: string, allowEmpty = false,
): Promise<{ split: Split; shape: Shape }> {
  const [{ images, shape, count }, labels] = await Promise.all([readIdxImages(imagesFile), readIdxLabels(labelsFile)]);
  if (count !== labels.length) {
    throw new UserError(
      `The IDX files ${imagesFile} and ${labelsFile} do not match: the first holds ${count} images but the second holds ${labels.length} labels.`);
  }
  if (count === 0 && !allowEmpty) throw new UserError(`The IDX file ${imagesFile} holds no images.`);
  return { split: { images, labels, count }, shape };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

export async function loadIdx(files: string[]): Promise<LoadedData> {
  const [trainImages, trainLabels, testImages, testLabels] = files;
  const name = path.basename(trainImages);
  const train = await readIdxPair(trainImages, trainLabels);
  if (testImages === undefined) {
    const K = classCount(train.split.labels);
    return { name, shape: train.shape, classNames: numericClassNames(K), splits: { pool: train.split } };
  }
  const test = await readIdxPair(testImages, testLabels);
  if (!sameShape(train.shape, test.shape)) {
    throw new UserError(
      `The IDX file ${testImages} holds ${formatShape(test.shape)} images but ${trainImages} holds ${formatShape(train.shape)} images.`);
  }
  const K = classCount(train.split.labels, test.split.labels);
  return { name, shape: train.shape, classNames: numericClassNames(K), splits: { train: train.split, test: test.split } };
}
