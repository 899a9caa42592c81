/**
 * `idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]`: IDX files, plain or gzipped.
 * Labels are class indices, so the classes are 0..K-1 with K = largest label + 1 and named
 * '0'…'K-1' (every class must have a sample, see inferClassCount). Without test files the
 * data is split 80/20 by load.ts.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { LazyPixels, Split } from './dataset.js';
import { shown } from './files.js';
import { idxImageShape, idxLabels, idxPixelsToFloat } from './idx.js';
import { lazyIdxImages, readIdxFile, type IdxReadOptions } from './idx-read.js';
import { DatasetBudget, inferClassCount, numericClassNames, type FileLabels, type LoadedData } from './source.js';
import { itemSources } from './sources.js';
import { LAZY_PIXELS_ABOVE } from './pixels.js';

type Shape = [number, number, number];

export async function readIdxImages(file: string, options: IdxReadOptions = {}): Promise<{ images: Float32Array | LazyPixels; shape: Shape; count: number }> {
  if (options.lazyAbove !== undefined) {
    const lazy = await lazyIdxImages(file, options.lazyAbove, options);
    if (lazy) return { images: lazy.pixels, shape: lazy.shape, count: lazy.count };
  }
  const idx = await readIdxFile(file, 'images', options);
  return { images: idxPixelsToFloat(idx, file), shape: idxImageShape(idx), count: idx.dims[0] };
}

export async function readIdxLabels(file: string, options: IdxReadOptions = {}): Promise<Int32Array> {
  return idxLabels(await readIdxFile(file, 'labels', options));
}

/**
 * Reads one images/labels pair and checks that they hold the same number of samples.
 * An empty pair is an error unless `allowEmpty` (a saved dataset may have no test split).
 * Each sample's source is its item in the images file, named as given.
 */
export async function readIdxPair(
  imagesFile: string, labelsFile: string, allowEmpty = false, options: IdxReadOptions = {},
): Promise<{ split: Split; shape: Shape }> {
  const [{ images, shape, count }, labels] = await Promise.all([
    readIdxImages(imagesFile, options), readIdxLabels(labelsFile, options),
  ]);
  if (count !== labels.length) {
    throw new UserError(
      `The IDX files ${shown(imagesFile)} and ${shown(labelsFile)} do not match: the first holds ${count} images but the second holds ${labels.length} labels.`);
  }
  if (count === 0 && !allowEmpty) throw new UserError(`The IDX file ${shown(imagesFile)} holds no images.`);
  return { split: { images, labels, count, sources: itemSources(imagesFile, count) }, shape };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

function itemLabels(labels: Int32Array, file: string): FileLabels {
  return { labels, file, where: (i) => `at item ${i}` };
}

/** `lazyAbove`: see IdxReadOptions (LAZY_PIXELS_ABOVE by default, pixels.ts). */
export async function loadIdx(files: string[], lazyAbove = LAZY_PIXELS_ABOVE): Promise<LoadedData> {
  const [trainImages, trainLabels, testImages, testLabels] = files;
  const name = path.basename(trainImages);
  const budget = new DatasetBudget();
  const train = await readIdxPair(trainImages, trainLabels, false, { budget, lazyAbove });
  if (testImages === undefined) {
    const K = inferClassCount(itemLabels(train.split.labels, trainLabels));
    return { name, shape: train.shape, classNames: numericClassNames(K), splits: { pool: train.split } };
  }
  const test = await readIdxPair(testImages, testLabels, false, { budget, lazyAbove });
  if (!sameShape(train.shape, test.shape)) {
    throw new UserError(
      `The IDX file ${shown(testImages)} holds ${formatShape(test.shape)} images but ${shown(trainImages)} holds ${formatShape(train.shape)} images.`);
  }
  const K = inferClassCount(itemLabels(train.split.labels, trainLabels), itemLabels(test.split.labels, testLabels));
  return { name, shape: train.shape, classNames: numericClassNames(K), splits: { train: train.split, test: test.split } };
}
