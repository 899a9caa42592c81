// Development experiment for how a reported pocket gathers its stragglers: rebuilds a
// null-study label-flip case (its cached model and scan JSON), prints per member of the reported
// pocket its neighbours (in the pocket, other "A", "B") and distances in typical nearest-neighbour
// units; TRIAL_MEMBERS=i,j expands those members with and without the distance limit,
// TRIAL_POISON_RANKS=1 prints where each poison finds its fellow poisons.
//   node .gs.mjs MODEL_DIR SCAN_JSON
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { prepareScan } from '../../src-main/engine/clear/scan.js';
import { readFileSync } from 'node:fs';
const [dir, json] = process.argv.slice(2);
const d = JSON.parse(readFileSync(json, 'utf8'));
const man = d.manifest;
await initBackend('wasm');
const clean = await loadDataset('mnist');
const { dataset: ds } = await labelFlipAttack(clean, { targetIndex: man.targetIndex, attackerClass: man.attackerClass, poisons: man.poisonIndices.length, seed: d.seed });
const m = await loadModel(dir);
const prep = await prepareScan(m, ds, { neighbours: 40, normalisation: 'l2' });
const L = ds.train.labels; const g = prep.graph; const K = g.k; const P = new Set<number>(man.poisonIndices);
const pocket = d.scan.pockets.find((p: any) => p.confirmed);
const S = new Set<number>(pocket.members);
const A = man.attackerClass; const B = man.targetClass;
const dists: number[] = []; for (let i = 0; i < g.n; i++) dists.push(g.distances[i * K]); dists.sort((a, b) => a - b); const typ = dists[dists.length >> 1];
for (const j of pocket.members) {
  let b = 0, aIn = 0, aOut = 0, other = 0, nearestIn = Infinity;
  for (let r = 0; r < K; r++) { const x = g.indices[j * K + r]; const l = L[x];
    if (S.has(x)) { aIn++; nearestIn = Math.min(nearestIn, g.distances[j * K + r]); } else if (l === A) aOut++; else if (l === B) b++; else other++; }
  console.log(j, P.has(j) ? 'POISON ' : 'natural', 'pred', prep.embedding.predictions[j], `inPocket ${aIn} A-out ${aOut} B ${b} other ${other}`, 'nearestIn/typ', (nearestIn / typ).toFixed(2), 'd1/typ', (g.distances[j*K]/typ).toFixed(2));
}

// The reported pocket's own members before gathering (TRIAL_MEMBERS=i,j,…), expanded with and
// without the distance limit: how many poisons and natural samples each takes in.
if (process.env.TRIAL_MEMBERS) {
  const { expandPocket } = await import('../../src-main/engine/clear/scan.js');
  const start = process.env.TRIAL_MEMBERS.split(',').map(Number);
  for (const beside of [Infinity, typ]) {
    const got = expandPocket(start, A, B, L, g, beside);
    console.log(`beside ${beside === Infinity ? 'unlimited' : 'typical'}: ${got.length} gathered, poisons ${got.filter((x) => P.has(x)).length}/${P.size}`);
    const G = new Set(got);
    for (const j of P) {
      if (G.has(j)) continue;
      let a = 0, b = 0, mine = 0, within20 = 0;
      for (let r = 0; r < K; r++) { const x = g.indices[j * K + r]; if (G.has(x)) mine++; else if (L[x] === A) a++; else if (L[x] === B) b++; }
      for (const i of G) for (let r = 0; r < 20; r++) if (g.indices[i * K + r] === j) within20++;
      console.log('  missed', j, { mine, a, b, within20 });
    }
  }
}

// Where each poison's fellow poisons sit in its neighbour list: rank:distance/typical.
if (process.env.TRIAL_POISON_RANKS) {
  for (const i of man.poisonIndices as number[]) {
    const row: string[] = [];
    for (let r = 0; r < K; r++) { const x = g.indices[i * K + r]; if (P.has(x)) row.push(`${r}:${(g.distances[i * K + r] / typ).toFixed(2)}`); }
    console.log(i, row.length, row.join(' '));
  }
}
