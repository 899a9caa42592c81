/**
 * Deep k-NN (Peri et al. 2020, "Deep k-NN Defense against Clean-label Data Poisoning
 * Attacks"): a training sample whose label is not the plurality label of its k nearest
 * neighbours in feature space is dropped, and the model is retrained or fine-tuned without it.
 *
 * The paper uses penultimate-layer features; we L2-normalise them (cosine geometry), as the
 * scan does by default, so the neighbourhoods do not depend on activation scale. The paper
 * finds k about twice the number of poisons works best (the poisons must be outvoted by
 * their clean neighbours); when the number is unknown we use 50, a little above twice the
 * usual 20–25-poison budgets.
 *
 * The paper is a data sanitiser and gives no model-level verdict. Ours: every clean model has
 * natural disagreements (odd or mislabeled digits) — they are scattered, each alone in a
 * foreign region. A targeted poisoning plants a *coherent group*: many samples with one label
 * `A`, whose neighbourhoods all vote for one other class `B`, and which are each other's
 * neighbours. So flagged samples are linked when one is among the other's k neighbours and
 * both share (label, plurality label); the model is flagged when the largest linked group
 * has at least ⌈k / 3⌉ members ({@link deepKnnMinGroup}).
 */
import { buildNeighbourGraph, normaliseFeatures } from '../../features/knn.js';
import { throwIfCancelled } from '../../errors.js';
import type { Detector, DetectorInput, DetectorResult } from '../types.js';
import { beginDetection, removeFlagged } from './common.js';
import type { JobContext } from '../../progress.js';

/** k when the expected number of poisons is unknown. */
export const DEEP_KNN_DEFAULT_K = 50;
/** Peri et al.: k ≈ 2 × the number of poisons, so each poison is outvoted by clean neighbours. */
export const DEEP_KNN_K_PER_POISON = 2;
/**
 * The model is flagged when one coherent group holds at least k / 3 samples (two thirds of
 * the poisons when k = 2 × poisons). Clean MNIST models have natural coherent groups too
 * (digits at a class border: 4s among 9s, 3s among 7s): the largest we measured on clean mlp
 * models (8,000 digits, seeds 1–2) had 12 members at k = 40 and 15 at k = 50, below
 * ⌈k / 3⌉ = 14 and 17; Bullseye Polytope's 25 poisons formed groups of 12–22.
 */
export const DEEP_KNN_MIN_GROUP_PER_K = 1 / 3;
/** No group smaller than this flags a model, whatever k. */
export const DEEP_KNN_MIN_GROUP_FLOOR = 3;

export function deepKnnMinGroup(k: number): number {
  return Math.max(DEEP_KNN_MIN_GROUP_FLOOR, Math.ceil(k * DEEP_KNN_MIN_GROUP_PER_K));
}
/** Groups listed in `info` (largest first); the rest are counted only. */
const GROUPS_REPORTED = 10;

export interface DeepKnnGroup {
  /** The members' own label (`A`). */
  label: number;
  /** The plurality label of their neighbourhoods (`B`). */
  neighbourLabel: number;
  members: number[];
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) { this.parent = Int32Array.from({ length: n }, (_, i) => i); }
  find(i: number): number {
    while (this.parent[i] !== i) { this.parent[i] = this.parent[this.parent[i]]; i = this.parent[i]; }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a); const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export function chooseDeepKnnK(n: number, expectedPoisons?: number): number {
  const wanted = expectedPoisons && expectedPoisons > 0 ? Math.ceil(DEEP_KNN_K_PER_POISON * expectedPoisons) : DEEP_KNN_DEFAULT_K;
  return Math.max(1, Math.min(wanted, n - 1));
}

export const deepKnnDetector: Detector = {
  name: 'deep-knn',
  label: 'Deep k-NN (Peri et al. 2020)',

  async detect(input: DetectorInput, ctx: JobContext = {}): Promise<DetectorResult> {
    const { embedding, dataset } = input;
    const { n, dim, labels, classes, sampleScores, flaggedSamples, seconds } = beginDetection(input);
    const k = chooseDeepKnnK(n, input.expectedPoisons);
    throwIfCancelled(ctx.signal);
    // A shared graph (built on the same L2-normalised features) with at least k neighbours per
    // row is read as it is, its first k columns; otherwise we build our own.
    const shared = input.graph && input.graph.n === n && input.graph.k >= k ? input.graph : undefined;
    const graph = shared ?? await buildNeighbourGraph(normaliseFeatures(embedding.features, n, dim, 'l2'), n, dim, k, {
      signal: ctx.signal,
      onProgress: (fraction) => ctx.onProgress?.({ stage: 'deep-knn', fraction: 0.9 * fraction, message: 'neighbours' }),
    });
    const stride = graph.k;

    // Plurality vote per sample. The sample is kept when its own label ties for the
    // plurality: only a clear disagreement drops it.
    const plurality = new Int32Array(n);
    const flaggedMask = new Uint8Array(n);
    const votes = new Int32Array(classes);
    for (let i = 0; i < n; i++) {
      votes.fill(0);
      for (let c = 0; c < k; c++) votes[labels[graph.indices[i * stride + c]]]++;
      let best = 0;
      for (let c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
      plurality[i] = best;
      if (votes[labels[i]] < votes[best]) flaggedMask[i] = 1;
      sampleScores[i] = 1 - votes[labels[i]] / k;
    }

    const uf = new UnionFind(n);
    for (let i = 0; i < n; i++) {
      if (!flaggedMask[i]) continue;
      for (let c = 0; c < k; c++) {
        const j = graph.indices[i * stride + c];
        if (flaggedMask[j] && labels[j] === labels[i] && plurality[j] === plurality[i]) uf.union(i, j);
      }
    }
    const byRoot = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!flaggedMask[i]) continue;
      flaggedSamples.push(i);
      const root = uf.find(i);
      const list = byRoot.get(root);
      if (list) list.push(i); else byRoot.set(root, [i]);
    }
    const groups: DeepKnnGroup[] = [...byRoot.values()]
      .map((members) => ({ label: labels[members[0]], neighbourLabel: plurality[members[0]], members }))
      .sort((a, b) => b.members.length - a.members.length || a.members[0] - b.members[0]);
    const largest = groups[0]?.members.length ?? 0;
    const minGroup = deepKnnMinGroup(k);
    // Flagged samples per ordered pair (own label A, neighbourhood label B).
    const pairCounts = new Map<number, number>();
    for (const i of flaggedSamples) {
      const key = labels[i] * classes + plurality[i];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + 1);
    }
    const pairs = [...pairCounts.entries()]
      .map(([key, count]) => ({ label: Math.floor(key / classes), neighbourLabel: key % classes, count }))
      .sort((a, b) => b.count - a.count || a.label - b.label || a.neighbourLabel - b.neighbourLabel);
    ctx.onProgress?.({ stage: 'deep-knn', fraction: 1, message: `${flaggedSamples.length} samples disagree with their neighbours` });
    return {
      detector: 'deep-knn',
      flagged: largest >= minGroup,
      flaggedSamples,
      sampleScores,
      summary: largest,
      info: {
        k,
        normalisation: 'l2',
        sharedGraph: Boolean(shared),
        minGroup,
        largestGroup: largest,
        groupCount: groups.length,
        groups: groups.slice(0, GROUPS_REPORTED),
        pairs,
        classNames: dataset.classNames,
        trainingCount: n,
        summaryMeaning: 'members of the largest coherent group of disagreeing samples',
      },
      seconds: seconds(),
    };
  },

  /** The paper's mitigation: drop every disagreeing sample, then retrain or fine-tune. */
  mitigation: removeFlagged,

  report(result: DetectorResult): string {
    const info = result.info as { k: number; minGroup: number; groups: DeepKnnGroup[]; groupCount: number; classNames?: string[]; trainingCount?: number };
    const name = (c: number): string => info.classNames?.[c] ?? String(c);
    const lines = [
      `Deep k-NN (k = ${info.k}, L2-normalised features): ${result.flaggedSamples.length} of ${info.trainingCount ?? result.sampleScores.length} training samples disagree with the plurality label of their neighbours, in ${info.groupCount} linked groups.`,
    ];
    const top = info.groups[0];
    if (top) {
      lines.push(`Largest group: ${top.members.length} samples labelled ${name(top.label)} inside the region of ${name(top.neighbourLabel)}.`);
    }
    lines.push(result.flagged
      ? `Verdict: backdoor suspected (a group of at least ${info.minGroup} samples).`
      : `Verdict: no backdoor found (no group of ${info.minGroup} or more samples).`);
    lines.push(`Mitigation: remove the ${result.flaggedSamples.length} disagreeing samples and retrain.`);
    return lines.join('\n');
  },
};
