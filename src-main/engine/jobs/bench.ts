/**
 * Engine jobs for the red team and the benchmarks: `attack` (craft poisons, write a `dir:`
 * dataset with its manifest) and `bench` (the defence benchmark, or with `perf` the speed
 * benchmark). Arguments are validated by contract/jobs.ts before they arrive here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import nodePath from 'node:path';
import { ATTACKS, getAttack, trainCleanFeatureModel } from '../attacks/index.js';
import { backendName } from '../backend/index.js';
import { benchDefences, type BenchResult, type TrialRecord } from '../bench/defence.js';
import { checkpointKey, openCheckpoint } from '../bench/checkpoint.js';
export { CHECKPOINT_FILE } from '../bench/checkpoint.js';
import { rocSvg } from '../bench/stats.js';
import { benchPerf, type PerfResult } from '../bench/perf.js';
import { splitModel, type SplitModel } from '../features/split.js';
import { saveDatasetDir } from '../data/save.js';
import { UserError } from '../errors.js';
import { getDataset } from './datasets.js';
import { assertModelFitsData, assertWritableOutput, loadModel } from '../model/io.js';
import type { JobContext } from '../progress.js';
import type { JobArgs, JobInput } from '../../contract/jobs.js';
import { describeInputTransform, isIdentityTransform } from '../../contract/format.js';

/** The attack job's arguments as the contract declares them. */
export type AttackJobArgs = JobArgs<'attack'>;

export async function attackJob(args: AttackJobArgs, ctx: JobContext = {}) {
  assertWritableOutput(args.out, 'poisoned dataset folder');
  const ds = await getDataset(args);
  const info = getAttack(args.attack);
  if (args.target >= ds.test.count) throw new UserError(`--target ${args.target} is past the end of the test split (${ds.test.count} samples).`);
  if (args.attackerClass >= ds.classNames.length) throw new UserError(`--attacker-class ${args.attackerClass} is not a class of this dataset (0–${ds.classNames.length - 1}).`);
  if (args.input && !args.featureModel) throw new UserError('--input-scale and --input-normalize say how the --feature-model is fed: give them with --feature-model MODEL (a feature model trained here takes the pixels as read).');
  let featureModel: SplitModel | undefined;
  let featureSource: string | undefined;
  const disposers: (() => void)[] = [];
  try {
    if (info.cleanLabel) {
      if (args.featureModel) {
        // The poisons are crafted in the data's 0–1 pixels; the model applies its own scaling first.
        const loaded = await loadModel(args.featureModel, args.input);
        disposers.push(() => loaded.model.dispose());
        assertModelFitsData(loaded, ds);
        featureModel = splitModel(loaded.model, undefined, loaded.metadata);
        featureSource = args.input && !isIdentityTransform(args.input) ? `${args.featureModel} (fed ${describeInputTransform(args.input)})` : args.featureModel;
      } else {
        ctx.onProgress?.({ stage: 'attack-feature-model', fraction: 0, message: 'training a clean feature model (no --feature-model given)' });
        const clean = await trainCleanFeatureModel(ds, 'cnn', args.seed, ctx);
        disposers.push(() => clean.model.dispose());
        featureModel = clean.parts;
        featureSource = `trained here: cnn, ${clean.train.epochs.length} epochs on clean data, seed ${args.seed}`;
      }
    }
    const t0 = performance.now();
    const result = await info.run(ds, {
      targetIndex: args.target, attackerClass: args.attackerClass, poisons: args.poisons ?? info.defaultPoisons, seed: args.seed,
      ...(args.epsilon !== undefined ? { epsilon: args.epsilon } : {}),
      ...(featureModel ? { featureModel } : {}),
    }, ctx);
    const seconds = (performance.now() - t0) / 1000;
    const manifest = { ...result.manifest, source: { data: ds.spec, fingerprint: ds.fingerprint, limit: args.limit ?? null, dataSeed: args.dataSeed ?? null }, ...(featureSource ? { featureModel: featureSource } : {}) };
    await saveDatasetDir(result.dataset, args.out, { manifest });
    return {
      out: args.out, data: `dir:${args.out}`, attack: args.attack, label: ATTACKS[args.attack].label, scenario: info.scenario,
      manifest, trainCount: result.dataset.train.count, seconds, backend: backendName(),
    };
  } finally {
    for (const d of disposers) d();
  }
}

/** The bench job's arguments as the contract declares them (defaults not yet applied: tests call the job directly). */
export type BenchJobArgs = JobInput<'bench'>;

export async function benchJob(args: BenchJobArgs, ctx: JobContext = {}): Promise<BenchResult | PerfResult> {
  if (args.out) mkdirSync(args.out, { recursive: true });
  const ds = await getDataset(args);
  if (args.perf) {
    // The scaling table only when asked: it adds minutes to tens of minutes.
    const r = await benchPerf(ds, {
      batches: args.batches, argv: args.argv, seed: args.seed,
      ...(args.scalingSizes ? { scaling: args.scalingSizes, scalingOnly: true, scalingBudgetSeconds: Infinity } : args.scaling ? {} : { scaling: [] }),
      ...(args.arch ? { archs: args.arch === 'mlp' ? ['mlp', 'cnn'] : ['cnn', 'mlp'] } : {}),
      ...(args.neighbourGraph ? { graph: args.neighbourGraph } : {}),
      ...(args.scalingData ? { scalingData: args.scalingData } : {}),
    }, ctx);
    if (args.out) {
      writeFileSync(nodePath.join(args.out, 'perf.json'), JSON.stringify(r, null, 2));
      writeFileSync(nodePath.join(args.out, 'perf.md'), `# clearwb bench --perf\n\n${r.markdown}\n`);
    }
    return r;
  }
  const checkpoint = args.out ? openCheckpoint(args.out, checkpointKey(args, ds), args) : undefined;
  if (!args.out && args.resume) throw new UserError('--resume needs --out: the folder of the run to continue.');
  const previous = checkpoint?.previous ?? [];
  const r = await benchDefences(ds, {
    attacks: args.attacks, defences: args.defences, trials: args.trials, cleanTrials: args.cleanTrials, seed: args.seed,
    arch: args.arch, scenario: args.scenario, poisons: args.poisons, epsilon: args.epsilon, epochs: args.epochs,
    variants: args.variants, variantsOnly: args.variantsOnly, reference: args.reference, cleanSeeds: args.cleanSeeds,
    full: args.full, argv: args.argv, data: { spec: args.data, limit: args.limit, dataSeed: args.dataSeed },
    previous, ...(checkpoint ? { onTrial: (t: TrialRecord) => checkpoint.append(t) } : {}),
  }, ctx);
  if (args.out) {
    const result = { ...r, checkpointKey: checkpoint!.key };
    writeFileSync(nodePath.join(args.out, 'bench.json'), JSON.stringify(result, null, 2));
    writeFileSync(nodePath.join(args.out, 'bench.md'), benchMarkdownFile(r));
    for (const plot of r.rocs) {
      const note = `${plot.positives} successful attacks against ${plot.negatives} clean models (${plot.scenario}); score: each defence's model-level summary`;
      writeFileSync(nodePath.join(args.out, rocFileName(plot.case)), rocSvg(`ROC: ${plot.case} (${plot.scenario})`, plot.series, note));
    }
    checkpoint!.finish(r.trials);
  }
  return r;
}

/** The ROC plot of one case: `roc-<case>.svg`, the case name made safe for a file name. */
export function rocFileName(caseId: string): string {
  return `roc-${caseId.replace(/[^A-Za-z0-9._-]+/g, '_')}.svg`;
}

export function benchMarkdownFile(r: BenchResult): string {
  return [
    '# clearwb bench', '',
    `- date: ${r.createdAt}`,
    `- command: \`clearwb ${r.argv.join(' ')}\``,
    `- backend: ${r.backend.name} (${r.backend.threads} threads)`,
    `- data: ${r.dataset.spec} (${r.dataset.trainCount} train / ${r.dataset.testCount} test), victims ${r.settings.archs.e2e.join(' and ') || '–'} (e2e), ${r.settings.archs.transfer.join(' and ') || '–'} (transfer)`,
    `- trials: ${r.settings.trials} per case, ${r.settings.cleanTrials} clean per scenario, poisons per target ${Object.entries(r.settings.poisons).map(([a, k]) => `${a} ${k}`).join(', ')}, seed ${r.settings.seed}`,
    `- reference set: ${r.settings.reference.size ? `${r.settings.reference.size} test samples, given to every defence (CLEAR also runs without it)` : 'none'}`,
    `- ROC curves: ${r.rocs.map((p) => rocFileName(p.case)).join(', ')}`,
    '', r.markdown, '',
  ].join('\n');
}
