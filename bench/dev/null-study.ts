// Development experiment for the scan's calibration: trains (and caches, in the system temp
// folder) clean or label-flip-poisoned victims on MNIST or a transformed MNIST, scans each, and
// writes the scan JSON (candidate scores and the null draws' scores) for offline analysis.
//   node .nullx.mjs OUT_DIR VARIANT(mnist|rot|inv|down) ARCH SCENARIO(e2e|transfer) SEED COPIES [TARGET ATTACKER]
// COPIES 0 = a clean model. The transfer scenario trains its own clean feature model per seed.
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { trainCleanFeatureModel, trainVictim } from '../../src-main/engine/attacks/index.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { saveModel, loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { createRng } from '../../src-main/engine/random.js';
import { transformVariant } from './variants.js';

const [out, variant, arch, scenario, seedArg, copiesArg, targetArg, attackerArg] = process.argv.slice(2);
const seed = Number(seedArg); const copies = Number(copiesArg);
await initBackend('wasm');

const clean = transformVariant(await loadDataset('mnist'), variant);
let ds = clean; let manifest: any;
if (copies > 0) {
  const rng = createRng(seed * 7919 + copies);
  const targetIndex = targetArg !== undefined ? Number(targetArg) : rng.int(clean.test.count);
  const targetClass = clean.test.labels[targetIndex];
  let attackerClass = attackerArg !== undefined ? Number(attackerArg) : rng.int(9); if (attackerArg === undefined && attackerClass >= targetClass) attackerClass++;
  const r = await labelFlipAttack(clean, { targetIndex, attackerClass, poisons: copies, seed });
  ds = r.dataset; manifest = r.manifest;
}
const name = `${variant}-${arch}-${scenario}-s${seed}-c${copies}${targetArg !== undefined ? `-t${targetArg}` : ''}`;
const cache = path.join(os.tmpdir(), `clear-null-${name}`);
let model: any;
if (existsSync(path.join(cache, 'model.json'))) model = (await loadModel(cache)).model;
else {
  const frozen = scenario === 'transfer' ? await trainCleanFeatureModel(clean, arch, seed) : undefined;
  model = (await trainVictim(ds, scenario as 'e2e' | 'transfer', { arch, seed, ...(frozen ? { frozenFeatureModel: frozen } : {}), ...(manifest ? { manifest } : {}) })).model;
  await saveModel(model, cache);
}
let targetPredicted: number | null = null;
if (manifest) targetPredicted = (await predictSplit(model, ds.test, ds.shape, { indices: [manifest.targetIndex] })).predicted[0];
const loaded = { model, dir: cache, metadata: {}, fingerprint: 'x', inputShape: ds.shape, numClasses: 10 } as any;
const scan = await scanModel(loaded, ds, {});
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, `${name}.json`), JSON.stringify({ name, variant, arch, scenario, seed, copies, manifest: manifest ?? null, targetPredicted, scan }));
const poisons = new Set<number>(manifest?.poisonIndices ?? []);
const top = scan.pockets[0];
console.log(name, scan.verdict.headline, 'p', scan.verdict.pValue.toExponential(1), 'attemptP', scan.verdict.attemptPValue.toExponential(1),
  'target', manifest ? `${manifest.targetClass}->${targetPredicted} (A=${manifest.attackerClass})` : '-',
  'top', top ? `${top.attackerClass}in${top.enclosingClass} n=${top.members.length} poison=${top.members.filter((m: number) => poisons.has(m)).length} score=${top.score.toFixed(2)}` : '-',
  'timings', JSON.stringify(scan.timings));
