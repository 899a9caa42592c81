/**
 * Crafted samples on their own: clean-label poisons at a small budget lie scattered in their own
 * class, where no candidate group forms, but each of them rests on a crafted perturbation that
 * squeezing breaks (squeeze.ts), so within its class the poisons are the samples that move
 * furthest, apart from the rest. This finds, per class, the k most fragile samples that stand
 * apart from the class's own tail of drifts:
 *
 * - sort the class's drift ratios x₁ ≥ x₂ ≥ …; under a Pareto tail the spacings
 *   E_j = j·(ln x_j − ln x_{j+1}) are independent exponentials with one scale (Rényi);
 * - the gap below the top k, E_k, against the mean of the next {@link TAIL_SPACINGS} spacings is
 *   then F(2, 2M): p_k = (1 + F/M)^−M;
 * - the family is every class and every k = 2 … kMax (an eighth of the class, at most 400): the
 *   smallest p_k times the family's size
 *   (Bonferroni) is the class's p-value, so a level α bounds the chance that a model whose drifts
 *   have such a tail reports any.
 *
 * Nothing here is measured on other models: the tail each gap is judged against is the class's
 * own. On development models (MNIST and rotated, inverted, downsampled MNIST; cnn and mlp; end
 * to end and transfer: 24 clean models) the smallest family p was 0.09; on convex and bullseye
 * polytope poisons at the published ε = 8/255 (transfer mlp), which no candidate group holds,
 * the poisons were the top 24–25 of their class at p ≤ 2e-5.
 */

/** Spacings below the gap that the class's own tail is estimated from. */
export const TAIL_SPACINGS = 50;
/** Largest group of crafted samples looked for in one class, and the largest share of its samples. */
export const MAX_CRAFTED = 400;
export const MAX_CRAFTED_SHARE = 1 / 8;
/** Ratios at or below this are treated as not moving (images already on the squeezed levels). */
const STILL = 1e-6;

export interface CraftedClass {
  classIndex: number;
  /** The k most fragile samples of the class, most fragile first. */
  members: number[];
  /** Their drift ratios (multiples of the model's typical drift), in the same order. */
  driftRatios: number[];
  /** The drift ratio of the next most fragile sample of the class, the gap's lower edge. */
  nextRatio: number;
  /** Family-wise p-value (classes × group sizes, Bonferroni). */
  pValue: number;
  /** The F statistic of the gap. */
  gap: number;
}

/**
 * The most apart group of most fragile samples in each class whose drifts allow the test (at
 * least 2 + M + 1 samples above the still ones), with its family-wise p-value; classes in
 * order. `ratios[i]` is sample i's drift ratio.
 */
export function findCraftedSamples(ratios: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, maxGroup = MAX_CRAFTED, m = TAIL_SPACINGS): CraftedClass[] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]]?.push(i);
  const tested: { c: number; order: number[]; logs: number[]; best: { p: number; k: number; f: number }; tests: number }[] = [];
  for (let c = 0; c < numClasses; c++) {
    const order = byClass[c].filter((i) => ratios[i] > STILL).sort((a, b) => ratios[b] - ratios[a] || a - b);
    const logs = order.map((i) => Math.log(ratios[i]));
    const kMax = Math.min(maxGroup, Math.floor(byClass[c].length * MAX_CRAFTED_SHARE), order.length - m - 1);
    if (kMax < 2) continue;
    let best = { p: 1, k: 0, f: 0 };
    // spacing(j) for j = 1…: E_j = j·(ln x_j − ln x_{j+1}), logs 0-based.
    const spacing = (j: number) => j * (logs[j - 1] - logs[j]);
    let below = 0;
    for (let j = 3; j <= 2 + m; j++) below += spacing(j);
    for (let k = 2; k <= kMax; k++) {
      if (k > 2) below += spacing(k + m) - spacing(k);
      const mean = below / m;
      // A tail of ties (no spread to judge a gap by) tests nothing.
      if (!(mean > 0)) continue;
      const f = spacing(k) / mean;
      const p = Math.pow(1 + f / m, -m);
      if (p < best.p) best = { p, k, f };
    }
    tested.push({ c, order, logs, best, tests: kMax - 1 });
  }
  const family = tested.reduce((sum, t) => sum + t.tests, 0);
  return tested.filter((t) => t.best.k > 0).map((t) => ({
    classIndex: t.c,
    members: t.order.slice(0, t.best.k),
    driftRatios: t.order.slice(0, t.best.k).map((i) => ratios[i]),
    nextRatio: ratios[t.order[t.best.k]],
    pValue: Math.min(1, t.best.p * family),
    gap: t.best.f,
  }));
}
