import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { BENCH_SCHEMA, benchDefences, checkCleanSeeds, cleanSeedOf, holdsAcrossSeeds, repairFlagged, splitTestForBench, type TrialRecord } from '../../../src-main/engine/bench/defence.js';
import { loadDataset } from '../../../src-main/engine/data/load.js';
import { DEFAULT_FALSE_ALARM } from '../../../src-main/contract/results.js';

const TRIAL_KEYS = ['attackSucceeded', 'cleanVictimCorrect', 'targetFlipped', 'targets', 'poisonIndices', 'trainSeconds', 'calibrationScores'];
const DEFENCE_KEYS = ['flagged', 'ownFlagged', 'verdictRule', 'attempt', 'found', 'precision', 'recall', 'targetBefore', 'targetAfter', 'cleanAccBefore', 'cleanAccAfter', 'scanSeconds', 'repairSeconds', 'trainSeconds', 'reference'];

describe('clear bench (smoke)', () => {
  it('runs a label-flip and a clean trial with clear (with and without a reference set) and deep-knn', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1500, seed: 0 });
    const r = await benchDefences(ds, {
      attacks: ['label-flip'], defences: ['clear', 'clear+ref', 'deep-knn'], trials: 1, cleanTrials: 1, seed: 3, arch: 'mlp', epochs: 2,
      reference: 200, fineTune: { epochs: 1, replay: 300 }, argv: ['bench', '--test'],
    });
    const json = JSON.parse(JSON.stringify(r));
    expect(json.schema).toBe(BENCH_SCHEMA);
    expect(json.argv).toEqual(['bench', '--test']);
    expect(json.trials).toHaveLength(2);
    const attackTrial: TrialRecord = json.trials.find((t: TrialRecord) => t.kind === 'attack');
    const cleanTrial: TrialRecord = json.trials.find((t: TrialRecord) => t.kind === 'clean');
    expect(attackTrial.poisonIndices.length).toBe(20);
    expect(cleanTrial.poisonIndices).toEqual([]);
    // The counterfactual: success = clean victim right and poisoned victim says the attacker class.
    const [target] = attackTrial.targets;
    expect(target.targetIndex).toBe(attackTrial.targetIndex);
    expect(attackTrial.cleanVictimCorrect).toBe(target.cleanPredicted === target.targetClass);
    expect(attackTrial.targetFlipped).toBe(target.poisonedPredicted === attackTrial.attackerClass);
    expect(attackTrial.attackSucceeded).toBe(attackTrial.cleanVictimCorrect && attackTrial.targetFlipped);
    expect(attackTrial.cleanVictimAcc).toBeGreaterThan(0.5);
    // The reference set is apart from the target, and deep-knn was calibrated on the clean victim.
    expect(json.settings.reference.size).toBe(200);
    expect(json.settings.reference.indices).not.toContain(attackTrial.targetIndex);
    expect(typeof attackTrial.calibrationScores['deep-knn']).toBe('number');
    expect(json.calibration).toEqual([expect.objectContaining({ scenario: 'e2e', defence: 'deep-knn', models: 1 })]);
    for (const t of json.trials as TrialRecord[]) {
      for (const k of TRIAL_KEYS) expect(t).toHaveProperty(k);
      expect(t.defences.map((d) => d.defence)).toEqual(['clear', 'clear+ref', 'deep-knn']);
      expect(t.defences.map((d) => d.reference)).toEqual([false, true, true]);
      // CLEAR runs at the scan's default level, the one users get, with its own verdict.
      expect(t.defences[0].falseAlarm).toBe(DEFAULT_FALSE_ALARM);
      expect(t.defences[0].verdictRule).toBe('own');
      expect(t.defences[0].flagged).toBe(t.defences[0].ownFlagged);
      expect(t.defences[2].verdictRule).toBe('calibrated');
      const threshold = json.calibration[0].threshold as number;
      expect(t.defences[2].flagged).toBe(t.defences[2].summaryScore > threshold);
      for (const d of t.defences) {
        for (const k of DEFENCE_KEYS) expect(d).toHaveProperty(k);
        if (t.kind === 'attack') {
          const poisons = new Set<number>(t.poisonIndices);
          const tp = new Set(d.found.filter((i) => poisons.has(i))).size;
          expect(d.precision).toBeCloseTo(d.found.length ? tp / new Set(d.found).size : 0, 10);
          expect(d.recall).toBeCloseTo(tp / poisons.size, 10);
        } else {
          expect(d.precision).toBeNull();
          expect(d.recall).toBeNull();
          expect(d.repaired).toBe(false);
        }
      }
    }
    expect(json.summary).toHaveLength(3);
    for (const row of json.summary) {
      expect(row.attempts).toBe(1);
      expect(row.falseAlarms.n).toBe(1);
      expect(row.detection.n).toBe(attackTrial.attackSucceeded ? 1 : 0);
    }
    expect(json.comparisons.map((c: { defence: string; versus: string }) => `${c.defence}/${c.versus}`)).toEqual(['clear/clear+ref', 'clear/deep-knn', 'clear+ref/deep-knn']);
    expect(json.rocs[0].series.map((s: { name: string }) => s.name)).toEqual(['clear', 'clear+ref', 'deep-knn']);
    expect(json.attackSettings[0]).toMatchObject({ case: 'label-flip', used: { poisons: 20 } });
    expect(json.markdown).toContain('| label-flip (e2e, mlp) | clear | own |');
    expect(json.markdown).toContain('exact McNemar p');
  }, 300_000);

  it('gives every clean transfer model its own clean feature extractor, on each victim architecture asked for', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1000, seed: 0 });
    const r = await benchDefences(ds, {
      attacks: ['label-flip'], scenario: 'transfer', defences: ['none'], trials: 1, cleanTrials: 2, seed: 5, arch: ['mlp', 'cnn'], epochs: 2, cleanEpochs: 1,
    });
    expect(r.settings.cases.map((c) => c.id)).toEqual(['label-flip@mlp', 'label-flip@cnn']);
    expect(r.settings.archs.transfer).toEqual(['mlp', 'cnn']);
    expect(r.trials.map((t) => `${t.kind}/${t.arch}`)).toEqual(['attack/mlp', 'attack/cnn', 'clean/mlp', 'clean/mlp', 'clean/cnn', 'clean/cnn']);
    const sums = r.trials.map((t) => t.featureChecksum);
    for (const s of sums) expect(typeof s).toBe('number');
    expect(new Set(sums).size).toBe(sums.length);
    // Each case is summarised against the clean models of its own architecture.
    expect(r.summary.map((row) => [row.case, row.arch, row.falseAlarms.n])).toEqual([['label-flip@mlp', 'mlp', 2], ['label-flip@cnn', 'cnn', 2]]);
  }, 300_000);

  it('poisons two targets at once, and repairs a baseline only where its calibrated verdict flagged a successful attack', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1000, seed: 0 });
    const r = await benchDefences(ds, {
      attacks: ['label-flip'], variants: ['two-targets'], scenario: 'transfer', defences: ['deep-knn', 'none'],
      trials: 1, cleanTrials: 0, seed: 11, arch: 'mlp', cleanEpochs: 2,
    });
    expect(r.settings.cases.map((c) => c.id)).toEqual(['label-flip', 'label-flip+two-targets']);
    const pairs = r.trials.filter((t) => t.case === 'label-flip+two-targets');
    expect(pairs).toHaveLength(1);
    for (const t of pairs) {
      expect(t.targets).toHaveLength(2);
      expect(t.targets[0].targetIndex).not.toBe(t.targets[1].targetIndex);
      for (const x of t.targets) expect(x.targetClass).not.toBe(t.attackerClass);
      expect(t.poisonIndices).toHaveLength(40);
      expect(t.attackSucceeded).toBe(t.targets.every((x) => x.cleanPredicted === x.targetClass && x.poisonedPredicted === t.attackerClass));
    }
    // Trial t of every case of an attack shares its first target: a sweep is paired.
    for (const t of pairs) expect(r.trials.find((x) => x.case === 'label-flip' && x.trial === t.trial)!.targetIndex).toBe(t.targetIndex);
    for (const t of r.trials) {
      const knn = t.defences.find((d) => d.defence === 'deep-knn')!;
      expect(knn.mitigation).toBe('remove-retrain');
      // Repaired exactly where the attack succeeded and the calibrated verdict flagged.
      expect(knn.repaired).toBe(t.attackSucceeded && knn.flagged && knn.found.length > 0);
      if (!knn.repaired) expect(knn.targetAfter).toBe(t.targetBefore);
      expect(t.defences.find((d) => d.defence === 'none')!.repaired).toBe(false);
    }
  }, 300_000);

  it('a baseline\'s repair removes what it found and retrains: without exactly the poisons, the clean victim comes back', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1000, seed: 0 });
    const options = { attacks: ['label-flip' as const], scenario: 'transfer' as const, defences: ['deep-knn'], trials: 2, cleanTrials: 0, seed: 11, arch: 'mlp', cleanEpochs: 2 };
    const r = await benchDefences(ds, options);
    const t = r.trials.find((x) => x.attackSucceeded);
    expect(t, 'the seeded run must hold a successful attack for this test to mean anything').toBeDefined();
    // As if deep-knn had flagged this model and found exactly the poisons.
    const knn = t!.defences[0];
    Object.assign(knn, { flagged: true, repaired: false, found: [...t!.poisonIndices] });
    const { pool } = splitTestForBench(ds.test, 0, options.seed);
    const seen: TrialRecord[] = [];
    const n = await repairFlagged(ds, [t!], { cases: r.settings.cases, seed: options.seed, pool, reference: [], cleanEpochs: 2, onTrial: (x) => seen.push(x) });
    expect(n).toBe(1);
    expect(seen).toEqual([t]);
    expect(knn.repaired).toBe(true);
    // The same seed and the same data without the poisons: the counterfactual clean victim again.
    expect(knn.targetAfter).toBe(t!.targets[0].cleanPredicted);
    expect(knn.cleanAccAfter).toBe(t!.cleanVictimAcc);
    // Already repaired: nothing more to do.
    expect(await repairFlagged(ds, [t!], { cases: r.settings.cases, seed: options.seed, pool, reference: [], cleanEpochs: 2 })).toBe(0);
  }, 300_000);

  it('trains further clean victims with other seeds for each successful attack, reports detection apart for those that hold, and adds them on a later call', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1000, seed: 0 });
    const options = { attacks: ['label-flip' as const], scenario: 'transfer' as const, defences: ['clear', 'none'], trials: 2, cleanTrials: 0, seed: 11, arch: 'mlp', cleanEpochs: 2, cleanSeeds: 2 };
    const seen: TrialRecord[] = [];
    const stages: { stage: string; fraction: number; message?: string }[] = [];
    const r = await benchDefences(ds, { ...options, onTrial: (x) => seen.push(x) }, { onProgress: (e) => stages.push(e) });
    const ok = r.trials.filter((x) => x.attackSucceeded);
    // A stage of its own, counted from 0, so a log shows it after the trials' 100%.
    expect(stages.filter((e) => e.stage === 'bench-seeds')).toEqual(ok.map((_, i) => ({
      stage: 'bench-seeds', fraction: i / ok.length, message: `further clean victims (other seeds) of the successful attacks: trial ${i + 1} of ${ok.length}`,
    })));
    expect(ok.length, 'the seeded run must hold a successful attack for this test to mean anything').toBeGreaterThan(0);
    for (const t of r.trials) {
      if (!t.attackSucceeded) { expect(t.cleanSeedChecks).toBeUndefined(); continue; }
      expect(t.cleanSeedChecks!.map((c) => c.seed)).toEqual([cleanSeedOf(t.seed, 1), cleanSeedOf(t.seed, 2)]);
      for (const c of t.cleanSeedChecks!) {
        expect(c.seed).not.toBe(t.seed);
        expect(c.predicted).toHaveLength(1);
        expect(c.predicted[0]).toBeGreaterThanOrEqual(0);
        expect(c.predicted[0]).toBeLessThan(10);
      }
      // Written to the checkpoint again once checked.
      expect(seen.filter((x) => x === t).length).toBe(2);
    }
    expect(cleanSeedOf(123, 0)).toBe(123);
    expect(r.settings.cleanSeeds).toBe(2);
    const holding = ok.filter(holdsAcrossSeeds);
    expect(r.seedChecks).toEqual([expect.objectContaining({
      case: 'label-flip', defence: 'clear', seeds: 2, successful: ok.length, holding: holding.length,
    })]);
    expect(r.seedChecks![0].detectionHolding.n + r.seedChecks![0].detectionNotHolding.n).toBe(ok.length);
    expect(r.markdown).toContain('### Successful attacks that hold across seeds');
    // Already checked at 2: nothing to train; a third seed adds one victim per success and keeps the first two.
    const { pool } = splitTestForBench(ds.test, 0, options.seed);
    const settings = { seed: options.seed, pool, cleanEpochs: 2 };
    expect(await checkCleanSeeds(ds, r.trials, { ...settings, seeds: 2 })).toBe(0);
    const before = ok.map((t) => t.cleanSeedChecks!.slice());
    expect(await checkCleanSeeds(ds, r.trials, { ...settings, seeds: 3 })).toBe(ok.length);
    for (const [i, t] of ok.entries()) {
      expect(t.cleanSeedChecks!.slice(0, 2)).toEqual(before[i]);
      expect(t.cleanSeedChecks![2].seed).toBe(cleanSeedOf(t.seed, 3));
    }
  }, 300_000);
});
