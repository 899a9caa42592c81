/** The project file (project.json): what a project folder records. The host writes it; the renderer sends it on save. */
import { z } from 'zod';
import { ARCHITECTURES, ATTACK_NAMES } from './catalogue.js';
import { InputTransformSchema, RepairPlanSchema, RepairResultSchema, ScanResultSchema } from './evidence.js';
import { DEFAULT_FALSE_ALARM } from './results.js';
import { path, seed, fingerprint, engineResult } from './fields.js';


export const PROJECT_SCHEMA = 'clear-project/1';
export const PROJECT_FILE = 'project.json';

export const STEP_IDS = ['load', 'train', 'scan', 'inspect', 'repair', 'verify', 'export'] as const;
export type StepId = (typeof STEP_IDS)[number];


export const ProjectSettings = z.object({
  train: z.object({
    arch: z.enum(ARCHITECTURES).default('cnn'),
    epochs: z.number().int().min(1).max(1000).default(3),
    batchSize: z.number().int().min(1).max(4096).default(64),
    learningRate: z.number().positive().max(1).default(0.001),
    seed: seed.default(0),
    /** On poisoned data: also train a clean victim on the data before the attack, to show the target's prediction without the poisons. */
    cleanVictim: z.boolean().default(true),
  }).strict().default({}),
  scan: z.object({
    falseAlarm: z.number().gt(0).lt(1).default(DEFAULT_FALSE_ALARM),
    neighbours: z.number().int().min(5).max(500).optional(),
    /** The layer to split the model at, chosen in the Scan step; absent for the model's default (the input of its last Dense layer). Used only when the current model has it. */
    featureLayer: z.string().min(1).max(500).optional(),
    /** Use the dataset's own test split as the trusted reference set (held-out support). */
    useTestAsReference: z.boolean().default(false),
  }).strict().default({}),
  repair: z.object({
    epochs: z.number().int().min(1).max(100).optional(),
    learningRate: z.number().positive().max(1).optional(),
    seed: seed.default(0),
  }).strict().default({}),
}).strict();
export type ProjectSettings = z.infer<typeof ProjectSettings>;

export const DatasetRef = z.object({
  spec: z.string().min(1).max(8192),
  limit: z.number().int().positive().optional(),
  dataSeed: seed.optional(),
  name: z.string().max(500),
  /** The engine's dataset fingerprint (SHA-256 over shape, classes, pixels and labels). */
  fingerprint,
  classNames: z.array(z.string().max(200)).max(10_000),
  trainCount: z.number().int().min(0),
  testCount: z.number().int().min(0),
}).strict();
export type DatasetRef = z.infer<typeof DatasetRef>;

export const ModelRef = z.object({
  dir: path,
  /** SHA-256 over model.json and its weight files, in manifest order (the engine's rule). */
  fingerprint,
  origin: z.enum(['trained', 'opened', 'repaired']),
  architecture: z.string().max(100).optional(),
  /** How an opened model is fed, when not the pixels as read (engine/model/input-transform.ts). */
  input: InputTransformSchema.optional(),
}).strict();
export type ModelRef = z.infer<typeof ModelRef>;

export const AttackRef = z.object({
  attack: z.enum(ATTACK_NAMES),
  target: z.number().int().min(0),
  attackerClass: z.number().int().min(0),
  poisons: z.number().int().min(1).max(1000),
  seed,
  /** The clean data the poisons were added to, and the poisoned `dir:` data spec written. */
  source: z.object({ spec: z.string().min(1).max(8192), limit: z.number().int().positive().optional() }).strict(),
  data: z.string().min(1).max(8192),
  /** What the attack job reported (its manifest). */
  result: engineResult,
  /** The model the project had before the data was poisoned, kept to compare the target's prediction with. */
  before: ModelRef.optional(),
}).strict();
export type AttackRef = z.infer<typeof AttackRef>;

export const TrainingRecord = z.object({
  arch: z.enum(ARCHITECTURES),
  accuracy: z.number(),
  samplesPerSecond: z.number(),
  trainSeconds: z.number(),
  backend: z.string().max(100),
  /** The chart's points: smoothed training loss and accuracy, with validation loss and accuracy at each epoch's end. */
  history: z.array(z.object({ epoch: z.number(), loss: z.number(), accuracy: z.number(), valLoss: z.number().optional(), valAccuracy: z.number().optional() }).passthrough()).max(10_000),
  /** Epochs trained: the chart's axis for this history, whatever the form says now. */
  epochs: z.number().int().min(1).max(1000).optional(),
  /** Training on a simulated attack's data: what the attack did to this model (the train job's attackOutcome). */
  attackOutcome: z.object({
    attack: z.string().max(100).nullable(),
    targetIndex: z.number().int().min(0), targetClass: z.number().int().min(0), attackerClass: z.number().int().min(0),
    after: z.number().int().min(0),
    before: z.object({
      predicted: z.number().int().min(0), by: z.enum(['clean-victim', 'given-model']), model: path.nullable(), accuracy: z.number().nullable(),
    }).strict().nullable(),
    poisons: z.number().int().min(0), fitted: z.number().int().min(0), succeeded: z.boolean(),
  }).strict().optional(),
}).strict();
export type TrainingRecord = z.infer<typeof TrainingRecord>;

/**
 * One scan or repair the project ran, kept when a later one replaces it: the model and data it
 * belongs to (by fingerprint), when, what it found, and where its output is on disk.
 */
export const HistoryEntry = z.object({
  kind: z.enum(['scan', 'repair']),
  at: z.string().max(100),
  /** The model scanned, or the model a repair started from. */
  model: z.object({ dir: path, fingerprint }).strict(),
  data: z.object({ name: z.string().max(500), fingerprint }).strict(),
  /** The scan file (a scan), or the scan a repair followed. */
  scan: path,
  /** A repair's output: the repaired model folder (with its repair-report.json). */
  repaired: z.object({ dir: path, fingerprint }).strict().optional(),
  /** What it found, in a few words (a scan's headline; a repair's open pockets before → after). */
  summary: z.string().max(500),
  /** A repair's plan. */
  plan: RepairPlanSchema.optional(),
}).strict();
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const ExportRecord = z.object({
  at: z.string(),
  dir: path,
  files: z.array(path).max(1000),
}).strict();
export type ExportRecord = z.infer<typeof ExportRecord>;

export const ProjectFile = z.object({
  schema: z.literal(PROJECT_SCHEMA),
  name: z.string().min(1).max(200),
  createdAt: z.string().max(100),
  updatedAt: z.string().max(100),
  /** The step the user was on, so reopening lands there. */
  step: z.enum(STEP_IDS).default('load'),
  settings: ProjectSettings.default({}),
  dataset: DatasetRef.nullable().default(null),
  attack: AttackRef.nullable().default(null),
  model: ModelRef.nullable().default(null),
  training: TrainingRecord.nullable().default(null),
  /** The scan and repair results are evidence a later step acts on: checked as the engine's results (evidence.ts). */
  scan: z.object({ file: path, result: ScanResultSchema }).strict().nullable().default(null),
  repair: z.object({ model: ModelRef, result: RepairResultSchema }).strict().nullable().default(null),
  /** The repair plan being reviewed for the current scan (its file): kept so reopening keeps the analyst's choices. */
  repairPlan: z.object({ scan: path, plan: RepairPlanSchema }).strict().nullable().default(null),
  /** Every scan and repair run in this project, oldest first; replacing the current one never drops it from here. */
  history: z.array(HistoryEntry).max(10_000).default([]),
  exports: z.array(ExportRecord).max(1000).default([]),
}).strict();
export type ProjectFile = z.infer<typeof ProjectFile>;
