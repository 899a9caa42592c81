// The crafted-samples test (clear/crafted.ts) on simulated drift ratios: its family-wise level
// holds on classes whose drifts have no crafted samples (log-normal and Pareto tails, 10
// classes of 800), and a group of fragile samples apart from the rest of its class is found
// whole: 25 or 100 samples at 1.8 times the drift of the class's most fragile sample, 5 at 3 times, a pair
// at 6 times (the fewer they are, the larger the gap must be).
import { describe, expect, it } from 'vitest';
import { findCraftedSamples } from '../../../src-main/engine/clear/crafted.js';
import { createRng } from '../../../src-main/engine/random.js';

const CLASSES = 10; const PER_CLASS = 800;

function model(seed: number, tail: 'lognormal' | 'pareto'): { ratios: Float64Array; labels: Int32Array } {
  const rng = createRng(seed);
  const n = CLASSES * PER_CLASS;
  const ratios = new Float64Array(n); const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % CLASSES;
    const u = Math.max(rng.next(), 1e-12);
    if (tail === 'pareto') ratios[i] = 0.5 * u ** (-1 / 4);
    else { const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next()); ratios[i] = Math.exp(0.5 * z); }
  }
  return { ratios, labels };
}

const smallest = (found: ReturnType<typeof findCraftedSamples>) => Math.min(1, ...found.map((c) => c.pValue));

describe('crafted samples', () => {
  it('reports at most about its level on models without crafted samples', () => {
    for (const tail of ['lognormal', 'pareto'] as const) {
      let alarms5 = 0; let alarms1 = 0;
      for (let s = 0; s < 200; s++) {
        const { ratios, labels } = model(1000 + s, tail);
        const p = smallest(findCraftedSamples(ratios, labels, CLASSES));
        if (p <= 0.05) alarms5++;
        if (p <= 0.01) alarms1++;
      }
      console.log(`${tail}: ${alarms5} of 200 models reported at 5%, ${alarms1} at 1%`);
      // 200 models: at a true rate of 5% the count exceeds 18 with probability under 1%.
      expect(alarms5, `${tail}: models reported at 5%`).toBeLessThanOrEqual(18);
      expect(alarms1, `${tail}: models reported at 1%`).toBeLessThanOrEqual(6);
    }
  });

  it('finds a group of fragile samples apart from its class, whole, at sizes from 2 to 100', () => {
    for (const [size, factor, level] of [[2, 6, 0.01], [5, 3, 1e-3], [25, 1.8, 1e-4], [100, 1.8, 1e-4]]) {
      const { ratios, labels } = model(7 + size, 'lognormal');
      let top = 0;
      for (let i = 0; i < ratios.length; i++) if (labels[i] === 3) top = Math.max(top, ratios[i]);
      const planted: number[] = [];
      for (let i = 3; planted.length < size; i += CLASSES) { planted.push(i); ratios[i] = top * (factor + 0.01 * planted.length); }
      const found = findCraftedSamples(ratios, labels, CLASSES);
      const three = found.find((c) => c.classIndex === 3)!;
      expect(three.pValue, `${size} planted`).toBeLessThan(level);
      expect(new Set(three.members)).toEqual(new Set(planted));
      expect(three.nextRatio).toBeLessThanOrEqual(top);
      for (const c of found) if (c.classIndex !== 3) expect(c.pValue).toBeGreaterThan(1e-3);
    }
  });

  it('tests nothing where the samples do not move (images already on the squeezed levels)', () => {
    const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 2);
    const ratios = new Float64Array(2000);
    for (let i = 0; i < 50; i += 2) ratios[i] = 5;
    expect(findCraftedSamples(ratios, labels, 2)).toEqual([]);
  });
});
