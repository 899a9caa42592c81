import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { BENCH_SCHEMA, benchDefences } from '../../../src-main/engine/bench/defence.js';
import { loadDataset } from '../../../src-main/engine/data/load.js';
import { DEFAULT_FALSE_ALARM } from '../../../src-main/contract/results.js';

const TRIAL_KEYS = ['attackSucceeded', 'poisonIndices', 'trainSeconds'];
const DEFENCE_KEYS = ['flagged', 'found', 'precision', 'recall', 'targetBefore', 'targetAfter', 'cleanAccBefore', 'cleanAccAfter', 'scanSeconds', 'repairSeconds', 'trainSeconds'];

describe('clear bench (smoke)', () => {
  it('runs one label-flip and one clean trial with clear and deep-knn', async () => {
    await initBackend('auto');
    const ds = await loadDataset('mnist', { limit: 1500, seed: 0 });
    const r = await benchDefences(ds, {
      attacks: ['label-flip'], defences: ['clear', 'deep-knn'], trials: 1, cleanTrials: 1, seed: 3, arch: 'mlp', epochs: 2,
      fineTune: { epochs: 1, replay: 300 }, argv: ['bench', '--test'],
    });
    const json = JSON.parse(JSON.stringify(r));
    expect(json.schema).toBe(BENCH_SCHEMA);
    expect(json.argv).toEqual(['bench', '--test']);
    expect(typeof json.backend.name).toBe('string');
    expect(json.trials).toHaveLength(2);
    const attackTrial = json.trials.find((t: { kind: string }) => t.kind === 'attack');
    const cleanTrial = json.trials.find((t: { kind: string }) => t.kind === 'clean');
    expect(attackTrial.poisonIndices.length).toBeGreaterThan(0);
    expect(cleanTrial.poisonIndices).toEqual([]);
    for (const t of json.trials) {
      for (const k of TRIAL_KEYS) expect(t).toHaveProperty(k);
      expect(t.defences.map((d: { defence: string }) => d.defence)).toEqual(['clear', 'deep-knn']);
      // CLEAR runs at the scan's default level, the one users get.
      expect(t.defences[0].falseAlarm).toBe(DEFAULT_FALSE_ALARM);
      for (const d of t.defences) {
        for (const k of DEFENCE_KEYS) expect(d).toHaveProperty(k);
        expect(d.cleanAccBefore).toBeGreaterThanOrEqual(0);
        expect(d.cleanAccAfter).toBeLessThanOrEqual(1);
        if (t.kind === 'attack') {
          const poisons = new Set<number>(t.poisonIndices);
          const found: number[] = d.found;
          const tp = new Set(found.filter((i) => poisons.has(i))).size;
          const precision = found.length ? tp / new Set(found).size : 0;
          const recall = tp / poisons.size;
          expect(d.precision).toBeGreaterThanOrEqual(0);
          expect(d.precision).toBeLessThanOrEqual(1);
          expect(d.recall).toBeGreaterThanOrEqual(0);
          expect(d.recall).toBeLessThanOrEqual(1);
          expect(d.precision).toBeCloseTo(precision, 10);
          expect(d.recall).toBeCloseTo(recall, 10);
        } else {
          expect(d.precision).toBeNull();
          expect(d.recall).toBeNull();
        }
      }
    }
    expect(json.summary).toHaveLength(2);
    for (const defence of ['clear', 'deep-knn']) {
      const row = json.summary.find((s: { attack: string; defence: string }) => s.attack === 'label-flip' && s.defence === defence);
      expect(row).toBeDefined();
      expect(row.trials).toBe(1);
      expect(row.cleanTrials).toBe(1);
      expect(row.falseAlarmRate === 0 || row.falseAlarmRate === 1).toBe(true);
    }
    expect(json.markdown).toContain('| label-flip (e2e) | clear |');
  }, 300_000);
});
