import { describe, expect, it } from 'vitest';
import { ConvexHull, distanceToHull, hullDiameter, isInsideHull } from '../../../src-main/engine/clear/hull.js';
import { createRng, type Rng } from '../../../src-main/engine/random.js';

function randomPoints(rng: Rng, count: number, d: number, scale = 1): Float64Array {
  const out = new Float64Array(count * d);
  for (let i = 0; i < out.length; i++) out[i] = scale * rng.normal();
  return out;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Σ w_k s_k. */
function combine(vertices: Float64Array, weights: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d);
  for (let k = 0; k < weights.length; k++) for (let t = 0; t < d; t++) out[t] += weights[k] * vertices[k * d + t];
  return out;
}

function randomSimplexWeights(rng: Rng, m: number): Float64Array {
  const w = new Float64Array(m);
  let sum = 0;
  for (let k = 0; k < m; k++) {
    w[k] = -Math.log(1 - rng.next()); // exponential draws: a flat Dirichlet after normalising
    sum += w[k];
  }
  for (let k = 0; k < m; k++) w[k] /= sum;
  return w;
}

/** Solves the small dense system A x = b by Gaussian elimination; undefined when singular. */
function solveLinear(a: number[][], b: number[]): number[] | undefined {
  const size = b.length;
  const rows = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r;
    if (Math.abs(rows[pivot][col]) < 1e-12) return undefined;
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    for (let r = 0; r < size; r++) {
      if (r === col) continue;
      const f = rows[r][col] / rows[col][col];
      for (let c = col; c <= size; c++) rows[r][c] -= f * rows[col][c];
    }
  }
  return rows.map((row, i) => row[size] / row[i]);
}

/**
 * Exact distance by brute force over faces: for every subset of vertices, the nearest point
 * of its affine hull (least squares with Σw = 1, by the KKT system); kept when its weights
 * are all ≥ 0. The minimum over subsets is the distance to the convex hull.
 */
function bruteForceDistance(vertices: Float64Array, m: number, d: number, p: Float64Array): number {
  let best = Infinity;
  for (let mask = 1; mask < 1 << m; mask++) {
    const face: number[] = [];
    for (let k = 0; k < m; k++) if (mask & (1 << k)) face.push(k);
    const f = face.length;
    // [G 1; 1ᵀ 0] [w; μ] = [c; 1]
    const a: number[][] = [];
    const b: number[] = [];
    for (let i = 0; i < f; i++) {
      const row: number[] = [];
      for (let j = 0; j < f; j++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += vertices[face[i] * d + t] * vertices[face[j] * d + t];
        row.push(dot);
      }
      row.push(1);
      a.push(row);
      let c = 0;
      for (let t = 0; t < d; t++) c += vertices[face[i] * d + t] * p[t];
      b.push(c);
    }
    a.push([...new Array(f).fill(1), 0]);
    b.push(1);
    const solution = solveLinear(a, b);
    if (!solution) continue;
    const w = solution.slice(0, f);
    if (w.some((x) => x < -1e-12)) continue;
    const full = new Float64Array(m);
    face.forEach((k, i) => { full[k] = w[i]; });
    const x = combine(vertices, full, d);
    best = Math.min(best, norm(x.map((v, t) => v - p[t])));
  }
  return best;
}

function expectOnSimplex(weights: Float64Array): void {
  let sum = 0;
  for (const w of weights) {
    expect(w).toBeGreaterThanOrEqual(0);
    sum += w;
  }
  expect(sum).toBeCloseTo(1, 12);
}

describe('distanceToHull', () => {
  it('matches the analytic distances to a 2-D triangle', () => {
    const triangle = Float64Array.from([0, 0, 1, 0, 0, 1]);
    const cases: Array<[number[], number]> = [
      [[0.2, 0.2], 0],
      [[1, 1], Math.SQRT1_2], // beyond the hypotenuse x + y = 1
      [[-1, -1], Math.SQRT2], // nearest the right-angle vertex
      [[2, -1], Math.SQRT2], // nearest the vertex (1, 0)
      [[0.5, -3], 3], // below the leg y = 0
      [[0.5, 0.5], 0], // on the hypotenuse
    ];
    for (const [point, expected] of cases) {
      const result = distanceToHull(triangle, 3, 2, Float64Array.from(point));
      expect(result.distance).toBeCloseTo(expected, 6);
      expect(result.converged).toBe(true);
      expectOnSimplex(result.weights);
    }
  });

  it('agrees with a dense grid over the simplex weights of a 3-D triangle', () => {
    const rng = createRng(11);
    const d = 3;
    const steps = 300;
    for (let trial = 0; trial < 5; trial++) {
      const vertices = randomPoints(rng, 3, d);
      const p = randomPoints(rng, 1, d, 1.5);
      let grid = Infinity;
      for (let a = 0; a <= steps; a++) {
        for (let b = 0; a + b <= steps; b++) {
          const x = combine(vertices, [a / steps, b / steps, (steps - a - b) / steps], d);
          grid = Math.min(grid, norm(x.map((v, t) => v - p[t])));
        }
      }
      const { distance } = distanceToHull(vertices, 3, d, p);
      // The grid can only overestimate, by at most its spacing times the vertex spread.
      expect(distance).toBeLessThanOrEqual(grid + 1e-9);
      expect(grid - distance).toBeLessThan(0.02);
      expect(distance).toBeCloseTo(bruteForceDistance(vertices, 3, d, p), 6);
    }
  });

  it('matches brute force over faces for random small hulls, inside and outside', () => {
    const rng = createRng(12);
    for (const [m, d] of [[4, 3], [5, 3], [6, 2], [4, 10], [7, 5]] as const) {
      for (let trial = 0; trial < 6; trial++) {
        const vertices = randomPoints(rng, m, d);
        const p = randomPoints(rng, 1, d, trial % 2 === 0 ? 0.5 : 2);
        const expected = bruteForceDistance(vertices, m, d, p);
        const result = distanceToHull(vertices, m, d, p);
        expect(result.distance).toBeCloseTo(expected, 5);
        expectOnSimplex(result.weights);
      }
    }
  });

  it('finds a convex combination inside a 64-D simplex at distance ≈ 0', () => {
    const rng = createRng(13);
    const d = 64;
    const m = d + 1;
    const vertices = randomPoints(rng, m, d);
    const hull = new ConvexHull(vertices, m, d);
    for (let trial = 0; trial < 5; trial++) {
      const p = combine(vertices, randomSimplexWeights(rng, m), d);
      const result = hull.distanceTo(p);
      expect(result.distance).toBeLessThan(1e-5 * hull.radius);
      expect(hull.contains(p, 1e-4)).toBe(true);
      expect(isInsideHull(vertices, m, d, p, 1e-4)).toBe(true);
    }
  });

  it('measures a point pushed out along a facet normal of a 64-D simplex by the push', () => {
    const rng = createRng(14);
    const d = 64;
    const m = d + 1;
    const vertices = randomPoints(rng, m, d);
    const hull = new ConvexHull(vertices, m, d);
    const opposite = m - 1; // the facet is every vertex but this one
    // Orthonormal basis of the facet's directions (Gram–Schmidt), then a normal orthogonal to it.
    const basis: Float64Array[] = [];
    for (let k = 1; k < opposite; k++) {
      const v = new Float64Array(d);
      for (let t = 0; t < d; t++) v[t] = vertices[k * d + t] - vertices[t];
      for (const b of basis) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += v[t] * b[t];
        for (let t = 0; t < d; t++) v[t] -= dot * b[t];
      }
      const length = norm(v);
      basis.push(v.map((x) => x / length));
    }
    const normal = randomPoints(rng, 1, d);
    for (const b of basis) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += normal[t] * b[t];
      for (let t = 0; t < d; t++) normal[t] -= dot * b[t];
    }
    const normalLength = norm(normal);
    for (let t = 0; t < d; t++) normal[t] /= normalLength;
    // Point it away from the opposite vertex: outward.
    let side = 0;
    for (let t = 0; t < d; t++) side += normal[t] * (vertices[opposite * d + t] - vertices[t]);
    if (side > 0) for (let t = 0; t < d; t++) normal[t] = -normal[t];

    for (const push of [0.5, 0.05, 2]) {
      const facetWeights = randomSimplexWeights(rng, m);
      facetWeights[opposite] = 0;
      const sum = facetWeights.reduce((a, b) => a + b, 0);
      for (let k = 0; k < m; k++) facetWeights[k] /= sum;
      const onFacet = combine(vertices, facetWeights, d);
      const p = onFacet.map((x, t) => x + push * normal[t]);
      const result = hull.distanceTo(p);
      expect(result.distance).toBeCloseTo(push, 5);
      expect(result.converged).toBe(true);
      expect(hull.contains(p, push * 0.99)).toBe(false);
      expect(hull.contains(p, push * 1.01)).toBe(true);
    }
  });

  it('handles a single vertex', () => {
    const vertex = Float64Array.from([1, 2, 3]);
    const result = distanceToHull(vertex, 1, 3, Float64Array.from([1, 2, 7]));
    expect(result.distance).toBeCloseTo(4, 12);
    expect(Array.from(result.weights)).toEqual([1]);
    expect(hullDiameter(vertex, 1, 3)).toBe(0);
    expect(isInsideHull(vertex, 1, 3, Float64Array.from([1, 2, 3]), 0)).toBe(true);
  });

  it('handles two vertices (a segment)', () => {
    const segment = Float64Array.from([0, 0, 0, 4, 0, 0]);
    expect(distanceToHull(segment, 2, 3, Float64Array.from([1, 3, 4])).distance).toBeCloseTo(5, 9);
    expect(distanceToHull(segment, 2, 3, Float64Array.from([-3, 4, 0])).distance).toBeCloseTo(5, 9);
    const middle = distanceToHull(segment, 2, 3, Float64Array.from([1, 0, 0]));
    expect(middle.distance).toBeCloseTo(0, 9);
    expect(middle.weights[0]).toBeCloseTo(0.75, 6);
    expect(hullDiameter(segment, 2, 3)).toBeCloseTo(4, 12);
  });

  it('handles duplicated vertices and two identical vertices', () => {
    const rng = createRng(15);
    const d = 5;
    const triangle = randomPoints(rng, 3, d);
    const repeated = new Float64Array(9 * d);
    for (let copy = 0; copy < 3; copy++) repeated.set(triangle, copy * 3 * d);
    for (let trial = 0; trial < 5; trial++) {
      const p = randomPoints(rng, 1, d);
      const result = distanceToHull(repeated, 9, d, p);
      expect(result.distance).toBeCloseTo(bruteForceDistance(triangle, 3, d, p), 6);
      expectOnSimplex(result.weights);
    }
    const twin = Float64Array.from([1, 1, 1, 1]);
    expect(distanceToHull(twin, 2, 2, Float64Array.from([4, 5])).distance).toBeCloseTo(5, 12);
    expect(hullDiameter(twin, 2, 2)).toBe(0);
  });

  it('certifies the distance for many more vertices than dimensions (m > d + 1)', () => {
    const rng = createRng(16);
    const d = 3;
    const m = 60;
    const vertices = randomPoints(rng, m, d);
    const hull = new ConvexHull(vertices, m, d);
    for (let trial = 0; trial < 10; trial++) {
      const p = randomPoints(rng, 1, d, 2.5);
      const result = hull.distanceTo(p);
      expectOnSimplex(result.weights);
      const nearest = combine(vertices, result.weights, d);
      const offset = p.map((x, t) => x - nearest[t]);
      expect(norm(offset)).toBeCloseTo(result.distance, 9);
      if (result.distance < 1e-9) continue;
      // Optimality: every vertex lies on the far side of the plane through `nearest`
      // orthogonal to the offset, so no hull point is closer than `nearest`.
      for (let k = 0; k < m; k++) {
        let side = 0;
        for (let t = 0; t < d; t++) side += offset[t] * (vertices[k * d + t] - nearest[t]);
        expect(side / norm(offset)).toBeLessThan(1e-6 * hull.radius);
      }
    }
  });

  it('accepts float32 vertices and reports the diameter and mean pairwise distance', () => {
    const rng = createRng(17);
    const m = 20;
    const d = 8;
    const vertices = Float32Array.from(randomPoints(rng, m, d));
    let largest = 0;
    let sum = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += (vertices[a * d + t] - vertices[b * d + t]) ** 2;
        largest = Math.max(largest, Math.sqrt(s));
        sum += Math.sqrt(s);
      }
    }
    expect(hullDiameter(vertices, m, d)).toBeCloseTo(largest, 9);
    const summary = new ConvexHull(vertices, m, d).vertexDistances();
    expect(summary.meanDistance).toBeCloseTo(sum / ((m * (m - 1)) / 2), 9);
  });

  it('refuses mismatched shapes with a sentence', () => {
    expect(() => distanceToHull(new Float64Array(5), 2, 3, new Float64Array(3))).toThrow(/m × d/);
    expect(() => distanceToHull(new Float64Array(6), 2, 3, new Float64Array(2))).toThrow(/coordinates/);
  });
});
