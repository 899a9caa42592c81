import { describe, expect, it } from 'vitest';
import { attemptReason, explain } from '../../../src-main/engine/clear/scan.js';

type Reported = Parameters<typeof attemptReason>[0];
const evidence = (fragility: number, driftRatio: number, disagreeing: number) =>
  ({ evidence: { fragility, driftRatio, disagreeing } }) as unknown as Reported;

describe('why a poisoning attempt is reported', () => {
  it('names the evidence that singled the group out: outvoted labels, crafted images, or both', () => {
    expect(attemptReason(evidence(0, 1, 20))).toBe('Their labels are contradicted by their neighbours:');
    expect(attemptReason(evidence(1.2, 9, 0))).toBe('Their images look crafted (squeezing moves them far), whatever their labels say:');
    expect(attemptReason(evidence(1.2, 9, 3))).toMatch(/^Their labels are contradicted by their neighbours and their images look crafted/);
    // Moving further than nine in ten samples, but not twice as far as the typical one, is not crafting.
    expect(attemptReason(evidence(0.1, 1.8, 0))).toBe('Their labels are contradicted by their neighbours:');
  });
});

describe('a pocket\'s explanation', () => {
  const pocket = (copiesRatio: number, copiesFound: number, flipDistance = 0.5) => ({
    members: [1, 2, 3, 4, 5], attackerClass: 0, enclosingClass: 1, confirmed: true, attempt: false, pValue: 0.001, attemptPValue: 1, learnt: 1,
    tightness: { shellPurity: 0.9, relativeSpread: 1, contamination: 0, diameter: 1 }, fittedRate: 1, interiorAttackerRate: 1, flipDistance,
    evidence: { meanInner: 1, shellDistance: 1, copiesRatio, copiesFound, fragility: 0, driftRatio: 1, disagreeing: 0, flipToEnclosingRate: 0.75 },
  }) as unknown as Parameters<typeof explain>[0];

  it('says how many copies were found by comparing images, and says nothing of copies for distinct images', () => {
    const names = ['zero', 'one'];
    expect(explain(pocket(0.1, 3), names)).toContain('their images are shifted copies of one another: aligned, they are 10 times closer to each other than to the nearest images of other labels around them (3 of them found by comparing images');
    expect(explain(pocket(0.1, 0), names)).not.toContain('found by comparing images');
    expect(explain(pocket(1, 0), names)).not.toContain('copies');
  });

  it("says where the model's prediction leaves the group on the way out, and to which class", () => {
    const names = ['zero', 'one'];
    expect(explain(pocket(1, 0, 0.5), names)).toContain('its prediction leaves "zero" on average 50% of the way out, for "one" on 75% of the ways');
    // A centre the model already gives another class: not "0% of the way out".
    expect(explain(pocket(1, 0, 0), names)).toContain('its prediction leaves "zero" at the first step, for "one"');
    expect(explain(pocket(1, 0, 0), names)).not.toContain('0% of the way out');
  });
});
