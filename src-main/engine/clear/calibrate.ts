/**
 * Calibration of pocket scores against a null measured on the model in hand.
 *
 * Every model has natural pockets (odd or mislabelled samples in another class's region), and
 * how high their scores run differs from model to model and dataset to dataset. So a score is
 * judged against *null groups* of the same model and data: random groups of border samples
 * (pockets.ts, `nullGroups`), of the candidates' sizes, run through the whole scoring pipeline
 * (shell, contamination, the model's behaviour, held-out support). Nothing measured on other
 * models enters.
 *
 * The null's upper tail is modelled as exponential above its top `TAIL_SHARE` of groups: the excess
 * over the threshold `u` has mean `β`, estimated from the exceedances and replaced by its upper
 * 95% confidence bound, so a short null (few exceedances) makes p-values larger, not smaller.
 * Below `u` the empirical tail is used. A candidate's family-wise p-value is the chance that
 * the largest of `family` natural groups scores at least as high: `1 − (1 − S(x))^family`
 * (the max-statistic, with groups taken as independent). Null draws that share members with
 * the candidate being judged are left out of its null, so a planted pocket that a draw happens
 * to land in cannot hide itself.
 */

/** Share of the null's groups (draws that made one) above the threshold whose excesses fit the tail. */
export const TAIL_SHARE = 0.1;
/** Fewest exceedances the tail is fitted to; below it, the threshold moves down. */
export const MIN_EXCEEDANCES = 10;
/**
 * Fewest groups a null needs before its tail is extrapolated at all; with fewer, p-values are
 * empirical (never below one over the number of draws), so a thin null cannot report anything
 * beyond what it has seen.
 */
export const MIN_TAIL_GROUPS = 40;
/** One-sided confidence of the upper bound on the tail's scale. */
const TAIL_CONFIDENCE_Z = 1.6449;
/** Below this the p-value says more than the null can: it is reported at this floor. */
export const P_FLOOR = 1e-12;

/** The ν-degree-of-freedom χ² quantile at lower-tail probability for `z` (Wilson–Hilferty). */
function chiSquareLowerQuantile(nu: number, z: number): number {
  const a = 2 / (9 * nu);
  return nu * Math.max(1e-6, 1 - a - z * Math.sqrt(a)) ** 3;
}

export interface NullTail {
  /** Null draws (−Infinity for a draw that made no group). */
  draws: number;
  /** Threshold above which the tail is exponential. */
  threshold: number;
  /** Share of draws above the threshold. */
  exceedanceShare: number;
  /** Upper confidence bound on the mean excess (the tail's scale). */
  scale: number;
  /** Finite null scores, ascending. */
  sorted: number[];
}

/** Fits the null tail to `scores` (one per draw; −Infinity where a draw made no group). */
export function fitNullTail(scores: readonly number[]): NullTail {
  const draws = scores.length;
  const sorted = scores.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { draws, threshold: -Infinity, exceedanceShare: 0, scale: 0, sorted };
  const wanted = Math.max(MIN_EXCEEDANCES, Math.ceil(TAIL_SHARE * sorted.length));
  const exceedances = Math.min(sorted.length - 1, wanted);
  if (exceedances < 2 || sorted.length < MIN_TAIL_GROUPS) {
    // Too few groups for a tail: the largest is all the null says.
    return { draws, threshold: sorted[sorted.length - 1], exceedanceShare: 0, scale: 0, sorted };
  }
  const threshold = sorted[sorted.length - 1 - exceedances];
  let excess = 0;
  for (let i = sorted.length - exceedances; i < sorted.length; i++) excess += sorted[i] - threshold;
  const meanExcess = excess / exceedances;
  // 2e·β̂/β ~ χ²(2e) for exponential excesses: β ≤ 2e·β̂ / χ²₀.₀₅(2e) with 95% confidence.
  const scale = (2 * exceedances * meanExcess) / chiSquareLowerQuantile(2 * exceedances, TAIL_CONFIDENCE_Z);
  return { draws, threshold, exceedanceShare: exceedances / draws, scale, sorted };
}

/** S(x): the chance that one null group scores at least `x`. */
export function nullTailProbability(tail: NullTail, x: number): number {
  if (tail.draws === 0) return 1;
  if (x <= tail.threshold || tail.scale <= 0) {
    // Empirical, with the observation itself counted (never 0).
    let atLeast = 0;
    for (let i = tail.sorted.length - 1; i >= 0 && tail.sorted[i] >= x; i--) atLeast++;
    return Math.min(1, (atLeast + 1) / (tail.draws + 1));
  }
  return tail.exceedanceShare * Math.exp(-(x - tail.threshold) / tail.scale);
}

/** Family-wise p-value of a score `x` among `family` groups: 1 − (1 − S(x))^family. */
export function familyPValue(tail: NullTail, x: number, family: number): number {
  if (!Number.isFinite(x)) return 1;
  const s = nullTailProbability(tail, x);
  const p = s >= 1 ? 1 : -Math.expm1(Math.max(1, family) * Math.log1p(-s));
  return Math.min(1, Math.max(P_FLOOR, p));
}
