// Development experiment: would a model that never saw a group of samples agree with their
// label? Rebuilds one `clearwb bench` label-flip trial (trial.ts), leaves the poisons and
// LEAVE_OUT random natural samples out of the training set, and either trains a fresh model of
// the same architecture on the rest (MODE=fresh, the bench's recipe) or fine-tunes the
// poisoned victim on the rest for one epoch (MODE=finetune). Prints, for the poisons and for
// the natural samples left out (the null), the probability the new model gives their label.
//   node .leavex.mjs BENCH_SEED T [MODE=fresh]     (TRIAL_POISONS=K as in trial-scan.ts)
import { existsSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { E2E_DEFAULT_EPOCHS, cloneModel } from '../../src-main/engine/attacks/scenario.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit, trainModel } from '../../src-main/engine/model/train.js';
import { createRng } from '../../src-main/engine/random.js';
import { rebuildAttackTrial } from './trial.js';

const [seedArg, tArg, modeArg] = process.argv.slice(2);
const benchSeed = Number(seedArg); const t = Number(tArg); const mode = modeArg ?? 'fresh';
const leaveOut = Number(process.env.LEAVE_OUT ?? 1000);
await initBackend('wasm');
const { ds, manifest, trialSeed, cache } = await rebuildAttackTrial(benchSeed, t, 'label-flip', 'cnn', 'e2e');
const poisonList = manifest.poisonIndices;
const poisonSet = new Set(poisonList);
const rng = createRng(benchSeed * 7919 + t);
const natural: number[] = [];
const taken = new Set<number>();
while (natural.length < leaveOut) {
  const i = rng.int(ds.train.count);
  if (poisonSet.has(i) || taken.has(i)) continue;
  taken.add(i); natural.push(i);
}
const out = new Set([...poisonList, ...natural]);
const keep: number[] = [];
for (let i = 0; i < ds.train.count; i++) if (!out.has(i)) keep.push(i);

// MODE=victim: only the cached poisoned victim's prediction of the target.
if (mode === 'victim') {
  const victim = (await loadModel(cache)).model;
  const p = await predictSplit(victim, ds.test, ds.shape, { indices: [manifest.targetIndex] });
  console.log('trial', t, 'target', manifest.targetIndex, 'class', manifest.targetClass, 'attacker', manifest.attackerClass, 'victim predicts', p.predicted[0]);
  process.exit(0);
}
let model;
const started = Date.now();
// SEED_OFFSET=k: the fresh model's seed is the trial's plus k (default 1; 0 is the counterfactual victim's own seed).
const offset = Number(process.env.SEED_OFFSET ?? 1);
if (mode === 'fresh') {
  model = buildArchitecture('cnn', { inputShape: ds.shape, numClasses: 10, seed: trialSeed + offset });
  await trainModel(model, ds.train, ds.shape, 10, { epochs: E2E_DEFAULT_EPOCHS, seed: trialSeed + offset }, { indices: Int32Array.from(keep) });
} else {
  if (!existsSync(cache)) throw new Error(`no cached victim at ${cache}: run trial-scan.ts first`);
  model = await cloneModel((await loadModel(cache)).model);
  await trainModel(model, ds.train, ds.shape, 10, { epochs: 1, seed: trialSeed + 1 }, { indices: Int32Array.from(keep) });
}
console.log(mode, 'trained in', ((Date.now() - started) / 1000).toFixed(1), 's');
const probe = async (indices: number[]) => {
  const p = await predictSplit(model, ds.train, ds.shape, { indices: Int32Array.from(indices), withProbabilities: true });
  return indices.map((i, j) => ({ i, label: ds.train.labels[i], predicted: p.predicted[j], pLabel: p.probabilities![j * 10 + ds.train.labels[i]] }));
};
const target = await predictSplit(model, ds.test, ds.shape, { indices: [manifest.targetIndex], withProbabilities: true });
console.log('target', manifest.targetIndex, 'class', manifest.targetClass, 'attacker', manifest.attackerClass, 'new model predicts', target.predicted[0]);
const ps = await probe(poisonList);
const ns = await probe(natural);
const wrong = ns.filter((r) => r.predicted !== r.label);
console.log('natural left out', ns.length, 'predicted other than label', wrong.length, 'P(label) quantiles',
  [0.001, 0.005, 0.01, 0.02, 0.05, 0.5].map((q) => ns.map((r) => r.pLabel).sort((a, b) => a - b)[Math.floor(q * ns.length)].toFixed(4)).join(' '));
for (const r of wrong.sort((a, b) => a.pLabel - b.pLabel).slice(0, 10)) console.log('  natural', r.i, 'label', r.label, 'predicted', r.predicted, 'P(label)', r.pLabel.toFixed(4));
const meanPoison = ps.reduce((s, r) => s + r.pLabel, 0) / ps.length;
for (const r of ps) console.log('  poison', r.i, 'label', r.label, 'predicted', r.predicted, 'P(label)', r.pLabel.toFixed(4));
console.log('poisons mean P(label)', meanPoison.toFixed(4), 'naturals at or under it', ns.filter((r) => r.pLabel <= meanPoison).length, 'of', ns.length);
