/**
 * The outcome of a simulated attack, measured right after training on its poisoned data: the
 * target's prediction by the new model and by a model without the poisons (a clean victim
 * trained here on the attack's source data with the same settings, or a model given to compare
 * with), and how many of the poisons the new model fitted. The train job adds it to its result
 * when the data is a poisoned `dir:` folder with the attack's manifest.
 */
import { existsSync } from 'node:fs';
import nodePath from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { AttackOutcome } from '../../contract/results.js';
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { buildArchitecture } from '../model/architectures.js';
import { assertModelFitsData, loadModel } from '../model/io.js';
import { evaluateSplit, predictSplit, trainModel, type TrainSettings } from '../model/train.js';
import type { JobContext } from '../progress.js';
import { readJsonFile } from '../clear/evidence.js';
import { getDataset } from './datasets.js';

const PoisonedManifest = z.object({
  attack: z.string().max(100).optional(),
  targetIndex: z.number().int().min(0),
  targetClass: z.number().int().min(0),
  attackerClass: z.number().int().min(0),
  poisonIndices: z.array(z.number().int().min(0)),
  source: z.object({
    data: z.string().min(1).max(8192),
    fingerprint: z.string().max(100).optional(),
    limit: z.number().int().positive().nullable().optional(),
    dataSeed: z.number().int().min(0).nullable().optional(),
  }).optional(),
});
export type PoisonedManifest = z.infer<typeof PoisonedManifest>;

/** The manifest beside a poisoned `dir:` dataset, checked against it; undefined for any other data. */
export function readPoisonedManifest(ds: Dataset): PoisonedManifest | undefined {
  if (!ds.spec.startsWith('dir:')) return undefined;
  const file = nodePath.join(ds.spec.slice(4), 'manifest.json');
  if (!existsSync(file)) return undefined;
  const parsed = PoisonedManifest.safeParse(readJsonFile(file, 'attack manifest'));
  if (!parsed.success) throw new UserError(`The attack manifest ${file} is not one CLEAR wrote (${parsed.error.issues[0].path.join('.') || 'top level'}: ${parsed.error.issues[0].message}).`);
  const m = parsed.data;
  const k = ds.classNames.length;
  if (m.targetIndex >= ds.test.count || m.targetClass >= k || m.attackerClass >= k || m.poisonIndices.some((i) => i >= ds.train.count)) {
    throw new UserError(`The attack manifest ${file} names samples or classes outside the dataset beside it (${ds.test.count} test samples, ${ds.train.count} training samples, ${k} classes).`);
  }
  return m;
}

export interface Comparison {
  /** A saved model without the poisons, to compare the target's prediction with. */
  compareWith?: string;
  /** Train a clean victim on the attack's source data (built-in architectures only). */
  cleanVictim?: { arch: string; settings: TrainSettings; seed: number };
}

async function targetPrediction(model: tfl.LayersModel, ds: Dataset, index: number): Promise<number> {
  return (await predictSplit(model, ds.test, ds.shape, { indices: [index] })).predicted[0];
}

/** The target's prediction by a model without the poisons, as `comparison` asks; null when it asks for none. */
async function before(ds: Dataset, m: PoisonedManifest, comparison: Comparison, ctx: JobContext): Promise<AttackOutcome['before']> {
  if (comparison.cleanVictim) {
    if (!m.source) throw new UserError(`The attack manifest of ${ds.spec} does not say which data it poisoned, so no clean victim can be trained; train without comparing.`);
    const clean = await getDataset({ data: m.source.data, ...(m.source.limit ? { limit: m.source.limit } : {}), ...(m.source.dataSeed !== null && m.source.dataSeed !== undefined ? { dataSeed: m.source.dataSeed } : {}) });
    if (m.source.fingerprint && clean.fingerprint !== m.source.fingerprint) {
      throw new UserError(`The data the attack poisoned, ${m.source.data}, has changed since (its fingerprint differs), so no clean victim can be trained on it.`);
    }
    if (clean.test.count !== ds.test.count) throw new UserError(`The data the attack poisoned, ${m.source.data}, has ${clean.test.count} test samples, not the ${ds.test.count} of ${ds.spec}, so the target cannot be compared.`);
    const { arch, settings, seed } = comparison.cleanVictim;
    const model = buildArchitecture(arch, { inputShape: clean.shape, numClasses: clean.classNames.length, seed });
    try {
      await trainModel(model, clean.train, clean.shape, clean.classNames.length, settings, { ...ctx, stage: 'clean-victim' });
      const evaluation = await evaluateSplit(model, clean.test, clean.shape, clean.classNames, { signal: ctx.signal, exclude: [m.targetIndex] });
      return { predicted: await targetPrediction(model, clean, m.targetIndex), by: 'clean-victim', model: null, accuracy: evaluation.accuracy };
    } finally {
      model.dispose();
    }
  }
  if (comparison.compareWith) {
    const loaded = await loadModel(comparison.compareWith);
    try {
      assertModelFitsData(loaded, ds);
      return { predicted: await targetPrediction(loaded.model, ds, m.targetIndex), by: 'given-model', model: comparison.compareWith, accuracy: null };
    } finally {
      loaded.model.dispose();
    }
  }
  return null;
}

/** The attack's outcome on `model`, trained on the poisoned `ds`; undefined when `ds` holds no simulated attack. */
export async function attackOutcome(model: tfl.LayersModel, ds: Dataset, comparison: Comparison, ctx: JobContext = {}): Promise<AttackOutcome | undefined> {
  const m = readPoisonedManifest(ds);
  if (!m) return undefined;
  const after = await targetPrediction(model, ds, m.targetIndex);
  const poisons = m.poisonIndices.length
    ? (await predictSplit(model, ds.train, ds.shape, { indices: m.poisonIndices, signal: ctx.signal })).predicted
    : new Int32Array(0);
  const fitted = poisons.reduce((n, p) => n + (p === m.attackerClass ? 1 : 0), 0);
  return {
    attack: m.attack ?? null, targetIndex: m.targetIndex, targetClass: m.targetClass, attackerClass: m.attackerClass,
    after, before: await before(ds, m, comparison, ctx), poisons: m.poisonIndices.length, fitted, succeeded: after === m.attackerClass,
  };
}
