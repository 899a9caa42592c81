/**
 * The CLEAR scan (README, "How CLEAR decides"): embed → neighbour graph → seeds and hull search →
 * pocket test → score and calibrate → verdict and per-class statistics.
 */
import type { Dataset } from '../data/dataset.js';
import type { LoadedModel } from '../model/io.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { heldOutSupport, landReferenceSamples } from './reference.js';
import { calibrateScores, median, NATURAL_POCKET_PRIOR } from './calibrate.js';
import { embedSplit, type Embedding } from './embed.js';
import { buildNeighbourGraph, neighbourRow, normaliseFeatures, type NeighbourGraph } from './knn.js';
import { extendGraphPastGroups } from './runs.js';
import { probePocket } from './pocket-test.js';
import { findPocketCandidates, type PocketCandidate } from './pockets.js';
import { isPocket, pocketScore, scoreParts } from './score.js';
import { splitModel, type SplitModel } from './split.js';
import { DEFAULT_FALSE_ALARM, SCAN_SCHEMA, type ClassStatistics, type PairStatistics, type Pocket, type ScanResult, type ScanSettings } from './types.js';

export const DEFAULT_SCAN_SETTINGS: Omit<ScanSettings, 'featureLayer'> = {
  normalisation: 'l2',
  neighbours: 40,
  falseAlarm: DEFAULT_FALSE_ALARM,
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

/** Whether sample j's neighbours, other than attacker-labelled ones, are mostly the enclosing class. */
function sitsInRegionOf(j: number, attackerClass: number, enclosingClass: number, labels: Int32Array, graph: NeighbourGraph): boolean {
  const { indices } = neighbourRow(graph, j);
  const counts = new Map<number, number>();
  for (let r = 0; r < indices.length; r++) {
    const l = labels[indices[r]];
    if (l !== attackerClass) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  let best = -1; let bestCount = -1;
  for (const [l, c] of counts) if (c > bestCount) { best = l; bestCount = c; }
  return best === enclosingClass;
}

/**
 * Shell purity for scoring: attacker-labelled shell points that themselves sit in the
 * enclosing class's region (more of the same planted group, split off by the hull search)
 * are not counted as evidence of a class border.
 */
function scoringShellPurity(shell: number[], attackerClass: number, enclosingClass: number, labels: Int32Array, graph: NeighbourGraph): { purity: number; size: number } {
  let b = 0; let m = 0;
  for (const j of shell) {
    if (labels[j] === attackerClass && sitsInRegionOf(j, attackerClass, enclosingClass, labels, graph)) continue;
    m++; if (labels[j] === enclosingClass) b++;
  }
  return m ? { purity: b / m, size: m } : { purity: 0, size: 0 };
}

/** Neighbour ranks looked at when a confirmed pocket gathers its stragglers. */
export const EXPANSION_RANK = 20;

/**
 * A confirmed pocket gathers the attacker-labelled samples right beside it that sit in the
 * enclosing class's region: poisons the model did not fit (it predicts them as B), which the
 * hull search leaves out because they are not part of the pocket the model carved. They are
 * poisons all the same, and repair must relabel them too.
 */
function expandPocket(members: number[], attackerClass: number, enclosingClass: number, labels: Int32Array, graph: NeighbourGraph): number[] {
  const inPocket = new Set(members);
  const foreignMajorityIsB = (j: number) => sitsInRegionOf(j, attackerClass, enclosingClass, labels, graph);
  let frontier = [...members];
  for (let round = 0; round < 10 && frontier.length; round++) {
    const next: number[] = [];
    for (const i of frontier) {
      const { indices } = neighbourRow(graph, i);
      for (let r = 0; r < Math.min(EXPANSION_RANK, indices.length); r++) {
        const j = indices[r];
        if (inPocket.has(j) || labels[j] !== attackerClass || !foreignMajorityIsB(j)) continue;
        inPocket.add(j); next.push(j);
      }
    }
    frontier = next;
  }
  return [...inPocket].sort((a, b) => a - b);
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
  return scanPrepared(loaded, ds, settings0, prep, start, ctx);
}

async function scanPrepared(
  loaded: LoadedModel,
  ds: Dataset,
  settings0: Omit<ScanSettings, 'featureLayer'> & Partial<ScanSettings>,
  prep: ScanPreparation,
  start: number,
  ctx: JobContext & { preparation?: ScanPreparation },
): Promise<ScanResult> {
  const settings: ScanSettings = { ...settings0, featureLayer: prep.parts.featureLayer };
  throwIfCancelled(ctx.signal);
  const { embedding, normalised, parts } = prep;
  const labels = ds.train.labels;

  // Groups larger than the graph's K: extend the lists of their members, so the search sees
  // past them (runs.ts).
  let t = now();
  const graph = await extendGraphPastGroups(normalised, embedding.dim, labels, prep.graph, {}, ctx.signal);
  const extend = now() - t;

  t = now();
  ctx.onProgress?.({ stage: 'hulls', fraction: 0 });
  const search = findPocketCandidates({
    features: normalised, n: embedding.n, dim: embedding.dim, labels, predictions: embedding.predictions, graph,
    settings: { minShellPurity: settings.minShellPurity },
  });
  ctx.onProgress?.({ stage: 'hulls', fraction: 1, message: `${search.candidates.length} candidate groups from ${search.seedCount} seeds` });
  const hulls = now() - t;

  t = now();
  // Held-out support needs the reference split's landing places: one more forward pass.
  const landing = ds.test.count > 0
    ? await landReferenceSamples(parts, ds.test, ds.shape, normalised, embedding.n, ctx)
    : undefined;
  const typicalNearest = median(Array.from({ length: graph.n }, (_, i) => graph.distances[i * graph.k]));
  const rng = createRng(settings.seed);
  const scored = search.candidates.map((c: PocketCandidate, i: number) => {
    if (i % 16 === 0) throwIfCancelled(ctx.signal);
    const probe = probePocket(parts, embedding.features, c.members, c.shell, c.attackerClass, c.enclosingClass, rng, settings.probesPerPocket);
    const depth = scoringShellPurity(c.shell, c.attackerClass, c.enclosingClass, labels, graph);
    const support = landing ? heldOutSupport(landing, c.members, c.attackerClass) : undefined;
    // Near-duplicates: copies of one image, or poisons crafted to collide with one feature vector.
    const nearest = median(c.members.map((m) => graph.distances[m * graph.k]));
    const evidence = {
      nearestRatio: typicalNearest > 0 ? nearest / typicalNearest : 1,
      heldOutAttacker: support?.attackerClass, heldOutMisclassified: support?.misclassified,
      shellPurity: depth.purity, shellSize: depth.size, size: c.members.length,
      fittedRate: c.predictedAsAttacker, interiorAttackerRate: probe.interiorAttackerRate, contamination: c.contamination,
    };
    ctx.onProgress?.({ stage: 'pocket-test', fraction: (i + 1) / search.candidates.length });
    return { c, probe, evidence, score: pocketScore(evidence) };
  });
  const pocketTest = now() - t;

  // Only groups the model fitted are pockets; they are judged against each other.
  const fitted = scored.map((s, i) => (isPocket(s.evidence) ? i : -1)).filter((i) => i >= 0);
  const calibration = calibrateScores(fitted.map((i) => scored[i].score), NATURAL_POCKET_PRIOR);
  const pValueOf = new Map(fitted.map((i, k) => [i, calibration.pValues[k]]));
  const zOf = new Map(fitted.map((i, k) => [i, calibration.zScores[k]]));
  const pockets: Pocket[] = scored.map((s, i) => {
    const pValue = pValueOf.get(i) ?? 1;
    const base = {
      id: i + 1,
      members: [...s.c.members].sort((x, y) => x - y),
      attackerClass: s.c.attackerClass,
      enclosingClass: s.c.enclosingClass,
      score: s.score,
      pValue,
      confirmed: pValue <= settings.falseAlarm && isPocket(s.evidence),
      tightness: { contamination: s.c.contamination, diameter: s.c.diameter, relativeSpread: s.c.tightness, shellPurity: s.evidence.shellPurity },
      interiorAttackerRate: s.probe.interiorAttackerRate,
      flipDistance: s.probe.flipDistance,
      fittedRate: s.c.predictedAsAttacker,
      evidence: { ...scoreParts(s.evidence), zScore: zOf.get(i) ?? 0, flipToEnclosingRate: s.probe.flipToEnclosingRate, meanInner: s.c.meanInnerDistance, shellDistance: s.c.shellDistance, nearestRatio: s.evidence.nearestRatio, heldOutAttacker: s.evidence.heldOutAttacker ?? -1, heldOutMisclassified: s.evidence.heldOutMisclassified ?? -1 },
    };
    return { ...base, explanation: explain(base, ds.classNames) };
  }).sort((a, b) => b.score - a.score).map((p, i) => ({ ...p, id: i + 1 }));

  for (const p of pockets) {
    if (!p.confirmed) continue;
    const grown = expandPocket(p.members, p.attackerClass, p.enclosingClass, labels, graph);
    if (grown.length > p.members.length) {
      p.evidence.gathered = grown.length - p.members.length;
      p.explanation += ` ${grown.length - p.members.length} more "${ds.classNames[p.attackerClass]}"-labelled samples right beside it, in the same "${ds.classNames[p.enclosingClass]}" region, are included as likely poisons the model did not fit.`;
      p.members = grown;
    }
  }
  // Two hull searches can end in the same planted group once each has gathered its stragglers:
  // keep one pocket per group (the higher-scoring one, holding the union of members), and drop
  // the unconfirmed fragments it has absorbed.
  for (let i = 0; i < pockets.length; i++) {
    const keep = pockets[i];
    if (!keep.confirmed) continue;
    const mine = new Set(keep.members);
    for (let j = pockets.length - 1; j > i; j--) {
      const other = pockets[j];
      if (other.attackerClass !== keep.attackerClass || other.enclosingClass !== keep.enclosingClass) continue;
      // A confirmed pocket that overlaps is the same group; an unconfirmed one wholly inside it is a fragment of it.
      const absorbed = other.confirmed ? other.members.some((m) => mine.has(m)) : other.members.every((m) => mine.has(m));
      if (!absorbed) continue;
      for (const m of other.members) mine.add(m);
      pockets.splice(j, 1);
    }
    keep.members = [...mine].sort((a, b) => a - b);
  }
  pockets.forEach((p, k) => { p.id = k + 1; });
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
    timings: { embed: prep.timings.embed, neighbours: prep.timings.neighbours + extend, hulls, pocketTest, total: now() - start + (ctx.preparation ? prep.timings.embed + prep.timings.neighbours : 0) },
  };
}
