/**
 * The CLEAR scan (ALGORITHM.md §Scan): embed → neighbour graph → seeds and hull search →
 * pocket test → score and calibrate → verdict and per-class statistics.
 */
import type { Dataset } from '../data/dataset.js';
import type { LoadedModel } from '../model/io.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { calibrateScores } from './calibrate.js';
import { embedSplit, type Embedding } from './embed.js';
import { buildNeighbourGraph, normaliseFeatures, type NeighbourGraph } from './knn.js';
import { probePocket } from './pocket-test.js';
import { findPocketCandidates, type PocketCandidate } from './pockets.js';
import { pocketScore, scoreParts } from './score.js';
import { splitModel, type SplitModel } from './split.js';
import { SCAN_SCHEMA, type ClassStatistics, type PairStatistics, type Pocket, type ScanResult, type ScanSettings } from './types.js';

export const DEFAULT_SCAN_SETTINGS: Omit<ScanSettings, 'featureLayer'> = {
  normalisation: 'l2',
  neighbours: 40,
  falseAlarm: 0.05,
  minShellPurity: 0.6,
  probesPerPocket: 64,
  seed: 0,
};

export interface ScanPreparation {
  parts: SplitModel;
  embedding: Embedding;
  normalised: Float32Array;
  graph: NeighbourGraph;
  timings: { embed: number; neighbours: number };
}

const now = () => performance.now() / 1000;

/** Embedding and neighbour graph: shared by CLEAR and the baselines in one benchmark run. */
export async function prepareScan(
  loaded: Pick<LoadedModel, 'model' | 'metadata'>,
  ds: Dataset,
  settings: { featureLayer?: string; neighbours: number; normalisation: 'l2' | 'standardise' },
  ctx: JobContext = {},
): Promise<ScanPreparation> {
  const parts = splitModel(loaded.model, settings.featureLayer, loaded.metadata);
  let t = now();
  const embedding = await embedSplit(parts, ds.train, ds.shape, ctx);
  const embed = now() - t;
  t = now();
  const normalised = normaliseFeatures(embedding.features, embedding.n, embedding.dim, settings.normalisation);
  const k = Math.min(settings.neighbours, embedding.n - 1);
  const graph = await buildNeighbourGraph(normalised, embedding.n, embedding.dim, k, {
    signal: ctx.signal,
    onProgress: (fraction) => ctx.onProgress?.({ stage: 'neighbours', fraction }),
  });
  return { parts, embedding, normalised, graph, timings: { embed, neighbours: now() - t } };
}

function explain(p: Omit<Pocket, 'explanation'>, classNames: string[]): string {
  const a = classNames[p.attackerClass]; const b = classNames[p.enclosingClass];
  const parts: string[] = [];
  parts.push(`${p.members.length} training sample${p.members.length === 1 ? '' : 's'} labelled "${a}" sit together inside the region of class "${b}"`);
  parts.push(`${Math.round(p.tightness.shellPurity * 100)}% of their nearest outside neighbours are "${b}"`);
  if (p.tightness.relativeSpread < 0.3) parts.push('they are near-duplicates of each other in the model\'s feature space (much closer together than ordinary "' + b + '" samples are)');
  parts.push(`the model predicts "${a}" for ${Math.round(p.interiorAttackerRate * 100)}% of points inside their hull and switches to "${b}" ${Math.round(p.flipDistance * 100)}% of the way out`);
  const verdict = p.confirmed
    ? `Natural pockets of this model score lower: a group this unusual would appear by chance with probability ${p.pValue < 0.001 ? '< 0.001' : p.pValue.toFixed(3)}, so it is reported as a planted pocket; repair relabels its members "${b}".`
    : `This is within the range of this model's natural pockets (p = ${p.pValue.toFixed(3)}), so it is not reported.`;
  return `${parts.join('; ')}. ${verdict}`;
}

export async function scanModel(
  loaded: LoadedModel,
  ds: Dataset,
  options: Partial<ScanSettings> = {},
  ctx: JobContext & { preparation?: ScanPreparation } = {},
): Promise<ScanResult> {
  const start = now();
  const settings0 = { ...DEFAULT_SCAN_SETTINGS, ...options };
  const prep = ctx.preparation ?? await prepareScan(loaded, ds, settings0, ctx);
  const settings: ScanSettings = { ...settings0, featureLayer: prep.parts.featureLayer };
  throwIfCancelled(ctx.signal);
  const { embedding, graph, normalised, parts } = prep;
  const labels = ds.train.labels;

  let t = now();
  ctx.onProgress?.({ stage: 'hulls', fraction: 0 });
  const search = findPocketCandidates({
    features: normalised, n: embedding.n, dim: embedding.dim, labels, predictions: embedding.predictions, graph,
    settings: { minShellPurity: settings.minShellPurity },
  });
  ctx.onProgress?.({ stage: 'hulls', fraction: 1, message: `${search.candidates.length} candidate groups from ${search.seedCount} seeds` });
  const hulls = now() - t;

  t = now();
  const rng = createRng(settings.seed);
  const scored = search.candidates.map((c: PocketCandidate, i: number) => {
    if (i % 16 === 0) throwIfCancelled(ctx.signal);
    const probe = probePocket(parts, embedding.features, c.members, c.shell, c.attackerClass, c.enclosingClass, rng, settings.probesPerPocket);
    const evidence = {
      shellPurity: c.shellPurity, relativeSpread: c.tightness, size: c.members.length,
      fittedRate: c.predictedAsAttacker, interiorAttackerRate: probe.interiorAttackerRate,
      flipToEnclosingRate: probe.flipToEnclosingRate, contamination: c.contamination,
    };
    ctx.onProgress?.({ stage: 'pocket-test', fraction: (i + 1) / search.candidates.length });
    return { c, probe, evidence, score: pocketScore(evidence) };
  });
  const pocketTest = now() - t;

  const calibration = calibrateScores(scored.map((s) => s.score));
  const pockets: Pocket[] = scored.map((s, i) => {
    const pValue = calibration.pValues[i];
    const base = {
      id: i + 1,
      members: [...s.c.members].sort((x, y) => x - y),
      attackerClass: s.c.attackerClass,
      enclosingClass: s.c.enclosingClass,
      score: s.score,
      pValue,
      confirmed: pValue <= settings.falseAlarm && s.evidence.interiorAttackerRate >= 0.5,
      tightness: { contamination: s.c.contamination, diameter: s.c.diameter, relativeSpread: s.c.tightness, shellPurity: s.c.shellPurity },
      interiorAttackerRate: s.probe.interiorAttackerRate,
      flipDistance: s.probe.flipDistance,
      fittedRate: s.c.predictedAsAttacker,
      evidence: { ...scoreParts(s.evidence), zScore: calibration.zScores[i], flipToEnclosingRate: s.probe.flipToEnclosingRate },
    };
    return { ...base, explanation: explain(base, ds.classNames) };
  }).sort((a, b) => b.score - a.score).map((p, i) => ({ ...p, id: i + 1 }));

  const confirmed = pockets.filter((p) => p.confirmed);
  const minP = pockets.length ? Math.min(...pockets.map((p) => p.pValue)) : 1;
  const classNames = ds.classNames;
  const classes: ClassStatistics[] = classNames.map((className, c) => {
    const mine = pockets.filter((p) => p.attackerClass === c);
    const conf = mine.filter((p) => p.confirmed);
    let samples = 0; for (let i = 0; i < labels.length; i++) if (labels[i] === c) samples++;
    return {
      classIndex: c, className, samples,
      seeds: search.classes[c]?.seeds ?? 0,
      candidates: mine.length,
      pockets: conf.length,
      bestScore: mine.length ? Math.max(...mine.map((p) => p.score)) : null,
      members: conf.reduce((sum, p) => sum + p.members.length, 0),
    };
  });
  const pairs: PairStatistics[] = search.pairs.map((pair) => {
    const mine = pockets.filter((p) => p.attackerClass === pair.attackerClass && p.enclosingClass === pair.enclosingClass);
    const conf = mine.filter((p) => p.confirmed);
    return {
      attackerClass: pair.attackerClass, enclosingClass: pair.enclosingClass, seeds: pair.seeds,
      candidates: mine.length, pockets: conf.length,
      bestScore: mine.length ? Math.max(...mine.map((p) => p.score)) : null,
      members: conf.reduce((sum, p) => sum + p.members.length, 0),
    };
  });

  const summary = confirmed.length
    ? `Backdoor suspected: ${confirmed.length} pocket${confirmed.length === 1 ? '' : 's'} (${confirmed.map((p) => `"${classNames[p.attackerClass]}" inside "${classNames[p.enclosingClass]}", ${p.members.length} samples`).join('; ')}) unlike this model's ${pockets.length - confirmed.length} natural pockets.`
    : `No backdoor suspected: the ${pockets.length} candidate groups look like this model's natural pockets at a ${(settings.falseAlarm * 100).toFixed(0)}% false-alarm rate.`;

  return {
    schema: SCAN_SCHEMA,
    createdAt: new Date().toISOString(),
    settings,
    backend: (await import('../backend/index.js')).backendInfo()?.name ?? 'unknown',
    dataset: { spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint, trainCount: ds.train.count, classNames },
    model: { dir: loaded.dir, fingerprint: loaded.fingerprint, featureLayer: parts.featureLayer, featureDim: parts.featureDim },
    verdict: { suspected: confirmed.length > 0, falseAlarm: settings.falseAlarm, pValue: minP, summary },
    pockets,
    statistics: { classes, pairs, seeds: search.seedCount, candidates: pockets.length },
    timings: { embed: prep.timings.embed, neighbours: prep.timings.neighbours, hulls, pocketTest, total: now() - start + (ctx.preparation ? prep.timings.embed + prep.timings.neighbours : 0) },
  };
}
