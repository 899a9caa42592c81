/**
 * The pocket score: one number from the evidence ALGORITHM.md names — depth (shell purity),
 * tightness (near-duplicates), size, and the model's own behaviour (members fitted as A,
 * hull interior predicted A, flips to B on the way out). Higher = more like a planted pocket.
 *
 * The weights are on log-scale evidence so that each part contributes comparably; they are
 * judged by the benchmark (README "How well it works"), not by this comment.
 */
export interface PocketEvidence {
  shellPurity: number;
  relativeSpread: number;
  size: number;
  fittedRate: number;
  interiorAttackerRate: number;
  flipToEnclosingRate: number;
  contamination: number;
}

export const SCORE_WEIGHTS = {
  depth: 3,
  tightness: 1,
  size: 0.75,
  behaviour: 2,
  contamination: 0.5,
} as const;

/** Spread below which two members count as near-duplicates; keeps −log bounded. */
export const SPREAD_FLOOR = 0.05;

export function scoreParts(e: PocketEvidence): Record<string, number> {
  const behaviour = Math.min(e.fittedRate, 1) * 0.5 + e.interiorAttackerRate * 0.3 + e.flipToEnclosingRate * 0.2;
  return {
    depth: SCORE_WEIGHTS.depth * e.shellPurity,
    tightness: SCORE_WEIGHTS.tightness * -Math.log(Math.max(e.relativeSpread, 0) + SPREAD_FLOOR),
    size: SCORE_WEIGHTS.size * Math.log(Math.max(1, e.size)),
    behaviour: SCORE_WEIGHTS.behaviour * behaviour,
    contamination: -SCORE_WEIGHTS.contamination * Math.log1p(e.contamination),
  };
}

export function pocketScore(e: PocketEvidence): number {
  const parts = scoreParts(e);
  // A group the model does not predict as A inside is not a pocket at all: gate on behaviour.
  const gate = e.interiorAttackerRate < 0.5 || e.fittedRate < 0.5 ? 0.5 : 1;
  return gate * Object.values(parts).reduce((a, b) => a + b, 0);
}
