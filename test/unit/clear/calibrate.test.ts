// Calibration against a null measured on the model: the tail fit, its bound, the max-statistic.
import { describe, expect, it } from 'vitest';
import { familyPValue, fitNullTail, nullTailProbability, P_FLOOR } from '../../../src-main/engine/clear/calibrate.js';
import { createRng } from '../../../src-main/engine/random.js';

/** Exponential(1) draws shifted by `shift`: a null whose tail the fit must recover. */
function exponentialNull(seed: number, count: number, shift = 0): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => shift - Math.log(1 - rng.next()));
}

describe('calibration against a measured null', () => {
  it('fits an exponential tail whose probabilities match the true ones within the bound', () => {
    const tail = fitNullTail(exponentialNull(1, 4000));
    // True S(x) = e^{-x}; the scale is an upper bound, so the fitted tail is at least as heavy (within noise).
    for (const x of [3, 5, 8]) {
      const s = nullTailProbability(tail, x);
      expect(s).toBeGreaterThan(0.5 * Math.exp(-x));
      expect(s).toBeLessThan(4 * Math.exp(-x) + 1e-9);
    }
    expect(tail.scale).toBeGreaterThan(0.9);
    expect(tail.scale).toBeLessThan(1.3);
  });

  it('holds the family-wise level: over many clean families the largest score is reported at about the nominal rate or less', () => {
    const rng = createRng(7);
    let reported = 0;
    const families = 400;
    for (let f = 0; f < families; f++) {
      const tail = fitNullTail(exponentialNull(100 + f, 400));
      // A family of 50 natural groups from the same distribution as the null.
      let largest = -Infinity;
      for (let g = 0; g < 50; g++) largest = Math.max(largest, -Math.log(1 - rng.next()));
      if (familyPValue(tail, largest, 50) <= 0.05) reported++;
    }
    expect(reported / families).toBeLessThanOrEqual(0.05);
  });

  it('reports a far outlier, and a short null makes p-values larger, not smaller', () => {
    const long = fitNullTail(exponentialNull(3, 2000));
    const short = fitNullTail(exponentialNull(3, 60));
    const thin = fitNullTail([...exponentialNull(3, 20), ...Array(980).fill(-Infinity)]);
    expect(familyPValue(long, 15, 100)).toBeLessThan(0.001);
    expect(short.scale).toBeGreaterThan(long.scale * 0.9);
    // 20 groups in 1,000 draws: no extrapolation, so nothing beyond 1 in 1,001 per group.
    expect(familyPValue(thin, 50, 100)).toBeGreaterThan(0.09);
    expect(familyPValue(long, 2, 100)).toBeGreaterThan(0.5);
  });

  it('treats draws without a group as below every score, and never reports 0 or more than 1', () => {
    const tail = fitNullTail([...exponentialNull(4, 100), ...Array(300).fill(-Infinity)]);
    expect(tail.draws).toBe(400);
    expect(nullTailProbability(tail, -5)).toBeLessThanOrEqual(1);
    expect(familyPValue(tail, 1e6, 10)).toBe(P_FLOOR);
    expect(familyPValue(tail, -Infinity, 10)).toBe(1);
    expect(familyPValue(fitNullTail([]), 3, 10)).toBe(1);
  });
});
