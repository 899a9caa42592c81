// Development experiment: several label-flip attacks in one training set (e.g. 160 copies of one
// target and 40 of another), a cnn trained on it (cached), and the scan's reported groups.
//   [EPOCHS=N] node .multix.mjs SEED TARGET:ATTACKER:COPIES [TARGET:ATTACKER:COPIES ...]
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { trainVictim } from '../../src-main/engine/attacks/index.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { saveModel, loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
const [seedArg, ...specs] = process.argv.slice(2);
const seed = Number(seedArg);
await initBackend('wasm');
let ds = await loadDataset('mnist');
const attacks: { target: number; attacker: number; trueClass: number; poisons: number[] }[] = [];
for (const spec of specs) {
  const [target, attacker, copies] = spec.split(':').map(Number);
  const r = await labelFlipAttack(ds, { targetIndex: target, attackerClass: attacker, poisons: copies, seed });
  ds = r.dataset; attacks.push({ target, attacker, trueClass: r.manifest.targetClass, poisons: r.manifest.poisonIndices });
}
const epochs = process.env.EPOCHS ? Number(process.env.EPOCHS) : undefined;
const cache = path.join(os.tmpdir(), `clear-multi-${seed}-${specs.join('_')}${epochs ? `-e${epochs}` : ''}`);
let model: any;
if (existsSync(path.join(cache, 'model.json'))) model = (await loadModel(cache)).model;
else { model = (await trainVictim(ds, 'e2e', { arch: 'cnn', seed, ...(epochs ? { epochs } : {}) })).model; await saveModel(model, cache); }
for (const a of attacks) console.log('target', a.target, `${a.trueClass} -> ${(await predictSplit(model, ds.test, ds.shape, { indices: [a.target] })).predicted[0]} (A=${a.attacker})`, 'copies', a.poisons.length);
const scan = await scanModel({ model, dir: cache, metadata: {}, fingerprint: 'x', inputShape: ds.shape, numClasses: 10 } as any, ds, {});
console.log(scan.verdict.headline, scan.verdict.summary);
for (const p of scan.pockets.slice(0, 6)) {
  const hits = attacks.map((a) => p.members.filter((m) => a.poisons.includes(m)).length);
  console.log(p.id, `${p.attackerClass}in${p.enclosingClass}`, 'n', p.members.length, 'hits', hits.join('/'), 'score', p.score.toFixed(2), 'p', p.pValue.toExponential(1), 'attP', p.attemptPValue.toExponential(1), 'learnt', p.learnt.toFixed(2), p.confirmed ? 'POCKET' : p.attempt ? 'ATTEMPT' : '');
}
