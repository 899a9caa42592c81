/**
 * Distance from a point to the convex hull of a pocket's members, in the full feature
 * dimension (never projected to 2-D to compute hulls).
 *
 * The distance from `p` to `conv(S)` is `min ‖Σ λ_k s_k − p‖` over simplex weights `λ`
 * (`λ ≥ 0`, `Σ λ = 1`). Written over `λ` it is a quadratic over the simplex,
 *
 *     f(λ) = ‖Sᵀλ − p‖² = λᵀGλ − 2cᵀλ + ‖p‖²,   G = S Sᵀ (m × m Gram),  c = S p,
 *
 * solved by Wolfe's nearest-point algorithm (P. Wolfe, "Finding the nearest point in a
 * polytope", Math. Programming 11, 1976), an active-set method over the simplex: a small
 * *corral* of affinely independent vertices whose affine hull holds the current point; each
 * major cycle adds the vertex that the Frank–Wolfe step would pick, each minor cycle moves to
 * the corral's affine minimiser (a small linear solve, by a Cholesky factor updated one row
 * per added vertex) or as far toward it as the weights stay ≥ 0. It terminates after finitely
 * many steps with the exact answer, so it stays fast and precise where (pairwise)
 * Frank–Wolfe crawls: a point inside a full-dimensional, badly conditioned simplex, the usual
 * case for a pocket with about as many members as feature dimensions.
 *
 * The dimension only enters once per hull (the m × m Gram matrix G = S̃S̃ᵀ, O(m²d)) and once
 * per query (c = S̃p̃, O(md)); a step then costs O(m·corral) for the gradient and O(corral²)
 * for the solve (O(corral³) for the refactoring after a vertex leaves the corral). The Frank–Wolfe duality gap 2(x·x − min_k x·q_k) ≥ f − f* gives the
 * stopping rule and the early decisions of {@link ConvexHull.contains}.
 *
 * Every quantity is float64 and centred on the hull's centroid, so that `f` near 0 is not
 * swamped by cancellation between large `‖p‖²` and `2cᵀλ`.
 */

export interface HullDistanceOptions {
  /** Stop when the duality gap is at most this fraction of the objective (see {@link DEFAULT_HULL_TOLERANCE}). */
  tolerance?: number;
  /** Upper bound on solver steps (see {@link DEFAULT_HULL_MAX_ITERATIONS}). */
  maxIterations?: number;
}

export interface HullDistance {
  /** Euclidean distance from the point to the hull (0 when inside, up to the tolerance). */
  distance: number;
  /** Weights on the hull's vertices (on the simplex) of the hull point nearest to the query. */
  weights: Float64Array;
  /** Solver steps taken (minor cycles of Wolfe's algorithm: one affine solve each). */
  iterations: number;
  /** False when the step budget ran out, or rounding stalled the solver, before the tolerance was met. */
  converged: boolean;
}

/**
 * Relative duality gap at which the solver stops: gap ≤ tolerance × max(f, tolerance × R²),
 * with `f` the current squared distance and `R` the hull's radius (largest distance from
 * its centroid to a vertex). For a point outside the hull this is a relative accuracy of
 * 1e-6 on the squared distance; for a point inside (f* = 0, where a purely relative gap
 * can never close) it stops once the distance is below ~1e-6 R.
 */
export const DEFAULT_HULL_TOLERANCE = 1e-6;

/**
 * Budget of minor cycles (affine solves). Wolfe's algorithm terminates finitely, typically
 * after a few times the final corral's size; the cap only bounds what rounding on a
 * pathological hull can cost.
 */
export const DEFAULT_HULL_MAX_ITERATIONS = 10_000;

/** Corral weights at or below this are zero (Wolfe's Z2; weights sum to 1). */
const MIN_CORRAL_WEIGHT = 1e-12;

/**
 * A Cholesky pivot below this fraction of its diagonal entry means the new vertex is
 * affinely dependent on the corral (to rounding): adding it cannot bring the hull closer.
 */
const DEPENDENT_PIVOT_RATIO = 1e-12;

interface SolverState {
  weights: Float64Array;
  /** Current objective f(λ) (squared distance of the current hull point). */
  objective: number;
  /** Frank–Wolfe duality gap ≥ f(λ) − f*. */
  gap: number;
  iterations: number;
  converged: boolean;
}

/**
 * A hull prepared for many queries: the Gram matrix is computed once, so each further point
 * costs O(md) plus the solver's small steps. A pocket's contamination check asks hundreds of
 * points against one hull, which is what this is for.
 */
export class ConvexHull {
  readonly m: number;
  readonly d: number;
  /** Mean of the vertices. */
  readonly centroid: Float64Array;
  /** Largest distance from the centroid to a vertex: every hull point lies within it. */
  readonly radius: number;
  /** Vertices minus the centroid, `m × d` row-major. */
  private readonly centred: Float64Array;
  /** `m × m` Gram matrix of the centred vertices. */
  private readonly gram: Float64Array;
  private corral: CorralFactor | undefined;

  constructor(vertices: Float32Array | Float64Array, m: number, d: number) {
    if (!Number.isInteger(m) || m < 1 || !Number.isInteger(d) || d < 1) {
      throw new RangeError(`ConvexHull: m and d must be positive integers, not m = ${m}, d = ${d}.`);
    }
    if (vertices.length !== m * d) {
      throw new RangeError(`ConvexHull: vertices hold ${vertices.length} values, not m × d = ${m} × ${d} = ${m * d}.`);
    }
    for (let i = 0; i < vertices.length; i++) {
      if (!Number.isFinite(vertices[i])) {
        throw new RangeError(`ConvexHull: coordinate ${i % d} of vertex ${Math.floor(i / d)} is not finite (${vertices[i]}).`);
      }
    }
    this.m = m;
    this.d = d;
    const centroid = new Float64Array(d);
    for (let k = 0; k < m; k++) for (let t = 0; t < d; t++) centroid[t] += vertices[k * d + t];
    for (let t = 0; t < d; t++) centroid[t] /= m;
    const centred = new Float64Array(m * d);
    for (let k = 0; k < m; k++) for (let t = 0; t < d; t++) centred[k * d + t] = vertices[k * d + t] - centroid[t];
    const gram = new Float64Array(m * m);
    let radiusSquared = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += centred[a * d + t] * centred[b * d + t];
        gram[a * m + b] = dot;
        gram[b * m + a] = dot;
      }
      radiusSquared = Math.max(radiusSquared, gram[a * m + a]);
    }
    this.centroid = centroid;
    this.centred = centred;
    this.gram = gram;
    this.radius = Math.sqrt(radiusSquared);
  }

  /** Distance from `point` (length d) to the hull, with the weights of the nearest hull point. */
  distanceTo(point: ArrayLike<number>, options: HullDistanceOptions = {}): HullDistance {
    const { pointOffset, pointNormSquared } = this.prepareQuery(point);
    const state = this.solve(pointOffset, pointNormSquared, options, undefined);
    return {
      distance: this.exactDistance(state.weights, point),
      weights: state.weights,
      iterations: state.iterations,
      converged: state.converged,
    };
  }

  /**
   * Whether `point` lies within `eps` of the hull. Stops as soon as the solver's bounds
   * decide it (current objective ≤ eps² proves inside; objective − gap > eps² proves
   * outside), which is usually long before full convergence.
   */
  contains(point: ArrayLike<number>, eps: number, options: HullDistanceOptions = {}): boolean {
    if (!(eps >= 0)) throw new RangeError(`ConvexHull.contains: eps must be ≥ 0, not ${eps}.`);
    // Cheap exclusion first: every hull point is within `radius` of the centroid.
    const centroidDistance = this.distanceToCentroid(point);
    if (centroidDistance - this.radius > eps) return false;
    const { pointOffset, pointNormSquared } = this.prepareQuery(point);
    const state = this.solve(pointOffset, pointNormSquared, options, eps * eps);
    return this.exactDistance(state.weights, point) <= eps;
  }

  /** Largest distance between two vertices: the hull's diameter. O(m²) from the Gram matrix. */
  diameter(): number {
    return this.vertexDistances().diameter;
  }

  /**
   * The diameter and the mean distance over all unordered pairs of distinct vertices (0 for a
   * single vertex), in one O(m²) pass over the Gram matrix.
   */
  vertexDistances(): { diameter: number; meanDistance: number } {
    const { m, gram } = this;
    let largestSquared = 0;
    let sum = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        // Clamped: rounding can make a duplicate pair's squared distance a hair below zero.
        const squared = Math.max(0, gram[a * m + a] + gram[b * m + b] - 2 * gram[a * m + b]);
        if (squared > largestSquared) largestSquared = squared;
        sum += Math.sqrt(squared);
      }
    }
    const pairs = (m * (m - 1)) / 2;
    return { diameter: Math.sqrt(largestSquared), meanDistance: pairs > 0 ? sum / pairs : 0 };
  }

  /** Euclidean distance from `point` to the centroid. */
  distanceToCentroid(point: ArrayLike<number>): number {
    this.checkPoint(point);
    let squared = 0;
    for (let t = 0; t < this.d; t++) {
      const delta = point[t] - this.centroid[t];
      squared += delta * delta;
    }
    return Math.sqrt(squared);
  }

  private checkPoint(point: ArrayLike<number>): void {
    if (point.length !== this.d) {
      throw new RangeError(`ConvexHull: the point has ${point.length} coordinates, the hull ${this.d}.`);
    }
  }

  /** c = S̃ p̃ (centred vertices times centred point) and ‖p̃‖². */
  private prepareQuery(point: ArrayLike<number>): { pointOffset: Float64Array; pointNormSquared: number } {
    this.checkPoint(point);
    const { m, d, centred, centroid } = this;
    const centredPoint = new Float64Array(d);
    let pointNormSquared = 0;
    for (let t = 0; t < d; t++) {
      centredPoint[t] = point[t] - centroid[t];
      pointNormSquared += centredPoint[t] * centredPoint[t];
    }
    const pointOffset = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += centred[k * d + t] * centredPoint[t];
      pointOffset[k] = dot;
    }
    return { pointOffset, pointNormSquared };
  }

  /**
   * Wolfe's nearest-point algorithm on the points `q_k = s̃_k − p̃`, in Gram form
   * (`q_k·q_l = G_kl − c_k − c_l + ‖p̃‖²`). With `decideAgainst` set (eps²), returns as soon
   * as f ≤ eps² or f − gap > eps².
   */
  private solve(
    pointOffset: Float64Array,
    pointNormSquared: number,
    options: HullDistanceOptions,
    decideAgainst: number | undefined,
  ): SolverState {
    const { m, gram } = this;
    const tolerance = options.tolerance ?? DEFAULT_HULL_TOLERANCE;
    const maxIterations = options.maxIterations ?? DEFAULT_HULL_MAX_ITERATIONS;
    const gapFloor = tolerance * this.radius * this.radius;

    // Start at the vertex nearest to the point: ‖q_k‖² = G_kk − 2c_k + ‖p̃‖².
    let start = 0;
    for (let k = 1; k < m; k++) {
      if (gram[k * m + k] - 2 * pointOffset[k] < gram[start * m + start] - 2 * pointOffset[start]) start = k;
    }
    const weights = new Float64Array(m);
    weights[start] = 1;
    // One factor per hull, reused across queries: its m × m storage is the largest allocation here.
    this.corral ??= new CorralFactor(gram, m);
    const corral = this.corral;
    corral.reset(start, pointOffset);
    const innerProducts = new Float64Array(m); // h_k = x·q_k, x = Σ λ_l q_l the current hull point minus p
    const affineWeights = new Float64Array(m);

    let objective = 0;
    let gap = Infinity;
    let iterations = 0;
    let converged = false;
    for (;;) {
      // h_k = Σ_l λ_l Q_lk = (Gλ)_k − c_k + ‖p̃‖² − λ·c, since Σλ = 1.
      let weightedOffset = 0;
      for (const l of corral.members) weightedOffset += weights[l] * pointOffset[l];
      innerProducts.fill(0);
      for (const l of corral.members) {
        const w = weights[l];
        const row = l * m;
        for (let k = 0; k < m; k++) innerProducts[k] += w * gram[row + k];
      }
      let toward = 0;
      for (let k = 0; k < m; k++) {
        innerProducts[k] += pointNormSquared - weightedOffset - pointOffset[k];
        if (innerProducts[k] < innerProducts[toward]) toward = k;
      }
      objective = 0;
      for (const l of corral.members) objective += weights[l] * innerProducts[l];
      objective = Math.max(0, objective);
      // The Frank–Wolfe gap ∇f(λ)·(λ − e_toward) bounds f(λ) − f* from above.
      gap = Math.max(0, 2 * (objective - innerProducts[toward]));
      if (decideAgainst !== undefined && (objective <= decideAgainst || objective - gap > decideAgainst)) break;
      if (gap <= tolerance * Math.max(objective, gapFloor)) {
        converged = true;
        break;
      }
      // A corral member can only be "toward" through rounding; so can a dependent vertex.
      if (iterations >= maxIterations || weights[toward] > 0 || !corral.append(toward)) break;

      // Minor cycles: move to the affine minimiser of the corral, or as far toward it as the
      // simplex allows, dropping the vertices whose weight reaches zero, until it is interior.
      let stalled = false;
      for (;;) {
        iterations++;
        corral.affineMinimiser(affineWeights);
        let interior = true;
        for (const k of corral.members) if (affineWeights[k] <= MIN_CORRAL_WEIGHT) interior = false;
        if (interior) {
          for (const k of corral.members) weights[k] = affineWeights[k];
          break;
        }
        let step = 1;
        for (const k of corral.members) {
          if (affineWeights[k] > MIN_CORRAL_WEIGHT) continue;
          const room = weights[k] - affineWeights[k];
          step = Math.min(step, room > 0 ? weights[k] / room : 0);
        }
        const kept: number[] = [];
        for (const k of corral.members) {
          weights[k] += step * (affineWeights[k] - weights[k]);
          if (weights[k] > MIN_CORRAL_WEIGHT) kept.push(k);
          else weights[k] = 0;
        }
        // No movement and the new vertex dropped again: rounding has the last word.
        if (step === 0 && weights[toward] === 0) stalled = true;
        if (kept.length === 0 || !corral.rebuild(kept)) stalled = true;
        if (stalled || iterations >= maxIterations) break;
      }
      if (stalled) break;
    }
    normaliseOnSimplex(weights);
    return { weights, objective, gap, iterations, converged };
  }

  /** ‖Σ λ_k s_k − p‖ recomputed from the coordinates: exact regardless of solver rounding. */
  private exactDistance(weights: Float64Array, point: ArrayLike<number>): number {
    const { m, d, centred, centroid } = this;
    const nearest = new Float64Array(d);
    for (let k = 0; k < m; k++) {
      const w = weights[k];
      if (w === 0) continue;
      for (let t = 0; t < d; t++) nearest[t] += w * centred[k * d + t];
    }
    let squared = 0;
    for (let t = 0; t < d; t++) {
      const delta = nearest[t] + centroid[t] - point[t];
      squared += delta * delta;
    }
    return Math.sqrt(squared);
  }
}

/** Distance from `point` to the convex hull of `m` vertices of dimension `d` (row-major). */
export function distanceToHull(
  vertices: Float32Array | Float64Array,
  m: number,
  d: number,
  point: ArrayLike<number>,
  options: HullDistanceOptions = {},
): HullDistance {
  return new ConvexHull(vertices, m, d).distanceTo(point, options);
}

/** Whether `point` lies within `eps` (≥ 0) of the convex hull of the vertices. */
export function isInsideHull(
  vertices: Float32Array | Float64Array,
  m: number,
  d: number,
  point: ArrayLike<number>,
  eps: number,
  options: HullDistanceOptions = {},
): boolean {
  return new ConvexHull(vertices, m, d).contains(point, eps, options);
}

/** Diameter of the convex hull of the vertices: the largest distance between two of them. */
export function hullDiameter(vertices: Float32Array | Float64Array, m: number, d: number): number {
  return new ConvexHull(vertices, m, d).diameter();
}

/** Clamps rounding negatives to 0 and rescales to sum 1. */
function normaliseOnSimplex(weights: Float64Array): void {
  let sum = 0;
  for (let k = 0; k < weights.length; k++) {
    if (weights[k] < 0) weights[k] = 0;
    sum += weights[k];
  }
  if (sum > 0) for (let k = 0; k < weights.length; k++) weights[k] /= sum;
}

/**
 * The corral of Wolfe's algorithm and the Cholesky factor of its affine normal equations.
 * With `v₀` the first member and `a, b` the others, the affine minimiser of ‖Σ μ q‖ over
 * Σ μ = 1 is μ_a = α_a, μ_v₀ = 1 − Σ α, where
 *
 *     M α = r,  M_ab = (s_a − s_v₀)·(s_b − s_v₀),  r_a = −(q_a − q_v₀)·q_v₀,
 *
 * all read off the Gram matrix and `c`. Differences of vertices keep M well conditioned
 * even when the query point lies in the corral's affine hull (exactly when it is inside).
 */
class CorralFactor {
  members: number[] = [];
  private readonly gram: Float64Array;
  private readonly m: number;
  private pointOffset: Float64Array;
  /** Lower-triangular factor of M, row-major with stride m (rows 0 … members.length − 2). */
  private readonly lower: Float64Array;
  private readonly rhs: Float64Array;
  private readonly solution: Float64Array;

  constructor(gram: Float64Array, m: number) {
    this.gram = gram;
    this.m = m;
    this.pointOffset = new Float64Array(m);
    this.lower = new Float64Array(m * m);
    this.rhs = new Float64Array(m);
    this.solution = new Float64Array(m);
  }

  /** Starts a query: the corral holds `first` alone; `pointOffset` is that query's c = S̃p̃. */
  reset(first: number, pointOffset: Float64Array): void {
    this.members = [first];
    this.pointOffset = pointOffset;
  }

  /** Adds a vertex; false (and unchanged) when it is affinely dependent on the corral. */
  append(vertex: number): boolean {
    const { gram, m, lower, members, pointOffset } = this;
    const origin = members[0];
    const row = members.length - 1; // this vertex's row in M
    const oo = gram[origin * m + origin];
    // Forward solve L l = M[row, 0…row−1], then the pivot.
    for (let b = 0; b < row; b++) {
      const other = members[b + 1];
      let value = gram[vertex * m + other] - gram[vertex * m + origin] - gram[origin * m + other] + oo;
      for (let t = 0; t < b; t++) value -= lower[row * m + t] * lower[b * m + t];
      lower[row * m + b] = value / lower[b * m + b];
    }
    const diagonal = gram[vertex * m + vertex] - 2 * gram[vertex * m + origin] + oo;
    let pivot = diagonal;
    for (let t = 0; t < row; t++) pivot -= lower[row * m + t] * lower[row * m + t];
    if (!(pivot > DEPENDENT_PIVOT_RATIO * diagonal) || diagonal <= 0) return false;
    lower[row * m + row] = Math.sqrt(pivot);
    // r_a = −(Q_a,v₀ − Q_v₀,v₀) = −(G_a,v₀ − G_v₀,v₀ − c_a + c_v₀)
    this.rhs[row] = -(gram[vertex * m + origin] - oo - pointOffset[vertex] + pointOffset[origin]);
    members.push(vertex);
    return true;
  }

  /** Refactors for a new member list (after removals); false if it turned out dependent. */
  rebuild(members: number[]): boolean {
    this.members = [members[0]];
    for (let a = 1; a < members.length; a++) if (!this.append(members[a])) return false;
    return true;
  }

  /** Writes the affine minimiser's weights for the members into `out` (other entries untouched). */
  affineMinimiser(out: Float64Array): void {
    const { lower, m, rhs, solution, members } = this;
    const size = members.length - 1;
    for (let a = 0; a < size; a++) {
      let value = rhs[a];
      for (let t = 0; t < a; t++) value -= lower[a * m + t] * solution[t];
      solution[a] = value / lower[a * m + a];
    }
    for (let a = size - 1; a >= 0; a--) {
      let value = solution[a];
      for (let t = a + 1; t < size; t++) value -= lower[t * m + a] * solution[t];
      solution[a] = value / lower[a * m + a];
    }
    let rest = 1;
    for (let a = 0; a < size; a++) {
      out[members[a + 1]] = solution[a];
      rest -= solution[a];
    }
    out[members[0]] = rest;
  }
}
