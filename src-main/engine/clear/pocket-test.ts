/**
 * The pocket test: ask the model's own head whether a candidate group
 * sits in a pocket. Interior probes are Dirichlet mixtures of the members' feature vectors;
 * ray probes walk from the members' centroid toward each shell point. A planted pocket is
 * predicted as the attacker class inside and flips to the enclosing class a short way out.
 */
import type { Rng } from '../random.js';
import { headPredict } from '../features/embed.js';
import type { SplitModel } from '../features/split.js';

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

/** One group's probe points, built but not yet run through the head. */
export interface PocketProbe {
  points: Float32Array;
  total: number;
  interiorProbes: number;
  rays: number;
  attackerClass: number;
  enclosingClass: number;
}

/** Builds the interior and ray probes of a group (consuming `rng` exactly as {@link probePocket} does). */
export function buildProbe(
  dim: number,
  features: Float32Array,
  members: readonly number[],
  shell: readonly number[],
  attackerClass: number,
  enclosingClass: number,
  rng: Rng,
  interiorProbes = 64,
  maxRays = 24,
): PocketProbe {
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
  return { points, total, interiorProbes, rays: rays.length, attackerClass, enclosingClass };
}

/** Reads a probe's result from the head's predictions for its points. */
export function readProbe(probe: PocketProbe, predicted: ArrayLike<number>, offset = 0): PocketProbeResult {
  const { interiorProbes, rays, attackerClass, enclosingClass } = probe;
  let inside = 0;
  for (let p = 0; p < interiorProbes; p++) if (predicted[offset + p] === attackerClass) inside++;
  let flipSum = 0; let toEnclosing = 0;
  for (let r = 0; r < rays; r++) {
    let flip = 1; let flippedTo = -1;
    for (let step = 0; step < RAY_STEPS; step++) {
      const c = predicted[offset + interiorProbes + r * RAY_STEPS + step];
      if (c !== attackerClass) { flip = step / RAY_STEPS; flippedTo = c; break; }
    }
    flipSum += flip;
    if (flippedTo === enclosingClass) toEnclosing++;
  }
  return {
    interiorAttackerRate: interiorProbes ? inside / interiorProbes : 0,
    flipDistance: rays ? flipSum / rays : 0,
    flipToEnclosingRate: rays ? toEnclosing / rays : 0,
    probes: probe.total,
  };
}

/** Probe points run through the head per call when many groups are probed together. */
export const PROBE_BATCH_POINTS = 16384;

/**
 * Runs many groups' probes through the head in a few large predictions instead of one per
 * group (the per-call overhead dominates for small heads); results in the order given.
 */
export function runProbes(parts: SplitModel, probes: readonly PocketProbe[]): PocketProbeResult[] {
  const dim = parts.featureDim;
  const results: PocketProbeResult[] = [];
  for (let start = 0; start < probes.length;) {
    let end = start; let points = 0;
    while (end < probes.length && (end === start || points + probes[end].total <= PROBE_BATCH_POINTS)) points += probes[end++].total;
    const batch = new Float32Array(points * dim);
    let offset = 0;
    for (let g = start; g < end; g++) { batch.set(probes[g].points, offset * dim); offset += probes[g].total; }
    const { predicted } = points ? headPredict(parts, batch, points) : { predicted: new Int32Array(0) };
    offset = 0;
    for (let g = start; g < end; g++) { results.push(readProbe(probes[g], predicted, offset)); offset += probes[g].total; }
    start = end;
  }
  return results;
}

/** {@link buildProbe}'s arguments after the feature dimension. */
type ProbeArguments = Parameters<typeof buildProbe> extends [number, ...infer Rest] ? Rest : never;

/** One group's pocket test: its probes built and run through the head. */
export function probePocket(parts: SplitModel, ...args: ProbeArguments): PocketProbeResult {
  return runProbes(parts, [buildProbe(parts.featureDim, ...args)])[0];
}
