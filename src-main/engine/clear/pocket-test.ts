/**
 * The pocket test: ask the model's own head whether a candidate group
 * sits in a pocket. Interior probes are Dirichlet mixtures of the members' feature vectors;
 * ray probes walk from the members' centroid toward each shell point. A planted pocket is
 * predicted as the attacker class inside and flips to the enclosing class a short way out.
 */
import type { Rng } from '../random.js';
import { headPredict } from './embed.js';
import type { SplitModel } from './split.js';

export interface PocketProbeResult {
  /** Share of interior probes the head predicts as A. */
  interiorAttackerRate: number;
  /** Mean fraction of the way from the centroid to the shell where the prediction leaves A (0 when the centroid is not A). */
  flipDistance: number;
  /** Share of rays whose first non-A prediction is the enclosing class B. */
  flipToEnclosingRate: number;
  probes: number;
}

/** Steps along each ray from the centroid (t = 0) to the shell point (t = 1). */
export const RAY_STEPS = 16;

/** Dirichlet(1, …, 1) weights: normalised exponentials. */
function dirichlet(rng: Rng, m: number, out: Float64Array): void {
  let sum = 0;
  for (let k = 0; k < m; k++) { const e = -Math.log(1 - rng.next()); out[k] = e; sum += e; }
  for (let k = 0; k < m; k++) out[k] /= sum;
}

export function probePocket(
  parts: SplitModel,
  features: Float32Array,
  members: readonly number[],
  shell: readonly number[],
  attackerClass: number,
  enclosingClass: number,
  rng: Rng,
  interiorProbes = 64,
  maxRays = 24,
): PocketProbeResult {
  const dim = parts.featureDim;
  const m = members.length;
  const rays = shell.slice(0, maxRays);
  const total = interiorProbes + rays.length * RAY_STEPS;
  const points = new Float32Array(total * dim);
  const w = new Float64Array(m);
  const centroid = new Float64Array(dim);
  for (const i of members) for (let d = 0; d < dim; d++) centroid[d] += features[i * dim + d] / m;
  for (let p = 0; p < interiorProbes; p++) {
    dirichlet(rng, m, w);
    const row = p * dim;
    for (let k = 0; k < m; k++) {
      const base = members[k] * dim; const wk = w[k];
      for (let d = 0; d < dim; d++) points[row + d] += wk * features[base + d];
    }
  }
  rays.forEach((s, r) => {
    for (let step = 0; step < RAY_STEPS; step++) {
      const t = (step + 1) / RAY_STEPS;
      const row = (interiorProbes + r * RAY_STEPS + step) * dim;
      for (let d = 0; d < dim; d++) points[row + d] = centroid[d] + t * (features[s * dim + d] - centroid[d]);
    }
  });
  const { predicted } = headPredict(parts, points, total);
  let inside = 0;
  for (let p = 0; p < interiorProbes; p++) if (predicted[p] === attackerClass) inside++;
  let flipSum = 0; let toEnclosing = 0;
  rays.forEach((_, r) => {
    let flip = 1; let flippedTo = -1;
    for (let step = 0; step < RAY_STEPS; step++) {
      const c = predicted[interiorProbes + r * RAY_STEPS + step];
      if (c !== attackerClass) { flip = step / RAY_STEPS; flippedTo = c; break; }
    }
    flipSum += flip;
    if (flippedTo === enclosingClass) toEnclosing++;
  });
  return {
    interiorAttackerRate: interiorProbes ? inside / interiorProbes : 0,
    flipDistance: rays.length ? flipSum / rays.length : 0,
    flipToEnclosingRate: rays.length ? toEnclosing / rays.length : 0,
    probes: total,
  };
}
