// Crafted samples on their own in a scan (clear/crafted.ts): bullseye polytope poisons at the
// published budget (ε = 8/255), which lie scattered in their own class where no candidate group
// forms, are reported as a poisoning attempt of crafted samples, in the verdict and in the
// scan's `crafted` list; the same model scanned on the same data without the poisons reports
// none. Real MNIST (1,000 training digits), a real mlp feature extractor and a transfer victim
// whose head is trained on the poisoned data.
import { describe, expect, it } from 'vitest';
import { ATTACKS, trainVictim } from '../../src-main/engine/attacks/index.js';
import { POLYTOPE_DEFAULT_EPSILON } from '../../src-main/engine/attacks/polytope.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import type { LoadedModel } from '../../src-main/engine/model/io.js';
import { attackData, attackFeatureModel, pickTarget } from '../unit/attacks/fixture.js';

describe('a scan of clean-label poisons at the published budget', () => {
  it('reports them as crafted samples, and nothing on the same model and data without them', async () => {
    const ds = await attackData();
    const feature = await attackFeatureModel();
    const { targetIndex, attackerClass } = pickTarget(ds);
    const { dataset, manifest } = await ATTACKS.bp.run(ds, {
      targetIndex, attackerClass, poisons: 10, seed: 5, featureModel: feature.parts, epsilon: POLYTOPE_DEFAULT_EPSILON,
    });
    const victim = await trainVictim(dataset, 'transfer', { arch: 'mlp', seed: 5, frozenFeatureModel: feature });
    const loaded = (data: typeof ds) => ({ model: victim.model, dir: '(in memory)', metadata: {}, fingerprint: 'in-memory', inputShape: data.shape, numClasses: 10 }) as unknown as LoadedModel;

    const scan = await scanModel(loaded(dataset), dataset, {});
    const poisons = new Set(manifest.poisonIndices);
    const groups = scan.crafted ?? [];
    console.log(`poisoned: ${scan.verdict.headline}, crafted p ${scan.verdict.craftedPValue}; groups ${JSON.stringify(groups.map((g) => [g.classIndex, g.members.length, g.members.filter((m) => poisons.has(m)).length, g.pValue]))}`);
    expect(scan.verdict.crafted).toBe(true);
    expect(scan.verdict.suspected || scan.verdict.attempt).toBe(true);
    expect(scan.verdict.craftedPValue).toBeLessThanOrEqual(scan.settings.falseAlarm);
    const found = groups.flatMap((g) => g.members);
    expect(groups.every((g) => g.classIndex === attackerClass)).toBe(true);
    expect(found.filter((m) => poisons.has(m)).length).toBeGreaterThanOrEqual(8);
    expect(found.every((m) => poisons.has(m))).toBe(true);
    expect(groups[0].explanation).toContain('crafted');

    // The same victim on the data without the poisons: nothing crafted.
    const clean = await scanModel(loaded(ds), ds, {});
    console.log(`clean: ${clean.verdict.headline}, crafted p ${clean.verdict.craftedPValue}`);
    expect(clean.verdict.crafted).toBe(false);
    expect(clean.crafted).toEqual([]);
    victim.model.dispose();
  }, 300_000);
});
