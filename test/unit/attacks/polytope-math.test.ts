import { describe, expect, it } from 'vitest';
import { projectOntoSimplex, updateCoefficients } from '../../../src-main/engine/attacks/polytope.js';
import { createRng } from '../../../src-main/engine/random.js';

describe('simplex projection', () => {
  it('returns points on the simplex and leaves simplex points alone', () => {
    const rng = createRng(1);
    for (let trial = 0; trial < 50; trial++) {
      const v = Array.from({ length: 6 }, () => 3 * rng.normal());
      const p = projectOntoSimplex(v);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      for (const x of p) expect(x).toBeGreaterThanOrEqual(0);
      // Optimality: no simplex vertex is closer to v than p.
      const d = (q: ArrayLike<number>) => v.reduce((s, x, i) => s + (x - q[i]) ** 2, 0);
      for (let k = 0; k < 6; k++) {
        const vertex = Array.from({ length: 6 }, (_, i) => (i === k ? 1 : 0));
        expect(d(p)).toBeLessThanOrEqual(d(vertex) + 1e-12);
      }
    }
    expect(Array.from(projectOntoSimplex([0.2, 0.3, 0.5]))).toEqual([0.2, 0.3, 0.5].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(projectOntoSimplex([5, 0, 0]))).toEqual([1, 0, 0]);
  });

  it('coefficient steps find the convex combination that reaches a point inside the hull', () => {
    // Three feature vectors in 2-D; the target is 0.2·f0 + 0.5·f1 + 0.3·f2.
    const f = Float32Array.from([0, 0, 4, 0, 0, 4]);
    const target = Float32Array.from([0.5 * 4, 0.3 * 4]);
    let c: Float64Array = new Float64Array([1 / 3, 1 / 3, 1 / 3]);
    for (let i = 0; i < 200; i++) c = updateCoefficients(c, f, target, 5);
    expect(c[0]).toBeCloseTo(0.2, 3);
    expect(c[1]).toBeCloseTo(0.5, 3);
    expect(c[2]).toBeCloseTo(0.3, 3);
  });
});
