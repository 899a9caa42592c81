/** One trial's building blocks: setting up its data and victims, and the baselines' remove-then-retrain repairs. */
import { ATTACKS, trainCleanFeatureModel, trainVictim, type AttackManifest, type AttackParams, type CleanFeatureModel, type Scenario } from '../attacks/index.js';
import { caseParams } from '../attacks/presets.js';
import { tf } from '../backend/index.js';
import { chooseDeepKnnK } from '../detectors/baselines/deep-knn.js';
import { DEFAULT_SCAN_SETTINGS } from '../clear/scan.js';
import { selectSamples, type Dataset } from '../data/dataset.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import type { NeighbourGraph } from '../features/knn.js';
import { evaluateSplit, predictSplit } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { isClearVariant, targetSeedOf } from './plan.js';
import type { BenchCase, DefenceRecord, TrialRecord } from './types.js';

export function precisionRecall(found: number[], poisons: number[]): { precision: number | null; recall: number | null } {
  if (!poisons.length) return { precision: null, recall: null };
  const set = new Set(poisons);
  const tp = new Set(found.filter((i) => set.has(i))).size;
  return { precision: found.length ? tp / new Set(found).size : 0, recall: tp / set.size };
}

/** A view of the first k neighbours of each row of a graph with more. */
export function truncateGraph(graph: NeighbourGraph, k: number): NeighbourGraph {
  if (k >= graph.k) return graph;
  const indices = new Int32Array(graph.n * k);
  const distances = new Float32Array(graph.n * k);
  for (let i = 0; i < graph.n; i++) {
    indices.set(graph.indices.subarray(i * graph.k, i * graph.k + k), i * k);
    distances.set(graph.distances.subarray(i * graph.k, i * graph.k + k), i * k);
  }
  return { n: graph.n, k, indices, distances };
}

/** Neighbours per sample a defence reads from the shared graph (0: it builds none). */
export function neighboursFor(defence: string, n: number): number {
  if (isClearVariant(defence)) return Math.min(DEFAULT_SCAN_SETTINGS.neighbours, n - 1);
  if (defence === 'deep-knn') return chooseDeepKnnK(n);
  return 0;
}

/** The training split without some samples (indices are renumbered; nothing else changes). */
export function withoutSamples(ds: Dataset, remove: readonly number[]): Dataset {
  const drop = new Set(remove);
  const keep: number[] = [];
  for (let i = 0; i < ds.train.count; i++) if (!drop.has(i)) keep.push(i);
  const train = selectSamples(ds.train, ds.shape, keep);
  return { ...ds, name: `${ds.name} without ${drop.size} samples`, train, fingerprint: datasetFingerprint(ds.shape, ds.classNames, train, ds.test) };
}

export interface TrialSetup {
  /** The trial's own clean feature extractor, when the scenario or the attack needs one (the caller disposes it). */
  feature?: CleanFeatureModel;
  featureChecksum: number | null;
  /** The training data the victim learns from: poisoned in attack trials. */
  data: Dataset;
  /** One per target (none in clean trials). */
  manifests: AttackManifest[];
  featureSeconds: number;
  craftSeconds: number;
}

/**
 * Everything a trial builds before its victims: its clean feature extractor (transfer victims'
 * frozen φ; the clean-label attacker's φ, the white-box transfer threat model), its target(s)
 * and its poisons. Exported so development tools rebuild a benchmark trial exactly.
 */
export async function setupTrial(
  ds: Dataset, settings: { seed: number; arch: string; pool: number[]; epsilon?: number; cleanEpochs?: number },
  benchCase: BenchCase | null, scenario: Scenario, trialSeed: number, t: number, ctx: JobContext = {},
): Promise<TrialSetup> {
  const attack = benchCase?.attack ?? null;
  const out: TrialSetup = { featureChecksum: null, data: ds, manifests: [], featureSeconds: 0, craftSeconds: 0 };
  if (scenario === 'transfer' || (attack && ATTACKS[attack].cleanLabel)) {
    const tf0 = performance.now();
    const feature = await trainCleanFeatureModel(ds, settings.arch, trialSeed, ctx,
      settings.cleanEpochs !== undefined ? { epochs: settings.cleanEpochs } : {});
    out.feature = feature;
    out.featureSeconds = (performance.now() - tf0) / 1000;
    const first = feature.model.getWeights()[0];
    out.featureChecksum = tf.tidy(() => tf.sum(tf.abs(first)).dataSync()[0]);
  }
  if (!benchCase || !attack) return out;
  try {
    const rng = createRng(targetSeedOf(settings.seed, attack, t));
    const first = settings.pool[rng.int(settings.pool.length)];
    let attackerClass = rng.int(ds.classNames.length - 1);
    if (attackerClass >= ds.test.labels[first]) attackerClass++;
    const targetIndices = [first];
    if (benchCase.targets > 1) {
      // Further targets: other test samples (not of the attacker's class), same attacker class.
      const candidates = settings.pool.filter((i) => i !== first && ds.test.labels[i] !== attackerClass);
      for (let j = 1; j < benchCase.targets; j++) targetIndices.push(candidates.splice(rng.int(candidates.length), 1)[0]);
    }
    const t0 = performance.now();
    for (const [j, targetIndex] of targetIndices.entries()) {
      const params: AttackParams = {
        targetIndex, attackerClass, poisons: benchCase.poisons, seed: trialSeed + j,
        ...caseParams(attack, scenario, benchCase.variant ?? undefined),
        ...(settings.epsilon !== undefined ? { epsilon: settings.epsilon } : {}),
        ...(ATTACKS[attack].cleanLabel && out.feature ? { featureModel: out.feature.parts } : {}),
        ...(out.manifests.length ? { excludeBases: out.manifests.flatMap((m) => m.poisonIndices) } : {}),
      };
      const crafted = await ATTACKS[attack].run(out.data, params, ctx);
      out.data = crafted.dataset;
      out.manifests.push(crafted.manifest);
    }
    out.craftSeconds = (performance.now() - t0) / 1000;
    return out;
  } catch (err) {
    out.feature?.model.dispose();
    throw err;
  }
}

/**
 * The calibrated defences' repairs, once the run's thresholds are known: in each successful
 * attack whose counted verdict flagged and that no earlier run repaired, remove what the
 * defence found, then retrain (the head on the trial's own frozen extractor in transfer, the
 * whole model end to end), with the trial's seed. The poisoned data is rebuilt from the
 * trial's seeds (setupTrial); the poisoned victim itself is not needed. Each repaired record
 * is passed to `onTrial` again (a later checkpoint line supersedes an earlier one).
 */
export async function repairFlagged(
  ds: Dataset, records: TrialRecord[],
  settings: {
    cases: BenchCase[]; seed: number; pool: number[]; reference: number[]; epsilon?: number; epochs?: number; cleanEpochs?: number;
    onTrial?: (record: TrialRecord) => void; onRepair?: (i: number, n: number) => void;
  },
  ctx: JobContext = {},
): Promise<number> {
  const pending = records.filter((r) => r.kind === 'attack' && r.attackSucceeded && r.defences.some(needsRepair));
  for (const [i, r] of pending.entries()) {
    throwIfCancelled(ctx.signal);
    settings.onRepair?.(i, pending.length);
    const benchCase = settings.cases.find((c) => c.id === r.case);
    if (!benchCase) throw new Error(`Trial ${r.trial} of ${String(r.case)} belongs to no case of this run.`);
    const setup = await setupTrial(ds, { seed: settings.seed, arch: r.arch, pool: settings.pool, epsilon: settings.epsilon, cleanEpochs: settings.cleanEpochs }, benchCase, r.scenario, r.seed, r.trial, ctx);
    try {
      const exclude = [...settings.reference, ...r.targets.map((x) => x.targetIndex)];
      for (const d of r.defences.filter(needsRepair)) {
        const tr = performance.now();
        const repaired = await trainVictim(withoutSamples(setup.data, d.found), r.scenario, {
          arch: r.arch, seed: r.seed, ...(settings.epochs !== undefined ? { epochs: settings.epochs } : {}),
          ...(setup.feature ? { frozenFeatureModel: setup.feature } : {}),
        }, ctx);
        try {
          d.repairSeconds = (performance.now() - tr) / 1000;
          const e = await evaluateSplit(repaired.model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude });
          d.repaired = true;
          d.cleanAccAfter = e.accuracy;
          d.targetAfter = e.predicted[r.targets[0].targetIndex];
          d.otherTargetsAfter = r.targets.slice(1).map((x) => e.predicted[x.targetIndex]);
        } finally { repaired.model.dispose(); }
      }
    } finally { setup.feature?.model.dispose(); }
    settings.onTrial?.(r);
  }
  return pending.length;
}

/** A calibrated defence flagged a model and has samples to remove, and no repair was made yet. */
export function needsRepair(d: DefenceRecord): boolean {
  return d.verdictRule === 'calibrated' && d.mitigation === 'remove-retrain' && d.flagged && !d.repaired && d.found.length > 0;
}

/** The seed of a trial's j-th further clean victim (j ≥ 1); j = 0 is the counterfactual's own. */
export function cleanSeedOf(trialSeed: number, j: number): number {
  return (trialSeed + Math.imul(j, 0x9e3779b1)) >>> 0;
}

/**
 * With --clean-seeds R: for each successful attack with fewer than R further clean victims,
 * trains the missing ones (the trial's clean data, its own frozen extractor in transfer, seeds
 * {@link cleanSeedOf}) and records each one's prediction of every target. Runs after the
 * trials, so it also fills in a finished run given --resume. Each record it extends is passed to
 * `onTrial` again. Returns the number of victims trained.
 */
export async function checkCleanSeeds(
  ds: Dataset, records: TrialRecord[],
  settings: {
    seeds: number; seed: number; pool: number[]; epochs?: number; cleanEpochs?: number;
    onTrial?: (record: TrialRecord) => void; onCheck?: (i: number, n: number) => void;
  },
  ctx: JobContext = {},
): Promise<number> {
  const pending = records.filter((r) => r.kind === 'attack' && r.attackSucceeded && (r.cleanSeedChecks?.length ?? 0) < settings.seeds);
  let trained = 0;
  for (const [i, r] of pending.entries()) {
    throwIfCancelled(ctx.signal);
    settings.onCheck?.(i, pending.length);
    // The clean victim needs only the trial's own clean extractor (transfer), not its poisons.
    const setup = await setupTrial(ds, { seed: settings.seed, arch: r.arch, pool: settings.pool, cleanEpochs: settings.cleanEpochs }, null, r.scenario, r.seed, r.trial, ctx);
    try {
      const checks = r.cleanSeedChecks ?? [];
      const targets = r.targets.map((x) => x.targetIndex);
      for (let j = checks.length + 1; j <= settings.seeds; j++) {
        const seed = cleanSeedOf(r.seed, j);
        const victim = await trainVictim(ds, r.scenario, {
          arch: r.arch, seed, ...(settings.epochs !== undefined ? { epochs: settings.epochs } : {}),
          ...(setup.feature ? { frozenFeatureModel: setup.feature } : {}),
        }, ctx);
        try {
          // Only the targets' predictions: no accuracy is reported for these victims.
          const p = await predictSplit(victim.model, ds.test, ds.shape, { signal: ctx.signal, indices: targets });
          checks.push({ seed, predicted: Array.from(p.predicted) });
          trained++;
        } finally { victim.model.dispose(); }
      }
      r.cleanSeedChecks = checks;
    } finally { setup.feature?.model.dispose(); }
    settings.onTrial?.(r);
  }
  return trained;
}
