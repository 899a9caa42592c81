// Development experiment: do clean-label poisons move when their images are squeezed (median
// filtered or reduced in bit depth) and natural border groups not? Rebuilds one bench trial as
// trial-scan.ts does (its victim must be cached by trial-scan first), embeds the training split
// as it is and squeezed, and prints per-sample drift (feature distance moved ÷ the typical
// nearest-neighbour distance) and where the squeezed point lands (share of its 10 nearest
// training samples, the sample's own group left aside, labelled with its own class) for the
// poisons, for the members of the scan's other candidate groups and for all samples.
// SQUEEZERS picks the squeezers (default all four).
//   TRIAL_VARIANT=strong node .squeezex.mjs BENCH_SEED T ATTACK ARCH SCENARIO SCAN_JSON
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import type { AttackName } from '../../src-main/engine/attacks/index.js';
import { rebuildAttackTrial } from './trial.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { splitModel } from '../../src-main/engine/features/split.js';
import { embedSplit } from '../../src-main/engine/features/embed.js';
import { normaliseFeatures } from '../../src-main/engine/features/knn.js';
import { median } from '../../src-main/engine/features/stats.js';

const [seedArg, tArg, attackArg, archArg, scenarioArg, scanFile] = process.argv.slice(2);
const benchSeed = Number(seedArg); const t = Number(tArg);
const attack = attackArg as AttackName; const arch = archArg; const scenario = scenarioArg as 'e2e' | 'transfer';
await initBackend('wasm');
const { ds, manifest, cache } = await rebuildAttackTrial(benchSeed, t, attack, arch, scenario);
const { model } = await loadModel(cache);
const parts = splitModel(model as any);
const [h, w, ch] = ds.shape;
const size = h * w * ch;

function quantile(values: number[], q: number): number { const s = [...values].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; }

/** k×k median filter per channel (edges clamped). */
function medianFilter(images: Float32Array, count: number, k: number): Float32Array {
  const out = new Float32Array(images.length);
  const lo = -Math.floor((k - 1) / 2); const hi = lo + k - 1;
  const window: number[] = [];
  for (let s = 0; s < count; s++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) {
    window.length = 0;
    for (let dy = lo; dy <= hi; dy++) for (let dx = lo; dx <= hi; dx++) {
      const yy = Math.min(h - 1, Math.max(0, y + dy)); const xx = Math.min(w - 1, Math.max(0, x + dx));
      window.push(images[s * size + (yy * w + xx) * ch + c]);
    }
    window.sort((a, b) => a - b);
    out[s * size + (y * w + x) * ch + c] = window.length % 2 ? window[window.length >> 1] : 0.5 * (window[window.length / 2 - 1] + window[window.length / 2]);
  }
  return out;
}
function bitDepth(images: Float32Array, bits: number): Float32Array {
  const levels = 2 ** bits - 1;
  return images.map((v) => Math.round(Math.min(1, Math.max(0, v)) * levels) / levels);
}

const n = ds.train.count;
const base = await embedSplit(parts, ds.train, ds.shape);
const dim = base.dim;
const f0 = normaliseFeatures(base.features, n, dim, 'l2');
// Typical nearest-neighbour distance, from a sample of rows.
const nearest: number[] = [];
for (let i = 0; i < n; i += 17) {
  let best = Infinity;
  for (let j = 0; j < n; j++) if (j !== i) { let d = 0; for (let t2 = 0; t2 < dim; t2++) d += (f0[i * dim + t2] - f0[j * dim + t2]) ** 2; if (d > 0 && d < best) best = d; }
  nearest.push(Math.sqrt(best));
}
const typical = median(nearest);
const scan = JSON.parse(readFileSync(scanFile, 'utf8')).scan;
const poisons = new Set<number>(manifest.poisonIndices);
const labels = ds.train.labels;
const groupOf = new Map<number, Set<number>>();
for (const p of scan.pockets) for (const m of p.members) if (!groupOf.has(m)) groupOf.set(m, new Set(p.members));
for (const m of poisons) groupOf.set(m, poisons);
const natural = scan.pockets.filter((p: any) => !p.members.some((m: number) => poisons.has(m))).flatMap((p: any) => p.members) as number[];
const everyone = Array.from({ length: n }, (_, i) => i);
const nearWanted = new Set<number>([...poisons, ...natural]);

// SQUEEZERS=bits3 (comma list of median2, median3, bits1, bits3) picks the squeezers.
const chosen = (process.env.SQUEEZERS ?? 'median2,median3,bits1,bits3').split(',');
for (const [name, squeeze] of ([
  ['median2', (x: Float32Array, c: number) => medianFilter(x, c, 2)],
  ['median3', (x: Float32Array, c: number) => medianFilter(x, c, 3)],
  ['bits1', (x: Float32Array) => bitDepth(x, 1)],
  ['bits3', (x: Float32Array) => bitDepth(x, 3)],
] as const).filter(([k]) => chosen.includes(k))) {
  const rows = [...new Set([...poisons, ...natural, ...everyone])];
  const images = new Float32Array(rows.length * size);
  rows.forEach((r, k) => images.set(ds.train.images.subarray(r * size, (r + 1) * size), k * size));
  const squeezed = squeeze(images, rows.length);
  const emb = await embedSplit(parts, { images: squeezed, count: rows.length }, ds.shape);
  const f1 = normaliseFeatures(emb.features, rows.length, dim, 'l2');
  const drift = new Map<number, number>(); const ownShare = new Map<number, number>();
  rows.forEach((r, k) => {
    let d = 0; for (let t2 = 0; t2 < dim; t2++) d += (f1[k * dim + t2] - f0[r * dim + t2]) ** 2;
    drift.set(r, Math.sqrt(d) / typical);
    if (!nearWanted.has(r)) return;
    const skip = groupOf.get(r) ?? new Set([r]);
    const best: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (skip.has(j) || j === r) continue;
      let dd = 0; for (let t2 = 0; t2 < dim; t2++) dd += (f1[k * dim + t2] - f0[j * dim + t2]) ** 2;
      if (best.length < 10 || dd < best[best.length - 1][0]) { best.push([dd, j]); best.sort((a, b) => a[0] - b[0]); if (best.length > 10) best.pop(); }
    }
    ownShare.set(r, best.filter(([, j]) => labels[j] === labels[r]).length / best.length);
  });
  const line = (what: string, set: number[]) => {
    const d = set.map((r) => drift.get(r)!); const o = set.filter((r) => ownShare.has(r)).map((r) => ownShare.get(r)!);
    const shares = o.length ? ` | own-label share median ${median(o).toFixed(2)} mean ${(o.reduce((a, b) => a + b, 0) / o.length).toFixed(2)}` : '';
    return `${what} n=${set.length} drift min ${quantile(d, 0).toFixed(2)} median ${median(d).toFixed(2)} p90 ${quantile(d, 0.9).toFixed(2)} p99 ${quantile(d, 0.99).toFixed(2)} p99.9 ${quantile(d, 0.999).toFixed(2)} max ${quantile(d, 1).toFixed(2)}${shares}`;
  };
  console.log(`${name}: ${line('poisons', [...poisons])}`);
  console.log(`${name}: ${line('natural candidates', natural)}`);
  console.log(`${name}: ${line('all', everyone)}`);
  const poisonLabel = labels[[...poisons][0]];
  console.log(`${name}: ${line('all of the poisons\' label', everyone.filter((r) => labels[r] === poisonLabel && !poisons.has(r)))}`);
}
