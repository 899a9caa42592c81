import { describe, expect, it } from 'vitest';
import { rocAuc, summarise, summaryMarkdown, type DefenceRecord, type TrialRecord } from '../../../src-main/engine/bench/defence.js';

function trial(kind: 'attack' | 'clean', succeeded: boolean, score: number, flagged: boolean): TrialRecord {
  const d: DefenceRecord = {
    defence: 'clear', flagged, found: [], precision: kind === 'attack' ? 0 : null, recall: kind === 'attack' ? 0 : null,
    targetBefore: null, targetAfter: null, cleanAccBefore: 0.9, cleanAccAfter: 0.9, scanSeconds: 1, repairSeconds: 0, trainSeconds: 10,
    repaired: false, mitigation: 'relabel', summaryScore: score, falseAlarm: null,
  };
  return {
    kind, attack: kind === 'attack' ? 'label-flip' : null, scenario: 'e2e', trial: 0, seed: 0, targetIndex: null, targetClass: null,
    attackerClass: kind === 'attack' ? 1 : null, poisonIndices: kind === 'attack' ? [1, 2] : [], attackSucceeded: succeeded,
    targetBefore: null, cleanAccBefore: 0.9, trainSeconds: 10, craftSeconds: 0, prepareSeconds: 0, defences: [d],
  };
}

describe('bench summary', () => {
  it('rocAuc counts pairs won, ties as half, and is null without both kinds', () => {
    expect(rocAuc([3, 2], [1, 0])).toBe(1);
    expect(rocAuc([0], [1, 2])).toBe(0);
    expect(rocAuc([1, 3], [1, 2])).toBe(0.625); // (0.5 + 0) + (1 + 1) over 4
    expect(rocAuc([], [1])).toBeNull();
    expect(rocAuc([1], [])).toBeNull();
  });

  it('scores AUC over successful attacks only, against the clean trials of the scenario', () => {
    const records = [
      trial('attack', true, 5, true), trial('attack', true, 1, false),
      trial('attack', false, -100, false), // failed attack: not a positive
      trial('clean', false, 2, false), trial('clean', false, 0, false),
    ];
    const [row] = summarise(records, ['label-flip'], { 'label-flip': 'e2e' }, ['clear']);
    expect(row.successful).toBe(2);
    expect(row.scoreAuc).toBe(0.75); // 5 beats both, 1 beats only 0
    expect(row.detectionRate).toBe(0.5);
    expect(row.falseAlarmRate).toBe(0);
    expect(summaryMarkdown([row])).toContain('| 0% (of 2) | 0.75 |');
  });
});
