import { describe, expect, it } from 'vitest';
import { attemptScore, concentration, COPIES_DISTINCT, distinctImages, pocketScore, scoreParts, SEPARATION_FROM, SPREAD_FADE, structureScore, type PocketEvidence } from '../../../src-main/engine/clear/score.js';

const base: PocketEvidence = {
  shellPurity: 1, shellSize: 50, size: 25, fittedRate: 1, interiorAttackerRate: 1, contamination: 0, nearestRatio: 1,
};

describe('pocket score: separation', () => {
  it('adds nothing for a group as spread out as its surroundings, or for a handful of samples', () => {
    expect(scoreParts({ ...base, innerToShell: 1 }).separation).toBe(0);
    expect(scoreParts({ ...base, innerToShell: 1.8 }).separation).toBe(0);
    expect(scoreParts({ ...base }).separation).toBe(0);
    for (const size of [1, 2, 3, SEPARATION_FROM]) expect(scoreParts({ ...base, size, innerToShell: 0.3 }).separation).toBe(0);
  });

  it('grows as the members draw together apart from their shell, and with the number of members', () => {
    const at = (innerToShell: number, size: number) => scoreParts({ ...base, innerToShell, size }).separation;
    expect(at(0.6, 25)).toBeGreaterThan(at(0.9, 25));
    expect(at(0.3, 25)).toBeGreaterThan(at(0.6, 25));
    expect(at(0.6, 25)).toBeGreaterThan(at(0.6, 5));
    expect(at(0.6, 9)).toBeGreaterThan(at(0.6, 5));
    // √(size − SEPARATION_FROM) growth.
    expect(at(0.6, 25) / at(0.6, 9)).toBeCloseTo(Math.sqrt((25 - SEPARATION_FROM) / (9 - SEPARATION_FROM)), 10);
    // Bounded for exact duplicates (ratio 0): as if the ratio were 0.05.
    expect(at(0, 25)).toBeCloseTo(at(0.05, 25), 10);
  });

  it('enters the backdoor score and the attempt score alike', () => {
    const apart = { ...base, innerToShell: 0.5 };
    const gain = scoreParts(apart).separation;
    expect(gain).toBeGreaterThan(0);
    expect(structureScore(apart) - structureScore(base)).toBeCloseTo(gain, 10);
    expect(pocketScore(apart) - pocketScore(base)).toBeCloseTo(gain, 10);
    const unlearnt = { fittedRate: 0.1, interiorAttackerRate: 0.1 };
    expect(attemptScore({ ...apart, ...unlearnt }) - attemptScore({ ...base, ...unlearnt })).toBeCloseTo(gain, 10);
  });
});

describe('pocket score: spread', () => {
  it('keeps depth and size in full for members as close as the data\'s samples, or closer', () => {
    for (const nearestRatio of [0.05, 0.5, 1, undefined]) {
      expect(concentration(nearestRatio)).toBe(1);
      expect(scoreParts({ ...base, nearestRatio }).spread).toBeCloseTo(0, 12);
    }
  });

  it('takes away depth and size as the members lie further apart, all of them at e^SPREAD_FADE', () => {
    const parts = (nearestRatio: number) => scoreParts({ ...base, nearestRatio });
    const full = parts(1);
    expect(parts(1.3).spread).toBeLessThan(0);
    expect(parts(1.5).spread).toBeLessThan(parts(1.3).spread);
    expect(concentration(Math.exp(SPREAD_FADE / 2))).toBeCloseTo(0.5, 12);
    expect(parts(Math.exp(SPREAD_FADE / 2)).spread).toBeCloseTo(-0.5 * (full.depth + full.size), 10);
    for (const nearestRatio of [Math.exp(SPREAD_FADE), 3]) expect(parts(nearestRatio).spread).toBeCloseTo(-(full.depth + full.size), 10);
    // The other parts do not change: a spread group keeps its duplication penalty, its separation and fragility.
    expect(parts(3).fragility).toBe(full.fragility);
  });

  it('never takes more than the depth a group has: a shallow group keeps its negative depth', () => {
    const shallow = scoreParts({ ...base, shellPurity: 0.3, nearestRatio: 3 });
    expect(shallow.depth).toBeLessThan(0);
    expect(shallow.spread).toBeCloseTo(-shallow.size, 10);
  });
});

describe('pocket score: copies', () => {
  it('adds nothing for distinct images or a lone member, and grows as the members become copies and with their number', () => {
    const at = (copiesRatio: number | undefined, size = 5) => scoreParts({ ...base, size, copiesRatio }).copies;
    expect(at(undefined)).toBe(0);
    expect(at(1)).toBe(0);
    expect(at(0.1, 1)).toBe(0);
    // Distinct images of one class are closer than images of two: a ratio of COPIES_DISTINCT or more counts nothing.
    expect(at(COPIES_DISTINCT)).toBe(0);
    expect(at(0.7)).toBe(0);
    expect(at(0.1)).toBeGreaterThan(at(0.3));
    expect(at(0.3)).toBeGreaterThan(0);
    expect(at(0.1, 20)).toBeGreaterThan(at(0.1, 5));
    // √(size − 1) growth, bounded for exact copies as if the ratio were 0.05.
    expect(at(0.1, 17) / at(0.1, 5)).toBeCloseTo(2, 10);
    expect(at(0, 5)).toBeCloseTo(at(0.05, 5), 10);
  });

  it('lifts the spread penalty from shifted copies of one image, not from distinct images', () => {
    const spreadOut = { ...base, size: 5, nearestRatio: 1.3 };
    const full = scoreParts({ ...spreadOut, copiesRatio: 1 }).spread;
    expect(full).toBeLessThan(0);
    expect(scoreParts({ ...spreadOut, copiesRatio: COPIES_DISTINCT }).spread).toBeCloseTo(full, 10);
    expect(scoreParts({ ...spreadOut, copiesRatio: 0.1 }).spread).toBeCloseTo(full * distinctImages(0.1), 10);
    expect(distinctImages(0.1)).toBeCloseTo(0.1 / COPIES_DISTINCT, 10);
    expect(scoreParts({ ...spreadOut, copiesRatio: 0 }).spread).toBeCloseTo(0, 10);
  });
});
