import { describe, expect, it } from 'vitest';
import { attemptReason } from '../../../src-main/engine/clear/scan.js';

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
