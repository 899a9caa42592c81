/**
 * Does this model belong with this data? Checked when a model is opened with a dataset (eval,
 * scan, repair, the wizard's Load step, a report). The input shape and the class count are
 * errors (model/io.ts assertModelFitsData); these are the warnings a reader must see before a
 * scan means anything: class names the model carries that differ from the data's, or come in
 * another order, and an accuracy far below what a model of the data's classes should reach
 * (scrambled class order, or pixels scaled unlike training).
 */
import { WARNING_STAGE } from '../../contract/messages.js';
import type { Dataset, Split } from '../data/dataset.js';
import type { LoadedModel } from '../model/io.js';
import { FLAT_ORDER_KEY } from '../model/onnx.js';
import { predictSplit } from '../model/train.js';
import type { JobContext } from '../progress.js';

/**
 * What the product assumes in feeding this data to this model, for the reader to check: an ONNX
 * model with a flat input gets a colour image's values channels first (C×H×W, as PyTorch
 * flattens an N×C×H×W batch) unless its file declares HWC (model/onnx.ts, FLAT_ORDER_KEY).
 */
export function inputNotes(loaded: Pick<LoadedModel, 'metadata' | 'dir'>, ds: Pick<Dataset, 'shape' | 'spec'>): string[] {
  const flat = loaded.metadata.flatInputOrder;
  const [h, w, c] = ds.shape;
  if (!flat || c < 2) return [];
  const size = h * w * c;
  if (flat.order === 'HWC') {
    return [`Input order: the ONNX model in ${loaded.dir} takes flat vectors of ${size} values, and its metadata entry ${FLAT_ORDER_KEY} says HWC, so the ${h}×${w}×${c} images of ${ds.spec} are fed pixel by pixel with their ${c} channels together (H×W×C, channels last).`];
  }
  const why = flat.declared
    ? `as its metadata entry ${FLAT_ORDER_KEY} says`
    : `as PyTorch flattens an N×C×H×W batch; a model trained on channels-last vectors (H×W×C) needs the entry ${FLAT_ORDER_KEY} = HWC in its file's metadata`;
  return [`Input order: the ONNX model in ${loaded.dir} takes flat vectors of ${size} values, so the ${h}×${w}×${c} images of ${ds.spec} are fed channels first (C×H×W: all of the first channel's pixels row by row, then the next channel's), ${why}.`];
}

/** Chance-adjusted accuracy ((acc − 1/K) / (1 − 1/K)) below which the pair is suspect: below about 50% on 10 classes. */
export const LOW_ADJUSTED_ACCURACY = 0.44;


/** Warnings about the model's own class names against the data's (none when the model carries no names). */
export function classNameWarnings(loaded: Pick<LoadedModel, 'metadata' | 'dir'>, ds: Pick<Dataset, 'classNames' | 'spec'>): string[] {
  const mine = loaded.metadata.classNames;
  if (!mine || mine.length !== ds.classNames.length) return [];
  if (mine.every((n, i) => n === ds.classNames[i])) return [];
  const list = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
  const sameSet = [...mine].sort().join('\u0000') === [...ds.classNames].sort().join('\u0000');
  if (sameSet) {
    return [`The model in ${loaded.dir} names its classes in another order than the dataset ${ds.spec}: model ${list(mine)}, data ${list(ds.classNames)}. Labels are matched by position, so the classes are scrambled; reorder the data's classes to the model's (or open the data the model was trained on) before scanning.`];
  }
  return [`The model in ${loaded.dir} names its classes ${list(mine)}, but the dataset ${ds.spec} names them ${list(ds.classNames)}. Labels are matched by position: check that class i of the data is class i of the model.`];
}

/** A warning when the accuracy is far below what a classifier of K classes should reach on its own data. */
export function accuracyWarning(accuracy: number, classes: number, split: string, spec: string): string | null {
  const chance = 1 / classes;
  const adjusted = (accuracy - chance) / (1 - chance);
  if (!(adjusted < LOW_ADJUSTED_ACCURACY)) return null;
  const floor = chance + LOW_ADJUSTED_ACCURACY * (1 - chance);
  return `The model classifies only ${(accuracy * 100).toFixed(1)}% of the ${split} split of ${spec} correctly (chance is ${(chance * 100).toFixed(1)}%, and a model of its data should reach well above ${(floor * 100).toFixed(0)}%): the class order or the pixel scaling may be wrong, and a scan of this pair would mean nothing.`;
}

/** Test-split (or other split) confusion matrix: rows true class, columns predicted; and the accuracy. */
export async function confusionOf(loaded: Pick<LoadedModel, 'model'>, split: Split, ds: Pick<Dataset, 'shape' | 'classNames'>, ctx: JobContext = {}) {
  const K = ds.classNames.length;
  const counts = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  if (split.count === 0) return { counts, accuracy: 0, samples: 0 };
  const { predicted } = await predictSplit(loaded.model, split, ds.shape, { ...ctx, stage: 'evaluate' });
  let right = 0;
  for (let i = 0; i < split.count; i++) {
    const t = split.labels[i]; const p = predicted[i];
    if (t >= 0 && t < K && p >= 0 && p < K) counts[t][p]++;
    if (t === p) right++;
  }
  return { counts, accuracy: right / split.count, samples: split.count };
}

/**
 * The warnings for a model opened with a dataset: class names, and the accuracy on the test
 * split (the training split when there is no test split). Each is also sent as a progress
 * event of stage WARNING_STAGE so the command line prints it even when the job's result does
 * not carry it (scan, repair).
 */
export async function loadWarnings(loaded: LoadedModel, ds: Dataset, ctx: JobContext = {}, known?: { accuracy: number; split: string }) {
  const warnings = classNameWarnings(loaded, ds);
  let measured = known;
  let confusion: Awaited<ReturnType<typeof confusionOf>> | undefined;
  if (!measured) {
    const name = ds.test.count > 0 ? 'test' : 'train';
    confusion = await confusionOf(loaded, ds[name], ds, { signal: ctx.signal });
    measured = { accuracy: confusion.accuracy, split: name };
  }
  const low = accuracyWarning(measured.accuracy, ds.classNames.length, measured.split, ds.spec);
  if (low) warnings.push(low);
  for (const message of warnings) ctx.onProgress?.({ stage: WARNING_STAGE, fraction: 1, message });
  return { warnings, confusion };
}
