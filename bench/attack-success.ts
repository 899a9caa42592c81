/**
 * Measures how often each attack succeeds on the built-in MNIST data, and how the baseline
 * defences see clean and poisoned models (the figures their verdict rules are set from).
 * Not a test: it trains dozens of models. Run it with
 *
 *   npx esbuild bench/attack-success.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=dist/bench/attack-success.mjs && node dist/bench/attack-success.mjs
 *
 * Options (all optional): --arch mlp|cnn  --backend wasm|cpu  --targets N  --poisons K
 * --copies K (label-flip)  --attacks label-flip,fc,cp,bp  --seed S  --limit N
 * --victim-epochs E  --victim-lr η  --victim-batch B  --clean-epochs E  --epsilon ε  --iterations N  --lr η  --beta0 β0
 * --watermark γ  --max-shift px  --fc-scenario transfer|e2e  --flip-scenario e2e|transfer  --baselines (run the baseline detectors)
 * --json FILE (write the raw records).
 *
 * Protocol: one clean model is trained (the attacker's φ, and the frozen extractor of the
 * transfer victims). Targets are test digits the clean model classifies correctly, drawn
 * with the seed; each gets a random attacker class A ≠ its class. Label-flip runs end to
 * end (a fresh model trained on the poisoned set); fc, cp and bp run in transfer (the clean
 * model's layers up to `features` frozen, the last Dense layer re-initialised and retrained).
 */
import { writeFileSync } from 'node:fs';
import { initBackend, tf } from '../src-main/engine/backend/index.js';
import { embedSplit } from '../src-main/engine/features/embed.js';
import { loadDataset } from '../src-main/engine/data/load.js';
import { sampleSize, type Dataset } from '../src-main/engine/data/dataset.js';
import { predictSplit, evaluateSplit } from '../src-main/engine/model/train.js';
import { createRng } from '../src-main/engine/random.js';
import { ATTACKS, trainCleanFeatureModel, trainVictim, type AttackName, type AttackParams } from '../src-main/engine/attacks/index.js';
import type { SplitModel } from '../src-main/engine/features/split.js';
import { baselineDetectors } from '../src-main/engine/detectors/baselines/index.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { pixelsInMemory } from '../src-main/engine/data/dataset.js';

interface Options {
  arch: string; backend: 'wasm' | 'cpu'; targets: number; poisons: number; copies: number;
  attacks: AttackName[]; seed: number; limit: number; victimEpochs?: number; victimLr?: number; victimBatch?: number; cleanEpochs: number;
  epsilon?: number; iterations?: number; lr?: number; beta0?: number; watermark?: number;
  maxShift?: number; fcScenario: 'transfer' | 'e2e'; flipScenario: 'transfer' | 'e2e'; baselines: boolean; json?: string;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string): number | undefined => (get(name) === undefined ? undefined : Number(get(name)));
  return {
    arch: get('arch') ?? 'mlp',
    backend: (get('backend') as 'wasm' | 'cpu') ?? 'wasm',
    targets: num('targets') ?? 5,
    poisons: num('poisons') ?? 25,
    copies: num('copies') ?? 20,
    attacks: (get('attacks') ?? 'label-flip,fc,cp,bp').split(',') as AttackName[],
    seed: num('seed') ?? 1,
    limit: num('limit') ?? 8000,
    victimEpochs: num('victim-epochs'),
    victimLr: num('victim-lr'), victimBatch: num('victim-batch'),
    cleanEpochs: num('clean-epochs') ?? 3,
    epsilon: num('epsilon'), iterations: num('iterations'), lr: num('lr'), beta0: num('beta0'), watermark: num('watermark'),
    maxShift: num('max-shift'),
    fcScenario: (get('fc-scenario') as 'transfer' | 'e2e') ?? 'transfer',
    flipScenario: (get('flip-scenario') as 'transfer' | 'e2e') ?? 'e2e',
    baselines: argv.includes('--baselines'),
    json: get('json'),
  };
}

/** ‖mean φ(poisons) − φ(t)‖ / ‖φ(t)‖ and the mean per-poison ‖φ(p) − φ(t)‖ / ‖φ(t)‖. */
async function featureGap(parts: SplitModel, ds: Dataset, indices: number[], target: Float32Array): Promise<{ mean: number; each: number }> {
  const emb = await embedSplit(parts, ds.train, ds.shape, { indices });
  const dim = parts.featureDim;
  const K = indices.length;
  const mean = new Float64Array(dim);
  let each = 0;
  for (let j = 0; j < K; j++) {
    let d = 0;
    for (let t = 0; t < dim; t++) {
      const v = emb.features[j * dim + t];
      mean[t] += v / K;
      d += (v - target[t]) ** 2;
    }
    each += Math.sqrt(d) / K;
  }
  let m = 0; let norm = 0;
  for (let t = 0; t < dim; t++) { m += (mean[t] - target[t]) ** 2; norm += target[t] ** 2; }
  norm = Math.sqrt(norm);
  return { mean: Math.sqrt(m) / norm, each: each / norm };
}

async function runBaselines(model: tfl.LayersModel, parts: SplitModel, ds: Dataset, expectedPoisons: number | undefined, poisonIndices: number[]) {
  const embedding = await embedSplit(parts, ds.train, ds.shape);
  const poison = new Set(poisonIndices);
  const out: Record<string, unknown> = {};
  for (const detector of baselineDetectors) {
    if (detector.name === 'none') continue;
    const r = await detector.detect({ model, parts, dataset: ds, embedding, expectedPoisons, seed: 0 });
    const found = r.flaggedSamples.filter((i) => poison.has(i)).length;
    out[detector.name] = {
      flagged: r.flagged, summary: Number(r.summary.toFixed(3)), flaggedCount: r.flaggedSamples.length,
      poisonsFound: found, seconds: Number(r.seconds.toFixed(2)),
      ...(detector.name === 'activation-clustering'
        ? { perClass: (r.info.perClass as { relativeSize: number; silhouette: number }[]).map((p) => `${p.relativeSize.toFixed(2)}/${p.silhouette.toFixed(2)}`).join(' ') }
        : {}),
      ...(detector.name === 'deep-knn' ? { largestGroups: (r.info.groups as { members: number[] }[]).slice(0, 5).map((g) => g.members.length).join(',') } : {}),
      ...(detector.name === 'spectral' ? { gapZ: (r.info.perClass as { gapZ: number }[]).map((p) => p.gapZ.toFixed(1)).join(' ') } : {}),
    };
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const backend = await initBackend(o.backend);
  const ds = await loadDataset('mnist', { limit: o.limit });
  console.log(`backend ${backend.name} (${backend.threads} threads) · ${o.arch} · ${ds.train.count} train / ${ds.test.count} test · seed ${o.seed}`);
  let t0 = performance.now();
  const clean = await trainCleanFeatureModel(ds, o.arch, o.seed, {}, { epochs: o.cleanEpochs });
  const cleanEval = await evaluateSplit(clean.model, ds.test, ds.shape, ds.classNames);
  console.log(`clean model: ${o.cleanEpochs} epochs in ${((performance.now() - t0) / 1000).toFixed(1)} s, test accuracy ${(cleanEval.accuracy * 100).toFixed(1)}%`);

  const records: Record<string, unknown>[] = [];
  if (o.baselines) {
    const b = await runBaselines(clean.model, clean.parts, ds, o.poisons, []);
    console.log('baselines on the clean model:', JSON.stringify(b));
    records.push({ attack: 'clean', baselines: b });
  }

  // Targets: correctly classified test digits, drawn with the seed.
  const rng = createRng(o.seed * 7919 + 1);
  const correct: number[] = [];
  for (let i = 0; i < ds.test.count; i++) if (cleanEval.predicted[i] === ds.test.labels[i]) correct.push(i);
  rng.shuffle(correct);
  const targets = correct.slice(0, o.targets).map((targetIndex) => {
    const b = ds.test.labels[targetIndex];
    const a = (b + 1 + rng.int(ds.classNames.length - 1)) % ds.classNames.length;
    return { targetIndex, targetClass: b, attackerClass: a };
  });

  const size = sampleSize(ds.shape);
  const summary: string[] = ['| attack | scenario | poisons | successes | mean attack s | mean victim s | mean ‖φ̄(p) − φ(t)‖/‖φ(t)‖ (bases → poisons) |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const attack of o.attacks) {
    const info = ATTACKS[attack];
    const scenario = attack === 'label-flip' ? o.flipScenario : attack === 'fc' ? o.fcScenario : 'transfer';
    const poisons = attack === 'label-flip' ? o.copies : o.poisons;
    let successes = 0; let attackSeconds = 0; let victimSeconds = 0;
    const gaps: string[] = [];
    for (const [ti, target] of targets.entries()) {
      const params: AttackParams = {
        targetIndex: target.targetIndex, attackerClass: target.attackerClass, poisons, seed: o.seed * 100 + ti,
        featureModel: info.cleanLabel ? clean.parts : undefined,
        ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
        ...(o.iterations !== undefined ? { iterations: o.iterations } : {}),
        ...(o.lr !== undefined ? { learningRate: o.lr } : {}),
        ...(o.beta0 !== undefined ? { beta0: o.beta0 } : {}),
        ...(o.maxShift !== undefined ? { maxShift: o.maxShift } : {}),
        ...(attack === 'fc' && (o.watermark !== undefined || scenario === 'e2e') ? { watermark: o.watermark ?? 0.3 } : {}),
      };
      t0 = performance.now();
      const { dataset, manifest } = await info.run(ds, params);
      const aSec = (performance.now() - t0) / 1000;
      let gap = '';
      if (manifest.baseIndices) {
        const targetImage = ds.test.images.subarray(target.targetIndex * size, (target.targetIndex + 1) * size);
        const targetFeatures = (await embedSplit(clean.parts, { images: targetImage, count: 1 }, ds.shape)).features;
        const before = await featureGap(clean.parts, ds, manifest.baseIndices, targetFeatures);
        const after = await featureGap(clean.parts, dataset, manifest.poisonIndices, targetFeatures);
        gap = `${before.mean.toFixed(2)} → ${after.mean.toFixed(2)}`;
        let linf = 0;
        manifest.baseIndices.forEach((b, j) => {
          const p = manifest.poisonIndices[j];
          for (let q = 0; q < size; q++) linf = Math.max(linf, Math.abs(pixelsInMemory(dataset.train.images)[p * size + q] - pixelsInMemory(ds.train.images)[b * size + q]));
        });
        gap += ` (L∞ ${linf.toFixed(2)})`;
        gaps.push(gap);
      }
      t0 = performance.now();
      const victim = await trainVictim(dataset, scenario, {
        arch: o.arch, seed: o.seed * 1000 + ti, ...(o.victimEpochs !== undefined ? { epochs: o.victimEpochs } : {}), frozenFeatureModel: clean, manifest,
        ...(o.victimLr !== undefined ? { learningRate: o.victimLr } : {}),
        ...(o.victimBatch !== undefined ? { batchSize: o.victimBatch } : {}),
      });
      const vSec = (performance.now() - t0) / 1000;
      const poisonPred = await predictSplit(victim.model, dataset.train, ds.shape, { indices: manifest.poisonIndices });
      const fitted = Array.from(poisonPred.predicted).filter((p) => p === target.attackerClass).length;
      if (victim.attackSucceeded) successes++;
      attackSeconds += aSec; victimSeconds += vSec;
      const record: Record<string, unknown> = {
        attack, scenario, poisons, ...target, attackSucceeded: victim.attackSucceeded, targetPredicted: victim.targetPredicted,
        poisonsFittedAsA: fitted, attackSeconds: Number(aSec.toFixed(2)), victimSeconds: Number(vSec.toFixed(2)), featureGap: gap,
        settings: manifest.settings,
      };
      if (o.baselines) record.baselines = await runBaselines(victim.model, victim.parts, dataset, poisons, manifest.poisonIndices);
      records.push(record);
      console.log(JSON.stringify(record));
      victim.model.dispose();
    }
    summary.push(`| ${attack} | ${scenario} | ${poisons} | ${successes}/${targets.length} | ${(attackSeconds / targets.length).toFixed(1)} | ${(victimSeconds / targets.length).toFixed(1)} | ${gaps.join('; ')} |`);
  }
  console.log(summary.join('\n'));
  console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ schema: 'clear-attack-success/1', options: o, records }, null, 2));
}

await main();
