/**
 * The speed benchmark: in one process, on the backend this
 * process runs (the backend is process-global; the CLI spawns child processes for others):
 * training throughput of the built-in cnn and mlp, embedding throughput, CLEAR scan time by
 * stage, repair (fine-tune) time against training from scratch, and peak RSS.
 */
import { backendInfo, backendName } from '../backend/index.js';
import { cloneModel } from '../attacks/index.js';
import { embedSplit } from '../features/embed.js';
import { fineTune } from '../clear/finetune.js';
import { scanModel } from '../clear/scan.js';
import { splitModel } from '../features/split.js';
import type { Dataset } from '../data/dataset.js';
import { buildArchitecture } from '../model/architectures.js';
import type { LoadedModel } from '../model/io.js';
import { trainModel } from '../model/train.js';
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
}

export interface PerfResult extends PerfSummary {
  dataset: { spec: string; name: string; trainCount: number };
  embedding: { arch: string; n: number; seconds: number; samplesPerSecond: number; batchSize: number } | null;
  scan: { arch: string; n: number; embed: number; neighbours: number; hulls: number; pocketTest: number; total: number; pockets: number } | null;
  repair: {
    arch: string; relabelled: number; repairSeconds: number; repairSamples: number;
    /** Full training from scratch (3 epochs over the training split), estimated from the throughput above. */
    scratchSecondsEstimated: number; ratio: number;
  } | null;
}

const rssMiB = () => process.resourceUsage().maxRSS / 1024;

export async function benchPerf(ds: Dataset, options: PerfOptions = {}, ctx: JobContext = {}): Promise<PerfResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 64;
  const batches = options.batches ?? 100;
  const archs = options.archs ?? ['cnn', 'mlp'];
  const seed = options.seed ?? 0;
  const info = backendInfo();
  const backend = { name: backendName(), threads: info?.threads ?? 1 };
  const classes = ds.classNames.length;
  const samples = Math.min(ds.train.count, batches * batchSize);
  const indices = Array.from({ length: samples }, (_, i) => i);
  const steps = archs.length + (options.skipScan ? 0 : 3);
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
    const result = await scanModel(loaded, ds, { seed }, { signal: ctx.signal });
    const confirmed = result.pockets.filter((p) => p.confirmed);
    scan = { arch, n: ds.train.count, ...result.timings, pockets: confirmed.length };
    step++;
    progress('repair against training from scratch');
    // Relabel the members of confirmed pockets when there are any, else a fixed 20 samples
    // to their own labels: the fine-tune's cost depends on the replay size, not on the labels.
    const relabel = new Map<number, number>();
    for (const p of confirmed) for (const m of p.members) relabel.set(m, p.enclosingClass);
    if (!relabel.size) for (let i = 0; i < Math.min(20, ds.train.count); i++) relabel.set(i, ds.train.labels[i]);
    const copy = await cloneModel(cnn);
    try {
      const t1 = performance.now();
      const ft = await fineTune(copy, ds, { relabel }, { seed }, { signal: ctx.signal });
      const repairSeconds = (performance.now() - t1) / 1000;
      const repairSamples = Math.round(ft.samplesPerSecond * ft.seconds);
      const scratch = (3 * ds.train.count) / cnnRate;
      repair = { arch, relabelled: relabel.size, repairSeconds, repairSamples, scratchSecondsEstimated: scratch, ratio: repairSeconds / scratch };
    } finally { copy.dispose(); }
    step++;
  }
  cnn?.dispose();
  const result: PerfResult = {
    schema: PERF_SCHEMA,
    createdAt: new Date().toISOString(),
    argv: options.argv ?? [],
    backend,
    dataset: { spec: ds.spec, name: ds.name, trainCount: ds.train.count },
    training, embedding, scan, repair,
    peakRssMiB: rssMiB(),
    seconds: (performance.now() - started) / 1000,
    markdown: '',
  };
  result.markdown = perfMarkdown(result);
  return result;
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
    lines.push(`| scan ${s.arch}: embed | ${b} | ${s.n} | 256 | ${f2(s.embed)} s |`);
    lines.push(`| scan ${s.arch}: neighbours | ${b} | ${s.n} | – | ${f2(s.neighbours)} s |`);
    lines.push(`| scan ${s.arch}: hull search | ${b} | ${s.n} | – | ${f2(s.hulls)} s |`);
    lines.push(`| scan ${s.arch}: pocket test | ${b} | ${s.n} | – | ${f2(s.pocketTest)} s |`);
    lines.push(`| scan ${s.arch}: total | ${b} | ${s.n} | – | ${f2(s.total)} s (${s.pockets} confirmed pockets) |`);
  }
  if (r.repair) {
    const p = r.repair;
    lines.push(`| repair ${p.arch} (fine-tune, ${p.relabelled} relabelled) | ${b} | ${p.repairSamples} | 64 | ${f2(p.repairSeconds)} s = ${f2(p.ratio)}× of 3-epoch training from scratch (est. ${f1(p.scratchSecondsEstimated)} s) |`);
  }
  lines.push(`| peak RSS | ${b} | – | – | ${f1(r.peakRssMiB)} MiB |`);
  return lines.join('\n');
}
