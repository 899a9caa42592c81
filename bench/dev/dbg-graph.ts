// Development helper: prints the neighbour lists of an attack's poisons in a study model.
//   node .dbgx.mjs MODEL_DIR TARGET ATTACKER COPIES SEED
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { prepareScan } from '../../src-main/engine/clear/scan.js';
const [dir, t, a, c, s] = process.argv.slice(2);
await initBackend('wasm');
const clean = await loadDataset('mnist');
const { dataset: ds, manifest } = await labelFlipAttack(clean, { targetIndex: Number(t), attackerClass: Number(a), poisons: Number(c), seed: Number(s) });
const m = await loadModel(dir);
const prep = await prepareScan(m, ds, { neighbours: 40, normalisation: 'l2' });
const L = ds.train.labels; const g = prep.graph; const P = new Set(manifest.poisonIndices);
for (const i of manifest.poisonIndices) console.log(i, 'pred', prep.embedding.predictions[i], 'd1', g.distances[i * 40].toFixed(3), Array.from(g.indices.subarray(i * 40, i * 40 + 40)).map((j) => `${L[j]}${P.has(j) ? '*' : ''}`).join(' '));
