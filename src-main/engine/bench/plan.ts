/** Which trials a defence benchmark run makes: cases, seeds, the test split's roles, the defences. */
import { ATTACKS, ATTACK_NAMES, type AttackName, type Scenario } from '../attacks/index.js';
import { ATTACK_VARIANTS, VARIANT_ATTACKS } from '../attacks/presets.js';
import type { Split } from '../data/dataset.js';
import { detectors as allDetectors } from '../detectors/registry.js';
import type { Detector } from '../detectors/types.js';
import { UserError } from '../errors.js';
import { createRng } from '../random.js';
import { type BenchCase, type BenchOptions, CLEAR_WITH_REFERENCE, type CleanGroup, FULL_TRIALS, type TrialRecord } from './types.js';

/**
 * Victim architecture per scenario when the caller names none. End to end, the reference cnn.
 * In transfer, the mlp: the clean-label attacks target a fixed feature extractor, and on MNIST
 * the cnn's features resisted them at the papers' budgets (Feature Collision, Convex Polytope
 * and Bullseye Polytope each 0 of 8 targets at defaults, Bullseye 1 of 4 at ε = 0.3), while on
 * the mlp they succeed part of the time as on CIFAR-10 (1, 2 and 4 of 8; bench/attack-success.ts,
 * seed 3, 2026-11-25).
 */
export const DEFAULT_ARCHS: Record<Scenario, string> = { e2e: 'cnn', transfer: 'mlp' };

export function benchArchs(arch?: string): Record<Scenario, string> {
  return arch ? { e2e: arch, transfer: arch } : { ...DEFAULT_ARCHS };
}

export const isClearVariant = (name: string) => name === 'clear' || name === CLEAR_WITH_REFERENCE;

export function resolveDefences(names: string[] | undefined, reference: number): Detector[] {
  const clear = allDetectors.find((d) => d.name === 'clear');
  const withReference: Detector | undefined = clear && { ...clear, name: CLEAR_WITH_REFERENCE, label: `${clear.label}, with the reference set` };
  const known = [...allDetectors, ...(withReference ? [withReference] : [])];
  if (!names || !names.length) {
    // CLEAR with and without the reference set, side by side, when there is one.
    return allDetectors.flatMap((d) => (d.name === 'clear' && reference > 0 && withReference ? [d, withReference] : [d]));
  }
  return names.map((n) => {
    const d = known.find((x) => x.name === n);
    if (!d) throw new UserError(`Unknown defence "${n}"; the registered ones are ${known.map((x) => x.name).join(', ')}.`);
    if (n === CLEAR_WITH_REFERENCE && reference <= 0) throw new UserError(`The defence ${CLEAR_WITH_REFERENCE} needs a reference set; add --reference N.`);
    return d;
  });
}

/** FNV-1a of a string, 31 bits: seeds that depend on names, not on positions in a list. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return (h >>> 0) & 0x7fffffff;
}

/**
 * The seed of one trial: its feature extractor, poisons and victims follow from it. It depends
 * on the case's name (or the clean trial's scenario) and index, so a trial keeps its seed when
 * the run's list of cases changes.
 */
export function trialSeedOf(seed: number, kind: 'attack' | 'clean', caseOrScenario: string, t: number): number {
  return hashSeed(`${seed}|${kind}|${caseOrScenario}|${t}`);
}

/** Trial t of every case of one attack shares its target(s), so a sweep over poison counts is paired. */
export function targetSeedOf(seed: number, attack: AttackName, t: number): number {
  return hashSeed(`${seed}|target|${attack}|${t}`);
}

export function scenarioFor(attack: AttackName, override?: Scenario): Scenario {
  return override ?? ATTACKS[attack].scenario;
}

export function poisonList(poisons: number | number[] | undefined): number[] | undefined {
  if (poisons === undefined) return undefined;
  const list = Array.isArray(poisons) ? poisons : [poisons];
  for (const k of list) {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`--poisons ${list.join(',')} must list whole numbers of at least 1.`);
  }
  return list.length ? [...new Set(list)] : undefined;
}

/**
 * The cases a run makes: every attack at each poison count, then each variant that applies
 * (with `variantsOnly`, the variants alone).
 */
export function benchCases(options: Pick<BenchOptions, 'poisons' | 'variants' | 'variantsOnly' | 'scenario' | 'arch'>, attacks: AttackName[]): BenchCase[] {
  const counts = poisonList(options.poisons);
  const archList = Array.isArray(options.arch) ? [...new Set(options.arch)] : options.arch ? [options.arch] : [];
  const multi = archList.length > 1;
  const archsFor = (scenario: Scenario) => (multi ? archList : [benchArchs(archList[0])[scenario]]);
  const variants = options.variants ?? [];
  if (options.variantsOnly && !variants.length) throw new UserError('--variants-only needs --variants: the variants to run without the published settings.');
  for (const v of variants) {
    if (!(ATTACK_VARIANTS as readonly string[]).includes(v)) throw new UserError(`Unknown variant "${v}"; use ${ATTACK_VARIANTS.join(', ')}.`);
    if (!attacks.some((a) => VARIANT_ATTACKS[v].includes(a))) {
      throw new UserError(`The variant ${v} applies to ${VARIANT_ATTACKS[v].join(', ')}; add one of them to --attacks.`);
    }
  }
  const cases: BenchCase[] = [];
  for (const attack of attacks) {
    const scenario = scenarioFor(attack, options.scenario);
    const fallback = ATTACKS[attack].defaultPoisons;
    // The name carries the count whenever it is not the attack's default, so a trial's name
    // says everything its outcome depends on beyond the run's settings.
    for (const arch of archsFor(scenario)) {
      const named = (base: string, k: number) => `${k === fallback ? base : `${base}:${k}`}${multi ? `@${arch}` : ''}`;
      if (!options.variantsOnly) for (const k of counts ?? [fallback]) cases.push({ id: named(attack, k), attack, scenario, arch, poisons: k, variant: null, targets: 1 });
      for (const v of variants) {
        if (!VARIANT_ATTACKS[v].includes(attack)) continue;
        const k = counts?.length === 1 ? counts[0] : fallback;
        cases.push({ id: named(`${attack}+${v}`, k), attack, scenario, arch, poisons: k, variant: v, targets: v === 'two-targets' ? 2 : 1 });
      }
    }
  }
  return cases;
}

/** Which trials a run with these options makes: cases, trials per case, clean trials per scenario. */
export function benchPlan(options: Pick<BenchOptions, 'attacks' | 'trials' | 'cleanTrials' | 'full' | 'scenario' | 'poisons' | 'variants' | 'variantsOnly' | 'arch'>) {
  const full = Boolean(options.full);
  // The full preset measures every attack unless the caller chose some.
  const attacks = options.attacks?.length ? options.attacks : full ? [...ATTACK_NAMES] : (['label-flip'] as AttackName[]);
  for (const a of attacks) if (!(ATTACK_NAMES as readonly string[]).includes(a)) throw new UserError(`Unknown attack "${a}"; use ${ATTACK_NAMES.join(', ')}.`);
  const cases = benchCases(options, attacks);
  const trials = Math.max(options.trials ?? 2, full ? FULL_TRIALS : 0);
  const cleanTrials = Math.max(options.cleanTrials ?? 1, full ? FULL_TRIALS : 0);
  const scenarios: Record<string, Scenario> = {};
  for (const c of cases) scenarios[c.id] = c.scenario;
  /** Clean trials run per scenario and victim architecture that some case uses. */
  const cleanGroups: CleanGroup[] = [];
  for (const c of cases) if (!cleanGroups.some((g) => g.scenario === c.scenario && g.arch === c.arch)) cleanGroups.push({ scenario: c.scenario, arch: c.arch });
  const multiArch = new Set(cases.map((c) => c.arch)).size > 1 || (Array.isArray(options.arch) && new Set(options.arch).size > 1);
  /** What names a clean trial's seed: its scenario, and its architecture when a run has several. */
  const cleanKey = (g: CleanGroup) => (multiArch ? `${g.scenario}@${g.arch}` : g.scenario);
  /** The trial belongs to this run (so a run that reuses it keeps it in its result). */
  const includes = (r: Pick<TrialRecord, 'kind' | 'case' | 'scenario' | 'arch' | 'trial'>) => (r.kind === 'attack'
    ? r.case !== null && scenarios[r.case] === r.scenario && r.trial < trials
    : cleanGroups.some((g) => g.scenario === r.scenario && g.arch === r.arch) && r.trial < cleanTrials);
  return { full, attacks, cases, trials, cleanTrials, scenarios, cleanGroups, cleanKey, includes };
}

/**
 * The test split's roles: `reference` (the trusted set, drawn once per run with the run's
 * seed) and `pool` (the rest, where targets are drawn and accuracy is measured, each target
 * excluded from the accuracy of its own trial).
 */
export function splitTestForBench(test: Split, reference: number, seed: number): { reference: number[]; pool: number[] } {
  if (!Number.isInteger(reference) || reference < 0) throw new UserError(`--reference ${reference} must be a whole number of test samples (0 for none).`);
  if (reference > 0 && test.count - reference < 20) {
    throw new UserError(`--reference ${reference} leaves ${Math.max(0, test.count - reference)} of the ${test.count} test samples for targets and accuracy; use at most ${Math.max(0, test.count - 20)}.`);
  }
  const order = Array.from({ length: test.count }, (_, i) => i);
  if (reference > 0) createRng(hashSeed(`${seed}|reference`)).shuffle(order);
  const ref = order.slice(0, reference).sort((a, b) => a - b);
  const inRef = new Set(ref);
  return { reference: ref, pool: Array.from({ length: test.count }, (_, i) => i).filter((i) => !inRef.has(i)) };
}
