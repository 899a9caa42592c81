/**
 * The speed benchmark: in one process, on the backend this
 * process runs (the backend is process-global; the CLI spawns child processes for others):
 * training throughput of the built-in cnn and mlp, embedding throughput, CLEAR scan time by
 * stage and against one forward pass, repair (fine-tune) time against training from scratch,
 * peak RSS, and how the neighbours stage alone scales with the number of samples (synthetic
 * unit vectors, {@link neighbourScaling}): exact up to 100k samples, approximate above, with
 * its recall against exact rows.
 */
import { availableParallelism } from 'node:os';
import { backendInfo, backendName } from '../backend/index.js';
import { cloneModel } from '../attacks/index.js';
import { embedSplit } from '../features/embed.js';
import { normaliseFeatures } from '../features/knn.js';
import { APPROXIMATE_ABOVE, buildGraph, chooseGraphMethod, type GraphMethod } from '../features/ann.js';
import { fineTune } from '../clear/finetune.js';
import { DEFAULT_SCAN_SETTINGS, scanModel } from '../clear/scan.js';
import { splitModel } from '../features/split.js';
import type { Dataset } from '../data/dataset.js';
import { buildArchitecture } from '../model/architectures.js';
import type { LoadedModel } from '../model/io.js';
import { trainModel } from '../model/train.js';
import { RssPeaks } from '../memory.js';
import { createRng } from '../random.js';
import { throwIfCancelled, type JobContext } from '../progress.js';

export { PERF_SCHEMA } from '../../contract/results.js';
import { PERF_SCHEMA, type PerfSummary } from '../../contract/results.js';

export interface PerfOptions {
  /** Batches of training measured per architecture (default 100). */
  batches?: number;
  batchSize?: number;
  archs?: string[];
  /** Skip the scan (and the repair that needs its pockets). */
  skipScan?: boolean;
  argv?: string[];
  seed?: number;
  /** Sample counts of the neighbours scaling table (default {@link SCALING_SIZES}); empty: no table. */
  scaling?: number[];
  /** A size whose estimated time is longer is not run, only estimated (default {@link SCALING_BUDGET_SECONDS}). */
  scalingBudgetSeconds?: number;
  /** The scaling table alone: no training, scan or repair. */
  scalingOnly?: boolean;
  /** Neighbour graph of the scan and of the scaling table (default `auto`: approximate above {@link APPROXIMATE_ABOVE} samples). */
  graph?: GraphMethod;
  /** Features of the scaling table (default `random`; see {@link ScalingData}). */
  scalingData?: ScalingData;
}

/**
 * `random`: Gaussian vectors scaled to unit length, with no neighbourhood structure (the hardest
 * case for an approximate index). `clustered`: unit vectors around 500 random centres, each
 * spread along 16 random directions of its own, as a trained model's features gather by class
 * and by kind of sample.
 */
export type ScalingData = 'random' | 'clustered';

/** One size of the neighbours scaling table. */
export interface NeighbourScalingRow {
  n: number;
  dim: number;
  k: number;
  /** Normalising and building the graph, wall clock; null when the size was not run. */
  seconds: number | null;
  /** The same, process CPU time over all threads (on a shared machine it moves less than wall clock). */
  cpuSeconds: number | null;
  /** Before running: the largest size measured before it, scaled by (n / n₀)² (null for the first size). */
  estimatedSeconds: number | null;
  /**
   * Peak RSS of the process while this size ran ({@link PerfResult.rssScope}), and its RSS just
   * before, after a garbage collection, with this size's random features already made. Memory
   * the wasm heap once took stays with the process, so a size reuses what smaller ones grew.
   */
  peakRssMiB: number | null;
  rssBeforeMiB: number | null;
  /** The graph itself: n × k indices and distances. */
  graphMiB: number;
  /** Exact, or approximate (an HNSW index's candidates re-ranked exactly). */
  method: 'exact' | 'approximate';
  /** Approximate graph: share of the exact K nearest kept, on `recallRows` rows measured by brute force (its time is in `seconds`). */
  recall: number | null;
  recallRows: number;
  recallSeconds: number | null;
  /** Why it was not run. */
  skipped?: string;
  /** Why the method is not the one asked for, or why its recall is short. */
  note?: string;
  data?: ScalingData;
}

export interface PerfResult extends PerfSummary {
  dataset: { spec: string; name: string; trainCount: number };
  embedding: { arch: string; n: number; seconds: number; samplesPerSecond: number; batchSize: number } | null;
  scan: {
    arch: string; n: number; embed: number; neighbours: number; hulls: number; pocketTest: number; total: number; pockets: number;
    /** Of the neighbours stage, the extended rows past large groups (seconds, rows); of the pocket test, the crafted-samples test with its squeezing pass. */
    extension?: number; extendedRows?: number; craftedTest?: number;
    /** The whole scan in forward passes over the training set (its own embed stage is one). */
    forwardPasses: number;
    /** Peak RSS of the process during the scan ({@link PerfResult.rssScope}). */
    peakRssMiB: number;
    /** How the neighbour graph was made, with its recall when approximate. */
    neighbourGraph: { method: 'exact' | 'approximate' | 'imported'; recall: number | null; recallRows: number } | null;
  } | null;
  repair: {
    arch: string; relabelled: number; repairSeconds: number; repairSamples: number;
    /** Full training from scratch (3 epochs over the training split), estimated from the throughput above. */
    scratchSecondsEstimated: number; ratio: number;
  } | null;
  /** The neighbours stage alone on random unit vectors, by number of samples ({@link neighbourScaling}). */
  neighbourScaling: NeighbourScalingRow[];
  /**
   * What a stage's peak RSS covers: `stage` where the process can reset its high-water mark
   * (Linux), else `process`, the peak since the process started. `peakRssMiB` is the whole
   * run's before the scaling table either way.
   */
  rssScope: 'stage' | 'process';
}

/** Sample counts of the scaling table: MNIST-sized training sets up to a 1M-sample one. */
export const SCALING_SIZES = [8_000, 30_000, 60_000, 250_000, 1_000_000];
/** 20 minutes: a size estimated to take longer is reported with its estimate and not run. */
export const SCALING_BUDGET_SECONDS = 1200;
/** The scan's default feature width for the built-in models (their penultimate Dense layer). */
const SCALING_DIM = 128;

export async function benchPerf(ds: Dataset, options: PerfOptions = {}, ctx: JobContext = {}): Promise<PerfResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 64;
  const batches = options.batches ?? 100;
  const archs = options.scalingOnly ? [] : options.archs ?? ['cnn', 'mlp'];
  const seed = options.seed ?? 0;
  const rss = new RssPeaks();
  const info = backendInfo();
  const backend = { name: backendName(), threads: info?.threads ?? 1 };
  const classes = ds.classNames.length;
  const samples = Math.min(ds.train.count, batches * batchSize);
  const indices = Array.from({ length: samples }, (_, i) => i);
  const scalingSizes = options.scaling ?? SCALING_SIZES;
  const steps = archs.length + (options.skipScan || !archs.length ? 0 : 3) + (scalingSizes.length ? 1 : 0);
  let step = 0;
  const progress = (message: string) => ctx.onProgress?.({ stage: 'perf', fraction: step / steps, message });

  const training: PerfResult['training'] = [];
  let cnn: import('@tensorflow/tfjs-layers').LayersModel | undefined;
  let cnnRate = 0;
  for (const arch of archs) {
    throwIfCancelled(ctx.signal);
    progress(`training throughput: ${arch}`);
    const model = buildArchitecture(arch, { inputShape: ds.shape, numClasses: classes, seed });
    const t0 = performance.now();
    const r = await trainModel(model, ds.train, ds.shape, classes, { epochs: 1, batchSize, seed }, { signal: ctx.signal, indices });
    const seconds = (performance.now() - t0) / 1000;
    training.push({ arch, backend: backend.name, threads: backend.threads, batchSize, samples, seconds, samplesPerSecond: samples / seconds });
    void r;
    if (arch === archs[0]) { cnn = model; cnnRate = samples / seconds; } else model.dispose();
    step++;
  }

  let embedding: PerfResult['embedding'] = null;
  let scan: PerfResult['scan'] = null;
  let repair: PerfResult['repair'] = null;
  if (cnn && !options.skipScan) {
    const arch = archs[0];
    progress('embedding throughput');
    const parts = splitModel(cnn);
    const t0 = performance.now();
    const emb = await embedSplit(parts, ds.train, ds.shape, { signal: ctx.signal });
    const es = (performance.now() - t0) / 1000;
    embedding = { arch, n: emb.n, seconds: es, samplesPerSecond: emb.n / es, batchSize: 256 };
    step++;
    progress('scan by stage');
    const loaded = { model: cnn, dir: '(in memory)', metadata: {}, fingerprint: 'in-memory', inputShape: ds.shape, numClasses: classes } as unknown as LoadedModel;
    rss.take();
    const result = await scanModel(loaded, ds, { seed, ...(options.graph ? { graph: options.graph } : {}) }, { signal: ctx.signal });
    // The scan measures its own peak (it starts the high-water mark again where it can).
    const scanPeak = Math.max(result.timings.peakRssMiB ?? 0, rss.take());
    rss.record(scanPeak);
    const confirmed = result.pockets.filter((p) => p.confirmed);
    const { neighbourGraph, ...timings } = result.timings;
    scan = {
      arch, n: ds.train.count, ...timings, pockets: confirmed.length, forwardPasses: result.timings.total / result.timings.embed, peakRssMiB: scanPeak,
      neighbourGraph: neighbourGraph ? { method: neighbourGraph.method, recall: neighbourGraph.recall, recallRows: neighbourGraph.recallRows } : null,
    };
    step++;
    progress('repair against training from scratch');
    // The product's repair: relabel the members of confirmed pockets when there are any, else a
    // fixed 20 samples to their own labels (the cost depends on the replay sizes, not on the
    // labels), fine-tune, then close their hull in the head.
    const relabel = new Map<number, number>();
    for (const p of confirmed) for (const m of p.members) relabel.set(m, p.enclosingClass);
    if (!relabel.size) for (let i = 0; i < Math.min(20, ds.train.count); i++) relabel.set(i, ds.train.labels[i]);
    const groups = confirmed.length ? confirmed.map((p) => ({ members: p.members, label: p.enclosingClass })) : [{ members: [...relabel.keys()], label: ds.train.labels[0] }];
    const copy = await cloneModel(cnn);
    try {
      const t1 = performance.now();
      const ft = await fineTune(copy, ds, { relabel, hulls: { featureLayer: parts.featureLayer, groups } }, { seed }, { signal: ctx.signal });
      const repairSeconds = (performance.now() - t1) / 1000;
      const repairSamples = Math.round(ft.samplesPerSecond * ft.seconds);
      const scratch = (3 * ds.train.count) / cnnRate;
      repair = { arch, relabelled: relabel.size, repairSeconds, repairSamples, scratchSecondsEstimated: scratch, ratio: repairSeconds / scratch };
    } finally { copy.dispose(); }
    step++;
  }
  cnn?.dispose();
  const peakRssMiB = rss.overall();
  let neighbourScalingRows: NeighbourScalingRow[] = [];
  if (scalingSizes.length) {
    progress('neighbours scaling');
    neighbourScalingRows = await neighbourScaling(scalingSizes, { seed, budgetSeconds: options.scalingBudgetSeconds, rss, graph: options.graph, data: options.scalingData }, {
      signal: ctx.signal,
      onProgress: (event) => ctx.onProgress?.({ ...event, fraction: (step + event.fraction) / steps }),
    });
    step++;
  }
  const result: PerfResult = {
    schema: PERF_SCHEMA,
    createdAt: new Date().toISOString(),
    argv: options.argv ?? [],
    backend,
    dataset: { spec: ds.spec, name: ds.name, trainCount: ds.train.count },
    training, embedding, scan, repair,
    neighbourScaling: neighbourScalingRows, rssScope: rss.scope,
    peakRssMiB,
    seconds: (performance.now() - started) / 1000,
    markdown: '',
  };
  result.markdown = perfMarkdown(result);
  return result;
}

/**
 * The neighbours stage alone (normalise, then the K-nearest-neighbour graph, as a scan makes
 * it: exact up to {@link APPROXIMATE_ABOVE} samples, approximate above, with its recall) on
 * random 128-d unit vectors, at each of `sizes` in increasing order. Before each size its time
 * is estimated from the largest size measured so far by the same method, scaled by (n / n₀)²
 * for the exact graph (the products are n² · 129 multiply-adds) and by n log n / n₀ log n₀ for
 * the approximate one; a size estimated past the budget is reported with its estimate and not run.
 */
export async function neighbourScaling(
  sizes: readonly number[],
  options: { dim?: number; k?: number; seed?: number; budgetSeconds?: number; rss?: RssPeaks; graph?: GraphMethod; approximateAbove?: number; data?: ScalingData } = {},
  ctx: JobContext = {},
): Promise<NeighbourScalingRow[]> {
  const dim = options.dim ?? SCALING_DIM;
  const budget = options.budgetSeconds ?? SCALING_BUDGET_SECONDS;
  const rss = options.rss ?? new RssPeaks();
  const rows: NeighbourScalingRow[] = [];
  const measured: Partial<Record<'exact' | 'approximate', { n: number; seconds: number }>> = {};
  const ordered = [...new Set(sizes)].sort((a, b) => a - b);
  for (const [index, n] of ordered.entries()) {
    throwIfCancelled(ctx.signal);
    const k = Math.min(options.k ?? DEFAULT_SCAN_SETTINGS.neighbours, n - 1);
    const graphMiB = (n * k * 8) / 2 ** 20;
    const method = chooseGraphMethod(n, options.graph, options.approximateAbove);
    const before = measured[method];
    const estimatedSeconds = !before ? null
      : method === 'exact' ? before.seconds * (n / before.n) ** 2
      : before.seconds * (n * Math.log(n)) / (before.n * Math.log(before.n));
    const row: NeighbourScalingRow = {
      n, dim, k, seconds: null, cpuSeconds: null, estimatedSeconds, peakRssMiB: null, rssBeforeMiB: null, graphMiB,
      method, recall: null, recallRows: 0, recallSeconds: null, ...(options.data === 'clustered' ? { data: 'clustered' as const } : {}),
    };
    rows.push(row);
    if (k < 1) { row.skipped = 'fewer than 2 samples'; continue; }
    if (estimatedSeconds !== null && estimatedSeconds > budget) {
      row.skipped = `estimated ${formatDuration(estimatedSeconds)}, over the ${formatDuration(budget)} budget`;
      continue;
    }
    const message = `neighbours scaling: ${n.toLocaleString('en-US')} samples${estimatedSeconds !== null ? ` (estimated ${formatDuration(estimatedSeconds)})` : ''}`;
    ctx.onProgress?.({ stage: 'perf', fraction: index / ordered.length, message });
    let features: Float32Array | undefined = options.data === 'clustered'
      ? clusteredFeatures(n, dim, (options.seed ?? 0) + n)
      : randomGaussians(n * dim, (options.seed ?? 0) + n);
    RssPeaks.collectGarbage();
    rss.take();
    row.rssBeforeMiB = rss.now();
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const normalised = normaliseFeatures(features, n, dim, 'l2');
    features = undefined;
    const { graph, report } = await buildGraph(normalised, n, dim, k, {
      method, seed: options.seed ?? 0,
      signal: ctx.signal,
      onProgress: (fraction) => ctx.onProgress?.({ stage: 'perf', fraction: (index + fraction) / ordered.length, message }),
      onMessage: (note) => ctx.onProgress?.({ stage: 'perf', fraction: index / ordered.length, message: note }),
    });
    const used = process.cpuUsage(cpu);
    row.seconds = (performance.now() - wall) / 1000;
    row.cpuSeconds = (used.user + used.system) / 1e6;
    row.peakRssMiB = rss.take();
    if (graph.n !== n) throw new Error('neighbourScaling: the graph has the wrong size');
    row.method = report.method;
    row.recall = report.recall;
    row.recallRows = report.recallRows;
    row.recallSeconds = report.recallSeconds ?? null;
    if (report.note) row.note = report.note;
    measured[report.method] = { n, seconds: row.seconds };
  }
  return rows;
}

/** {@link ScalingData} `clustered`: sample = centre + 16 random directions × Gaussian weights + a little noise (normalised later). */
function clusteredFeatures(n: number, dim: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const clusters = 500; const spread = 16;
  const centres = randomGaussians(clusters * dim, seed + 1);
  const directions = randomGaussians(clusters * spread * dim, seed + 2);
  const out = new Float32Array(n * dim);
  const weights = new Float64Array(spread);
  for (let i = 0; i < n; i++) {
    const c = rng.int(clusters);
    for (let l = 0; l < spread; l++) weights[l] = 0.35 * rng.normal();
    for (let t = 0; t < dim; t++) {
      let value = centres[c * dim + t] + 0.05 * rng.normal();
      for (let l = 0; l < spread; l++) value += weights[l] * directions[(c * spread + l) * dim + t];
      out[i * dim + t] = value;
    }
  }
  return out;
}

function randomGaussians(count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal();
  return out;
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

export function perfMarkdown(r: PerfResult): string {
  const b = `${r.backend.name}, ${r.backend.threads} thread${r.backend.threads === 1 ? '' : 's'}`;
  const lines = ['| measure | backend | N | batch | figure |', '| --- | --- | --- | --- | --- |'];
  for (const t of r.training) lines.push(`| training ${t.arch} | ${t.backend}, ${t.threads} threads | ${t.samples} | ${t.batchSize} | ${f1(t.samplesPerSecond)} samples/s |`);
  if (r.embedding) lines.push(`| embedding ${r.embedding.arch} (forward) | ${b} | ${r.embedding.n} | ${r.embedding.batchSize} | ${f1(r.embedding.samplesPerSecond)} samples/s |`);
  if (r.scan) {
    const s = r.scan;
    const forward = (seconds: number) => `${f2(seconds)} s = ${f2(seconds / s.embed)}× a forward pass`;
    lines.push(`| scan ${s.arch}: embed (one forward pass) | ${b} | ${s.n} | 256 | ${f2(s.embed)} s |`);
    const graph = s.neighbourGraph?.method === 'approximate' ? ` (approximate, recall ${s.neighbourGraph.recall?.toFixed(4) ?? '–'} on ${s.neighbourGraph.recallRows} rows)` : '';
    lines.push(`| scan ${s.arch}: neighbours${graph} | ${b} | ${s.n} | – | ${forward(s.neighbours)} |`);
    if (s.extension !== undefined) lines.push(`| scan ${s.arch}: of which longer lists past groups larger than K (${s.extendedRows ?? 0} samples) | ${b} | ${s.n} | – | ${forward(s.extension)} |`);
    lines.push(`| scan ${s.arch}: hull search | ${b} | ${s.n} | – | ${forward(s.hulls)} |`);
    lines.push(`| scan ${s.arch}: pocket test | ${b} | ${s.n} | – | ${forward(s.pocketTest)} |`);
    if (s.craftedTest !== undefined) lines.push(`| scan ${s.arch}: of which crafted-samples test (squeezing every sample) | ${b} | ${s.n} | – | ${forward(s.craftedTest)} |`);
    lines.push(`| scan ${s.arch}: total | ${b} | ${s.n} | – | ${forward(s.total)} (${s.pockets} confirmed pockets) |`);
    lines.push(`| scan ${s.arch}: peak RSS${r.rssScope === 'stage' ? '' : ' (process so far)'} | ${b} | ${s.n} | – | ${f1(s.peakRssMiB)} MiB |`);
  }
  if (r.repair) {
    const p = r.repair;
    lines.push(`| repair ${p.arch} (fine-tune and hull closing, ${p.relabelled} relabelled) | ${b} | ${p.repairSamples} | 64 | ${f2(p.repairSeconds)} s = ${f2(p.ratio)}× of 3-epoch training from scratch (est. ${f1(p.scratchSecondsEstimated)} s) |`);
  }
  lines.push(`| peak RSS | ${b} | – | – | ${f1(r.peakRssMiB)} MiB |`);
  if (r.neighbourScaling.length) lines.push('', neighbourScalingMarkdown(r.neighbourScaling, b, r.rssScope));
  return lines.join('\n');
}

/** The scaling table: one row per size, measured or estimated. */
export function neighbourScalingMarkdown(rows: readonly NeighbourScalingRow[], backend: string, scope: 'stage' | 'process'): string {
  const dim = rows[0]?.dim ?? SCALING_DIM;
  const k = rows.find((row) => row.k > 0)?.k ?? DEFAULT_SCAN_SETTINGS.neighbours;
  const kind = rows.some((row) => row.data === 'clustered') ? 'clustered' : 'random';
  const lines = [
    `Neighbours stage alone (${backend}; the approximate index with ${availableParallelism()} threads): ${kind} ${dim}-d unit vectors, K = ${k}; exact up to ${APPROXIMATE_ABOVE.toLocaleString('en-US')} samples, approximate above (candidates re-ranked exactly; recall against brute-force rows, its time included).`,
    '',
    `| N | graph | seconds | CPU seconds | recall at K | peak RSS${scope === 'stage' ? '' : ' (process so far)'} | RSS before | graph size |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const n = row.n.toLocaleString('en-US');
    if (row.seconds === null) {
      lines.push(`| ${n} | ${row.method} | not run${row.skipped ? `: ${row.skipped}` : ''} | – | – | – | – | ${f1(row.graphMiB)} MiB |`);
      continue;
    }
    const recall = row.recall === null ? '–' : `${row.recall.toFixed(4)} (${row.recallRows} rows, ${f1(row.recallSeconds ?? 0)} s)`;
    lines.push(`| ${n} | ${row.method} | ${f2(row.seconds)} | ${f2(row.cpuSeconds ?? 0)} | ${recall} | ${f1(row.peakRssMiB ?? 0)} MiB | ${f1(row.rssBeforeMiB ?? 0)} MiB | ${f1(row.graphMiB)} MiB |`);
    if (row.note) lines.push(`| | ${row.note} | | | | | | |`);
  }
  return lines.join('\n');
}
