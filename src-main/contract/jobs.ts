/**
 * The single source of truth for what crosses a process boundary: engine job names and the
 * schema of each job's arguments. The worker, the Electron main process and the browser-mode
 * server validate every message against these on arrival; nothing unknown is executed.
 *
 * This module imports only zod, so the renderer, the main process and the worker can all
 * load it.
 */
import { z } from 'zod';
import { ARCHITECTURES, ATTACK_NAMES, ATTACK_VARIANTS, BACKENDS, SCAN_REPORT_FORMATS, SCENARIOS } from './catalogue.js';
import { InputTransformSchema, RepairPlanSchema } from './evidence.js';
import { shownValue } from './format.js';
import {
  DEFAULT_FALSE_ALARM,
  type AttackResult, type BenchSummary, type DatasetPreview, type EvalResult, type ExportModelFileResult, type ExportReportResult, type FeaturesResult, type InfoResult,
  type PerfSummary, type PocketView, type SampleImages, type PredictResult, type RepairResult, type ScanReportResult, type ScanResult, type TrainResult,
} from './results.js';

const path = z.string().min(1, 'a path is required').max(4096);
/** A data spec, one of DATA_SPEC_FORMS (catalogue.ts); the engine's loader parses it. */
export const DataSpec = z.string().min(1).max(8192);
const seed = z.number().int().min(0).max(2 ** 31 - 1);
const backend = z.enum(BACKENDS);

/** The model's input transform, for the jobs that feed a model data. */
const input = InputTransformSchema.optional();

export const DataArgs = z.object({
  data: DataSpec,
  limit: z.number().int().positive().optional(),
  dataSeed: seed.optional(),
}).strict();

/**
 * Where a report reads the members' images and the pocket pictures from: the scan's own
 * model and data unless given (a moved folder); --limit/--data-seed as the scan recorded them
 * unless given.
 */
const ReportSourceArgs = {
  model: path.optional(),
  data: DataSpec.optional(),
  limit: z.number().int().positive().optional(),
  dataSeed: seed.optional(),
};

/** Training settings when none are given: a built-in architecture trained end to end. */
export const TRAIN_DEFAULTS = { epochs: 3, batchSize: 64, learningRate: 0.001 } as const;
/**
 * Training settings when none are given for a new last layer on frozen features (`train` with
 * `freezeFeatures`, and the benchmark's transfer scenario): the papers train that linear head to
 * convergence, and at the end-to-end settings it is still underfitting (engine/attacks/scenario.ts).
 */
export const TRANSFER_HEAD_DEFAULTS = { epochs: 20, batchSize: 256, learningRate: 0.01 } as const;

export const jobArgs = {
  /**
   * Train a built-in architecture and save it; or, with `from`, start from a saved model's
   * weights, and with `freezeFeatures` also keep its layers up to the feature layer fixed and
   * train a fresh last layer on them (transfer learning). Unset settings take TRAIN_DEFAULTS,
   * or TRANSFER_HEAD_DEFAULTS with `freezeFeatures`.
   */
  train: DataArgs.extend({
    arch: z.enum(ARCHITECTURES).default('cnn'),
    from: path.optional(),
    /** How the `from` model is fed (input-transform.ts). */
    input,
    freezeFeatures: z.boolean().default(false),
    /**
     * When the data holds a simulated attack: a model without the poisons (the one used before
     * the data was poisoned) whose prediction of the target the result reports beside the new model's.
     */
    compareWith: path.optional(),
    /** When the data holds a simulated attack: also train a clean victim on the attack's source data, same settings, to compare the target's prediction with (not saved). */
    cleanVictim: z.boolean().default(false),
    epochs: z.number().int().min(1).max(1000).optional(),
    batchSize: z.number().int().min(1).max(4096).optional(),
    learningRate: z.number().positive().max(1).optional(),
    seed: seed.default(0),
    out: path,
  }).strict(),
  /** Accuracy and per-class accuracy of a model on a split. */
  eval: DataArgs.extend({ model: path, input, split: z.enum(['train', 'test']).default('test') }).strict(),
  /** One sample's prediction. */
  predict: DataArgs.extend({
    model: path, input, split: z.enum(['train', 'test']).default('test'), index: z.number().int().min(0),
  }).strict(),
  /** Layers, feature layer, parameters, fingerprint. */
  info: z.object({ model: path }).strict(),
  /** CLEAR pocket scan. */
  scan: DataArgs.extend({
    model: path,
    input,
    featureLayer: z.string().min(1).optional(),
    falseAlarm: z.number().gt(0).lt(1).default(DEFAULT_FALSE_ALARM),
    neighbours: z.number().int().min(5).max(500).optional(),
    /** Neighbour graph: `auto` (exact up to `approximateAbove` samples, approximate above), or either forced. */
    neighbourGraph: z.enum(['auto', 'exact', 'approximate']).optional(),
    approximateAbove: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    /**
     * An N × K' neighbour index computed elsewhere (.npy or .npz, int32 or int64, e.g. Faiss's
     * `index.search(x, K + 1)` over the features `features` writes): its candidates are
     * re-ranked with the scan's own distances and their recall measured (engine/features/imported.ts).
     */
    neighbourGraphFrom: path.optional(),
    /** Trusted labelled reference set for held-out support: 'test' (the dataset's own test split) or a data spec (all its samples). */
    reference: DataSpec.optional(),
    out: path.optional(),
  }).strict(),
  /**
   * The scan's features (the feature layer's outputs, normalised as the scan normalises them)
   * as a float32 N × d .npy file, row i = training sample i: what a neighbour index elsewhere
   * is built from for `scan`'s `neighbourGraphFrom`. No neighbour graph is built.
   */
  features: DataArgs.extend({
    model: path,
    input,
    featureLayer: z.string().min(1).optional(),
    out: path,
  }).strict(),
  /** Fine-tune with corrected labels; write the repaired model to a new folder. */
  repair: DataArgs.extend({
    model: path,
    /** How the model is fed; by default as the scan recorded it, and if given it must be the scan's. */
    input,
    scan: path,
    /** A new folder; or a new NAME.h5, NAME.keras (a Keras or TensorFlow.js model) or NAME.onnx (an ONNX model) file, with NAME.EXT.repair-report.json beside it. */
    out: path,
    /** What to do with each reported group (relabel or remove, members left out); without it every reported group is relabelled whole. */
    plan: RepairPlanSchema.optional(),
    epochs: z.number().int().min(1).max(100).optional(),
    learningRate: z.number().positive().max(1).optional(),
    seed: seed.default(0),
  }).strict(),
  /** Craft poisons and write a poisoned `dir:` dataset with a manifest. */
  attack: DataArgs.extend({
    attack: z.enum(ATTACK_NAMES),
    target: z.number().int().min(0),
    attackerClass: z.number().int().min(0),
    poisons: z.number().int().min(1).max(1000).optional(),
    epsilon: z.number().positive().optional(),
    seed: seed.default(0),
    featureModel: path.optional(),
    /** How the feature model is fed (its pixel scaling and normalisation); only with `featureModel`. */
    input,
    out: path,
  }).strict(),
  // Jobs the desktop app's views need beyond the command line's (engine/jobs/ui.ts).
  /** Class names, counts, fingerprint and a few sample thumbnails of a dataset. */
  datasetPreview: DataArgs.extend({
    samplesPerClass: z.number().int().min(0).max(16).default(3),
  }).strict(),
  /** Thumbnails, labels and sources of chosen samples of one split (the repair review lists a group's members). */
  sampleImages: DataArgs.extend({
    split: z.enum(['train', 'test']).default('train'),
    indices: z.array(z.number().int().min(0)).min(1).max(2000),
  }).strict(),
  /** One pocket in 2-D: members, shell and nearby points, the members' hull, image pairs. */
  pocketView: DataArgs.extend({
    model: path,
    /** Path to a scan JSON file, or the scan result itself. */
    scan: z.union([path, z.record(z.string(), z.unknown())]),
    pocketId: z.number().int().min(0),
    nearby: z.number().int().min(0).max(2000).default(300),
    /** Members shown beside their nearest sample of the enclosing class (Inspect shows a few; the repair review up to REVIEW_NEIGHBOURS). */
    pairs: z.number().int().min(0).max(500).default(6),
  }).strict(),
  /**
   * A self-contained HTML report, its PDF and its JSON, of a scan and a repair, in a folder;
   * never overwrites. With the data and the model the report shows the members' thumbnails,
   * their nearest clean neighbours and the pocket pictures (engine/report/document.ts).
   */
  exportReport: z.object({
    scan: z.union([path, z.record(z.string(), z.unknown())]),
    repair: z.union([path, z.record(z.string(), z.unknown())]).optional(),
    out: path,
    title: z.string().min(1).max(200).optional(),
    ...ReportSourceArgs,
    /** The project the report was exported from, named in its chain of custody. */
    project: path.optional(),
  }).strict(),
  /**
   * A model (the project's repaired model folder) written as one new .h5, .keras (a Keras or
   * TensorFlow.js model) or .onnx (an ONNX model) file; never overwrites.
   */
  exportModelFile: z.object({ model: path, out: path }).strict(),
  /**
   * `clearwb report`: the samples a scan flags as CSV, or the whole report (verdict, pockets,
   * repair, chain of custody, glossary) as HTML, PDF or JSON, written to a new file.
   */
  scanReport: z.object({
    scan: z.union([path, z.record(z.string(), z.unknown())]),
    /** A repaired model folder (holding repair-report.json) or a repair report file. */
    repair: path.optional(),
    format: z.enum(SCAN_REPORT_FORMATS).default('csv'),
    out: path,
    title: z.string().min(1).max(200).optional(),
    ...ReportSourceArgs,
    /** The command line that asked for the report, named in its chain of custody. */
    argv: z.array(z.string().max(4096)).max(200).optional(),
  }).strict(),
  /** The defence benchmark (README, "The benchmarks"), or with `perf` the speed benchmark. */
  bench: DataArgs.extend({
    perf: z.boolean().default(false),
    attacks: z.array(z.enum(ATTACK_NAMES)).min(1).max(ATTACK_NAMES.length).optional(),
    defences: z.array(z.string().min(1).max(100)).min(1).max(20).optional(),
    trials: z.number().int().min(1).max(1000).optional(),
    cleanTrials: z.number().int().min(0).max(1000).optional(),
    seed: seed.optional(),
    arch: z.union([z.enum(ARCHITECTURES), z.array(z.enum(ARCHITECTURES)).min(1).max(ARCHITECTURES.length)]).optional(),
    scenario: z.enum(SCENARIOS).optional(),
    poisons: z.union([z.number().int().min(1).max(1000), z.array(z.number().int().min(1).max(1000)).min(1).max(12)]).optional(),
    epsilon: z.number().positive().optional(),
    epochs: z.number().int().min(1).max(1000).optional(),
    full: z.boolean().optional(),
    variants: z.array(z.enum(ATTACK_VARIANTS)).min(1).max(ATTACK_VARIANTS.length).optional(),
    /** Only the variants' cases, without the published settings' (to extend a variant's trials). */
    variantsOnly: z.boolean().optional(),
    reference: z.number().int().min(0).max(100_000).optional(),
    /** Further clean victims (other seeds) per successful attack: does the attack hold across seeds? */
    cleanSeeds: z.number().int().min(0).max(20).optional(),
    resume: z.boolean().optional(),
    batches: z.number().int().min(1).max(10000).optional(),
    /** --perf: also the neighbours stage alone on random vectors at 8k…1M samples (minutes to tens of minutes). */
    scaling: z.boolean().optional(),
    /** --perf: the scaling table alone, at these sizes (no training, scan or repair). */
    scalingSizes: z.array(z.number().int().min(2).max(10_000_000)).min(1).max(20).optional(),
    /** --perf: neighbour graph of the scan and the scaling table (default auto: approximate above 100k samples). */
    neighbourGraph: z.enum(['auto', 'exact', 'approximate']).optional(),
    /** --perf: features of the scaling table: random unit vectors (default) or clustered ones. */
    scalingData: z.enum(['random', 'clustered']).optional(),
    argv: z.array(z.string().max(4096)).max(200).optional(),
    out: path.optional(),
  }).strict(),
} as const;

export type JobName = keyof typeof jobArgs;
export const JOB_NAMES = Object.keys(jobArgs) as JobName[];
export type JobArgs<N extends JobName> = z.infer<(typeof jobArgs)[N]>;
export type JobInput<N extends JobName> = z.input<(typeof jobArgs)[N]>;

export const BackendChoice = backend;
/** Compute threads a host may ask the worker for (CLEAR_THREADS). */
export const ThreadCount = z.number().int().min(1).max(1024);

/** What each job resolves to. Total: a job without a result type here does not compile. */
export interface JobResults {
  train: TrainResult;
  eval: EvalResult;
  predict: PredictResult;
  info: InfoResult;
  scan: ScanResult;
  features: FeaturesResult;
  repair: RepairResult;
  attack: AttackResult;
  datasetPreview: DatasetPreview;
  sampleImages: SampleImages;
  pocketView: PocketView;
  exportReport: ExportReportResult;
  exportModelFile: ExportModelFileResult;
  scanReport: ScanReportResult;
  bench: BenchSummary | PerfSummary;
}

/**
 * The engine's job table: one handler per job, taking the job's validated arguments and the
 * engine's job context (progress, cancel signal), resolving to the job's result. The context
 * type is the engine's, so the contract leaves it open.
 */
export type JobHandlers<Context> = { [N in JobName]: (args: JobArgs<N>, ctx: Context) => Promise<JobResults[N]> };

/** Validates a job request; returns a plain-sentence error instead of throwing. */
export function parseJobRequest(job: unknown, args: unknown):
  { ok: true; job: JobName; args: unknown } | { ok: false; error: string } {
  // Own names only: `in` would also find toString, hasOwnProperty… on the prototype, which have no schema.
  if (typeof job !== 'string' || !Object.hasOwn(jobArgs, job)) {
    return { ok: false, error: `Unknown job ${shownValue(job)}; the jobs are ${JOB_NAMES.join(', ')}.` };
  }
  const parsed = jobArgs[job as JobName].safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
    return { ok: false, error: `Invalid arguments for job ${job}${where}: ${issue.message}.` };
  }
  return { ok: true, job: job as JobName, args: parsed.data };
}
