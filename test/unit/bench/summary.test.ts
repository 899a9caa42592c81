import { describe, expect, it } from 'vitest';
import {
  applyVerdicts, benchCases, benchMarkdown, calibrate, compareDefences, falseAlarmLevels, holdsAcrossSeeds, levelsMarkdown, rocAuc, rocPlots, splitTestForBench, summarise, summariseCases, summariseSeedChecks,
  truncateGraph, type BenchCase, type DefenceRecord, type TrialRecord,
} from '../../../src-main/engine/bench/defence.js';

const LF: BenchCase = { id: 'label-flip', attack: 'label-flip', scenario: 'e2e', arch: 'mlp', poisons: 2, variant: null, targets: 1 };

function defence(name: string, o: Partial<DefenceRecord> = {}): DefenceRecord {
  return {
    defence: name, flagged: false, verdictRule: name === 'clear' ? 'own' : 'calibrated', ownFlagged: false, attempt: null,
    found: [], precision: 0, recall: 0, targetBefore: 1, targetAfter: 1, otherTargetsAfter: [], cleanAccBefore: 0.9, cleanAccAfter: 0.9,
    scanSeconds: 1, repairSeconds: 0, trainSeconds: 10, repaired: false, mitigation: 'remove-retrain', summaryScore: 0, falseAlarm: null,
    reference: false, ...o,
  };
}

/** An attack trial: the clean victim predicts `clean`, the poisoned one `poisoned`; true class 0, attacker class 1. */
function attackTrial(clean: number, poisoned: number, defences: DefenceRecord[], calibrationScores: Record<string, number> = {}): TrialRecord {
  return {
    kind: 'attack', case: 'label-flip', attack: 'label-flip', variant: null, scenario: 'e2e', arch: 'mlp', trial: 0, seed: 0,
    targetIndex: 5, targetClass: 0, attackerClass: 1, targets: [{ targetIndex: 5, targetClass: 0, cleanPredicted: clean, poisonedPredicted: poisoned }],
    poisonIndices: [100, 101], baseIndices: [], attackSettings: { poisons: 2 },
    cleanVictimCorrect: clean === 0, targetFlipped: poisoned === 1, attackSucceeded: clean === 0 && poisoned === 1,
    targetBefore: poisoned, cleanAccBefore: 0.9, cleanVictimAcc: 0.91, calibrationScores, featureChecksum: null,
    trainSeconds: 10, cleanVictimSeconds: 10, featureSeconds: 0, craftSeconds: 0, prepareSeconds: 0, defences,
  };
}

function cleanTrial(defences: DefenceRecord[]): TrialRecord {
  return { ...attackTrial(0, 0, defences), kind: 'clean', case: null, attack: null, targets: [], poisonIndices: [], cleanVictimCorrect: null, targetFlipped: false, attackSucceeded: false, targetIndex: null, targetClass: null, attackerClass: null, calibrationScores: {} };
}

describe('bench summary', () => {
  it('rocAuc counts pairs won, ties as half, and is null without both kinds', () => {
    expect(rocAuc([3, 2], [1, 0])).toBe(1);
    expect(rocAuc([0], [1, 2])).toBe(0);
    expect(rocAuc([1, 3], [1, 2])).toBe(0.625); // (0.5 + 0) + (1 + 1) over 4
    expect(rocAuc([], [1])).toBeNull();
  });

  it('splits detection by whether the successful attacks hold across seeds, and only where every success was checked', () => {
    const checked = (r: TrialRecord, ...predicted: number[]): TrialRecord => ({ ...r, cleanSeedChecks: predicted.map((p, j) => ({ seed: j + 1, predicted: [p] })) });
    const flagged = () => defence('clear', { ownFlagged: true });
    const records = [
      checked(attackTrial(0, 1, [flagged()]), 0, 0), // holds, detected
      checked(attackTrial(0, 1, [defence('clear')]), 0, 0), // holds, missed
      checked(attackTrial(0, 1, [defence('clear')]), 0, 1), // one other clean victim says the attacker's class: does not hold, missed
      checked(attackTrial(0, 0, [defence('clear')])), // a failed attempt: never checked, not counted
    ];
    applyVerdicts(records, []);
    expect(records.map(holdsAcrossSeeds)).toEqual([true, true, false, true]);
    const [row, ...more] = summariseSeedChecks(records, [LF], ['clear', 'none']);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ case: 'label-flip', defence: 'clear', seeds: 2, successful: 3, holding: 2 });
    expect(row.detectionHolding).toMatchObject({ k: 1, n: 2 });
    expect(row.detectionNotHolding).toMatchObject({ k: 0, n: 1 });
    // A success without further clean victims: the split is not reported for its case.
    records.push(attackTrial(0, 1, [flagged()]));
    applyVerdicts(records, []);
    expect(summariseSeedChecks(records, [LF], ['clear'])).toEqual([]);
  });

  it('counts a success only where the clean victim was right and the poisoned one says the attacker class', () => {
    const records = [
      attackTrial(0, 1, [defence('clear', { ownFlagged: true, summaryScore: 5 })]), // success
      attackTrial(7, 1, [defence('clear', { ownFlagged: true, summaryScore: 4 })]), // clean victim wrong: flipped, not counted
      attackTrial(0, 0, [defence('clear', { attempt: true })]), // failed attempt, noticed
      attackTrial(0, 3, [defence('clear')]), // failed attempt, not noticed
      cleanTrial([defence('clear', { summaryScore: 1 })]),
      cleanTrial([defence('clear', { summaryScore: 1, attempt: true })]), // an attempt reported on a clean model
    ];
    applyVerdicts(records, []);
    const [c] = summariseCases(records, [LF]);
    expect(c.attempts).toBe(4);
    expect(c.success.k).toBe(1);
    expect(c.success.n).toBe(4);
    expect(c.cleanVictimWrong).toBe(1);
    expect(c.flippedNotCounted).toBe(1);
    const [row] = summarise(records, [LF], ['clear']);
    expect(row.successful).toBe(1);
    expect(row.detection).toMatchObject({ k: 1, n: 1, rate: 1 });
    expect(row.noticedFailed).toMatchObject({ k: 2, n: 3 }); // the flagged clean-wrong trial and the reported attempt
    expect(row.noticedAll).toMatchObject({ k: 3, n: 4 });
    expect(row.falseAlarms).toMatchObject({ k: 0, n: 2 });
    expect(row.attemptAlarms).toMatchObject({ k: 1, n: 2 });
    expect(row.detection.ci!.lower).toBeCloseTo(0.025, 3); // Clopper–Pearson of 1/1
    expect(row.scoreAuc).toBe(1);
  });

  it('calibrates the baselines on clean victims, applies the threshold, and keeps CLEAR\'s own verdict', () => {
    const scores = [0.1, 0.5, 0.3];
    const records = scores.map((s, i) => attackTrial(0, 1, [
      defence('clear', { ownFlagged: i === 0 }),
      defence('deep-knn', { ownFlagged: true, summaryScore: [0.6, 0.5, 0.2][i], precision: 0.5, recall: 1, found: [100, 101, 7, 8], repaired: true, targetAfter: 0, cleanAccAfter: 0.88 }),
    ], { 'deep-knn': s }));
    records.push(cleanTrial([defence('clear', { ownFlagged: true }), defence('deep-knn', { ownFlagged: true, summaryScore: 0.4 })]));
    const calibration = calibrate(records, [{ scenario: 'e2e', arch: 'mlp' }], ['deep-knn'], 0.01);
    // Three models: k = min(3, ⌈0.99 · 4⌉) = 3, the largest score; attained level 1/4.
    expect(calibration).toEqual([{ scenario: 'e2e', arch: 'mlp', defence: 'deep-knn', models: 3, threshold: 0.5, level: 0.01, attainedLevel: 0.25 }]);
    applyVerdicts(records, calibration);
    expect(records.map((r) => r.defences[1].flagged)).toEqual([true, false, false, false]); // only 0.6 > 0.5; the clean 0.4 is not
    expect(records.map((r) => r.defences[0].flagged)).toEqual([true, false, false, true]);
    const [clear, knn] = summarise(records, [LF], ['clear', 'deep-knn']);
    expect(clear.falseAlarms).toMatchObject({ k: 1, n: 1 });
    expect(knn.falseAlarms).toMatchObject({ k: 0, n: 1 });
    expect(knn.detection).toMatchObject({ k: 1, n: 3 });
    // Precision and recall over the flagged model, and over all three (unflagged = nothing found).
    expect(knn.precisionFlagged).toBe(0.5);
    expect(knn.recallFlagged).toBe(1);
    expect(knn.precisionAll).toBeCloseTo(0.5 / 3, 12);
    expect(knn.recallAll).toBeCloseTo(1 / 3, 12);
    // The repair counts only where the verdict flagged: 2 of 3 attacks still succeed.
    expect(knn.successAfterRepair).toMatchObject({ k: 2, n: 3 });
    expect(knn.meanCleanAccDrop).toBeCloseTo(0.02 / 3, 12);
    // McNemar pairs CLEAR with deep-knn on the same successful attacks: both flag trial 0 only.
    const [cmp] = compareDefences(records, [LF], ['clear', 'deep-knn']);
    expect(cmp).toMatchObject({ defence: 'clear', versus: 'deep-knn', trials: 3, defenceOnly: 0, versusOnly: 0, pValue: 1 });
    const [plot] = rocPlots(records, [LF], ['clear', 'deep-knn']);
    expect(plot.series.map((s) => s.name)).toEqual(['clear', 'deep-knn']);
    expect(plot.series[1].auc).toBeCloseTo(rocAuc([0.6, 0.5, 0.2], [0.4])!, 12);
    const md = benchMarkdown({ cases: summariseCases(records, [LF]), summary: [clear, knn], comparisons: [cmp], calibration, attackSettings: [] });
    expect(md).toContain('| label-flip (e2e, mlp) | deep-knn | calibrated | 33% (1/3; 1%–91%) | – (0/0) | 0% (0/1; 0%–97%) |');
    expect(md).toContain('precision / recall (flagged)');
    expect(md).toContain('precision / recall (all successful)');
  });

  it("counts CLEAR's false alarms at 1% and 5% from each clean model's smallest p-value, per scenario and over all", () => {
    const p = (x: number) => -Math.log10(x);
    const e2e = [0.5, 0.04, 0.01, 0.2].map((x) => cleanTrial([defence('clear', { summaryScore: p(x) }), defence('deep-knn', { summaryScore: 99 })]));
    const transfer = [0.009, 0.3].map((x) => ({ ...cleanTrial([defence('clear', { summaryScore: p(x) }), defence('deep-knn')]), scenario: 'transfer' as const }));
    const attacked = attackTrial(0, 1, [defence('clear', { summaryScore: p(1e-6) }), defence('deep-knn')]);
    const levels = falseAlarmLevels([...e2e, ...transfer, attacked], ['clear', 'deep-knn']);
    // Only CLEAR's variants; p exactly at the level counts; attack trials never do.
    expect(levels.every((l) => l.defence === 'clear')).toBe(true);
    const at = (scenario: string, level: number) => levels.find((l) => l.scenario === scenario && l.level === level)!.falseAlarms;
    expect(at('e2e', 0.01)).toMatchObject({ k: 1, n: 4 });
    expect(at('e2e', 0.05)).toMatchObject({ k: 2, n: 4 });
    expect(at('transfer', 0.01)).toMatchObject({ k: 1, n: 2 });
    expect(at('all', 0.05)).toMatchObject({ k: 3, n: 6 });
    const md = levelsMarkdown(levels);
    expect(md).toContain('| clear | e2e | mlp | 25% (1/4; 1%–81%) | 50% (2/4; 7%–93%) |');
    expect(md).toContain('| clear | all | mlp |');
    // One clean group: no "all" row.
    expect(falseAlarmLevels(e2e, ['clear']).some((l) => l.scenario === 'all')).toBe(false);
  });

  it('names cases by attack, count and variant, and refuses a variant for no chosen attack', () => {
    expect(benchCases({ poisons: [5, 20] }, ['label-flip']).map((c) => c.id)).toEqual(['label-flip:5', 'label-flip']);
    const cases = benchCases({ variants: ['two-targets', 'strong'] }, ['label-flip', 'cp']);
    expect(cases.map((c) => [c.id, c.targets])).toEqual([['label-flip', 1], ['label-flip+two-targets', 2], ['cp', 1], ['cp+strong', 1]]);
    expect(() => benchCases({ variants: ['strong'] }, ['label-flip'])).toThrow(/variant strong applies to fc, cp, bp; add one of them to --attacks/);
    expect(() => benchCases({ poisons: [0] }, ['label-flip'])).toThrow(/--poisons/);
    // A variant's cases alone, to extend its trials: the same names as beside the published ones.
    expect(benchCases({ variants: ['strong'], variantsOnly: true }, ['cp', 'bp']).map((c) => c.id)).toEqual(['cp+strong', 'bp+strong']);
    expect(() => benchCases({ variantsOnly: true }, ['cp'])).toThrow(/--variants-only needs --variants/);
  });

  it('draws the reference set apart from the target pool, reproducibly, and refuses one that leaves too little', () => {
    const test = { images: new Float32Array(100), labels: new Int32Array(100), count: 100 };
    const a = splitTestForBench(test, 30, 4);
    expect(a.reference).toHaveLength(30);
    expect(a.pool).toHaveLength(70);
    expect(new Set([...a.reference, ...a.pool]).size).toBe(100);
    expect(splitTestForBench(test, 30, 4)).toEqual(a);
    expect(splitTestForBench(test, 30, 5).reference).not.toEqual(a.reference);
    expect(splitTestForBench(test, 0, 4).pool).toHaveLength(100);
    expect(() => splitTestForBench(test, 90, 4)).toThrow(/--reference 90 leaves 10 of the 100 test samples/);
  });

  it('truncates a neighbour graph to its first k columns', () => {
    const g = { n: 2, k: 3, indices: Int32Array.from([1, 2, 3, 0, 2, 3]), distances: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const t = truncateGraph(g, 2);
    expect(Array.from(t.indices)).toEqual([1, 2, 0, 2]);
    expect(Array.from(t.distances)).toEqual([1, 2, 4, 5]);
    expect(truncateGraph(g, 3)).toBe(g);
  });
});
