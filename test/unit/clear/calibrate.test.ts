// Calibration: tail probabilities against known values, and the family-wise p-value behaves.
import { describe, expect, it } from 'vitest';
import { calibrateScores, normalUpperTail, studentUpperTail } from '../../../src-main/engine/clear/calibrate.js';

describe('calibration', () => {
  it('computes normal and Student t tails that match published tables', () => {
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 5);
    expect(studentUpperTail(2.364624, 7)).toBeCloseTo(0.025, 5); // t(0.975, 7)
    expect(studentUpperTail(12.7062, 1)).toBeCloseTo(0.025, 4);  // t(0.975, 1)
    expect(studentUpperTail(0, 5)).toBeCloseTo(0.5, 10);
    expect(studentUpperTail(-2.364624, 7)).toBeCloseTo(0.975, 5);
  });

  it('reports a far outlier among natural scores and none of the natural ones', () => {
    const natural = [1.1, 1.4, 1.6, 1.2, 1.9, 1.5, 1.3, 1.7, 1.0, 1.8];
    const { pValues } = calibrateScores([...natural, 7]);
    expect(pValues[natural.length]).toBeLessThan(0.01);
    expect(Math.min(...pValues.slice(0, natural.length))).toBeGreaterThan(0.05);
  });
});
