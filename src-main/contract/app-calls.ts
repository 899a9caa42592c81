/**
 * App calls: answered by the host (the Electron main process or the browser-mode server), not
 * the engine: projects, dialogs, paths, exports. Their names, argument schemas and results.
 */
import { z } from 'zod';
import { path } from './fields.js';
import { ProjectFile } from './project.js';


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
  /**
   * Whether a typed path exists, what it is, and (for a folder) what it holds; only under the
   * home folder or a granted root (host/path-scope.ts), otherwise `outside` and nothing more.
   */
  'path.inspect': z.object({ path }).strict(),
  /**
   * Browser mode's path prompt: the user chose this typed or browsed path, so it is granted for
   * the session; answers what it is. Refused where the host has native dialogs (they grant).
   */
  'path.choose': z.object({ path }).strict(),
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
  /** A project the host was started with (`clearwb serve --project DIR`, a command-line argument). */
  startupProject?: string;
  /** The host's log file, where errors are kept with their stack traces (host/log-file.ts). */
  logFile?: string;
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
  /** Outside the home folder and the granted roots: not looked at (exists false, kind null) until chosen. */
  outside?: true;
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
  'path.choose': PathInfo;
  'export.model': ExportedModel;
}
