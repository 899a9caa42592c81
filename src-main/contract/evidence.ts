/**
 * Scan and repair results read back as evidence: the zod schemas every reader of a scan JSON,
 * a repair report or a project's stored results checks them against before using a field.
 * A scan file is a user's file and may have been edited; only its shape is checked here
 * (integers where indices are, probabilities in [0, 1], the schema names). Whether its indices
 * fit a dataset and its verdicts fit its p-values is the engine's check before a repair
 * (engine/clear/evidence.ts), since that needs the dataset.
 *
 * The schemas follow the types in results.ts field for field; the type checks at the end fail
 * to compile when one side changes without the other. Unknown fields are dropped, not refused.
 */
import { z } from 'zod';
import { REPAIR_ACTIONS, REPAIR_SCHEMA, SCAN_SCHEMA, type InputTransform, type RepairAction, type RepairPlan, type RepairResult, type ScanResult } from './results.js';

/**
 * A measurement shown to the user but never acted on. JSON has no NaN or infinity (it writes
 * null), so a null read back is NaN: displayed as missing, never used as an index or a level.
 * NaN itself is accepted too, as Electron's IPC carries it.
 */
const measured = z.union([z.number(), z.nan(), z.null().transform(() => Number.NaN)]);
const probability = z.number().min(0).max(1);
const count = z.number().int().min(0);
/** A sample index or a class index: a whole number ≥ 0 (the range is the dataset's, checked by the engine). */
const index = z.number().int().min(0);
const fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 fingerprint (64 hex digits) is expected');
const text = z.string().max(100_000);
const name = z.string().max(4096);
const tail = z.object({ threshold: measured, share: measured, scale: measured });

export const ScanSettingsSchema = z.object({
  featureLayer: z.string().min(1).max(500),
  normalisation: z.enum(['l2', 'standardise']),
  // Bounded as the scan job's arguments are, so a repair's rescan with these settings stays a scan.
  neighbours: z.number().int().min(1).max(10_000),
  falseAlarm: z.number().gt(0).lt(1),
  minShellPurity: probability,
  probesPerPocket: z.number().int().min(1).max(100_000),
  nullGroups: z.number().int().min(0).max(100_000),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  reference: z.string().min(1).max(8192).nullable(),
  graph: z.enum(['auto', 'exact', 'approximate']).optional(),
  approximateAbove: z.number().int().min(1).max(2 ** 31 - 1).optional(),
});

export const PocketSchema = z.object({
  id: index,
  members: z.array(index).min(1),
  // Shown, never acted on: a list that does not line up with members is left to its readers
  // (clearwb report refuses it; the views show what there is).
  sources: z.array(z.string().max(8192)).optional(),
  attackerClass: index,
  enclosingClass: index,
  score: measured,
  pValue: probability,
  confirmed: z.boolean(),
  learnt: probability,
  attemptPValue: probability,
  attempt: z.boolean(),
  origin: z.enum(['pocket', 'disagreement', 'both']),
  shell: z.array(index),
  contaminants: z.array(index),
  tightness: z.object({ contamination: measured, diameter: measured, relativeSpread: measured, shellPurity: measured }),
  interiorAttackerRate: measured,
  flipDistance: measured,
  fittedRate: measured,
  evidence: z.record(z.string().max(200), measured),
  explanation: text,
});

export const CraftedGroupSchema = z.object({
  id: index,
  classIndex: index,
  members: z.array(index).min(1),
  sources: z.array(z.string().max(8192)).optional(),
  driftRatios: z.array(measured),
  nextRatio: measured,
  pValue: probability,
  explanation: text,
});

const classStatistics = z.object({
  classIndex: index, className: name, samples: count, seeds: count, candidates: count, pockets: count,
  bestScore: z.number().nullable(), members: count,
});

const pairStatistics = z.object({
  attackerClass: index, enclosingClass: index, seeds: count, candidates: count, pockets: count,
  bestScore: z.number().nullable(), members: count,
});

const provenance = z.object({
  appVersion: z.string().max(100), tfjsVersion: z.string().max(100),
  limit: z.number().int().positive().nullable(), dataSeed: z.number().int().min(0).nullable(),
});

/**
 * How a model expects its pixels when not as the readers give them (0–1): it is fed
 * (pixel × scale − mean[c]) / std[c], one mean and std for every channel or one per channel
 * (engine/model/input-transform.ts). Absent: the pixels as read.
 */
export const InputTransformSchema = z.object({
  scale: z.number().positive().max(65536),
  mean: z.array(z.number().finite()).min(1).max(4),
  std: z.array(z.number().positive().finite()).min(1).max(4),
}).strict() satisfies z.ZodType<InputTransform>;
export const ScanResultSchema = z.object({
  schema: z.literal(SCAN_SCHEMA),
  provenance: provenance.optional(),
  createdAt: z.string().max(100),
  settings: ScanSettingsSchema,
  backend: z.string().max(100),
  dataset: z.object({
    spec: z.string().min(1).max(8192), name, fingerprint, trainCount: count,
    classNames: z.array(name).min(2).max(100_000),
  }),
  model: z.object({ dir: name, fingerprint, featureLayer: z.string().max(500), featureDim: count, input: InputTransformSchema.optional() }),
  verdict: z.object({
    suspected: z.boolean(),
    attempt: z.boolean(),
    headline: z.string().max(200),
    falseAlarm: z.number().gt(0).lt(1),
    pValue: probability,
    attemptPValue: probability,
    crafted: z.boolean().optional(),
    craftedPValue: probability.optional(),
    summary: text,
  }),
  calibration: z.object({
    nullGroups: count,
    nullDraws: count,
    borderSamples: count,
    family: count,
    backdoorTail: tail,
    attemptTail: tail,
    nullScores: z.array(z.object({ score: measured, attemptScore: z.number().nullable(), size: count })),
  }),
  pockets: z.array(PocketSchema),
  crafted: z.array(CraftedGroupSchema).optional(),
  statistics: z.object({ classes: z.array(classStatistics), pairs: z.array(pairStatistics), seeds: count, candidates: count }),
  timings: z.object({
    embed: measured, neighbours: measured, hulls: measured, pocketTest: measured, total: measured,
    peakRssMiB: measured.optional(), rssScope: z.enum(['stage', 'process']).optional(),
    neighbourGraph: z.object({
      method: z.enum(['exact', 'approximate', 'imported']), requested: z.enum(['auto', 'exact', 'approximate']),
      recall: probability.nullable(), recallRows: count, candidates: count.nullable(), file: name.optional(), note: text.optional(), recallSeconds: measured.optional(),
    }).optional(),
  }),
});

/**
 * A repair plan as it arrives (a job argument, a project file, a report): its shape only.
 * Whether its groups are the scan's reported ones and its excluded samples their members is
 * the engine's check (engine/clear/plan.ts), since that needs the scan.
 */
export const RepairPlanSchema = z.object({
  pockets: z.array(z.object({
    id: index,
    action: z.enum(REPAIR_ACTIONS as [RepairAction, ...RepairAction[]]),
    exclude: z.array(index).max(1_000_000).default([]),
  }).strict()).max(100_000),
}).strict();

const accuracySide = z.object({ accuracy: measured, perClass: z.array(measured), suspected: z.boolean(), openPockets: count });

export const RepairResultSchema = z.object({
  schema: z.literal(REPAIR_SCHEMA),
  provenance: provenance.extend({ scan: name, scanSha256: fingerprint }).optional(),
  createdAt: z.string().max(100),
  backend: z.string().max(100),
  model: z.object({ from: name, fromFingerprint: fingerprint, out: name, fingerprint }),
  relabelled: z.array(z.object({ index, from: index, to: index })),
  removed: z.array(index).optional(),
  plan: RepairPlanSchema.optional(),
  settings: z.object({ epochs: count, learningRate: z.number().positive(), replay: count, interiorProbes: count, hullReplay: count.optional(), hullLearningRate: z.number().positive().optional(), seed: count }),
  before: accuracySide,
  after: accuracySide,
  pockets: z.array(z.object({ id: index, attackerClass: index, enclosingClass: index, interiorBefore: measured, interiorAfter: measured })),
  target: z.object({ split: z.literal('test'), index, trueClass: index, attackerClass: index, before: index, after: index }).optional(),
  rescan: ScanResultSchema,
  seconds: measured,
});

/**
 * One sentence for the first problem zod found: where in the file (a dotted path such as
 * `pockets.3.members.2`) and what, with the value when it is short.
 */
export function describeIssue(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'top level';
  let value: unknown = input;
  for (const key of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
  let shown = '';
  // A value JSON cannot write (a bigint or a cycle, which IPC's structured cloning carries) is not quoted.
  try { shown = value === undefined ? '' : JSON.stringify(value) ?? ''; } catch { shown = ''; }
  const found = shown && shown.length <= 40 ? `, found ${shown}` : '';
  return `${where}: ${issue.message.replace(/\.$/, '')}${found}`;
}

// The schemas describe exactly the types of results.ts: each must be assignable to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type ScanSchemaMatchesType = Assert<Same<z.infer<typeof ScanResultSchema>, ScanResult>>;
export type RepairPlanSchemaMatchesType = Assert<Same<z.infer<typeof RepairPlanSchema>, RepairPlan>>;
export type RepairSchemaMatchesType = Assert<Same<z.infer<typeof RepairResultSchema>, RepairResult>>;
