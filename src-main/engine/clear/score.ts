/**
 * The pocket score: one number from the evidence the scan gathers. Its weights were chosen on
 * MNIST scans; what a score means is decided per model, against that model's own null groups
 * (calibrate.ts):
 *
 *   score = logit((b + 1) / (M + 2)) + SIZE_WEIGHT · ln(size) − CONTAMINATION_WEIGHT · ln(1 + contamination)
 *
 *           − DUPLICATION_WEIGHT · ln(members' nearest-neighbour distance ÷ the dataset's typical one)
 *           − HELD_OUT_WEIGHT · ln(1 + held-out samples of class A landing in the pocket)
 *           + SEPARATION_WEIGHT · max(0, −ln(inner ÷ shell distance)) · √(size − SEPARATION_FROM)
 *           + FRAGILITY_WEIGHT · max(0, median ln(squeezing drift ÷ its 90th percentile)) · √(size − 1)
 *           + COPIES_WEIGHT · max(0, −ln(copies ratio ÷ COPIES_DISTINCT)) · √(size − 1)
 *           + ln(max(learnt, LEARNT_FLOOR))
 *
 * where b of the M nearest points outside the group belong to the enclosing class (depth,
 * smoothed so a small shell cannot claim certainty). Natural pockets sit at class borders
 * (shell purity ≈ 0.6–0.8, a few members); a planted one is deep inside the enclosing class
 * and as large as the attacker made it.
 *
 * The targeted attacks leave a mark of how their poisons were made: copies of one image lie closer
 * together than samples do (duplication), poisons crafted towards one point form a cluster apart
 * from their shell (separation) or move under squeezing (fragility), and shifted copies of one
 * image stay copies in pixel space where the model's features spread them out (copies, copies.ts). A group of unaltered,
 * diverse images whose members lie *further* apart than samples usually do is a natural
 * sub-population spread among the enclosing class (a style of "1" written inside the region of
 * the "2"s), however deep and large it is: its depth and size count only as far as its members
 * are concentrated (the `spread` part, see {@link concentration}), unless its images are copies
 * of one another in pixel space, which no diverse sub-population is ({@link distinctImages}).
 *
 * The model's own behaviour is graded, not a gate: `learnt` is the larger of the share of
 * members the model predicts as the attacker class and the share of hull-interior probes it
 * does. The backdoor score adds ln(learnt) (floored at LEARNT_FLOOR), so a group the model
 * only partly fitted (how clean-label attacks often succeed) still counts, for less. A group
 * the model did not learn (learnt < LEARNT_MAJORITY) is judged a second way, by its structure
 * alone, as a possible *poisoning attempt*. The hull's extent against its class's scale (relative
 * spread) is reported but not scored: that scale differs by class (a class of "1"s is far
 * tighter than a class of "8"s) more than poisons differ from natural groups.
 */
export interface PocketEvidence {
  shellPurity: number;
  shellSize: number;
  size: number;
  fittedRate: number;
  interiorAttackerRate: number;
  contamination: number;
  /** Held-out samples of the attacker class landing in the pocket (reference.ts); undefined without a reference set. */
  heldOutAttacker?: number;
  heldOutMisclassified?: number;
  /** Members' median nearest-neighbour distance ÷ the dataset's (≈ 1 for natural samples, ≪ 1 for near-duplicates). */
  nearestRatio?: number;
  /** Members' mean distance to each other ÷ the shell's mean distance to their centroid (< 1: a cluster set apart from its surroundings). */
  innerToShell?: number;
  /** Median over members of ln(feature drift under squeezing ÷ the 90th percentile of the model's drifts) (squeeze.ts); undefined when not measured. */
  fragility?: number;
  /** Median member's aligned pixel distance to its nearest fellow member ÷ to its nearest other-label neighbours, capped at 1 (copies.ts); undefined when not measured. */
  copiesRatio?: number;
}

/**
 * Weight of held-out support: a pocket that held-out samples of its own class also land in is
 * a real sub-population of that class, not a planted pocket (reference.ts).
 */
export const HELD_OUT_WEIGHT = 1.5;

/**
 * Weight of near-duplication: members much closer to their nearest neighbour than samples
 * usually are (copies of one image; poisons crafted towards one feature vector). Measured on
 * four MNIST cnn scans: label-flip pockets 0.8–1.0, natural pockets 1.04–1.82.
 */
export const DUPLICATION_WEIGHT = 1;

export const SIZE_WEIGHT = 0.5;
/**
 * Weight of separation: members much closer to each other than to the points around them.
 * Natural border groups lie along a border, their members as far apart as their neighbours
 * (ratio ≈ 1 or more); poisons crafted towards one feature vector, and copies of one image,
 * form a cluster set apart from its shell. The term grows with √(size − SEPARATION_FROM), as
 * the mean of more distances says more: a few samples can be close by chance (natural groups
 * of two or three do reach ratios of 0.4), twenty-five cannot.
 */
export const SEPARATION_WEIGHT = 2;
/** Members a group needs beyond this count before its separation counts at all. */
export const SEPARATION_FROM = 4;
export const CONTAMINATION_WEIGHT = 0.5;
/**
 * Weight of fragility: members that move far further than the model's samples do when their
 * images are squeezed to a few bits per value sit where a crafted perturbation put them
 * (squeeze.ts). Only a group whose median member moves further than nine in ten samples counts, and the term grows with
 * √(size − 1), as separation does with its size: a median over more members says more, and a
 * pair of samples can both move far by chance.
 */
export const FRAGILITY_WEIGHT = 1;
/**
 * Weight of copies: members that are shifted copies of one image in pixel space (label-flip
 * copies), measured against the images of another label around them (copies.ts: the ratio of
 * the aligned pixel distances). Only a ratio under COPIES_DISTINCT counts: the images of one
 * class are closer to each other than to another class's, so distinct images of a simple class
 * (a group of "1"s) reach ratios near 0.7. Like fragility, the term grows with √(size − 1).
 * Set on development seed 2026 (five-copy label-flip trials 0–23 of the end-to-end cnn, with the
 * copies completed as scan.ts does): at weight 1, 20 of the 24 were noticed, three missed at
 * p = 0.012–0.085 with all five copies grouped (and one with no copy in any candidate); at 2,
 * 22 of 24 (p = 0.018 and that one). No candidate of the 20 clean development cnns (seeds
 * 301–320) has a ratio under COPIES_DISTINCT; through a few of their null draws the weight moved
 * their smallest p-values by at most 0.002.
 */
export const COPIES_WEIGHT = 2;
/** Floor of `learnt` in the backdoor score: a group the model ignores entirely scores ln(0.02) ≈ −3.9 below its structure. */
export const LEARNT_FLOOR = 0.02;
/** Below this share the model has not learnt the group: it is judged as a possible poisoning attempt. */
export const LEARNT_MAJORITY = 0.5;
/**
 * How far (in ln of the nearest-neighbour ratio) a group's members may lie further apart than the
 * data's samples do before its depth and size stop counting: at a ratio of 1 they count in
 * full, at e^SPREAD_FADE ≈ 1.65 not at all.
 */
export const SPREAD_FADE = 0.5;

/**
 * The share of its depth and size a group keeps: 1 when its members are at least as close to
 * their nearest neighbours as the data's samples are (nearestRatio ≤ 1), falling linearly in
 * ln(nearestRatio) to 0 at e^SPREAD_FADE.
 */
export function concentration(nearestRatio: number | undefined): number {
  const ratio = nearestRatio ?? 1;
  if (!(ratio > 1)) return 1;
  return Math.max(0, 1 - Math.log(ratio) / SPREAD_FADE);
}

/**
 * Pixel-space copies ratio (copies.ts) at and above which a group's members count as distinct
 * images. Natural candidate groups of development MNIST cnns measured 0.67 and above, five
 * label-flip copies 0.09–0.16.
 */
export const COPIES_DISTINCT = 0.5;

/**
 * The share of the spread penalty a group takes: 1 for distinct images, falling linearly to 0
 * for exact copies. Spread stands for "a diverse sub-population" only where the members are
 * distinct images; shifted copies of one image that the features happen to spread apart are not.
 */
export function distinctImages(copiesRatio: number | undefined): number {
  return Math.min(1, (copiesRatio ?? 1) / COPIES_DISTINCT);
}

/** How far the model learnt the group: the larger of its fitted share and its interior-probe share. */
export function learntRate(e: Pick<PocketEvidence, 'fittedRate' | 'interiorAttackerRate'>): number {
  return Math.max(e.fittedRate, e.interiorAttackerRate);
}

export function scoreParts(e: PocketEvidence): Record<string, number> {
  const b = Math.round(e.shellPurity * e.shellSize);
  const smoothed = (b + 1) / (e.shellSize + 2);
  const depth = Math.log(smoothed / (1 - smoothed));
  const size = SIZE_WEIGHT * Math.log(Math.max(1, e.size));
  return {
    depth,
    size,
    spread: -(1 - concentration(e.nearestRatio)) * (Math.max(0, depth) + size) * distinctImages(e.copiesRatio),
    contamination: -CONTAMINATION_WEIGHT * Math.log1p(e.contamination),
    duplication: -DUPLICATION_WEIGHT * Math.log(Math.max(e.nearestRatio ?? 1, 0.05)),
    heldOut: -HELD_OUT_WEIGHT * Math.log1p(e.heldOutAttacker ?? 0),
    separation: SEPARATION_WEIGHT * Math.max(0, -Math.log(Math.max(e.innerToShell ?? 1, 0.05))) * Math.sqrt(Math.max(0, e.size - SEPARATION_FROM)),
    fragility: FRAGILITY_WEIGHT * Math.max(0, e.fragility ?? 0) * Math.sqrt(Math.max(0, e.size - 1)),
    copies: COPIES_WEIGHT * Math.max(0, -Math.log(Math.max(e.copiesRatio ?? 1, 0.05) / COPIES_DISTINCT)) * Math.sqrt(Math.max(0, e.size - 1)),
  };
}

/** The group's structure alone: depth, size, duplication, contamination, held-out support, separation, fragility and copies. */
export function structureScore(e: PocketEvidence): number {
  return Object.values(scoreParts(e)).reduce((a, b) => a + b, 0);
}

/** The backdoor score: structure plus how far the model learnt the group. */
export function pocketScore(e: PocketEvidence): number {
  return structureScore(e) + Math.log(Math.max(LEARNT_FLOOR, learntRate(e)));
}

/** The poisoning-attempt score: structure, for a group the model did not learn; −∞ otherwise. */
export function attemptScore(e: PocketEvidence): number {
  return learntRate(e) < LEARNT_MAJORITY ? structureScore(e) : -Infinity;
}
