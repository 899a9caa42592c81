// Development helper: the label-flip case of test/integration/clear.test.ts (a cnn, 3 epochs,
// 20 copies of test digit 0 labelled 7, seed 0), its victim cached in the system temp folder,
// scanned; prints the candidates and writes the scan (with TRIAL_SCAN_OUT) for reweight.ts.
import os from 'node:os';
import path from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { loadModel, saveModel } from '../../src-main/engine/model/io.js';
import { trainModel } from '../../src-main/engine/model/train.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';

await initBackend('wasm');
const clean = await loadDataset('mnist');
const { dataset: ds, manifest } = await labelFlipAttack(clean, { targetIndex: 0, attackerClass: 7, poisons: 20, seed: 0 });
const dir = path.join(os.tmpdir(), 'clear-itcase-lf20');
if (!existsSync(path.join(dir, 'model.json'))) {
  const model = buildArchitecture('cnn', { inputShape: ds.shape, numClasses: 10, seed: 0 });
  await trainModel(model, ds.train, ds.shape, 10, { epochs: 3, seed: 0 });
  await saveModel(model, dir, { classNames: ds.classNames, trainedOn: ds.fingerprint });
}
const victim = await loadModel(dir);
const scan = await scanModel(victim, ds, process.env.CLEAR_NULL_GROUPS ? { nullGroups: Number(process.env.CLEAR_NULL_GROUPS) } : {});
console.log(scan.verdict);
const poison = new Set(manifest.poisonIndices);
for (const p of scan.pockets.slice(0, 6)) {
  console.log(`${p.attackerClass} in ${p.enclosingClass} n=${p.members.length} poison=${p.members.filter((m) => poison.has(m)).length} p=${p.pValue.toExponential(1)} score=${p.score.toFixed(2)}`,
    Object.entries(p.evidence).map(([k, v]) => `${k}=${(v as number).toFixed(2)}`).join(' '));
}
if (process.env.TRIAL_SCAN_OUT) writeFileSync(process.env.TRIAL_SCAN_OUT, JSON.stringify({ name: 'itcase-lf20', manifest, scan }));
