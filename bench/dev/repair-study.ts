// Development experiment: how well the repair moves a clean-label target back, on one
// `clearwb bench` trial rebuilt as bench/dev/trial-scan.ts rebuilds it (cached victim).
//   node .repx.mjs BENCH_SEED T ATTACK [ARCH=mlp] [SCENARIO=transfer]   (TRIAL_VARIANT=strong)
// Prints, for the flagged members and for a copy with a share of them dropped (REPAIR_DROP,
// default 0.2, as a scan with lower recall would give), the target's prediction and test accuracy
// after relabel-and-fine-tune alone and with the hulls closed in the head (the product's repair;
// environment variables interiorProbes, hullReplay, hullLearningRate override its defaults).
import { existsSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { cloneModel, type AttackName } from '../../src-main/engine/attacks/index.js';
import { rebuildAttackTrial } from './trial.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { evaluateSplit, predictSplit } from '../../src-main/engine/model/train.js';
import { fineTune } from '../../src-main/engine/clear/finetune.js';
import { createRng } from '../../src-main/engine/random.js';

const [seedArg, tArg, attackArg, archArg, scenarioArg] = process.argv.slice(2);
const scenario = (scenarioArg ?? 'transfer') as 'e2e' | 'transfer';
const benchSeed = Number(seedArg); const t = Number(tArg);
const attack = attackArg as AttackName; const arch = archArg ?? 'mlp';
const drop = Number(process.env.REPAIR_DROP ?? 0.2);
await initBackend('wasm');
const { ds, manifest, trialSeed, cache, label } = await rebuildAttackTrial(benchSeed, t, attack, arch, scenario);
if (!existsSync(cache)) throw new Error(`no cached victim ${cache}: run trial-scan first`);
const victim = (await loadModel(cache)).model;
const loaded = { model: victim, dir: 'mem', metadata: {}, fingerprint: 'x', inputShape: ds.shape, numClasses: 10 } as any;
const scan = await scanModel(loaded, ds, { seed: trialSeed });
const poisons = new Set<number>(manifest.poisonIndices);
const reported = scan.pockets.filter((p) => p.confirmed || p.attempt);
const evaluate = async (m: any) => {
  const e = await evaluateSplit(m, ds.test, ds.shape, ds.classNames, { exclude: [manifest.targetIndex] });
  const all = await evaluateSplit(m, ds.test, ds.shape, ds.classNames);
  const pt = await predictSplit(m, ds.test, ds.shape, { indices: [manifest.targetIndex], withProbabilities: true });
  const pb = pt.probabilities!;
  return `target→${all.predicted[manifest.targetIndex]} (p true ${pb[manifest.targetClass].toFixed(2)}, attacker ${pb[manifest.attackerClass].toFixed(2)}) acc=${e.accuracy.toFixed(4)}`;
};
console.log(`${label}: target ${manifest.targetIndex} class ${manifest.targetClass} attacker ${manifest.attackerClass}; victim ${await evaluate(victim)}; reported ${reported.map((p) => `${p.members.length}(${p.members.filter((m) => poisons.has(m)).length} poisons)`).join(' ') || 'none'}`);
if (!reported.length) process.exit(0);
const rng = createRng(trialSeed + 5);
for (const share of [0, drop]) {
  const pockets = reported.map((p) => { const keep = p.members.filter(() => rng.next() >= share); return { ...p, members: keep }; });
  const relabel = new Map<number, number>();
  for (const p of pockets) for (const m of p.members) relabel.set(m, p.enclosingClass);
  const hulls = { featureLayer: scan.settings.featureLayer, groups: pockets.map((p) => ({ members: p.members, label: p.enclosingClass })) };
  const env = (k: string) => (process.env[k] !== undefined ? { [k]: Number(process.env[k]) } : {});
  const knobs = { ...env('interiorProbes'), ...env('hullReplay'), ...env('hullLearningRate') };
  const a = await cloneModel(victim);
  await fineTune(a, ds, { relabel }, { seed: trialSeed });
  const ra = await evaluate(a);
  a.dispose();
  const b = await cloneModel(victim);
  await fineTune(b, ds, { relabel, hulls }, { seed: trialSeed, ...knobs });
  const rb = await evaluate(b);
  b.dispose();
  console.log(`  dropped ${share}: relabel ${relabel.size} (${[...relabel.keys()].filter((m) => poisons.has(m)).length} poisons): fine-tune ${ra}; + close hulls ${rb}`);
}
