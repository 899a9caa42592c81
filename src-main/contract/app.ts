/**
 * The renderer's side of the contract: the messages between the wizard (in Electron or in a
 * browser tab) and its host (the Electron main process or the browser-mode server), the
 * app-level calls a host answers itself (projects, dialogs, export), and the project file.
 *
 * A renderer *call* is either an engine job (a name in `jobArgs`, run by the engine worker)
 * or an app call (a name in `appCalls`, answered by the host). Both arrive in one `invoke`
 * message and are validated here, on arrival, before anything runs.
 *
 * Like the rest of contract/, this imports only zod, so the renderer can load it.
 */
import { z } from 'zod';
import { ARCHITECTURES, ATTACK_NAMES } from './catalogue.js';
import { DEFAULT_FALSE_ALARM } from './results.js';
import { RepairResultSchema, ScanResultSchema } from './evidence.js';
import { JOB_NAMES, parseJobRequest, type JobName } from './jobs.js';
import { JobError, ProgressEventSchema } from './messages.js';

// 64, not 100: hosts prefix a connection tag before handing ids to the engine worker (ids ≤ 100).
const id = z.string().min(1).max(64);
const path = z.string().min(1, 'a path is required').max(4096);
const seed = z.number().int().min(0).max(2 ** 31 - 1);
const fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 fingerprint (64 hex digits) is expected');
/** Engine results without a schema of their own (the attack's manifest); stored as they came. */
const engineResult = z.record(z.string(), z.unknown());

// ---------------------------------------------------------------------------------------
// The project file (project.json). The host writes it; the renderer sends it on save.

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
  }).strict().default({}),
  scan: z.object({
    falseAlarm: z.number().gt(0).lt(1).default(DEFAULT_FALSE_ALARM),
    neighbours: z.number().int().min(5).max(500).optional(),
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
}).strict();
export type AttackRef = z.infer<typeof AttackRef>;

export const TrainingRecord = z.object({
  arch: z.enum(ARCHITECTURES),
  accuracy: z.number(),
  samplesPerSecond: z.number(),
  trainSeconds: z.number(),
  backend: z.string().max(100),
  history: z.array(z.object({ epoch: z.number(), loss: z.number(), accuracy: z.number() }).passthrough()).max(10_000),
}).strict();
export type TrainingRecord = z.infer<typeof TrainingRecord>;

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
  exports: z.array(ExportRecord).max(1000).default([]),
}).strict();
export type ProjectFile = z.infer<typeof ProjectFile>;

// ---------------------------------------------------------------------------------------
// App calls: answered by the host (main process or browser-mode server), not the engine.

export const DIALOG_PURPOSES = ['project', 'model', 'dataset-folder', 'dataset-file', 'export'] as const;
export type DialogPurpose = (typeof DIALOG_PURPOSES)[number];

export const OUTPUT_KINDS = ['model', 'data', 'scan', 'repair'] as const;

export const appCalls = {
  /** Host mode, version, compute backend, whether native dialogs exist. */
  'app.info': z.object({}).strict(),
  /** Makes a folder a project (an empty or new folder; an existing project is opened instead). */
  'project.create': z.object({ dir: path, name: z.string().min(1).max(200).optional() }).strict(),
  /** Reads project.json; never runs a job. */
  'project.open': z.object({ dir: path }).strict(),
  'project.save': z.object({ dir: path, project: ProjectFile }).strict(),
  'project.recent': z.object({}).strict(),
  /** A fresh, not yet existing path inside the project for a job's output. */
  'project.allocate': z.object({ dir: path, kind: z.enum(OUTPUT_KINDS) }).strict(),
  /** A native open dialog where the host has one; `{ manual: true }` asks the page to take a typed path. */
  'dialog.open': z.object({ purpose: z.enum(DIALOG_PURPOSES) }).strict(),
  /** Whether a typed path exists, what it is, and (for a folder) what it holds. */
  'path.inspect': z.object({ path }).strict(),
  /** Copies a model folder to a new folder; never overwrites. */
  'export.model': z.object({ from: path, to: path }).strict(),
} as const;

export type AppCallName = keyof typeof appCalls;
export const APP_CALL_NAMES = Object.keys(appCalls) as AppCallName[];
export type AppCallArgs<N extends AppCallName> = z.infer<(typeof appCalls)[N]>;

export interface BackendSummary { name: string; threads: number; warning?: string }

export interface AppInfo {
  mode: 'electron' | 'browser';
  version: string;
  nativeDialogs: boolean;
  /** Null when the engine could not start; `engineError` then says why. */
  backend: BackendSummary | null;
  engineError?: string;
  /** A project the host was started with (`clear serve --project DIR`, a command-line argument). */
  startupProject?: string;
}

export interface OpenedProject {
  dir: string;
  project: ProjectFile;
  /** One sentence each: a model folder that changed or vanished since it was recorded, say. */
  warnings: string[];
}

export interface RecentProject { dir: string; name: string; openedAt: string }

export type DialogResult = { path: string | null } | { manual: true };

export interface PathInfo {
  path: string;
  exists: boolean;
  kind: 'folder' | 'file' | 'other' | null;
  parent: string | null;
  /** For a folder: its visible entries, folders first, at most PATH_LIST_LIMIT. */
  entries?: { name: string; kind: 'folder' | 'file' }[];
  /** A folder holds a model (model.json) or a project (project.json). */
  holds?: 'model' | 'project';
}
export const PATH_LIST_LIMIT = 300;

export interface ExportedModel { dir: string; files: string[]; fingerprint: string }

export interface AppCallResults {
  'app.info': AppInfo;
  'project.create': OpenedProject;
  'project.open': OpenedProject;
  'project.save': { savedAt: string };
  'project.recent': RecentProject[];
  'project.allocate': { path: string };
  'dialog.open': DialogResult;
  'path.inspect': PathInfo;
  'export.model': ExportedModel;
}

// ---------------------------------------------------------------------------------------
// Messages between the renderer and its host.

/** What the renderer sends: run a call (job or app call), or cancel one it started. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('invoke'), id, call: z.string().min(1).max(100), args: z.unknown() }).strict(),
  z.object({ type: z.literal('cancel'), id }).strict(),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Electron IPC channel names (browser mode carries the same messages over one WebSocket). */
export const IPC_CHANNELS = { invoke: 'clear:invoke', cancel: 'clear:cancel', event: 'clear:event' } as const;

export const MENU_ACTIONS = ['open-project', 'open-model', 'open-dataset', 'export'] as const;
export type MenuAction = (typeof MENU_ACTIONS)[number];

/** What the host sends back. `refused` answers a message too malformed to have a usable id. */
export const HostMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), id, event: ProgressEventSchema }),
  z.object({ type: z.literal('done'), id, value: z.unknown() }),
  z.object({ type: z.literal('failed'), id, error: JobError }),
  z.object({ type: z.literal('refused'), error: JobError }),
  z.object({ type: z.literal('menu'), action: z.enum(MENU_ACTIONS) }),
]);
export type HostMessage = z.infer<typeof HostMessage>;
export type ReplyMessage = Extract<HostMessage, { type: 'done' | 'failed' | 'refused' }>;

export type ParsedCall =
  | { ok: true; kind: 'job'; call: JobName; args: unknown }
  | { ok: true; kind: 'app'; call: AppCallName; args: unknown }
  | { ok: false; error: string };

export function isKnownCall(call: unknown): call is JobName | AppCallName {
  return typeof call === 'string' && (Object.hasOwn(appCalls, call) || (JOB_NAMES as string[]).includes(call));
}

/** Validates a call and its arguments; the error is one sentence, and nothing runs on error. */
export function parseCall(call: unknown, args: unknown): ParsedCall {
  if (typeof call === 'string' && Object.hasOwn(appCalls, call)) {
    const name = call as AppCallName;
    const parsed = appCalls[name].safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
      return { ok: false, error: `Invalid arguments for ${name}${where}: ${issue.message}.` };
    }
    return { ok: true, kind: 'app', call: name, args: parsed.data };
  }
  if (typeof call === 'string' && (JOB_NAMES as string[]).includes(call)) {
    const parsed = parseJobRequest(call, args);
    return parsed.ok ? { ok: true, kind: 'job', call: parsed.job, args: parsed.args } : parsed;
  }
  return {
    ok: false,
    error: `Unknown call ${JSON.stringify(call)}; the calls are the engine jobs (${JOB_NAMES.join(', ')}) and ${APP_CALL_NAMES.join(', ')}.`,
  };
}

/** Validates a raw message from a renderer; refuses anything that is not a contract message. */
export function parseClientMessage(raw: unknown): { ok: true; message: ClientMessage } | { ok: false; id?: string; error: string } {
  const parsed = ClientMessage.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? (raw as { id: unknown }).id : undefined;
  const usableId = id.safeParse(rawId).success ? (rawId as string) : undefined;
  const issue = parsed.error.issues[0];
  const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
  return { ok: false, id: usableId, error: `Refused a message that is not part of the contract${where}: ${issue.message}.` };
}
