// Development experiment: label-flip attack on MNIST, train a cnn, scan, print candidates.
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { trainModel, predictSplit } from '../../src-main/engine/model/train.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { saveModel, loadModel } from '../../src-main/engine/model/io.js';
import { existsSync } from 'node:fs';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';

const [targetArg, attackerArg, seedArg, poisonsArg, epochsArg] = process.argv.slice(2).map(Number);
await initBackend('wasm');
const clean = await loadDataset('mnist');
const poisons = poisonsArg ?? 20;
let ds = clean; let manifest: any;
if (poisons > 0) {
  const r = await labelFlipAttack(clean, { targetIndex: targetArg ?? 0, attackerClass: attackerArg ?? 1, poisons, seed: seedArg ?? 0 });
  ds = r.dataset; manifest = r.manifest;
}
const cache = path.join(os.tmpdir(), `clear-dev-${process.argv.slice(2).join('_')}`);
let model: any;
if (existsSync(cache)) model = (await loadModel(cache)).model; else {
model = buildArchitecture('cnn', { inputShape: ds.shape, numClasses: 10, seed: seedArg ?? 0 });
const tr = await trainModel(model, ds.train, ds.shape, 10, { epochs: epochsArg ?? 3, seed: seedArg ?? 0 });
console.log('train s', tr.seconds.toFixed(1), 'sps', tr.samplesPerSecond.toFixed(0));
await saveModel(model, cache);
}
if (manifest) {
  const p = await predictSplit(model, ds.test, ds.shape, { indices: [manifest.targetIndex] });
  console.log('target class', manifest.targetClass, 'attacker', manifest.attackerClass, 'predicted', p.predicted[0]);
}
const loaded = { model, dir: 'mem', metadata: {}, fingerprint: 'x', inputShape: ds.shape, numClasses: 10 } as any;
const scan = await scanModel(loaded, ds, {});
console.log(scan.verdict.headline, scan.verdict.summary, 'p', scan.verdict.pValue.toExponential(1), 'attemptP', scan.verdict.attemptPValue.toExponential(1));
console.log(JSON.stringify(scan.calibration), JSON.stringify(scan.timings));
const poisonSet = new Set(manifest?.poisonIndices ?? []);
const size = 784;
const spread = (idx: number[]) => { let sum = 0, cnt = 0; for (let a = 0; a < idx.length; a++) for (let b = a + 1; b < idx.length; b++) { let d = 0; for (let k = 0; k < size; k++) { const v = pixelsInMemory(ds.train.images)[idx[a]*size+k] - pixelsInMemory(ds.train.images)[idx[b]*size+k]; d += v*v; } sum += Math.sqrt(d); cnt++; } return cnt ? sum / cnt : 0; };
for (const p of scan.pockets.slice(0, Number(process.env.TOP ?? 8))) {
  const enc: number[] = []; for (let i = 0; i < ds.train.count && enc.length < 40; i += 37) if (ds.train.labels[i] === p.enclosingClass) enc.push(i);
  const att: number[] = []; for (let i = 0; i < ds.train.count && att.length < 40; i += 41) if (ds.train.labels[i] === p.attackerClass) att.push(i);
  if (process.env.PIX) console.log('   pix member', spread(p.members).toFixed(2), 'randB', spread(enc).toFixed(2), 'randA', spread(att).toFixed(2));
  const hit = p.members.filter((m) => poisonSet.has(m)).length;
  console.log(p.id, `${p.attackerClass}in${p.enclosingClass}`, 'n', p.members.length, 'poison', hit, 'score', p.score.toFixed(2), 'p', p.pValue.toExponential(1),
    'shell', p.tightness.shellPurity.toFixed(2), 'spread', p.tightness.relativeSpread.toFixed(3), 'cont', p.tightness.contamination,
    'diam', p.tightness.diameter.toFixed(3), 'inner', (p.evidence as any).meanInner?.toFixed(3), 'shd', (p.evidence as any).shellDistance?.toFixed(3), 'nr', p.evidence.nearestRatio.toFixed(2), 'hoA', p.evidence.heldOutAttacker, 'hoMis', p.evidence.heldOutMisclassified, 'int', p.interiorAttackerRate.toFixed(2), 'fit', p.fittedRate.toFixed(2), 'flip', p.flipDistance.toFixed(2), 'learnt', p.learnt.toFixed(2), 'attP', p.attemptPValue.toExponential(1), p.origin, p.attempt ? 'ATTEMPT' : '');
}
console.log('candidates', scan.pockets.length, 'seeds', scan.statistics.seeds);
