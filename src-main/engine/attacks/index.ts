/**
 * The attack registry: the benchmark, the CLI and the demo look
 * attacks up by name here.
 */
import { ATTACK_DEFAULT_POISONS } from '../../contract/catalogue.js';
import { UserError } from '../errors.js';
import { bullseyePolytopeAttack } from './bullseye-polytope.js';
import { convexPolytopeAttack } from './convex-polytope.js';
import { featureCollisionAttack } from './feature-collision.js';
import { labelFlipAttack } from './label-flip.js';
import { ATTACK_NAMES, type AttackInfo, type AttackName } from './types.js';

export const ATTACKS: Readonly<Record<AttackName, AttackInfo>> = {
  'label-flip': {
    name: 'label-flip', label: 'Label-flip copies', cleanLabel: false, scenario: 'e2e', defaultPoisons: ATTACK_DEFAULT_POISONS['label-flip'], run: labelFlipAttack,
  },
  fc: {
    name: 'fc', label: 'Feature Collision (Shafahi et al. 2018)', cleanLabel: true, scenario: 'transfer', defaultPoisons: ATTACK_DEFAULT_POISONS.fc, run: featureCollisionAttack,
  },
  cp: {
    name: 'cp', label: 'Convex Polytope (Zhu et al. 2019)', cleanLabel: true, scenario: 'transfer', defaultPoisons: ATTACK_DEFAULT_POISONS.cp, run: convexPolytopeAttack,
  },
  bp: {
    name: 'bp', label: 'Bullseye Polytope (Aghakhani et al. 2021)', cleanLabel: true, scenario: 'transfer', defaultPoisons: ATTACK_DEFAULT_POISONS.bp, run: bullseyePolytopeAttack,
  },
};

export function getAttack(name: string): AttackInfo {
  if (!(ATTACK_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`Unknown attack "${name}"; the built-in ones are ${ATTACK_NAMES.join(', ')}.`);
  }
  return ATTACKS[name as AttackName];
}

export * from './types.js';
export { labelFlipAttack } from './label-flip.js';
export { featureCollisionAttack, FC_E2E_WATERMARK } from './feature-collision.js';
export { convexPolytopeAttack } from './convex-polytope.js';
export { bullseyePolytopeAttack } from './bullseye-polytope.js';
export { trainCleanFeatureModel, type CleanFeatureModel } from './feature-model.js';
export { trainVictim, cloneModel, type Scenario, type VictimOptions, type VictimResult, SCENARIOS } from './scenario.js';
export { ATTACK_VARIANTS, VARIANT_ATTACKS, PUBLISHED_SETTINGS, caseParams, type AttackVariant } from './presets.js';
