/**
 * Engine jobs: each takes validated arguments (see contract/jobs.ts) and a job context, and
 * returns plain JSON-serialisable data. The worker dispatches to these; tests, the CLI's
 * in-process paths and the benchmark call them directly.
 */
import { backendName } from '../backend/index.js';
import { pixelsInMemory, type Dataset } from '../data/dataset.js';
import { getDataset } from './datasets.js';
import { buildArchitecture } from '../model/architectures.js';
import { assertModelFitsData, defaultFeatureLayer, loadModel, saveModel, assertWritableOutput } from '../model/io.js';
import { evaluateSplit, predictSplit, trainModel, validationIndices } from '../model/train.js';
import type { JobContext } from '../progress.js';
import { UserError } from '../errors.js';
import { existsSync } from 'node:fs';
import { writeNewFileAtomically } from '../model/files.js';
import { readScanFile } from '../clear/evidence.js';
import { describeInputTransform, sameTransform } from '../model/input-transform.js';
import { DEFAULT_SCAN_SETTINGS, scanFeatures, scanModel, type ReferenceSet } from '../clear/scan.js';
import { readNeighbourIndex } from '../features/imported.js';
import { writeFloat32Npy } from '../data/npy-write.js';
import { disposeSplitModel } from '../features/split.js';
import { repairModel, assertScanMatches } from '../clear/repair.js';
import { prepareTransferModel, trainHeadOnFrozenFeatures } from '../attacks/scenario.js';
import { TRAIN_DEFAULTS, TRANSFER_HEAD_DEFAULTS, type JobArgs } from '../../contract/jobs.js';
import type { FeaturesResult } from '../../contract/results.js';
import { attackOutcome, readPoisonedManifest } from './outcome.js';
import { resolveRepairPlan } from '../clear/plan.js';
import { confusionOf, inputNotes, loadWarnings } from './fit.js';
import { runProvenance, sha256File } from '../report/custody.js';
import { modelFileTarget, repairToModelFile } from './repair-file.js';

export { readScanFile } from '../clear/evidence.js';

// The dataset cache, keyed on the identity of the files a spec names (datasets.ts).
export { getDataset, type DataOptions } from './datasets.js';

/**
 * Trains a model and saves it: a built-in architecture from scratch; or, with `from`, a saved
 * model from its weights (fine-tuning all of it); or, with `from` and `freezeFeatures`, a fresh
 * last layer on that model's frozen feature extractor (the transfer setting the benchmark's
 * transfer scenario trains its victims in, scenario.ts).
 */
export async function trainJob(args: Omit<JobArgs<'train'>, 'freezeFeatures' | 'cleanVictim'> & { freezeFeatures?: boolean; cleanVictim?: boolean }, ctx: JobContext = {}) {
  assertWritableOutput(args.out, 'model output folder');
  if (args.freezeFeatures && !args.from) throw new UserError('Freezing the features needs a model to take them from; give from (--from MODEL_DIR).');
  if (args.cleanVictim && args.from) throw new UserError('A clean victim is trained from scratch with a built-in architecture, so it cannot be compared with training that starts from a saved model; leave out from or cleanVictim.');
  const ds = await getDataset(args);
  const source = args.from ? await loadModel(args.from, args.input) : undefined;
  const model = source ? source.model : buildArchitecture(args.arch, { inputShape: ds.shape, numClasses: ds.classNames.length, seed: args.seed });
  const architecture = source ? source.metadata.architecture ?? 'saved model' : args.arch;
  const defaults = args.freezeFeatures ? TRANSFER_HEAD_DEFAULTS : TRAIN_DEFAULTS;
  const settings = {
    epochs: args.epochs ?? defaults.epochs, batchSize: args.batchSize ?? defaults.batchSize,
    learningRate: args.learningRate ?? defaults.learningRate, seed: args.seed,
  };
  try {
    if (source) assertModelFitsData(source, ds);
    const featureLayer = defaultFeatureLayer(model, source?.metadata);
    let training;
    if (args.freezeFeatures) {
      prepareTransferModel(model, featureLayer, args.seed);
      training = await trainHeadOnFrozenFeatures(model, featureLayer, ds, settings, ctx, 'train');
      // Saved as an ordinary model: freezing was how this run trained it, not a property of it.
      for (const layer of model.layers) layer.trainable = true;
    } else {
      training = await trainModel(model, ds.train, ds.shape, ds.classNames.length, settings, { ...ctx, validation: { split: ds.test, indices: validationIndices(ds.test.count) } });
    }
    const evaluation = await evaluateSplit(model, ds.test, ds.shape, ds.classNames, ctx);
    // A simulated attack's outcome, measured before saving so a failed comparison writes nothing.
    const outcome = await attackOutcome(model, ds, {
      ...(args.compareWith ? { compareWith: args.compareWith } : {}),
      ...(args.cleanVictim ? { cleanVictim: { arch: args.arch, settings, seed: args.seed } } : {}),
    }, ctx);
    const fingerprint = await saveModel(model, args.out, {
      classNames: ds.classNames, featureLayer, architecture, trainedOn: ds.fingerprint,
    });
    return {
      model: args.out, fingerprint, architecture, backend: backendName(),
      accuracy: evaluation.accuracy, perClass: evaluation.perClass,
      trainCount: ds.train.count, testCount: ds.test.count,
      epochs: training.epochs, trainSeconds: training.seconds, samplesPerSecond: training.samplesPerSecond,
      ...(training.epochs.some((e) => e.valLoss !== undefined) ? { validation: { split: 'test' as const, count: validationIndices(ds.test.count).length } } : {}),
      batchSize: settings.batchSize, learningRate: settings.learningRate,
      dataset: { spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint },
      ...(source ? { from: { model: source.dir, fingerprint: source.fingerprint, featureLayer, featuresFrozen: Boolean(args.freezeFeatures) } } : {}),
      ...(outcome ? { attackOutcome: outcome } : {}),
    };
  } finally {
    if (source) disposeSplitModel(model); else model.dispose();
  }
}

export async function evalJob(args: JobArgs<'eval'>, ctx: JobContext = {}) {
  const ds = await getDataset(args);
  const loaded = await loadModel(args.model, args.input);
  try {
    assertModelFitsData(loaded, ds);
    const split = ds[args.split];
    const { counts, accuracy } = await confusionOf(loaded, split, ds, ctx);
    const perClass = ds.classNames.map((className, c) => {
      const count = counts[c].reduce((a, b) => a + b, 0);
      return { className, count, accuracy: count ? counts[c][c] / count : 0 };
    });
    const { warnings } = await loadWarnings(loaded, ds, ctx, { accuracy, split: args.split });
    return {
      model: args.model, split: args.split, backend: backendName(), accuracy,
      count: split.count, perClass, modelFingerprint: loaded.fingerprint,
      dataset: { spec: ds.spec, fingerprint: ds.fingerprint, classNames: ds.classNames },
      confusion: counts, modelClassNames: loaded.metadata.classNames ?? null, warnings, notes: inputNotes(loaded, ds),
    };
  } finally {
    loaded.model.dispose();
  }
}

export async function predictJob(args: JobArgs<'predict'>, ctx: JobContext = {}) {
  const ds = await getDataset(args);
  const split = ds[args.split];
  if (args.index >= split.count) {
    throw new UserError(`Index ${args.index} is outside the ${args.split} split of ${ds.spec}, which holds ${split.count} samples (0–${split.count - 1}).`);
  }
  const loaded = await loadModel(args.model, args.input);
  try {
    assertModelFitsData(loaded, ds);
    const { predicted, probabilities } = await predictSplit(loaded.model, split, ds.shape, { ...ctx, indices: [args.index], withProbabilities: true });
    return {
      index: args.index, split: args.split, label: split.labels[args.index], predicted: predicted[0],
      classNames: ds.classNames, probabilities: Array.from(probabilities ?? []), backend: backendName(),
    };
  } finally {
    loaded.model.dispose();
  }
}

export async function infoJob(args: JobArgs<'info'>) {
  const loaded = await loadModel(args.model);
  try {
    const m = loaded.model;
    return {
      model: args.model, fingerprint: loaded.fingerprint, inputShape: loaded.inputShape, numClasses: loaded.numClasses,
      featureLayer: defaultFeatureLayer(m, loaded.metadata), metadata: loaded.metadata,
      parameters: m.countParams(), backend: backendName(),
      layers: m.layers.map((l) => ({
        name: l.name, type: l.getClassName(), outputShape: JSON.stringify(l.outputShape), parameters: l.countParams(),
      })),
    };
  } finally {
    loaded.model.dispose();
  }
}

// ---- CLEAR: scan and repair ----------------------------------------------------------------

/** Writes a JSON file atomically (whole or absent) and refuses to replace an existing file. */
export function writeJsonFile(file: string, value: unknown): void {
  writeNewFileAtomically(file, JSON.stringify(value, null, 1));
}

/**
 * The trusted reference set a scan names: 'test' is the dataset's own test split; any other
 * value is a data spec whose samples (both splits) are all used. Its classes must be the dataset's.
 */
export async function resolveReference(name: string | null | undefined, ds: Dataset): Promise<ReferenceSet | undefined> {
  if (!name) return undefined;
  if (name === 'test') {
    if (ds.test.count === 0) throw new UserError(`The reference "test" names the test split of ${ds.spec}, which has no samples.`);
    return { name: 'test', split: ds.test };
  }
  const ref = await getDataset({ data: name });
  if (ref.classNames.length !== ds.classNames.length || ref.shape.join('x') !== ds.shape.join('x')) {
    throw new UserError(`The reference set ${name} has ${ref.classNames.length} classes of ${ref.shape.join('×')} samples, but the dataset ${ds.spec} has ${ds.classNames.length} classes of ${ds.shape.join('×')}.`);
  }
  const size = ref.shape[0] * ref.shape[1] * ref.shape[2];
  const images = new Float32Array((ref.train.count + ref.test.count) * size);
  images.set(pixelsInMemory(ref.train.images), 0);
  images.set(pixelsInMemory(ref.test.images), ref.train.count * size);
  const labels = new Int32Array(ref.train.count + ref.test.count);
  labels.set(ref.train.labels, 0);
  labels.set(ref.test.labels, ref.train.count);
  return { name, split: { images, labels, count: labels.length } };
}

export async function scanJob(args: JobArgs<'scan'>, ctx: JobContext = {}) {
  if (args.out && existsSync(args.out)) throw new UserError(`The file ${args.out} already exists; choose a new name so nothing is overwritten.`);
  const ds = await getDataset(args);
  const loaded = await loadModel(args.model, args.input);
  try {
    assertModelFitsData(loaded, ds);
    // An imported neighbour index is checked whole before the embedding, so a bad file costs nothing.
    const neighbours = Math.min(args.neighbours ?? DEFAULT_SCAN_SETTINGS.neighbours, ds.train.count - 1);
    const imported = args.neighbourGraphFrom ? await readNeighbourIndex(args.neighbourGraphFrom, ds.train.count, neighbours) : undefined;
    await loadWarnings(loaded, ds, ctx);
    const reference = await resolveReference(args.reference, ds);
    const scanned = await scanModel(loaded, ds, {
      featureLayer: args.featureLayer, falseAlarm: args.falseAlarm, ...(args.neighbours ? { neighbours: args.neighbours } : {}),
      ...(args.neighbourGraph ? { graph: args.neighbourGraph } : {}), ...(args.approximateAbove ? { approximateAbove: args.approximateAbove } : {}),
    }, { ...ctx, reference, ...(imported ? { imported } : {}) });
    // How it was run, for a report's chain of custody (report/document.ts).
    const scan = { ...scanned, provenance: runProvenance(args) };
    if (args.out) writeJsonFile(args.out, scan);
    return scan;
  } finally {
    disposeSplitModel(loaded.model);
  }
}

/**
 * The scan's features of the training samples, written as a float32 .npy file (npy-write.ts),
 * for a neighbour index elsewhere: the same embedding and normalisation a scan builds its
 * graph from (scan.ts, `scanFeatures`), no graph.
 */
export async function featuresJob(args: JobArgs<'features'>, ctx: JobContext = {}): Promise<FeaturesResult> {
  if (existsSync(args.out)) throw new UserError(`The file ${args.out} already exists; choose a new name so nothing is overwritten.`);
  const start = performance.now();
  const ds = await getDataset(args);
  const loaded = await loadModel(args.model, args.input);
  try {
    assertModelFitsData(loaded, ds);
    await loadWarnings(loaded, ds, ctx);
    const { normalisation } = DEFAULT_SCAN_SETTINGS;
    const { parts, embedding, normalised } = await scanFeatures(loaded, ds, { featureLayer: args.featureLayer, normalisation }, ctx);
    writeFloat32Npy(args.out, normalised, embedding.n, embedding.dim);
    return {
      out: args.out, samples: embedding.n, dim: embedding.dim, featureLayer: parts.featureLayer, normalisation,
      neighbours: Math.min(DEFAULT_SCAN_SETTINGS.neighbours, embedding.n - 1), backend: backendName(),
      seconds: (performance.now() - start) / 1000,
      model: { dir: args.model, fingerprint: loaded.fingerprint }, dataset: { spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint },
    };
  } finally {
    disposeSplitModel(loaded.model);
  }
}

export async function repairJob(args: JobArgs<'repair'>, ctx: JobContext = {}) {
  const scan = readScanFile(args.scan);
  // The plan must fit the scan before any data or model is read (plan.ts); repairModel applies it.
  resolveRepairPlan(scan, args.plan);
  // An output named NAME.h5, NAME.keras or NAME.onnx is that one file (repair-file.ts); any other is a new folder.
  const file = modelFileTarget(args.out, args.model);
  if (!file) assertWritableOutput(args.out, 'repaired model folder');
  // The model is fed as the scan fed it; a transform given here must be that one.
  if (args.input && !sameTransform(args.input, scan.model.input)) {
    throw new UserError(`The scan ${args.scan} fed the model ${describeInputTransform(scan.model.input)}, not ${describeInputTransform(args.input)} as given here; repair with the scan's input scaling, or scan again with this one.`);
  }
  const ds = await getDataset(args);
  const loaded = await loadModel(args.model, scan.model.input);
  try {
    assertModelFitsData(loaded, ds);
    assertScanMatches(scan, loaded, ds, args.scan);
    await loadWarnings(loaded, ds, ctx);
    const manifest = readPoisonedManifest(ds);
    const reference = await resolveReference(scan.settings.reference, ds);
    // repairModel writes the model and its report (repair-report.json) into `out` as one folder.
    const repair = (out: string) => repairModel(loaded, ds, scan, out, {
      scanFile: args.scan,
      // The scan's hash as read, so a report can show the repair followed exactly that file.
      provenance: { ...runProvenance(args), scan: args.scan, scanSha256: sha256File(args.scan) },
      ...(args.plan ? { plan: args.plan } : {}),
      ...(reference ? { reference } : {}),
      ...(args.epochs ? { epochs: args.epochs } : {}), ...(args.learningRate ? { learningRate: args.learningRate } : {}), seed: args.seed,
      target: manifest ? { index: manifest.targetIndex, trueClass: manifest.targetClass, attackerClass: manifest.attackerClass } : undefined,
    }, ctx);
    return file ? await repairToModelFile(file, repair) : await repair(args.out);
  } finally {
    disposeSplitModel(loaded.model);
  }
}
