/**
 * The attack settings the benchmark uses, next to the papers' (README, "The benchmarks").
 * By default every attack runs as published: clean-label poisons replace bases drawn at random
 * from the attacker's class, Feature Collision at the paper's β0 (with its 30% watermark end to
 * end), the polytope attacks at an 8/255 budget. Stronger settings are named variants that run
 * beside the published ones, never instead of them, and the success rate is reported whatever
 * it is.
 */
import { FC_DEFAULT_BETA0, FC_E2E_WATERMARK } from './feature-collision.js';
import { DEFAULT_MAX_SHIFT, DEFAULT_NOISE_STD } from './label-flip.js';
import { POLYTOPE_DEFAULT_EPSILON, POLYTOPE_STRONG_EPSILON } from './polytope.js';
import type { AttackName, AttackParams } from './types.js';

/**
 * Named variants:
 * - `strong` (fc, cp, bp): bases nearest the target in feature space; cp and bp at ε = 0.2,
 *   fc with the target watermarked in at 30% in every scenario.
 * - `nearest` (fc, cp, bp): the published budgets with nearest-feature bases only.
 * - `augmented` (label-flip): copies shifted by up to 2 px with noise σ = 0.05, so they look
 *   less like one another (an adaptive attacker against duplicate-like groups).
 * - `two-targets` (label-flip): two targets of one attacker class poisoned at once, each with
 *   its own copies; the attack succeeds when both flip.
 */
export { ATTACK_VARIANTS, type AttackVariant } from '../../contract/catalogue.js';
import type { AttackVariant } from '../../contract/catalogue.js';

export const VARIANT_ATTACKS: Readonly<Record<AttackVariant, readonly AttackName[]>> = {
  strong: ['fc', 'cp', 'bp'],
  nearest: ['fc', 'cp', 'bp'],
  augmented: ['label-flip'],
  'two-targets': ['label-flip'],
};

export const AUGMENTED_MAX_SHIFT = 2;
export const AUGMENTED_NOISE_STD = 0.05;

/** The attack parameters of one benchmark case (the variant's overrides on the published settings). */
export function caseParams(attack: AttackName, scenario: 'e2e' | 'transfer', variant?: AttackVariant): Partial<AttackParams> {
  if (attack === 'label-flip') {
    return variant === 'augmented' ? { maxShift: AUGMENTED_MAX_SHIFT, noiseStd: AUGMENTED_NOISE_STD } : {};
  }
  const watermark = scenario === 'e2e' ? { watermark: FC_E2E_WATERMARK } : {};
  const published: Partial<AttackParams> = { baseChoice: 'random', placement: 'replace', ...(attack === 'fc' ? watermark : {}) };
  if (variant === 'nearest') return { ...published, baseChoice: 'nearest' };
  if (variant === 'strong') {
    return attack === 'fc'
      ? { ...published, baseChoice: 'nearest', watermark: FC_E2E_WATERMARK }
      : { ...published, baseChoice: 'nearest', epsilon: POLYTOPE_STRONG_EPSILON };
  }
  return published;
}

export interface PublishedSettings {
  source: string;
  /** The settings as the paper states them, in words where units differ from ours. */
  settings: Record<string, string | number>;
  /** Where the benchmark departs from the paper, and why. */
  departures: string[];
}

/** What the papers used, reported beside the benchmark's own settings in bench.json and bench.md. */
export const PUBLISHED_SETTINGS: Readonly<Record<AttackName, PublishedSettings>> = {
  'label-flip': {
    source: 'none (the dirty-label reference attack of this benchmark)',
    settings: { maxShift: DEFAULT_MAX_SHIFT, noiseStd: DEFAULT_NOISE_STD },
    departures: [],
  },
  fc: {
    source: 'Shafahi et al. 2018 (Poison Frogs)',
    settings: { beta0: FC_DEFAULT_BETA0, watermark: '0.3 end to end, none in transfer', bases: 'random from the attacker class', placement: 'poisons replace their bases' },
    departures: [
      'pixels in [0, 1] and a feature term normalised by ‖φ(t)‖², so β0 = 0.25 weighs the pixel term differently than on 0–255 inputs',
      'several poisons per target in transfer (the paper also reports one-shot attacks on its larger network)',
    ],
  },
  cp: {
    source: 'Zhu et al. 2019 (Convex Polytope)',
    settings: { epsilon: `8/255 ≈ ${POLYTOPE_DEFAULT_EPSILON.toFixed(3)} on [0, 1] pixels`, poisons: 5, bases: 'random from the attacker class', placement: 'poisons replace their bases' },
    departures: ['25 poisons instead of 5: MNIST networks are small and the attack succeeds less with fewer', 'Adam steps stop once the loss settles on MNIST (hundreds, not thousands)'],
  },
  bp: {
    source: 'Aghakhani et al. 2021 (Bullseye Polytope)',
    settings: { epsilon: `8/255 ≈ ${POLYTOPE_DEFAULT_EPSILON.toFixed(3)} on [0, 1] pixels`, poisons: 5, bases: 'random from the attacker class', placement: 'poisons replace their bases' },
    departures: ['25 poisons instead of 5, as for Convex Polytope', 'Adam steps stop once the loss settles on MNIST (hundreds, not thousands)'],
  },
};
