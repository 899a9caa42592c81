// One `clearwb bench` attack trial rebuilt exactly (same seeds as engine/bench/defence.ts) for
// the development studies, and the folder trial-scan.ts caches its victim in.
// TRIAL_VARIANT=strong (or two-targets) rebuilds that variant's case of the attack.
// TRIAL_POISONS=K rebuilds the case of that poison count (as trial-scan.ts does).
import os from 'node:os';
import path from 'node:path';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import type { AttackName } from '../../src-main/engine/attacks/index.js';
import type { AttackManifest } from '../../src-main/contract/results.js';
import { benchCases, setupTrial, splitTestForBench, trialSeedOf } from '../../src-main/engine/bench/defence.js';

export interface RebuiltTrial {
  ds: Dataset;
  manifest: AttackManifest;
  trialSeed: number;
  /** Where trial-scan.ts keeps the trial's victim. */
  cache: string;
  label: string;
}

export async function rebuildAttackTrial(benchSeed: number, t: number, attack: AttackName, arch: string, scenario: 'e2e' | 'transfer'): Promise<RebuiltTrial> {
  const variant = process.env.TRIAL_VARIANT;
  const poisons = process.env.TRIAL_POISONS ? [Number(process.env.TRIAL_POISONS)] : undefined;
  const benchCase = variant
    ? benchCases({ scenario, arch, poisons, variants: [variant as never] }, [attack]).find((c) => c.variant === variant)!
    : benchCases({ scenario, arch, poisons }, [attack])[0];
  const trialSeed = trialSeedOf(benchSeed, 'attack', benchCase.id, t);
  const ds0 = await loadDataset('mnist');
  const { pool } = splitTestForBench(ds0.test, 0, benchSeed);
  const setup = await setupTrial(ds0, { seed: benchSeed, arch, pool }, benchCase, scenario, trialSeed, t);
  const suffix = `${attack}${variant ? `+${variant}` : ''}${poisons ? `-k${poisons[0]}` : ''}`;
  return {
    ds: setup.data, manifest: setup.manifests[0], trialSeed,
    cache: path.join(os.tmpdir(), `clear-trial-v2-${benchSeed}-attack-${t}-${suffix}-${arch}-${scenario}`),
    label: `${suffix} t${t}`,
  };
}
