// Development helper: near-duplicate components (same label, mutual nearest neighbours far
// closer than their class's typical neighbour distance) in a study model, with their shells.
//   node .dupx.mjs MODEL_DIR [TARGET ATTACKER COPIES SEED]
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { prepareScan } from '../../src-main/engine/clear/scan.js';
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
// class scale: median over class of 10th NN distance
const scale = new Float64Array(10);
for (let cl = 0; cl < 10; cl++) { const v: number[] = []; for (let i = 0; i < n; i++) if (L[i] === cl) v.push(g.distances[i * K + 9]); v.sort((x, y) => x - y); scale[cl] = v[v.length >> 1]; }
const ratio = Number(process.env.RATIO ?? 0.3); const depth = Number(process.env.DEPTH ?? 10);
const parent = Int32Array.from({ length: n }, (_, i) => i);
const find = (x: number): number => { while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x]; } return x; };
const lists = (i: number, j: number) => { for (let q = 0; q < depth; q++) if (g.indices[i * K + q] === j) return true; return false; };
for (let i = 0; i < n; i++) for (let q = 0; q < depth; q++) {
  const j = g.indices[i * K + q];
  if (L[j] === L[i] && g.distances[i * K + q] < ratio * scale[L[i]] && lists(j, i)) parent[find(i)] = find(j);
}
// join near-duplicate cores (>= 2 members) whose members list each other among their 10 nearest
const core = new Int32Array(n).fill(-1); { const size = new Map<number, number>(); for (let i = 0; i < n; i++) size.set(find(i), (size.get(find(i)) ?? 0) + 1); for (let i = 0; i < n; i++) if (size.get(find(i))! >= 2) core[i] = find(i); }
const join = Number(process.env.JOIN ?? 10);
for (let i = 0; i < n; i++) { if (core[i] < 0) continue; for (let q = 0; q < join; q++) { const j = g.indices[i * K + q]; if (core[j] >= 0 && L[j] === L[i]) parent[find(i)] = find(j); } }
const comps = new Map<number, number[]>();
for (let i = 0; i < n; i++) { const r = find(i); (comps.get(r) ?? comps.set(r, []).get(r)!).push(i); }
const rows: string[] = [];
for (const mem of comps.values()) {
  if (mem.length < 2) continue;
  const set = new Set(mem); const lab = L[mem[0]]; const counts = new Array(10).fill(0); let out = 0;
  for (const i of mem) for (let q = 0; q < K; q++) { const j = g.indices[i * K + q]; if (set.has(j)) continue; out++; counts[L[j]]++; }
  let B = -1; for (let cl = 0; cl < 10; cl++) if (cl !== lab && (B < 0 || counts[cl] > counts[B])) B = cl;
  const foreign = out ? 1 - counts[lab] / out : 0;
  rows.push(`${mem.length}\tlabel ${lab} B ${B} foreignShare ${foreign.toFixed(2)} Bshare ${(out ? counts[B] / out : 0).toFixed(2)} poisons ${mem.filter((i) => P.has(i)).length} d1/scale ${(mem.map((i) => g.distances[i * K] / scale[lab]).sort((x, y) => x - y)[mem.length >> 1]).toFixed(3)}`);
}
rows.sort((x, y) => Number(y.split('\t')[0]) - Number(x.split('\t')[0]));
console.log(dir.split('/').pop(), 'components>=2:', rows.length);
for (const r of rows.slice(0, 12)) console.log('  ' + r);
