/**
 * Bullseye Polytope (Aghakhani et al. 2021, "Bullseye Polytope: A Scalable Clean-Label
 * Poisoning Attack with Improved Transferability"): as Convex Polytope with the coefficients
 * fixed to 1/K, so the mean of the poisons' features is pushed onto φ(t). The optimiser
 * lives in polytope.ts.
 */
import type { Dataset } from '../data/dataset.js';
import type { JobContext } from '../progress.js';
import { polytopeAttack } from './polytope.js';
import type { AttackParams, AttackResult } from './types.js';

export function bullseyePolytopeAttack(ds: Dataset, params: AttackParams, ctx: JobContext = {}): Promise<AttackResult> {
  return polytopeAttack(ds, params, ctx, 'bp');
}
