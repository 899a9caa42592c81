/**
 * The CLEAR scan (README, "How CLEAR decides"), as named steps: embed and neighbour graph
 * (`prepareScan`) → extend the graph past large groups → search candidates (pockets and
 * groups of disagreeing samples) → judge every group, and random border groups of the same
 * model, by the same evidence → calibrate against those null groups → decide (backdoor
 * pockets, poisoning attempts) → gather stragglers → statistics and summary.
 */
import type { Dataset, Split } from '../data/dataset.js';
import { sourceText } from '../data/sources.js';
import type { LoadedModel } from '../model/io.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng, type Rng } from '../random.js';
import { heldOutSupport, landReferenceSamples, type ReferenceLanding } from './reference.js';
import { familyPValue, fitNullTail, type NullTail } from './calibrate.js';
import { median } from '../features/stats.js';
import { embedSplit, type Embedding } from '../features/embed.js';
import { neighbourRow, normaliseFeatures, type NeighbourGraph } from '../features/knn.js';
import { buildGraph, type GraphReport } from '../features/ann.js';
import { buildImportedGraph, type ImportedGraphReport, type ImportedNeighbours } from '../features/imported.js';
import { extendGraphPastGroups } from './runs.js';
import { buildProbe, runProbes, type PocketProbeResult } from './pocket-test.js';
import { borderSamples, describeGroups, findPocketCandidates, nullGroups, type CandidateSearchResult, type PocketCandidate } from './pockets.js';
import { attemptScore, COPIES_DISTINCT, LEARNT_FLOOR, learntRate, LEARNT_MAJORITY, pocketScore, scoreParts, structureScore, type PocketEvidence } from './score.js';
import { splitModel, type SplitModel } from '../features/split.js';
import { PixelCopies } from './copies.js';
import { SqueezeDrift } from './squeeze.js';
import { findCraftedSamples } from './crafted.js';
import { RssPeaks } from '../memory.js';
import { formatFlipDistance, formatLevel, formatPValue } from '../../contract/format.js';
import { DEFAULT_FALSE_ALARM, SCAN_SCHEMA, type ClassStatistics, type CraftedGroup, type PairStatistics, type Pocket, type ScanResult, type ScanSettings } from './types.js';

export const DEFAULT_SCAN_SETTINGS: Omit<ScanSettings, 'featureLayer'> = {
  normalisation: 'l2',
  neighbours: 40,
  falseAlarm: DEFAULT_FALSE_ALARM,
  minShellPurity: 0.6,
  probesPerPocket: 64,
  nullGroups: 1000,
  seed: 0,
  reference: null,
};

/** A trusted labelled reference set for held-out support: never containing an attack's target. */
export interface ReferenceSet {
  /** What it is, for the record (a data spec, or a description of the split). */
  name: string;
  split: Split;
}

export interface ScanPreparation {
  parts: SplitModel;
  embedding: Embedding;
  normalised: Float32Array;
  graph: NeighbourGraph;
  /** How the graph was made (exact, approximate or imported, with its measured recall). */
  graphReport?: GraphReport | ImportedGraphReport;
  timings: { embed: number; neighbours: number };
}

const now = () => performance.now() / 1000;

/** The features the scan's neighbour graph is built from: the feature layer's outputs, normalised as the scan normalises them. */
export async function scanFeatures(
  loaded: Pick<LoadedModel, 'model' | 'metadata'>,
  ds: Dataset,
  settings: { featureLayer?: string; normalisation: 'l2' | 'standardise' },
  ctx: JobContext = {},
): Promise<{ parts: SplitModel; embedding: Embedding; normalised: Float32Array; seconds: { embed: number; normalise: number } }> {
  let t = now();
  const parts = splitModel(loaded.model, settings.featureLayer, loaded.metadata);
  const embedding = await embedSplit(parts, ds.train, ds.shape, ctx);
  const embed = now() - t;
  t = now();
  const normalised = normaliseFeatures(embedding.features, embedding.n, embedding.dim, settings.normalisation);
  return { parts, embedding, normalised, seconds: { embed, normalise: now() - t } };
}

/**
 * Embedding and neighbour graph: shared by CLEAR and the baselines in one benchmark run. With
 * `imported`, the graph's candidates come from a file computed elsewhere (imported.ts), each
 * re-ranked here; otherwise the graph is built exactly or approximately (ann.ts).
 */
export async function prepareScan(
  loaded: Pick<LoadedModel, 'model' | 'metadata'>,
  ds: Dataset,
  settings: { featureLayer?: string; neighbours: number; normalisation: 'l2' | 'standardise'; graph?: ScanSettings['graph']; approximateAbove?: number; seed?: number },
  ctx: JobContext & { imported?: ImportedNeighbours } = {},
): Promise<ScanPreparation> {
  const { parts, embedding, normalised, seconds } = await scanFeatures(loaded, ds, settings, ctx);
  const t = now() - seconds.normalise;
  const k = Math.min(settings.neighbours, embedding.n - 1);
  const graphOptions = {
    seed: settings.seed,
    signal: ctx.signal,
    onProgress: (fraction: number) => ctx.onProgress?.({ stage: 'neighbours', fraction }),
    onMessage: (message: string) => ctx.onProgress?.({ stage: 'neighbours', fraction: 0, message }),
  };
  const { graph, report } = ctx.imported
    ? await buildImportedGraph(normalised, embedding.n, embedding.dim, k, ctx.imported, { ...graphOptions, requested: settings.graph })
    : await buildGraph(normalised, embedding.n, embedding.dim, k, { ...graphOptions, method: settings.graph, approximateAbove: settings.approximateAbove });
  return { parts, embedding, normalised, graph, graphReport: report, timings: { embed: seconds.embed, neighbours: now() - t } };
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
export function scoringShellPurity(shell: readonly number[], attackerClass: number, enclosingClass: number, labels: Int32Array, graph: NeighbourGraph): { purity: number; size: number } {
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
 * enclosing class's region: poisons the model did not fit (it predicts them as B), or that the
 * hull search left out, which are poisons all the same, and repair must relabel them too.
 *
 * Without `beside` (the group's reach, which the calibration keeps out of the null) every such
 * sample within EXPANSION_RANK ranks counts. With it (the samples a reported group takes in), a
 * sample joins only if it is right beside a member (no farther than `beside`, the model's typical
 * nearest-neighbour distance) or if, leaving the group aside, its neighbours are more often "B"
 * than "A" (its own near-duplicates, no farther than `beside`, left aside too): at a border
 * between A and B, natural "A" samples list a planted group among their neighbours too, but
 * they sit among other natural "A"s, a step or more away.
 */
export function expandPocket(members: number[], attackerClass: number, enclosingClass: number, labels: Int32Array, graph: NeighbourGraph, beside = Infinity): number[] {
  const inPocket = new Set(members);
  const foreignMajorityIsB = (j: number) => sitsInRegionOf(j, attackerClass, enclosingClass, labels, graph);
  // Leaving the group aside, are j's neighbours more often "B" than "A"?
  // j's own near-duplicates (no farther than `beside`) stand with j, not for the "A" region.
  const belongs = (j: number) => {
    const { indices, distances } = neighbourRow(graph, j);
    let a = 0; let b = 0;
    for (let r = 0; r < indices.length; r++) {
      const x = indices[r];
      if (inPocket.has(x)) continue;
      if (labels[x] === attackerClass) { if (distances[r] > beside) a++; }
      else if (labels[x] === enclosingClass) b++;
    }
    return b > a;
  };
  const grow = (from: number[]) => {
    let frontier = from;
    for (let round = 0; round < 10 && frontier.length; round++) {
      const next: number[] = [];
      for (const i of frontier) {
        const { indices, distances } = neighbourRow(graph, i);
        for (let r = 0; r < Math.min(EXPANSION_RANK, indices.length); r++) {
          const j = indices[r];
          if (inPocket.has(j) || labels[j] !== attackerClass || !foreignMajorityIsB(j)) continue;
          if (distances[r] > beside && !belongs(j)) continue;
          inPocket.add(j); next.push(j);
        }
      }
      frontier = next;
    }
  };
  grow([...members]);
  // With a limit, a group's growth can make a majority of samples it passed over: sweep again.
  for (let sweep = 0, size = 0; beside < Infinity && sweep < 5 && inPocket.size > size; sweep++) {
    size = inPocket.size;
    grow([...inPocket]);
  }
  return [...inPocket].sort((a, b) => a - b);
}

const fixedRatio = (x: number) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());

/** Whether a group's members move, squeezed, further than nine in ten samples and twice as far as the typical one: images a crafted perturbation placed. */
function looksCrafted(p: Omit<Pocket, 'explanation'>): boolean {
  return p.evidence.fragility > 0 && (p.evidence.driftRatio ?? 1) >= 2;
}

/** Why an attempt's members are suspect, from the evidence that singled them out. */
export function attemptReason(p: Omit<Pocket, 'explanation'>): string {
  const outvoted = (p.evidence.disagreeing ?? 0) > 0;
  const crafted = looksCrafted(p);
  if (outvoted && crafted) return 'Their labels are contradicted by their neighbours and their images look crafted (squeezing moves them far):';
  if (crafted) return 'Their images look crafted (squeezing moves them far), whatever their labels say:';
  return 'Their labels are contradicted by their neighbours:';
}

export function explain(p: Omit<Pocket, 'explanation'>, classNames: string[]): string {
  const a = classNames[p.attackerClass]; const b = classNames[p.enclosingClass];
  const parts: string[] = [];
  const among = p.tightness.shellPurity >= 0.5 ? `inside the region of class "${b}"` : `where class "${b}" meets other classes`;
  parts.push(`${p.members.length} training sample${p.members.length === 1 ? '' : 's'} labelled "${a}" sit together ${among}`);
  parts.push(`${Math.round(p.tightness.shellPurity * 100)}% of their nearest outside neighbours are "${b}"`);
  const inner = p.evidence.meanInner; const shell = p.evidence.shellDistance;
  if (p.members.length > 4 && inner > 0 && shell > 0 && inner / shell < 0.75) parts.push(`on average they are ${fixedRatio(shell / inner)} times closer to each other than to the samples around them`);
  if (p.tightness.relativeSpread < 0.3) parts.push('they are near-duplicates of each other in the model\'s feature space (much closer together than ordinary "' + b + '" samples are)');
  if (p.members.length > 1 && (p.evidence.copiesRatio ?? 1) < COPIES_DISTINCT) {
    const found = p.evidence.copiesFound ?? 0;
    parts.push(`their images are shifted copies of one another: aligned, they are ${fixedRatio(1 / p.evidence.copiesRatio)} times closer to each other than to the nearest images of other labels around them${found > 0 ? ` (${found} of them found by comparing images, where the model's features had put them apart from the rest)` : ''}`);
  }
  if (p.members.length > 1 && looksCrafted(p)) parts.push(`when their images are reduced to 8 levels per value, their feature vectors move ${fixedRatio(p.evidence.driftRatio ?? 1)} times as far as this model's samples usually do, as images placed by a crafted perturbation do`);
  const outvoted = p.evidence.disagreeing ?? 0;
  if (outvoted > 0) {
    const all = outvoted === p.members.length;
    const one = outvoted === 1 || all;
    parts.push(`${all ? 'every one' : `${outvoted}`} of them ${one ? 'has its' : 'have their'} label outvoted by ${one ? 'its' : 'their'} own nearest neighbours`);
  }
  const toB = p.evidence.flipToEnclosingRate;
  parts.push(`the model predicts "${a}" for ${Math.round(p.fittedRate * 100)}% of them and for ${Math.round(p.interiorAttackerRate * 100)}% of points inside their hull; on the way from their centre to each nearest outside sample its prediction leaves "${a}" ${formatFlipDistance(p.flipDistance)}${toB === undefined ? '' : `, for "${b}" on ${Math.round(toB * 100)}% of the ways`}`);
  const verdict = p.confirmed
    ? `Random groups of this model's own border samples score lower: a group this unusual would appear by chance with probability ${formatPValue(p.pValue)}, so it is reported as a planted pocket; repair relabels its members "${b}".`
    : p.attempt
      ? `The model did not learn this group (${Math.round(p.learnt * 100)}% of it predicted "${a}"), but a group this coherent inside "${b}" would appear by chance with probability ${formatPValue(p.attemptPValue)}: it is reported as a poisoning attempt. ${attemptReason(p)} review them before training on this data again.`
      : `This is within the range of this model's own border groups (p = ${formatPValue(p.pValue)}${p.learnt < LEARNT_MAJORITY ? `; as an unlearnt group, p = ${formatPValue(p.attemptPValue)}` : ''}), so it is not reported.`;
  return `${parts.join('; ')}. ${verdict}`;
}

export async function scanModel(
  loaded: LoadedModel,
  ds: Dataset,
  options: Partial<ScanSettings> = {},
  ctx: JobContext & { preparation?: ScanPreparation; reference?: ReferenceSet; imported?: ImportedNeighbours } = {},
): Promise<ScanResult> {
  const start = now();
  // The scan's own memory peak: where the process can, its high-water mark starts again here.
  const rss = new RssPeaks();
  const settings0 = { ...DEFAULT_SCAN_SETTINGS, ...options };
  const prep = ctx.preparation ?? await prepareScan(loaded, ds, settings0, ctx);
  const result = await scanPrepared(loaded, ds, settings0, prep, start, ctx);
  result.timings.peakRssMiB = rss.take();
  result.timings.rssScope = rss.scope;
  return result;
}

/** Everything the scan learns about one group (a candidate or a null draw). */
interface JudgedGroup {
  candidate: PocketCandidate;
  probe: PocketProbeResult;
  evidence: PocketEvidence;
  /** Backdoor score (structure + ln learnt) and poisoning-attempt score (structure, unlearnt groups only). */
  score: number;
  attemptScore: number;
  /** The structure part alone (what the attempt score is, for an unlearnt group). */
  structure: number;
  /** The median member's squeezing drift ÷ the model's median drift (1 when not measured). */
  driftRatio: number;
}

interface JudgeContext {
  parts: SplitModel;
  features: Float32Array;
  labels: Int32Array;
  graph: NeighbourGraph;
  typicalNearest: number;
  landing?: ReferenceLanding;
  probes: number;
  /** Squeezing drifts of the training samples (squeeze.ts), measured as groups ask for them. */
  squeeze?: SqueezeDrift;
  /** Pixel-space copies among a group's members (copies.ts). */
  copies?: PixelCopies;
}

/** Step: the model's behaviour and the group's structure, for many groups (one head prediction per batch of probes). */
function judgeGroups(groups: readonly PocketCandidate[], context: JudgeContext, rng: Rng): JudgedGroup[] {
  const { parts, features, labels, graph, typicalNearest, landing, squeeze, copies } = context;
  squeeze?.measure(groups.flatMap((c) => c.members));
  const probes = runProbes(parts, groups.map((c) =>
    buildProbe(parts.featureDim, features, c.members, c.shell, c.attackerClass, c.enclosingClass, rng, context.probes)));
  return groups.map((c, g) => {
    const probe = probes[g];
    const depth = scoringShellPurity(c.shell, c.attackerClass, c.enclosingClass, labels, graph);
    const support = landing ? heldOutSupport(landing, c.members, c.attackerClass) : undefined;
    // Near-duplicates: copies of one image, or poisons crafted to collide with one feature vector.
    const nearest = median(c.members.map((m) => graph.distances[m * graph.k]));
    const squeezing = squeeze?.group(c.members);
    const evidence: PocketEvidence = {
      nearestRatio: typicalNearest > 0 ? nearest / typicalNearest : 1,
      innerToShell: c.shellDistance > 0 ? c.meanInnerDistance / c.shellDistance : 1,
      heldOutAttacker: support?.attackerClass, heldOutMisclassified: support?.misclassified,
      fragility: squeezing?.fragility,
      copiesRatio: copies?.ratio(c.members),
      shellPurity: depth.purity, shellSize: depth.size, size: c.members.length,
      fittedRate: c.predictedAsAttacker, interiorAttackerRate: probe.interiorAttackerRate, contamination: c.contamination,
    };
    return { candidate: c, probe, evidence, score: pocketScore(evidence), attemptScore: attemptScore(evidence), structure: structureScore(evidence), driftRatio: squeezing?.driftRatio ?? 1 };
  });
}

/**
 * Step: a candidate whose members are shifted copies of one image (copies.ts) takes in the other
 * copies of its label wherever the model's features put them, as one group described afresh; a
 * group the description cannot give a shell keeps its members. Label-flip copies the model spread
 * over its feature space fall into several small groups, or partly into none, and a group of two
 * copies says far less than the five the attacker made. Natural groups are distinct images (a
 * copies ratio of 1), so nothing is added to them.
 */
export function completeCopies(candidates: PocketCandidate[], copies: PixelCopies, input: Parameters<typeof describeGroups>[0]): PocketCandidate[] {
  const grown = candidates.map((c) => {
    const more = copies.copiesOutside(c.members);
    return more.length ? [...c.members, ...more].sort((a, b) => a - b) : undefined;
  });
  const wanted = grown.filter((g): g is number[] => g !== undefined);
  if (!wanted.length) return candidates;
  const described = describeGroups(input, wanted);
  let next = 0;
  const out: PocketCandidate[] = [];
  const seen = new Set<string>();
  candidates.forEach((c, i) => {
    const d = grown[i] ? described[next++] : undefined;
    const group = d ? { ...d, seeds: c.seeds, disagreeing: c.disagreeing, copiesFound: d.members.length - c.members.length } : c;
    // Two fragments of one set of copies complete to the same group: it is judged once.
    const key = group.members.join(',');
    if (seen.has(key)) return;
    seen.add(key);
    out.push(group);
  });
  return out;
}

/** Most draws made per group asked for: border samples whose neighbourhood gives no shell make no group. */
const MAX_DRAWS_PER_GROUP = 10;

/**
 * Step: random border groups of the candidates' sizes, judged like the candidates
 * (calibrate.ts). Draws continue until `count` of them have made a group (or the draw budget is
 * spent); the draws that made none stay in the record, since the null's tail is a share of all
 * draws.
 */
function judgeNullGroups(
  search: CandidateSearchResult,
  input: Parameters<typeof findPocketCandidates>[0],
  context: JudgeContext,
  count: number,
  seed: number,
  signal?: AbortSignal,
): { judged: (JudgedGroup | undefined)[]; border: number } {
  const border = borderSamples(input.labels, input.graph);
  if (!search.candidates.length || !border.length || count < 1) return { judged: [], border: border.length };
  const rng = createRng(seed + 0x9e3779b9);
  const sizes = search.candidates.map((c) => c.size);
  const judged: (JudgedGroup | undefined)[] = [];
  let made = 0;
  while (made < count && judged.length < MAX_DRAWS_PER_GROUP * count) {
    throwIfCancelled(signal);
    const batch = Math.min(count, MAX_DRAWS_PER_GROUP * count - judged.length);
    const centres = Array.from({ length: batch }, () => border[rng.int(border.length)]);
    const drawnSizes = Array.from({ length: batch }, () => sizes[rng.int(sizes.length)]);
    const drawn: (PocketCandidate | undefined)[] = [];
    for (const g of nullGroups({ ...input, settings: search.settings }, centres, drawnSizes)) {
      if (made >= count) break;
      const group = g && g.members.length >= 2 ? g : undefined;
      if (group) made++;
      drawn.push(group);
    }
    const judgedDrawn = judgeGroups(drawn.filter((g): g is PocketCandidate => g !== undefined), context, rng);
    let next = 0;
    for (const g of drawn) judged.push(g ? judgedDrawn[next++] : undefined);
  }
  return { judged, border: border.length };
}

/** Rounds of leaving out the null draws of reported groups before the p-values settle. */
const CALIBRATION_ROUNDS = 5;

/**
 * Step: family-wise p-values of every candidate against the null draws that share no member
 * with its reach (its members and the stragglers beside them), with the reach of any candidate
 * scoring at least as high, or with that of any candidate already found
 * significant at `level` (two planted groups must not lend their draws to each other's null,
 * nor two halves of one). The reported set grows round by round until it settles; on a clean
 * model nothing is reported and every candidate is judged against the draws of everything that
 * does not outscore it.
 */
function calibrate(judged: JudgedGroup[], nulls: (JudgedGroup | undefined)[], family: number, level: number, reaches: number[][]) {
  const nullMembers = nulls.map((g) => g?.candidate.members ?? []);
  const backdoorAll = nulls.map((g) => g?.score ?? -Infinity);
  // An unlearnt candidate is judged against the structure of every null group, learnt or not:
  // a model that fits its training data leaves too few unlearnt border groups to measure a tail.
  const attemptAll = nulls.map((g) => g?.structure ?? -Infinity);
  /** The null tail of `nullScores` for candidate `i`, without the draws its suspects reach. */
  const nullFor = (statistic: (g: JudgedGroup) => number, nullScores: number[], reported: Set<number>) => (i: number) => {
    const mine = new Set<number>();
    judged.forEach((other, j) => {
      if (reported.has(j) || statistic(other) >= statistic(judged[i])) for (const m of reaches[j]) mine.add(m);
    });
    return fitNullTail(nullScores.filter((_, d) => !nullMembers[d].some((m) => mine.has(m))));
  };
  const reportedB = new Set<number>(); const reportedA = new Set<number>();
  let results = judged.map(() => ({ pValue: 1, attemptPValue: 1, nullGroups: 0, nullThreshold: 0, nullScale: 0 }));
  for (let round = 0; round < CALIBRATION_ROUNDS; round++) {
    const tailB = nullFor((g) => g.score, backdoorAll, reportedB);
    const tailA = nullFor((g) => g.attemptScore, attemptAll, reportedA);
    results = judged.map((g, i) => {
      const backdoorTail = tailB(i);
      const attemptPValue = Number.isFinite(g.attemptScore) ? familyPValue(tailA(i), g.attemptScore, family) : 1;
      return { pValue: familyPValue(backdoorTail, g.score, family), attemptPValue, nullGroups: backdoorTail.sorted.length, nullThreshold: backdoorTail.threshold, nullScale: backdoorTail.scale };
    });
    const before = reportedB.size + reportedA.size;
    results.forEach((r, i) => {
      if (r.pValue <= level) reportedB.add(i);
      if (r.attemptPValue <= level) reportedA.add(i);
    });
    if (reportedB.size + reportedA.size === before) break;
  }
  const tailOf = (t: NullTail) => ({ threshold: Number.isFinite(t.threshold) ? t.threshold : 0, share: t.exceedanceShare, scale: t.scale });
  return { results, backdoorTail: tailOf(fitNullTail(backdoorAll)), attemptTail: tailOf(fitNullTail(attemptAll)) };
}

async function scanPrepared(
  loaded: LoadedModel,
  ds: Dataset,
  settings0: Omit<ScanSettings, 'featureLayer'> & Partial<ScanSettings>,
  prep: ScanPreparation,
  start: number,
  ctx: JobContext & { preparation?: ScanPreparation; reference?: ReferenceSet },
): Promise<ScanResult> {
  const settings: ScanSettings = { ...settings0, featureLayer: prep.parts.featureLayer, reference: ctx.reference?.name ?? null };
  throwIfCancelled(ctx.signal);
  const { embedding, normalised, parts } = prep;
  const labels = ds.train.labels;

  // Step: groups larger than the graph's K get neighbour lists past them (runs.ts).
  let t = now();
  const graph = await extendGraphPastGroups(normalised, embedding.dim, labels, prep.graph, {}, ctx.signal);
  const extend = now() - t;

  // Step: candidate groups.
  t = now();
  ctx.onProgress?.({ stage: 'hulls', fraction: 0 });
  // Squeezing drifts (squeeze.ts), measured as the search and the judging ask for them.
  const squeeze = new SqueezeDrift(parts, ds.train, ds.shape, embedding.features, settings.seed);
  const searchInput = {
    features: normalised, n: embedding.n, dim: embedding.dim, labels, predictions: embedding.predictions, graph,
    numClasses: ds.classNames.length, settings: { minShellPurity: settings.minShellPurity },
    fragility: squeeze,
  };
  const search = findPocketCandidates(searchInput);
  ctx.onProgress?.({ stage: 'hulls', fraction: 1, message: `${search.candidates.length} candidate groups from ${search.seedCount} seeds` });
  const hulls = now() - t;

  // Step: crafted samples (crafted.ts): every training sample squeezed (one more forward pass),
  // each class's most fragile tested against the class's own tail. A group the test finds at
  // the scan's level is also a candidate pocket, judged below like any other against the same
  // null: clean-label poisons scatter over fragments the search judges one by one (or not at
  // all), but together they mark out the region around the target they were crafted to move,
  // and where the model has learnt that region for their label it is a backdoor, not only an
  // attempt. (A clean model rarely has such a group at all: the test's own level bounds it.)
  t = now();
  ctx.onProgress?.({ stage: 'pocket-test', fraction: 0, message: 'squeezing every training sample' });
  throwIfCancelled(ctx.signal);
  const tested = findCraftedSamples(squeeze.ratios(embedding.n), labels, ds.classNames.length);
  const craftedCandidates = describeGroups(searchInput, tested.filter((c) => c.pValue <= settings.falseAlarm).map((c) => c.members))
    .filter((c): c is PocketCandidate => c !== undefined);
  search.candidates.push(...craftedCandidates);
  let craftedTime = now() - t;

  // Step: groups of copies completed in pixel space (copies.ts).
  t = now();
  const copies = new PixelCopies(ds.train, ds.shape, labels, graph);
  search.candidates = completeCopies(search.candidates, copies, searchInput);
  const copiesTime = now() - t;

  // Step: judge the candidates, then this model's own null groups, by the same evidence.
  t = now();
  // Held-out support needs the reference set's landing places: one more forward pass.
  const landing = ctx.reference && ctx.reference.split.count > 0
    ? await landReferenceSamples(parts, ctx.reference.split, ds.shape, normalised, embedding.n, ctx)
    : undefined;
  const context: JudgeContext = {
    parts, features: embedding.features, labels, graph, landing, probes: settings.probesPerPocket,
    typicalNearest: median(Array.from({ length: graph.n }, (_, i) => graph.distances[i * graph.k])),
    squeeze, copies,
  };
  const rng = createRng(settings.seed);
  const total = search.candidates.length + settings.nullGroups;
  const judged = judgeGroups(search.candidates, context, rng);
  ctx.onProgress?.({ stage: 'pocket-test', fraction: search.candidates.length / total });
  throwIfCancelled(ctx.signal);
  const nulls = judgeNullGroups(search, searchInput, context, settings.nullGroups, settings.seed, ctx.signal);
  ctx.onProgress?.({ stage: 'pocket-test', fraction: 1 });
  const pocketTest = now() - t;

  // Step: calibrate. The family: as many natural groups as the border samples could form at
  // the candidates' typical size, and never fewer than the candidates themselves.
  const meanSize = judged.length ? judged.reduce((sum, g) => sum + g.candidate.size, 0) / judged.length : 1;
  const family = Math.max(judged.length, Math.round(nulls.border / meanSize));
  // A candidate's reach: its members and the same-label samples right beside it in the same
  // enclosing region (the stragglers a reported group gathers). The rest of a planted group the
  // search did not take in must not sit in the null it is judged against.
  const reaches = judged.map((g) => expandPocket(g.candidate.members, g.candidate.attackerClass, g.candidate.enclosingClass, labels, graph));
  const calibration = calibrate(judged, nulls.judged, family, settings.falseAlarm, reaches);

  // Step: decide.
  const reachOf = new Map<Pocket, number[]>();
  const pockets: Pocket[] = judged.map((g, i) => {
    const c = g.candidate;
    const { pValue, attemptPValue, nullGroups: nullUsed, nullThreshold, nullScale } = calibration.results[i];
    const learnt = learntRate(g.evidence);
    const confirmed = pValue <= settings.falseAlarm && learnt > 0;
    const base = {
      id: i + 1,
      members: [...c.members].sort((x, y) => x - y),
      attackerClass: c.attackerClass,
      enclosingClass: c.enclosingClass,
      score: g.score,
      pValue,
      confirmed,
      learnt,
      attemptPValue,
      attempt: !confirmed && learnt < LEARNT_MAJORITY && attemptPValue <= settings.falseAlarm,
      origin: (c.disagreeing === 0 ? 'pocket' : c.disagreeing >= c.size ? 'disagreement' : 'both') as Pocket['origin'],
      shell: [...c.shell],
      contaminants: [...c.contaminants],
      tightness: { contamination: c.contamination, diameter: c.diameter, relativeSpread: c.tightness, shellPurity: g.evidence.shellPurity },
      interiorAttackerRate: g.probe.interiorAttackerRate,
      flipDistance: g.probe.flipDistance,
      fittedRate: c.predictedAsAttacker,
      evidence: {
        ...scoreParts(g.evidence), learnt: Math.log(Math.max(learnt, LEARNT_FLOOR)), flipToEnclosingRate: g.probe.flipToEnclosingRate,
        meanInner: c.meanInnerDistance, shellDistance: c.shellDistance, nearestRatio: g.evidence.nearestRatio ?? 1,
        copiesRatio: g.evidence.copiesRatio ?? 1,
        copiesFound: c.copiesFound ?? 0,
        driftRatio: g.driftRatio,
        heldOutAttacker: g.evidence.heldOutAttacker ?? -1, heldOutMisclassified: g.evidence.heldOutMisclassified ?? -1,
        disagreeing: c.disagreeing,
        // The null this group was judged against: its groups (those sharing no member with it or
        // with a higher-scoring candidate), the tail's threshold and scale.
        nullGroups: nullUsed, nullThreshold: Number.isFinite(nullThreshold) ? nullThreshold : 0, nullScale,
      },
    };
    const pocket = { ...base, explanation: explain(base, ds.classNames) };
    // What a reported group takes in (gatherStragglers): its reach, but only samples right beside it or among "B".
    if (pocket.confirmed || pocket.attempt) reachOf.set(pocket, expandPocket(c.members, c.attackerClass, c.enclosingClass, labels, graph, context.typicalNearest));
    return pocket;
  }).sort((a, b) => b.score - a.score);

  gatherStragglers(pockets, reachOf, ds.classNames);
  pockets.forEach((p, k) => { p.id = k + 1; });
  // Where each member came from, beside the members, when the data recorded it.
  const trainSources = ds.train.sources;
  if (trainSources) {
    pockets.forEach((p, k) => {
      const { id, members, ...rest } = p;
      pockets[k] = { id, members, sources: members.map((m) => sourceText(trainSources, m)), ...rest };
    });
  }

  // Step: crafted samples on their own (tested above). Members of reported groups are left
  // out: those groups already stand for them.
  t = now();
  const craftedPValue = tested.length ? Math.min(...tested.map((c) => c.pValue)) : 1;
  const inReported = new Set(pockets.filter((p) => p.confirmed || p.attempt).flatMap((p) => p.members));
  const crafted: CraftedGroup[] = [];
  for (const c of tested) {
    if (c.pValue > settings.falseAlarm) continue;
    const keep = c.members.map((m, k) => k).filter((k) => !inReported.has(c.members[k]));
    if (!keep.length) continue;
    const members = keep.map((k) => c.members[k]);
    const group: Omit<CraftedGroup, 'explanation'> = {
      id: crafted.length + 1, classIndex: c.classIndex, members,
      ...(trainSources ? { sources: members.map((m) => sourceText(trainSources, m)) } : {}),
      driftRatios: keep.map((k) => c.driftRatios[k]), nextRatio: c.nextRatio, pValue: c.pValue,
    };
    crafted.push({ ...group, explanation: explainCrafted(group, c.members.length, ds.classNames) });
  }
  craftedTime += now() - t;

  const result = summarise(pockets, crafted, craftedPValue, search, labels, ds.classNames, settings);
  return {
    schema: SCAN_SCHEMA,
    createdAt: new Date().toISOString(),
    settings,
    backend: (await import('../backend/index.js')).backendInfo()?.name ?? 'unknown',
    dataset: { spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint, trainCount: ds.train.count, classNames: ds.classNames },
    model: { dir: loaded.dir, fingerprint: loaded.fingerprint, featureLayer: parts.featureLayer, featureDim: parts.featureDim, ...(loaded.input ? { input: loaded.input } : {}) },
    verdict: result.verdict,
    calibration: {
      nullGroups: nulls.judged.filter(Boolean).length, nullDraws: nulls.judged.length, borderSamples: nulls.border, family,
      backdoorTail: calibration.backdoorTail, attemptTail: calibration.attemptTail,
      nullScores: nulls.judged.filter((g): g is JudgedGroup => g !== undefined).map((g) => ({
        score: g.score, attemptScore: Number.isFinite(g.attemptScore) ? g.attemptScore : null, size: g.candidate.size,
        // Development studies of the calibration need to know which null groups touch a planted group.
        ...(process.env.CLEAR_STUDY_NULL_MEMBERS ? { members: g.candidate.members, parts: scoreParts(g.evidence), learnt: learntRate(g.evidence) } : {}),
      })),
    },
    pockets,
    crafted,
    statistics: result.statistics,
    // The pocket test's time includes the crafted-samples test's forward pass.
    timings: { embed: prep.timings.embed, neighbours: prep.timings.neighbours + extend, hulls: hulls + copiesTime, pocketTest: pocketTest + craftedTime, extension: extend, extendedRows: graph.extended?.size ?? 0, craftedTest: craftedTime, total: now() - start + (ctx.preparation ? prep.timings.embed + prep.timings.neighbours : 0), ...(prep.graphReport ? { neighbourGraph: prep.graphReport } : {}) },
  };
}

/**
 * Step: a reported pocket or attempt gathers the attacker-labelled samples right beside it in
 * the same enclosing region (its reach, from expandPocket), and two reported groups that then overlap are one
 * planted group: keep the higher-scoring one, holding the union, and drop the unreported
 * fragments it absorbed.
 */
function gatherStragglers(pockets: Pocket[], reachOf: Map<Pocket, number[]>, classNames: string[]): void {
  const reported = (p: Pocket) => p.confirmed || p.attempt;
  for (const p of pockets) {
    if (!reported(p)) continue;
    const grown = reachOf.get(p)!;
    if (grown.length > p.members.length) {
      p.evidence.gathered = grown.length - p.members.length;
      p.explanation += ` ${grown.length - p.members.length} more "${classNames[p.attackerClass]}"-labelled samples right beside it, in the same "${classNames[p.enclosingClass]}" region, are included as likely poisons the model did not fit.`;
      p.members = grown;
    }
  }
  for (let i = 0; i < pockets.length; i++) {
    const keep = pockets[i];
    if (!reported(keep)) continue;
    const mine = new Set(keep.members);
    for (let j = pockets.length - 1; j > i; j--) {
      const other = pockets[j];
      if (other.attackerClass !== keep.attackerClass || other.enclosingClass !== keep.enclosingClass) continue;
      // A reported group that overlaps is the same group; an unreported one wholly inside it is a fragment of it.
      const absorbed = reported(other) ? other.members.some((m) => mine.has(m)) : other.members.every((m) => mine.has(m));
      if (!absorbed) continue;
      for (const m of other.members) mine.add(m);
      if (other.confirmed && !keep.confirmed) { keep.confirmed = true; keep.attempt = false; }
      pockets.splice(j, 1);
    }
    keep.members = [...mine].sort((a, b) => a - b);
  }
  // The shell stays the one the group was judged by, less the samples now gathered into the
  // group, so members and shell never overlap (the Inspect view draws both).
  for (const p of pockets) {
    if (!reported(p)) continue;
    const members = new Set(p.members);
    p.shell = p.shell.filter((j) => !members.has(j));
  }
}

/** A reported group of crafted samples in words. */
function explainCrafted(g: Omit<CraftedGroup, 'explanation'>, tested: number, classNames: string[]): string {
  const name = classNames[g.classIndex];
  const sorted = [...g.driftRatios].sort((a, b) => a - b);
  const mid = sorted[Math.floor(sorted.length / 2)];
  const left = tested - g.members.length;
  return `${g.members.length} training sample${g.members.length === 1 ? '' : 's'} labelled "${name}" move${g.members.length === 1 ? 's' : ''} ${mid.toFixed(1)} times as far as this model's typical sample when their images are reduced to eight levels per value, apart from the rest of their class (its next most fragile sample moves ${g.nextRatio.toFixed(1)} times): crafted images, such as clean-label poisons, look like this. A gap this wide within a class would appear by chance with probability ${formatPValue(g.pValue)}. They lie among their own class, so the model shows no pocket from them; review them and where they came from before training on this data again.${left ? ` ${left} more of them belong to a group reported above.` : ''}`;
}

/** Step: per-class and per-pair statistics, and the verdict in words. */
function summarise(pockets: Pocket[], crafted: CraftedGroup[], craftedPValue: number, search: CandidateSearchResult, labels: Int32Array, classNames: string[], settings: ScanSettings): Pick<ScanResult, 'verdict' | 'statistics'> {
  const confirmed = pockets.filter((p) => p.confirmed);
  const attempts = pockets.filter((p) => p.attempt);
  const minP = pockets.length ? Math.min(...pockets.map((p) => p.pValue)) : 1;
  const minAttemptP = pockets.length ? Math.min(...pockets.map((p) => p.attemptPValue)) : 1;
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
  const level = formatLevel(settings.falseAlarm);
  const describe = (list: Pocket[]) => list.map((p) => `"${classNames[p.attackerClass]}" inside "${classNames[p.enclosingClass]}", ${p.members.length} samples`).join('; ');
  const natural = pockets.length - confirmed.length - attempts.length;
  const craftedCount = crafted.reduce((sum, g) => sum + g.members.length, 0);
  const craftedText = crafted.length
    ? `${craftedCount} crafted-looking sample${craftedCount === 1 ? '' : 's'} (${crafted.map((g) => `${g.members.length} labelled "${classNames[g.classIndex]}"`).join('; ')}) that squeezing moves far apart from the rest of their class`
    : '';
  let headline: string; let summary: string;
  if (confirmed.length) {
    headline = 'Backdoor suspected';
    summary = `${confirmed.length} pocket${confirmed.length === 1 ? '' : 's'} the model learnt (${describe(confirmed)}), unlike this model's own border groups at a ${level} false-alarm level.`
      + (attempts.length ? ` Also ${attempts.length} poisoning attempt${attempts.length === 1 ? '' : 's'} the model did not learn (${describe(attempts)}).` : '')
      + (crafted.length ? ` Also ${craftedText}.` : '');
  } else if (attempts.length || crafted.length) {
    headline = 'Poisoning attempt found';
    const parts = [
      ...(attempts.length ? [`${attempts.length} coherent group${attempts.length === 1 ? '' : 's'} whose labels their neighbours contradict (${describe(attempts)}), unlike this model's own border groups`] : []),
      ...(crafted.length ? [craftedText] : []),
    ];
    summary = `the model has learnt no pocket, but the training data holds ${parts.join(', and ')}, at a ${level} false-alarm level.`;
  } else {
    headline = 'No backdoor found';
    summary = `the ${natural} candidate group${natural === 1 ? '' : 's'} look like this model's own border groups at a ${level} false-alarm level.`;
  }
  return {
    verdict: {
      suspected: confirmed.length > 0, attempt: confirmed.length === 0 && (attempts.length > 0 || crafted.length > 0), headline,
      falseAlarm: settings.falseAlarm, pValue: minP, attemptPValue: minAttemptP, crafted: crafted.length > 0, craftedPValue, summary,
    },
    statistics: { classes, pairs, seeds: search.seedCount, candidates: pockets.length },
  };
}

