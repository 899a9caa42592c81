/**
 * A scan is unsigned, so a repair does not take its figures on trust: before anything is
 * relabelled, every pocket the repair acts on is measured again on the model and data in hand,
 * with the scan engine's own steps (prepareScan's embedding and neighbour graph, the graph
 * extended past large groups, the pocket test's probes), and compared with what the scan file
 * says:
 *
 * - **shell purity**: the share of the group's nearest outside training samples labelled the
 *   enclosing class (attacker-labelled ones sitting in the enclosing class's region left out, as
 *   the scan scores it);
 * - **fitted share**: the share of members the model predicts as the attacker class;
 * - **interior share**: the share of hull-interior probes the head predicts as the attacker class.
 *
 * A forged pocket (genuine samples of one class listed as a pocket inside another, with its
 * figures and p-values written to pass) keeps the fingerprints and the indices in range, but its
 * nearest outside neighbours are its own class: its recomputed shell purity is far from the
 * claimed one, and the repair is refused in one sentence naming the file and the pocket.
 */
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { LoadedModel } from '../model/io.js';
import type { JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { probePocket } from './pocket-test.js';
import { nearestOutsiders } from './pockets.js';
import { extendGraphPastGroups } from './runs.js';
import { prepareScan, scoringShellPurity } from './scan.js';
import type { Pocket, ScanResult } from './types.js';

/**
 * How far a recomputed figure may be from the scan's before the pocket is refused. Shell purity
 * and fitted share are deterministic on the same model and data (the margin covers a pocket that
 * gathered stragglers after it was judged); the interior share is a share of random probes.
 */
export const RECHECK_TOLERANCE = { shellPurity: 0.2, fittedRate: 0.15, interiorAttackerRate: 0.3 } as const;

/** Fewest outside neighbours a pocket's shell purity is measured on. */
const MIN_SHELL = 10;

export interface RecheckedPocket {
  id: number;
  shellPurity: number;
  fittedRate: number;
  interiorAttackerRate: number;
  /** The nearest training samples outside the group, nearest first. */
  shell: number[];
}

/** Measures each pocket again on this model and data (the scan's settings: feature layer, neighbours, normalisation, probes). */
export async function recomputePockets(loaded: LoadedModel, ds: Dataset, scan: ScanResult, pockets: readonly Pocket[], ctx: JobContext = {}): Promise<RecheckedPocket[]> {
  if (!pockets.length) return [];
  const { featureLayer, neighbours, normalisation, probesPerPocket, seed } = scan.settings;
  const onProgress = ctx.onProgress ? (e: Parameters<NonNullable<JobContext['onProgress']>>[0]) => ctx.onProgress?.({ ...e, stage: `check ${e.stage}` }) : undefined;
  const prep = await prepareScan(loaded, ds, { featureLayer, neighbours, normalisation }, { signal: ctx.signal, ...(onProgress ? { onProgress } : {}) });
  const labels = ds.train.labels;
  const graph = await extendGraphPastGroups(prep.normalised, prep.embedding.dim, labels, prep.graph, {}, ctx.signal);
  const rng = createRng(seed);
  return pockets.map((p) => {
    const shell = nearestOutsiders(p.members, graph, Math.max(MIN_SHELL, p.shell.length));
    let fitted = 0;
    for (const m of p.members) if (prep.embedding.predictions[m] === p.attackerClass) fitted++;
    const probe = probePocket(prep.parts, prep.embedding.features, p.members, [], p.attackerClass, p.enclosingClass, rng, probesPerPocket);
    return {
      id: p.id,
      shell,
      // The shell purity the scan scored, by the scan's own rule.
      shellPurity: scoringShellPurity(shell, p.attackerClass, p.enclosingClass, labels, graph).purity,
      fittedRate: p.members.length ? fitted / p.members.length : 0,
      interiorAttackerRate: probe.interiorAttackerRate,
    };
  });
}

const two = (x: number) => x.toFixed(2);

/**
 * Refuses, in one sentence naming the scan file and the pocket, the first pocket whose figures
 * this model and data do not reproduce within RECHECK_TOLERANCE (or that has no outside
 * neighbours to be a pocket in).
 */
export async function assertPocketsReproduce(loaded: LoadedModel, ds: Dataset, scan: ScanResult, pockets: readonly Pocket[], scanFile = 'the scan', ctx: JobContext = {}): Promise<void> {
  const again = await recomputePockets(loaded, ds, scan, pockets, ctx);
  pockets.forEach((p, k) => {
    const r = again[k];
    const what = `The scan ${scanFile} reports pocket ${p.id} (${p.members.length} training samples labelled ${p.attackerClass} inside class ${p.enclosingClass})`;
    if (!r.shell.length) {
      throw new UserError(`${what}, but in this model's features those samples have no outside neighbours, so it is not a pocket and the scan is not used for a repair.`);
    }
    const claimed = p.tightness.shellPurity;
    if (Math.abs(r.shellPurity - claimed) > RECHECK_TOLERANCE.shellPurity
      || Math.abs(r.fittedRate - p.fittedRate) > RECHECK_TOLERANCE.fittedRate
      || Math.abs(r.interiorAttackerRate - p.interiorAttackerRate) > RECHECK_TOLERANCE.interiorAttackerRate) {
      throw new UserError(`${what} with shell purity ${two(claimed)}, fitted share ${two(p.fittedRate)} and interior share ${two(p.interiorAttackerRate)}, but this model and data give ${two(r.shellPurity)}, ${two(r.fittedRate)} and ${two(r.interiorAttackerRate)}, so the scan does not describe them and is not used for a repair.`);
    }
  });
}
