/**
 * Convex Polytope (Zhu et al. 2019, "Transferable Clean-Label Poisoning Attacks on Deep
 * Neural Nets"): K clean-label poisons near bases of class `A` whose features' convex
 * combination reaches φ(t). The optimiser lives in polytope.ts.
 */
import type { Dataset } from '../data/dataset.js';
import type { JobContext } from '../progress.js';
import { polytopeAttack } from './polytope.js';
import type { AttackParams, AttackResult } from './types.js';

export function convexPolytopeAttack(ds: Dataset, params: AttackParams, ctx: JobContext = {}): Promise<AttackResult> {
  return polytopeAttack(ds, params, ctx, 'cp');
}
