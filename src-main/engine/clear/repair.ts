/**
 * CLEAR repair (README, "How CLEAR decides"): relabel the members of confirmed pockets (and of
 * poisoning attempts) to their enclosing class, fine-tune with a replay of clean training data, close the whole hull in
 * the head (the target is usually unknown and sits somewhere inside it), then verify by
 * rescanning and measuring held-out accuracy. The original model is never modified: the
 * repaired one is a fresh copy written to a new folder.
 *
 * The scan is evidence, not instructions: before anything runs it must match the model and the
 * data by fingerprint and fit the data (evidence.ts, assertScanFitsData), and every pocket it acts
 * on must measure the same again on this model and data (recheck.ts). A repair that costs more
 * than MAX_ACCURACY_DROP of held-out accuracy is not written. The output folder is
 * complete or absent: the model and repair-report.json are written into a hidden temporary
 * sibling (model/files.ts, StagedFolder), the rescan reads the model from there, and the
 * folder is renamed to its name only once the report is written.
 */
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { fingerprintModelDir, loadModel, modelFiles, assertWritableOutput, StagedFolder, type LoadedModel } from '../model/io.js';
import { evaluateSplit, predictSplit } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { createRng } from '../random.js';
import { embedSplit } from '../features/embed.js';
import { assertCanFineTune, DEFAULT_FINE_TUNE, fineTune, type FineTuneSettings } from './finetune.js';
import { probePocket } from './pocket-test.js';
import { scanModel, type ReferenceSet } from './scan.js';
import { disposeSplitModel, splitModel } from '../features/split.js';
import { assertScanFitsData } from './evidence.js';
import { resolveRepairPlan } from './plan.js';
import { assertPocketsReproduce } from './recheck.js';
import { REPAIR_SCHEMA, type RepairPlan, type RepairResult, type ScanResult } from './types.js';

/** The report a repair writes beside the repaired model, in the same folder. */
export const REPAIR_REPORT_FILE = 'repair-report.json';

/**
 * Most held-out accuracy (a share, 0.10 = 10 points) a repair may cost before its model is not
 * written: relabelling a real pocket's few members moves test accuracy by a point or two, while
 * relabelling genuine samples of a class (a forged pocket) takes that class's accuracy with it.
 */
export const MAX_ACCURACY_DROP = 0.1;

/** The fine-tune's settings a repair records (finetune.ts: relabel and fine-tune, then close the hulls in the head). */
export type RepairSettings = Pick<FineTuneSettings, 'epochs' | 'learningRate' | 'replay' | 'interiorProbes' | 'hullReplay' | 'hullLearningRate' | 'seed'>;

export const DEFAULT_REPAIR_SETTINGS: RepairSettings = {
  epochs: DEFAULT_FINE_TUNE.epochs,
  learningRate: DEFAULT_FINE_TUNE.learningRate,
  replay: DEFAULT_FINE_TUNE.replay,
  interiorProbes: DEFAULT_FINE_TUNE.interiorProbes,
  hullReplay: DEFAULT_FINE_TUNE.hullReplay,
  hullLearningRate: DEFAULT_FINE_TUNE.hullLearningRate,
  seed: 0,
};

/**
 * Checks that a scan belongs to this model and dataset, by fingerprint, and that it fits the
 * dataset a repair would change (indices, classes, labels, verdicts; evidence.ts).
 */
export function assertScanMatches(scan: ScanResult, loaded: LoadedModel, ds: Dataset, scanFile = 'the scan'): void {
  if (scan.model.fingerprint !== loaded.fingerprint) {
    throw new UserError(`The scan ${scanFile} was computed on a different model (fingerprint ${scan.model.fingerprint.slice(0, 12)}…, not ${loaded.fingerprint.slice(0, 12)}… of ${loaded.dir}).`);
  }
  if (scan.dataset.fingerprint !== ds.fingerprint) {
    throw new UserError(`The scan ${scanFile} was computed on a different dataset (fingerprint ${scan.dataset.fingerprint.slice(0, 12)}…, not ${ds.fingerprint.slice(0, 12)}… of ${ds.spec}).`);
  }
  assertScanFitsData(scan, ds, `The scan ${scanFile}`);
}

export async function repairModel(
  original: LoadedModel,
  ds: Dataset,
  scan: ScanResult,
  out: string,
  options: Partial<RepairSettings> & {
    target?: { index: number; trueClass: number; attackerClass: number };
    reference?: ReferenceSet;
    /** What to do with each reported group (plan.ts); without one every reported group is relabelled whole. */
    plan?: RepairPlan;
    /** How messages name the scan (its file). */
    scanFile?: string;
    /** Recorded in the result as it is (versions, the data subset, the scan file's SHA-256). */
    provenance?: RepairResult['provenance'];
    /** Held-out accuracy the repair may cost (default MAX_ACCURACY_DROP). */
    maxAccuracyDrop?: number;
  } = {},
  ctx: JobContext = {},
): Promise<RepairResult> {
  const s = { ...DEFAULT_REPAIR_SETTINGS, ...options };
  assertScanMatches(scan, original, ds, options.scanFile);
  assertWritableOutput(out, 'repaired model folder');
  assertCanFineTune(original.model, `in ${original.dir}`);
  const start = performance.now();
  // Poisoning attempts are repaired too: the model did not learn them this time, but training
  // on them again (or longer) could. The plan says which members are relabelled or removed.
  const planned = resolveRepairPlan(scan, options.plan);
  const { pockets, relabel, remove } = planned;
  const treated = [...new Set(pockets.flatMap((p) => p.members))];
  // The scan is unsigned: what it says of each pocket acted on is measured again first.
  await assertPocketsReproduce(original, ds, scan, pockets, options.scanFile, ctx);

  const before = await evaluateSplit(original.model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude: options.target ? [options.target.index] : [] });
  // A fresh copy from disk: the original's weights are never touched.
  const copy = await loadModel(original.dir, original.input);
  if (copy.fingerprint !== original.fingerprint) {
    disposeSplitModel(copy.model);
    throw new UserError(`The model in ${original.dir} changed on disk while it was being repaired; repair it again.`);
  }
  const parts = splitModel(copy.model, scan.settings.featureLayer, copy.metadata);
  let staged: StagedFolder | undefined;
  try {
    const rng = createRng(s.seed);
    const emb0 = await embedSplit(parts, ds.train, ds.shape, { indices: treated, signal: ctx.signal });
    const interiorBefore = pockets.map((p) => {
      const local = new Map(treated.map((v, k) => [v, k]));
      return probePocket(parts, emb0.features, p.members.map((m) => local.get(m)!), [], p.attackerClass, p.enclosingClass, rng).interiorAttackerRate;
    });
    if (pockets.length) {
      // Every acted-on group's hull is closed, removed ones too: their region stays in the model.
      const hulls = { featureLayer: parts.featureLayer, groups: pockets.map((p) => ({ members: p.members, label: p.enclosingClass })) };
      await fineTune(copy.model, ds, { relabel, remove, hulls }, s, ctx);
    }
    const emb1 = await embedSplit(parts, ds.train, ds.shape, { indices: treated, signal: ctx.signal });
    const local = new Map(treated.map((v, k) => [v, k]));
    const interiorAfter = pockets.map((p) => probePocket(parts, emb1.features, p.members.map((m) => local.get(m)!), [], p.attackerClass, p.enclosingClass, rng).interiorAttackerRate);

    const after = await evaluateSplit(copy.model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude: options.target ? [options.target.index] : [] });
    const maxDrop = options.maxAccuracyDrop ?? MAX_ACCURACY_DROP;
    if (before.accuracy - after.accuracy > maxDrop) {
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      throw new UserError(`The repair following the scan ${options.scanFile ?? 'given'} lowered held-out accuracy on the test split of ${ds.spec} from ${pct(before.accuracy)} to ${pct(after.accuracy)}, more than the ${Math.round(maxDrop * 100)} points a repair may cost, so the repaired model is not written.`);
    }
    // Nothing exists under `out` until the report is written: the model goes to a hidden sibling first.
    const files = await modelFiles(copy.model, { ...copy.metadata, repairedFrom: original.fingerprint, createdAt: new Date().toISOString() });
    throwIfCancelled(ctx.signal);
    staged = StagedFolder.open(out);
    for (const [name, data] of Object.entries(files)) staged.write(name, data);
    const fingerprint = fingerprintModelDir(staged.path);
    const repaired = await loadModel(staged.path, original.input);
    let rescan: ScanResult;
    try {
      ctx.onProgress?.({ stage: 'verify', fraction: 0, message: 'rescanning the repaired model' });
      // The rescan records the folder the model will have, not the temporary one it is read from.
      rescan = await scanModel({ ...repaired, dir: out }, ds, { ...scan.settings }, { signal: ctx.signal, ...(options.reference ? { reference: options.reference } : {}), onProgress: (e) => ctx.onProgress?.({ ...e, stage: `verify ${e.stage}` }) });
    } finally { disposeSplitModel(repaired.model); }
    const openPocketsAfter = rescan.pockets.filter((p) => p.confirmed).length;
    let target: RepairResult['target'];
    if (options.target) {
      const t = options.target;
      const pb = await predictSplit(original.model, ds.test, ds.shape, { indices: [t.index] });
      const pa = await predictSplit(copy.model, ds.test, ds.shape, { indices: [t.index] });
      target = { split: 'test', index: t.index, trueClass: t.trueClass, attackerClass: t.attackerClass, before: pb.predicted[0], after: pa.predicted[0] };
    }
    const result: RepairResult = {
      schema: REPAIR_SCHEMA,
      ...(options.provenance ? { provenance: options.provenance } : {}),
      createdAt: new Date().toISOString(),
      backend: scan.backend,
      model: { from: original.dir, fromFingerprint: original.fingerprint, out, fingerprint },
      relabelled: [...relabel].map(([index, to]) => ({ index, from: ds.train.labels[index], to })),
      removed: [...remove].sort((a, b) => a - b),
      plan: planned.plan,
      settings: { epochs: s.epochs, learningRate: s.learningRate, replay: s.replay, interiorProbes: s.interiorProbes, hullReplay: s.hullReplay, hullLearningRate: s.hullLearningRate, seed: s.seed },
      before: { accuracy: before.accuracy, perClass: before.perClass.map((c) => c.accuracy), suspected: scan.verdict.suspected, openPockets: planned.plan.pockets.length },
      after: { accuracy: after.accuracy, perClass: after.perClass.map((c) => c.accuracy), suspected: rescan.verdict.suspected, openPockets: openPocketsAfter },
      pockets: pockets.map((p, k) => ({ id: p.id, attackerClass: p.attackerClass, enclosingClass: p.enclosingClass, interiorBefore: interiorBefore[k], interiorAfter: interiorAfter[k] })),
      target,
      rescan,
      seconds: (performance.now() - start) / 1000,
    };
    throwIfCancelled(ctx.signal);
    staged.write(REPAIR_REPORT_FILE, JSON.stringify(result, null, 1));
    staged.place();
    return result;
  } catch (err) {
    staged?.abandon();
    throw err;
  } finally {
    disposeSplitModel(copy.model);
  }
}
