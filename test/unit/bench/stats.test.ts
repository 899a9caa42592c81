import { describe, expect, it } from 'vitest';
import { binomialCdf, clopperPearson, mcnemarExact, mcnemarPValue, rocArea, rocCurve, rocSvg } from '../../../src-main/engine/bench/stats.js';
import { rocAuc } from '../../../src-main/engine/bench/defence.js';

describe('bench statistics', () => {
  it('Clopper–Pearson matches the beta-quantile values of standard tables', () => {
    // Reference values: Beta(k, n−k+1) 2.5% and Beta(k+1, n−k) 97.5% quantiles (e.g. R's binom.test).
    const cases: [number, number, number, number][] = [
      [0, 10, 0, 0.3084971078187607],
      [5, 10, 0.18708602844739855, 0.8129139715526015],
      [10, 10, 0.6915028921812392, 1],
      [1, 20, 0.0012650894979498038, 0.24873276277202777],
      [17, 20, 0.621073173454686, 0.9679290628145363],
      [3, 7, 0.09898827844250786, 0.8159484323599169],
    ];
    for (const [k, n, lower, upper] of cases) {
      const ci = clopperPearson(k, n)!;
      expect(ci.lower).toBeCloseTo(lower, 9);
      expect(ci.upper).toBeCloseTo(upper, 9);
    }
    expect(clopperPearson(0, 0)).toBeNull();
    expect(() => clopperPearson(3, 2)).toThrow(RangeError);
  });

  it('binomialCdf sums exact terms', () => {
    expect(binomialCdf(0, 3, 0.5)).toBeCloseTo(1 / 8, 15);
    expect(binomialCdf(1, 3, 0.5)).toBeCloseTo(4 / 8, 15);
    expect(binomialCdf(3, 3, 0.2)).toBe(1);
    expect(binomialCdf(-1, 3, 0.2)).toBe(0);
  });

  it('exact McNemar is the two-sided binomial test on the discordant pairs', () => {
    expect(mcnemarPValue(1, 9)).toBeCloseTo(0.021484375, 12); // 2 · (1 + 10) / 1024
    expect(mcnemarPValue(0, 6)).toBeCloseTo(0.03125, 12);
    expect(mcnemarPValue(3, 9)).toBeCloseTo(0.14599609375, 12);
    expect(mcnemarPValue(4, 4)).toBe(1);
    expect(mcnemarPValue(0, 0)).toBe(1);
    // Concordant pairs do not count: 6 discordant, all for the first.
    const a = [true, true, true, true, true, true, true, false, false];
    const b = [false, false, false, false, false, false, true, false, false];
    const test = mcnemarExact(a, b);
    expect(test).toMatchObject({ firstOnly: 6, secondOnly: 0 });
    expect(test.pValue).toBeCloseTo(0.03125, 12);
  });

  it('the ROC curve runs from (0,0) to (1,1) and its area equals the Mann–Whitney AUC, ties included', () => {
    const pos = [0.9, 0.8, 0.4, 0.4];
    const neg = [0.7, 0.4, 0.1];
    const curve = rocCurve(pos, neg);
    expect(curve[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(curve.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    expect(rocArea(curve)).toBeCloseTo(rocAuc(pos, neg)!, 12);
    // 0.9, 0.8 beat all 3; each 0.4 beats 0.1 and ties 0.4: (3 + 3 + 1.5 + 1.5) / 12
    expect(rocArea(curve)).toBeCloseTo(0.75, 12);
    expect(rocCurve([], [1])).toEqual([]);
    expect(rocArea([])).toBeNull();
  });

  it('draws one polyline per defence with a curve and lists every defence with its AUC', () => {
    const svg = rocSvg('ROC: label-flip (e2e)', [
      { name: 'clear', points: rocCurve([3, 2], [1, 0]), auc: 1 },
      { name: 'deep-knn', points: rocCurve([1], [2]), auc: 0 },
      { name: 'none', points: [], auc: null },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('data-defence="clear"');
    expect(svg).toContain('clear: AUC 1.00');
    expect(svg).toContain('none: no curve');
  });
});
