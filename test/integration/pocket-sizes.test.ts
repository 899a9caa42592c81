// Issue: detection that does not depend on --neighbours. Real MNIST, seeded, real training:
// label-flip pockets larger than the neighbour count (40 and 160 copies, two targets poisoned
// at once in one training set) and a small one (5 copies) are each reported whole by a scan at
// its default settings.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { trainVictim } from '../../src-main/engine/attacks/index.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { DEFAULT_SCAN_SETTINGS, scanModel } from '../../src-main/engine/clear/scan.js';
import type { LoadedModel } from '../../src-main/engine/model/io.js';
import type { ScanResult } from '../../src-main/engine/clear/types.js';
import { COPIES_DISTINCT } from '../../src-main/engine/clear/score.js';
import { METRIC_TERMS } from '../../src-main/contract/terms.js';

const SEED = 0;
let clean: Dataset;
/** The clean victim's prediction for a test digit: the counterfactual of every attack below. */
let cleanPredict: (index: number) => Promise<number>;
let cleanModel: LoadedModel['model'];

interface Planted { target: number; attacker: number; trueClass: number; poisons: number[] }

/** Label-flip attacks applied one after another to the same training set. */
async function poison(ds: Dataset, attacks: { target: number; attacker: number; copies: number }[]): Promise<{ ds: Dataset; planted: Planted[] }> {
  const planted: Planted[] = [];
  for (const a of attacks) {
    const r = await labelFlipAttack(ds, { targetIndex: a.target, attackerClass: a.attacker, poisons: a.copies, seed: SEED });
    ds = r.dataset;
    planted.push({ target: a.target, attacker: a.attacker, trueClass: r.manifest.targetClass, poisons: r.manifest.poisonIndices });
  }
  return { ds, planted };
}

async function trainAndScan(ds: Dataset): Promise<{ scan: ScanResult; predict: (index: number) => Promise<number> }> {
  const { model } = await trainVictim(ds, 'e2e', { arch: 'cnn', seed: SEED });
  const loaded = { model, dir: '(in memory)', metadata: {}, fingerprint: 'in-memory', inputShape: ds.shape, numClasses: ds.classNames.length } as LoadedModel;
  const scan = await scanModel(loaded, ds, {});
  const predict = async (index: number) => (await predictSplit(model, ds.test, ds.shape, { indices: [index] })).predicted[0];
  return { scan, predict };
}

/** The reported group holding most of an attack's poisons, and how well it matches them. */
function reportedFor(scan: ScanResult, p: Planted) {
  const poisons = new Set(p.poisons);
  const reported = scan.pockets.filter((x) => x.confirmed || x.attempt);
  const best = reported.map((x) => ({ pocket: x, hits: x.members.filter((m) => poisons.has(m)).length }))
    .sort((a, b) => b.hits - a.hits)[0];
  return best ? { ...best, recall: best.hits / p.poisons.length, precision: best.hits / best.pocket.members.length } : undefined;
}

beforeAll(async () => {
  await initBackend('wasm');
  clean = await loadDataset('mnist');
  const { model } = await trainVictim(clean, 'e2e', { arch: 'cnn', seed: SEED });
  cleanModel = model;
  cleanPredict = async (index: number) => (await predictSplit(model, clean.test, clean.shape, { indices: [index] })).predicted[0];
}, 1_800_000);

describe('pockets of any size, at default settings', () => {
  it('reports two planted groups of 160 and 40 copies (K = 40) in one model, each whole and apart', async () => {
    expect(DEFAULT_SCAN_SETTINGS.neighbours).toBeLessThan(160);
    // Test digit 0 is a "1" pushed into 7; test digit 13 is a "2" pushed into 6.
    const { ds, planted } = await poison(clean, [{ target: 0, attacker: 7, copies: 160 }, { target: 13, attacker: 6, copies: 40 }]);
    const { scan, predict } = await trainAndScan(ds);
    // The 40-copy attack takes: a clean cnn trained the same way calls its target a 2, the
    // poisoned one a 6. (The 160 copies need not flip their target to form a pocket the scan must report.)
    expect(await cleanPredict(13)).toBe(2);
    expect(await predict(13)).toBe(6);
    expect(scan.verdict.suspected, scan.verdict.summary).toBe(true);
    for (const p of planted) {
      const found = reportedFor(scan, p);
      expect(found, `${p.poisons.length} copies into ${p.attacker}: ${scan.verdict.summary}`).toBeDefined();
      expect(found!.pocket.attackerClass).toBe(p.attacker);
      expect(found!.pocket.enclosingClass).toBe(p.trueClass);
      expect(found!.recall).toBeGreaterThanOrEqual(0.9);
      expect(found!.precision).toBeGreaterThanOrEqual(0.9);
      expect(found!.pocket.pValue).toBeLessThanOrEqual(scan.settings.falseAlarm);
    }
    // Two groups, not one merged across classes.
    const [a, b] = planted.map((p) => reportedFor(scan, p)!.pocket.id);
    expect(a).not.toBe(b);
    // The calibration was measured on this model: its own border groups, none of the copies' draws judging them.
    expect(scan.calibration.nullGroups).toBeGreaterThan(100);
    expect(scan.pockets.find((x) => x.id === a)!.evidence.nullGroups).toBeLessThan(scan.calibration.nullGroups + 1);
  }, 1_800_000);

  it('reports copies the model never learnt as a poisoning attempt, not as a backdoor', async () => {
    // The clean model, scanned against its data plus 20 copies of test digit 0 (a "1") labelled
    // 7: poisons that training did not take (here, never saw). Their features sit among the 1s.
    const { ds, planted } = await poison(clean, [{ target: 0, attacker: 7, copies: 20 }]);
    const loaded = { model: cleanModel, dir: '(in memory)', metadata: {}, fingerprint: 'in-memory', inputShape: ds.shape, numClasses: ds.classNames.length } as LoadedModel;
    const scan = await scanModel(loaded, ds, {});
    expect(scan.verdict.suspected, scan.verdict.summary).toBe(false);
    expect(scan.verdict.attempt, scan.verdict.summary).toBe(true);
    expect(scan.verdict.headline).toBe('Poisoning attempt found');
    const found = reportedFor(scan, planted[0])!;
    expect(found.pocket.attempt).toBe(true);
    expect(found.pocket.learnt).toBeLessThan(0.5);
    expect(found.pocket.enclosingClass).toBe(1);
    // Copies of a natural digit: their labels are what gives them away, not crafting.
    expect(found.pocket.explanation).toContain('Their labels are contradicted by their neighbours:');
    // Shifted, noised copies of one digit: copies in pixel space, and the scan says so.
    expect(found.pocket.evidence.copiesRatio).toBeLessThan(COPIES_DISTINCT);
    expect(found.pocket.evidence.copies).toBeGreaterThan(0);
    expect(found.pocket.explanation).toContain('their images are shifted copies of one another');
    // Every measurement the scan records reaches the report and the wizard under a plain name.
    for (const key of Object.keys(found.pocket.evidence)) expect(METRIC_TERMS[key], `no term for evidence "${key}"`).toBeDefined();
    expect(found.recall).toBeGreaterThanOrEqual(0.9);
    expect(found.precision).toBeGreaterThanOrEqual(0.9);
    // The same model on its own clean data reports nothing.
    const plain = await scanModel({ ...loaded }, clean, {});
    expect(plain.verdict.suspected || plain.verdict.attempt, plain.verdict.summary).toBe(false);
  }, 1_800_000);
});
