// Development experiment: do a model's clean-label poisons stand out as crafted samples on their
// own, scattered in their class where no candidate group forms (the published ε of the polytope
// attacks)? Squeezes every training sample (squeeze.ts), and per class tests whether its k most
// fragile samples sit apart from the rest: under a Pareto tail the log-spacings
// E_j = j·(ln x_j − ln x_j+1) of the sorted drifts are independent exponentials, so E_k against
// the mean of the next M spacings is F(2, 2M), p = (1 + F/M)^−M; the family is every class and
// k = 2…KMAX (Bonferroni). Prints the family's smallest p and, for an attack trial, the poisons'
// ranks in their class. The test is the scan's (clear/crafted.ts).
//   node .craftx.mjs null NAME VARIANT        (the cached model /tmp/clear-null-NAME, mnist|rot|inv|down)
//   node .craftx.mjs lf NAME VARIANT SEED COPIES [TARGET ATTACKER]   (a label-flip model of null-study.ts)
//   node .craftx.mjs trial BENCH_SEED T ATTACK [ARCH=mlp] [SCENARIO=transfer]   (TRIAL_VARIANT=strong)
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import type { AttackName } from '../../src-main/engine/attacks/index.js';
import { rebuildAttackTrial } from './trial.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { splitModel } from '../../src-main/engine/features/split.js';
import { embedSplit } from '../../src-main/engine/features/embed.js';
import { SqueezeDrift } from '../../src-main/engine/clear/squeeze.js';
import { transformVariant } from './variants.js';
import { findCraftedSamples } from '../../src-main/engine/clear/crafted.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { createRng } from '../../src-main/engine/random.js';

const [mode, ...args] = process.argv.slice(2);
await initBackend('wasm');
let ds: Dataset; let modelDir: string; let poisons = new Set<number>(); let label = '';
if (mode === 'null') {
  const [name, variant] = args;
  ds = transformVariant(await loadDataset('mnist'), variant);
  modelDir = path.join(os.tmpdir(), `clear-null-${name}`); label = name;
} else if (mode === 'lf') {
  // A label-flip model of null-study.ts: the same target and copies rebuilt from its seed.
  const [name, variant, seedArg, copiesArg, targetArg, attackerArg] = args;
  const clean = transformVariant(await loadDataset('mnist'), variant);
  const seed = Number(seedArg); const copies = Number(copiesArg);
  const rng = createRng(seed * 7919 + copies);
  const targetIndex = targetArg !== undefined ? Number(targetArg) : rng.int(clean.test.count);
  const targetClass = clean.test.labels[targetIndex];
  let attackerClass = attackerArg !== undefined ? Number(attackerArg) : rng.int(9); if (attackerArg === undefined && attackerClass >= targetClass) attackerClass++;
  const r = await labelFlipAttack(clean, { targetIndex, attackerClass, poisons: copies, seed });
  ds = r.dataset; poisons = new Set(r.manifest.poisonIndices);
  modelDir = path.join(os.tmpdir(), `clear-null-${name}`); label = name;
} else {
  const [seedArg, tArg, attackArg, archArg, scenarioArg] = args;
  const trial = await rebuildAttackTrial(Number(seedArg), Number(tArg), attackArg as AttackName, archArg ?? 'mlp', (scenarioArg ?? 'transfer') as 'e2e' | 'transfer');
  ds = trial.ds; poisons = new Set(trial.manifest.poisonIndices); modelDir = trial.cache; label = trial.label;
}
const model = (await loadModel(modelDir)).model;
const parts = splitModel(model);
const emb = await embedSplit(parts, ds.train, ds.shape);
const squeeze = new SqueezeDrift(parts, ds.train, ds.shape, emb.features, 0);
const all = Array.from({ length: ds.train.count }, (_, i) => i);
squeeze.measure(all);
const ratio = all.map((i) => squeeze.driftRatio([i]));

const found = findCraftedSamples(ratio, ds.train.labels, ds.classNames.length);
const best = found.reduce((a, b) => (b.pValue < a.pValue ? b : a), found[0]);
const hit = best ? best.members.filter((m) => poisons.has(m)).length : 0;
console.log(`${label}: family p ${best ? best.pValue.toExponential(2) : '-'} (class ${best?.classIndex}, k ${best?.members.length}, F ${best?.gap.toFixed(1)}, poisons ${hit} of ${poisons.size})`);
if (process.env.VERBOSE) for (const c of found) console.log(`  ${c.classIndex}: k=${c.members.length} p=${c.pValue.toExponential(1)} top=${c.driftRatios[0].toFixed(1)} next=${c.nextRatio.toFixed(2)} poisons=${c.members.filter((m) => poisons.has(m)).length}`);
