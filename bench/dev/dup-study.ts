// Development helper: the near-duplicate groups of the scan's step 4d (pockets.ts) in a study
// model, whatever their shells, with their shells' share of other labels and the copies they hold.
//   RATIO=0.12 node .dupx.mjs MODEL_DIR [TARGET ATTACKER COPIES SEED]
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { prepareScan } from '../../src-main/engine/clear/scan.js';
import { DEFAULT_CANDIDATE_SETTINGS, findPocketCandidates, nearDuplicateGroups } from '../../src-main/engine/clear/pockets.js';
const [dir, t, a, c, s] = process.argv.slice(2);
await initBackend('wasm');
let ds = await loadDataset('mnist');
let P = new Set<number>();
if (t !== undefined) {
  const r = await labelFlipAttack(ds, { targetIndex: Number(t), attackerClass: Number(a), poisons: Number(c), seed: Number(s) });
  ds = r.dataset; P = new Set(r.manifest.poisonIndices);
}
const m = await loadModel(dir);
const K = 40;
const prep = await prepareScan(m, ds, { neighbours: K, normalisation: 'l2' });
const L = ds.train.labels; const g = prep.graph; const n = L.length;
// The scan's own step 4d, with every shell let through so the clean models' groups show too.
const scale = findPocketCandidates({ features: prep.normalised, n, dim: prep.embedding.dim, labels: L, predictions: prep.embedding.predictions, graph: g }).typicalNeighbourDistance;
const ratio = Number(process.env.RATIO ?? DEFAULT_CANDIDATE_SETTINGS.duplicateRatio);
const comps = nearDuplicateGroups(L, g, scale, { ...DEFAULT_CANDIDATE_SETTINGS, duplicateRatio: ratio, minDuplicateForeign: 0, minGroupSize: 2 });
const rows: string[] = [];
for (const mem of comps) {
  const set = new Set(mem); const lab = L[mem[0]]; const counts = new Array(10).fill(0); let out = 0;
  for (const i of mem) for (let q = 0; q < K; q++) { const j = g.indices[i * K + q]; if (set.has(j)) continue; out++; counts[L[j]]++; }
  let B = -1; for (let cl = 0; cl < 10; cl++) if (cl !== lab && (B < 0 || counts[cl] > counts[B])) B = cl;
  const foreign = out ? 1 - counts[lab] / out : 0;
  rows.push(`${mem.length}\tlabel ${lab} B ${B} foreignShare ${foreign.toFixed(2)} Bshare ${(out ? counts[B] / out : 0).toFixed(2)} poisons ${mem.filter((i) => P.has(i)).length} d1/scale ${(mem.map((i) => g.distances[i * K] / scale[lab]).sort((x, y) => x - y)[mem.length >> 1]).toFixed(3)}`);
}
rows.sort((x, y) => Number(y.split('\t')[0]) - Number(x.split('\t')[0]));
console.log(dir.split('/').pop(), 'components>=2:', rows.length);
for (const r of rows.slice(0, 12)) console.log('  ' + r);
