// Development experiment: rebuilds one `clearwb bench` trial exactly (same seeds as
// engine/bench/defence.ts), caches its victim in the system temp folder, scans it with CLEAR
// and prints every candidate pocket's evidence.
//   node .trialx.mjs BENCH_SEED KIND(attack|clean) T [ATTACK=label-flip] [ARCH=cnn] [SCENARIO=e2e]
// TRIAL_VARIANT=strong (or two-targets) rebuilds that variant's case of the attack instead;
// TRIAL_POISONS=K the case of that poison count.
// The trial's clean feature model is trained as the bench trains it (arch ARCH, the trial's seed).
import os from 'node:os';
import path from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { trainVictim, type AttackName } from '../../src-main/engine/attacks/index.js';
import { benchCases, setupTrial, splitTestForBench, trialSeedOf } from '../../src-main/engine/bench/defence.js';
import { prepareScan, scanModel } from '../../src-main/engine/clear/scan.js';
import { extendGraphPastGroups, extendNeighbourRows } from '../../src-main/engine/clear/runs.js';
import { classNeighbourScales, closedGroups, DEFAULT_CANDIDATE_SETTINGS, isolatedGroups, nearDuplicateGroups, samplesWithUnfinishedRuns } from '../../src-main/engine/clear/pockets.js';
import { saveModel, loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { gatherPixels } from '../../src-main/engine/data/dataset.js';
import { alignedSquaredDistance } from '../../src-main/engine/clear/copies.js';

const [seedArg, kindArg, tArg, attackArg, archArg, scenarioArg] = process.argv.slice(2);
const scenario = (scenarioArg ?? 'e2e') as 'e2e' | 'transfer';
const benchSeed = Number(seedArg); const kind = kindArg as 'attack' | 'clean'; const t = Number(tArg);
const attack = (attackArg ?? 'label-flip') as AttackName; const arch = archArg ?? 'cnn';
await initBackend('wasm');
const ds0 = await loadDataset('mnist');
// The bench's own trial construction (no reference set): same seeds, feature extractor and poisons.
// TRIAL_VARIANT=strong (or two-targets): the bench case of that variant, e.g. cp+strong.
const variant = process.env.TRIAL_VARIANT;
// TRIAL_POISONS=K: the case of that poison count (e.g. label-flip:160 of a --poisons 160 run).
const poisons = process.env.TRIAL_POISONS ? [Number(process.env.TRIAL_POISONS)] : undefined;
const benchCase = kind === 'attack'
  ? (variant ? benchCases({ scenario, arch, poisons, variants: [variant as never] }, [attack]).find((c) => c.variant === variant)! : benchCases({ scenario, arch, poisons }, [attack])[0])
  : null;
const trialSeed = trialSeedOf(benchSeed, kind, benchCase?.id ?? scenario, t);
const { pool } = splitTestForBench(ds0.test, 0, benchSeed);
const setup = await setupTrial(ds0, { seed: benchSeed, arch, pool }, benchCase, scenario, trialSeed, t);
const ds = setup.data; const manifest: any = setup.manifests[0]; const clean = setup.feature;
const cache = path.join(os.tmpdir(), `clear-trial-v2-${benchSeed}-${kind}-${t}-${attack}${variant ? `+${variant}` : ''}${poisons ? `-k${poisons[0]}` : ''}-${arch}-${scenario}`);
let model: any;
if (existsSync(cache)) model = (await loadModel(cache)).model;
else { model = (await trainVictim(ds, scenario, { arch, seed: trialSeed, ...(clean ? { frozenFeatureModel: clean } : {}), ...(manifest ? { manifest } : {}) })).model; await saveModel(model, cache); }
if (manifest) {
  const p = await predictSplit(model, ds.test, ds.shape, { indices: [manifest.targetIndex] });
  console.log('target', manifest.targetIndex, 'class', manifest.targetClass, 'attacker', manifest.attackerClass, 'predicted', p.predicted[0]);
}
// TRIAL_SAVE_DATA=DIR writes the trial's poisoned dataset (with its manifest) as a dataset folder, to scan with the CLI or the workbench (dir:DIR; the victim is the cache folder printed).
if (process.env.TRIAL_SAVE_DATA) {
  const { saveDatasetDir } = await import('../../src-main/engine/data/save.js');
  await saveDatasetDir(ds, process.env.TRIAL_SAVE_DATA, { manifest });
  console.log('dataset', process.env.TRIAL_SAVE_DATA, 'model', cache);
}
const loaded = { model, dir: 'mem', metadata: {}, fingerprint: 'x', inputShape: ds.shape, numClasses: 10 } as any;
// TRIAL_FEATURE_LAYER=NAME scans that layer's features instead of the default.
const scan = await scanModel(loaded, ds, process.env.TRIAL_FEATURE_LAYER ? { featureLayer: process.env.TRIAL_FEATURE_LAYER } : {});
console.log(scan.verdict);
// TRIAL_SCAN_OUT=FILE also writes the scan and the trial's manifest as JSON, for offline study.
if (process.env.TRIAL_SCAN_OUT) writeFileSync(process.env.TRIAL_SCAN_OUT, JSON.stringify({ name: `${benchSeed}-${kind}-${t}-${attack}-${arch}-${scenario}`, manifest, scan }));
const poisonSet = new Set<number>(manifest?.poisonIndices ?? []);
// The K = 40 graph and features of the switches below, built once for all of them.
let preparation: Awaited<ReturnType<typeof prepareScan>> | undefined;
const prepared = async () => (preparation ??= await prepareScan(loaded, ds, { neighbours: 40, normalisation: 'l2', featureLayer: process.env.TRIAL_FEATURE_LAYER }));
for (const p of scan.pockets.slice(0, 10)) {
  const hit = p.members.filter((m) => poisonSet.has(m)).length;
  const e = p.evidence as Record<string, number>;
  console.log(`#${p.id} ${p.attackerClass} in ${p.enclosingClass} n=${p.members.length} poison=${hit} score=${p.score.toFixed(2)} p=${p.pValue.toExponential(1)} conf=${p.confirmed}`,
    `shell=${p.tightness.shellPurity.toFixed(2)} cont=${p.tightness.contamination} int=${p.interiorAttackerRate.toFixed(2)} fit=${p.fittedRate.toFixed(2)} flip=${p.flipDistance.toFixed(2)}`,
    Object.entries(e).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(2) : v}`).join(' '));
}
console.log('candidates', scan.pockets.length);

// TRIAL_POISON_GRAPH=1: where the poisons sit in the feature graph (K = 40): per poison, the
// model's prediction, how many of its neighbours are poisons, and the labels of the others.
if (process.env.TRIAL_POISON_GRAPH && manifest) {
  const prep = await prepared();
  const L = ds.train.labels; const g = prep.graph;
  for (const i of manifest.poisonIndices as number[]) {
    const row = Array.from(g.indices.subarray(i * g.k, (i + 1) * g.k));
    const others: Record<number, number> = {};
    for (const j of row) if (!poisonSet.has(j)) others[L[j]] = (others[L[j]] ?? 0) + 1;
    console.log(i, 'label', L[i], 'pred', prep.embedding.predictions[i], 'poison-neighbours', row.filter((j) => poisonSet.has(j)).length, 'others', JSON.stringify(others));
  }
}

// TRIAL_POISON_SHELL=1: what surrounds the poisons as a group: the labels (and the model's
// predictions) of the 100 nearest samples outside the poisons, by distance to the nearest
// poison, and how far they are against the poisons' own spacing.
if (process.env.TRIAL_POISON_SHELL && manifest) {
  const prep = await prepared();
  const poisonList = manifest.poisonIndices as number[];
  const rows = await extendNeighbourRows(prep.normalised, prep.embedding.n, prep.embedding.dim, poisonList, poisonList.length + 200);
  const nearest = new Map<number, number>(); const inner: number[] = [];
  for (const i of poisonList) {
    const row = rows.get(i)!;
    row.indices.forEach((j, r) => {
      if (poisonSet.has(j)) { if (r === 0) inner.push(row.distances[r]); return; }
      nearest.set(j, Math.min(nearest.get(j) ?? Infinity, row.distances[r]));
    });
  }
  const shell = [...nearest.entries()].sort((a, b) => a[1] - b[1]).slice(0, 100);
  const L = ds.train.labels; const P = prep.embedding.predictions;
  const count = (xs: number[]) => JSON.stringify(xs.reduce<Record<number, number>>((m, x) => { m[x] = (m[x] ?? 0) + 1; return m; }, {}));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log('poison nearest-poison distance median', med(inner).toFixed(4), 'shell distance first/median', shell[0][1].toFixed(4), med(shell.map((s) => s[1])).toFixed(4),
    'typical nearest', med(Array.from({ length: prep.graph.n }, (_, i) => prep.graph.distances[i * prep.graph.k])).toFixed(4));
  console.log('shell labels', count(shell.map((s) => L[s[0]])), 'shell predicted', count(shell.map((s) => P[s[0]])));
  console.log('first 20 shell labels', shell.slice(0, 20).map((s) => L[s[0]]).join(','));
}

// TRIAL_GROUP_STEPS=1: where the poisons go in the search's group-forming steps (runs.ts,
// pockets.ts): unfinished runs, closed groups, extended rows, near-duplicate and isolated groups.
if (process.env.TRIAL_GROUP_STEPS && manifest) {
  const prep = await prepared();
  const L = ds.train.labels; const S = DEFAULT_CANDIDATE_SETTINGS;
  const unfinished = samplesWithUnfinishedRuns(L, prep.graph, S);
  const closed = closedGroups(L, prep.graph, unfinished, S.maxGroupSize);
  const hits = (gs: number[][]) => gs.map((g) => [g.length, g.filter((m) => poisonSet.has(m)).length]).filter(([, h]) => h > 0);
  console.log('unfinished poisons', unfinished.filter((i) => poisonSet.has(i)).length, 'closed groups with poisons [size, poisons]', JSON.stringify(hits(closed)));
  const graph = await extendGraphPastGroups(prep.normalised, prep.embedding.dim, L, prep.graph);
  console.log('extended poison rows', [...(graph.extended?.keys() ?? [])].filter((i) => poisonSet.has(i)).length);
  const scale = classNeighbourScales(L, graph, 10, S.scaleNeighbourRank);
  const p0 = [...poisonSet][0];
  console.log('class scale', manifest.attackerClass, scale[manifest.attackerClass].toFixed(4), 'limit', (S.duplicateRatio * scale[manifest.attackerClass]).toFixed(4), 'first poison graph distances', Array.from(graph.distances.subarray(p0 * graph.k, p0 * graph.k + 5)).map((d) => d.toFixed(4)).join(' '));
  console.log('near-duplicate groups with poisons', JSON.stringify(hits(nearDuplicateGroups(L, graph, scale, S))), 'isolated', JSON.stringify(hits(isolatedGroups(L, graph, S))));
}

// TRIAL_COPIES=1: how far each reported group (and the poisons) are copies of each other in pixel
// space, up to a shift of TRIAL_COPIES_SHIFT pixels (default 2): per member, the aligned pixel
// distance to its nearest fellow member over that to its nearest feature-space neighbour outside
// the group (K = 40); the group's median. ≈ 1 for distinct images, ≪ 1 for copies of one image.
if (process.env.TRIAL_COPIES) {
  const prep = await prepared();
  const g = prep.graph; const [h, w, c] = ds.shape;
  const maxShift = Number(process.env.TRIAL_COPIES_SHIFT ?? 2);
  const pixels = (i: number) => gatherPixels(ds.train, ds.shape, [i]);
  const cacheP = new Map<number, Float32Array>();
  const px = (i: number) => { let v = cacheP.get(i); if (!v) { v = pixels(i); cacheP.set(i, v); } return v; };
  const aligned = (a: Float32Array, b: Float32Array) => Math.sqrt(alignedSquaredDistance(a, b, h, w, c, maxShift));
  const copies = (members: number[]) => {
    const set = new Set(members);
    const ratios = members.map((i) => {
      let inner = Infinity; for (const j of members) if (j !== i) inner = Math.min(inner, aligned(px(i), px(j)));
      // TRIAL_COPIES=other: against the nearest neighbour of another label (copies left outside the group do not count as the outside).
      const other = process.env.TRIAL_COPIES === 'other';
      let outer = Infinity; for (const j of g.indices.subarray(i * g.k, (i + 1) * g.k)) if (j !== i && !set.has(j) && (!other || ds.train.labels[j] !== ds.train.labels[i])) outer = Math.min(outer, aligned(px(i), px(j)));
      return inner / outer;
    }).sort((a, b) => a - b);
    return ratios[Math.floor(ratios.length / 2)];
  };
  if (manifest) console.log(`copies poisons n=${poisonSet.size} ratio=${copies([...poisonSet]).toFixed(3)}`);
  for (const p of scan.pockets.slice(0, 30)) {
    const hit = p.members.filter((m) => poisonSet.has(m)).length;
    const members = p.members.length > 60 ? p.members.slice(0, 60) : p.members;
    console.log(`copies #${p.id} ${p.attackerClass} in ${p.enclosingClass} n=${p.members.length} poison=${hit} score=${p.score.toFixed(2)} p=${p.pValue.toExponential(1)} ratio=${copies(members).toFixed(3)}`);
  }
}

// TRIAL_PIXEL_STUDY=1: copies the features put deep in one class. (a) Each sample's plain pixel
// k = 10 nearest neighbours (L2, every training sample): how many carry another label, over the
// whole set and for the poisons. (b) Each sample's same-label pairs among its 10 nearest
// feature neighbours: aligned pixel distance ÷ its 10th plain pixel neighbour's distance, the
// smallest pairs listed with whether they are poisons.
if (process.env.TRIAL_PIXEL_STUDY) {
  const tf = await import('@tensorflow/tfjs-core');
  const prep = await prepared();
  const g = prep.graph; const [h, w, c] = ds.shape; const n = ds.train.labels.length; const size = h * w * c;
  const labels = ds.train.labels;
  const all = gatherPixels(ds.train, ds.shape, Array.from({ length: n }, (_, i) => i));
  const X = tf.tensor2d(all, [n, size]);
  const sq = tf.sum(tf.square(X), 1);
  const kk = 10; const nnIdx = new Int32Array(n * kk); const nnD = new Float32Array(n * kk);
  for (let s = 0; s < n; s += 1000) {
    const e = Math.min(n, s + 1000);
    const d = tf.tidy(() => {
      const rows = tf.slice(X, [s, 0], [e - s, size]);
      const dd = tf.sub(tf.add(tf.reshape(tf.slice(sq, [s], [e - s]), [e - s, 1]), tf.reshape(sq, [1, n])), tf.mul(tf.matMul(rows, X, false, true), 2));
      return tf.topk(tf.neg(dd), kk + 1);
    });
    const iv = d.indices.dataSync(); const vv = d.values.dataSync();
    for (let r = 0; r < e - s; r++) { let m = 0; for (let q = 0; q <= kk && m < kk; q++) { const j = iv[r * (kk + 1) + q]; if (j === s + r) continue; nnIdx[(s + r) * kk + m] = j; nnD[(s + r) * kk + m] = -vv[r * (kk + 1) + q]; m++; } }
    d.indices.dispose(); d.values.dispose();
  }
  const disagree = new Int32Array(n);
  for (let i = 0; i < n; i++) for (let m = 0; m < kk; m++) if (labels[nnIdx[i * kk + m]] !== labels[i]) disagree[i]++;
  const hist = new Array(kk + 1).fill(0); for (let i = 0; i < n; i++) if (!poisonSet.has(i)) hist[disagree[i]]++;
  console.log('pixel-kNN disagreement histogram (non-poisons)', hist.join(' '));
  for (const p of poisonSet) console.log('poison', p, 'disagree', disagree[p], 'neighbours', Array.from(nnIdx.subarray(p * kk, (p + 1) * kk)).map((j) => `${labels[j]}${poisonSet.has(j) ? '*' : ''}`).join(','));
  const pairs: { i: number; j: number; r: number }[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = all.subarray(i * size, (i + 1) * size); const ref = nnD[i * kk + kk - 1];
    for (let q = 0; q < 10; q++) {
      const j = g.indices[i * g.k + q]; if (j <= i || labels[j] !== labels[i]) continue;
      const d = alignedSquaredDistance(a, all.subarray(j * size, (j + 1) * size), h, w, c, 2, ref * 0.25);
      pairs.push({ i, j, r: Math.sqrt(d / ref) });
    }
  }
  console.log('pairs', pairs.length, 'ms', (performance.now() - t0).toFixed(0));
  pairs.sort((a, b) => a.r - b.r);
  for (const p of pairs.slice(0, 25)) console.log('pair', p.i, p.j, labels[p.i], p.r.toFixed(3), poisonSet.has(p.i) ? 'P' : '', poisonSet.has(p.j) ? 'P' : '', 'dis', disagree[p.i], disagree[p.j]);
}


// TRIAL_FRAGILE=1: the poisons' squeezing drift ratios (squeeze.ts) ranked within their label,
// and how many of each poison's K = 40 neighbours are poisons, beside the label's most fragile.
if (process.env.TRIAL_FRAGILE && manifest) {
  const { SqueezeDrift } = await import('../../src-main/engine/clear/squeeze.js');
  const prep = await prepared(); const g = prep.graph;
  const squeeze = new SqueezeDrift(prep.parts, ds.train, ds.shape, prep.embedding.features, 0);
  const ratios = squeeze.ratios(g.n);
  const label = ds.train.labels[[...poisonSet][0]];
  const ofLabel = Array.from({ length: g.n }, (_, i) => i).filter((i) => ds.train.labels[i] === label).sort((a, b) => ratios[b] - ratios[a]);
  const rank = new Map(ofLabel.map((i, r) => [i, r]));
  const ranks = [...poisonSet].map((p) => rank.get(p)!).sort((a, b) => a - b);
  console.log(`label ${label}: ${ofLabel.length} samples; poisons' fragility ranks`, ranks.join(','));
  console.log('top 40 of the label', ofLabel.slice(0, 40).map((i) => `${poisonSet.has(i) ? 'P' : '.'}${ratios[i].toFixed(1)}`).join(' '));
}
