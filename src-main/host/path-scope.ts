/**
 * The folders a renderer may name (issue 12): both hosts accept a path from the page only under
 * a *granted root* of this session (the host process's lifetime), and only where its real path
 * (symbolic links followed) stays under that root. A root is granted when the user chooses it:
 * a native dialog's answer (the desktop app), a path chosen in the page's path prompt (browser
 * mode, which has no native dialog), a project opened from the recent list or named at start-up,
 * and the project folder in use. Anything else is refused in one sentence naming the path and
 * how to grant it; the refusal never reads the file, so it cannot echo what the file holds.
 *
 * Browsing (the path prompt's listing) may also look under the home folder, so the user can find
 * a folder to choose; a listing gives names and kinds only, never contents, and grants nothing.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isInside } from '../files/guard.js';
import type { JobName } from '../contract/jobs.js';

export class PathScopeError extends Error {
  readonly kind = 'user' as const;
  constructor(message: string) { super(message); this.name = 'PathScopeError'; }
}

/**
 * The real path of `p`: of its nearest existing ancestor, symbolic links followed, with the rest
 * of the path appended (a new output folder is judged by where it would be created).
 */
export async function realPathOf(p: string): Promise<string> {
  const resolved = path.resolve(p);
  const rest: string[] = [];
  for (let at = resolved; ; at = path.dirname(at)) {
    try {
      return path.join(await fs.realpath(at), ...rest.reverse());
    } catch {
      const up = path.dirname(at);
      if (up === at) return resolved;
      rest.push(path.basename(at));
    }
  }
}

const within = (real: string, root: string) => real === root || isInside(real, root);

export class PathScope {
  readonly #roots = new Set<string>();
  readonly #browse: string[];

  /** `browse`: folders the path prompt may list besides the granted roots (the home folder by default). */
  constructor(options: { browse?: string[] } = {}) {
    this.#browse = options.browse ?? [os.homedir()];
  }

  /** Grants `p` (a folder and everything under it, or one file) for the rest of the session. */
  async grant(p: string): Promise<string> {
    const real = await realPathOf(p);
    this.#roots.add(real);
    return real;
  }

  /** The granted roots, as real paths (tests and messages). */
  roots(): string[] { return [...this.#roots]; }

  async allows(p: string): Promise<boolean> {
    const real = await realPathOf(p);
    return [...this.#roots].some((root) => within(real, root));
  }

  /** Whether the path prompt may list `p`: granted, or under a browsing folder (names only). */
  async browsable(p: string): Promise<boolean> {
    if (await this.allows(p)) return true;
    const real = await realPathOf(p);
    for (const b of this.#browse) if (within(real, await realPathOf(b))) return true;
    return false;
  }

  /** Throws the one-sentence refusal unless `p` is under a granted root. `what` names it ("The model folder"). */
  async check(p: string, what: string): Promise<void> {
    if (await this.allows(p)) return;
    throw new PathScopeError(`${what} ${p} is outside the folders chosen in this session, so it is not used; choose it with Browse… (or File › Open) to grant it.`);
  }

  /** Checks every path a job's arguments name (see jobPaths). */
  async checkJob(job: JobName, args: unknown): Promise<void> {
    for (const { path: p, what } of jobPaths(job, args)) await this.check(p, what);
  }
}

const DATA_WITH_PATHS = /^(idx|npy|npz|cifar|folder|csv|dir):(.*)$/s;

/** The files and folders a data spec names (none for the built-in digits). */
export function dataSpecPaths(spec: string): string[] {
  const m = DATA_WITH_PATHS.exec(spec.trim());
  if (!m) return [];
  return (m[1] === 'idx' || m[1] === 'npy' ? m[2].split(',') : [m[2]]).filter(Boolean);
}

type Named = { path: string; what: string };

/**
 * Every path a job's arguments name, with what it is, for the refusal sentence: model folders,
 * data specs' files, scan and repair files, outputs. A scan or repair given inline (an object)
 * names its model and data inside it; a report without its own `model`/`data` reads those, so
 * they are checked too.
 */
export function jobPaths(job: JobName, args: unknown): Named[] {
  const a = (args ?? {}) as Record<string, unknown>;
  const out: Named[] = [];
  const add = (value: unknown, what: string) => { if (typeof value === 'string' && value) out.push({ path: value, what }); };
  const addSpec = (value: unknown, what: string) => {
    if (typeof value === 'string') for (const p of dataSpecPaths(value)) out.push({ path: p, what });
  };
  addSpec(a.data, 'The dataset path');
  if (job === 'scan') addSpec(a.reference, 'The reference dataset path');
  add(a.model, 'The model folder');
  add(a.from, 'The model folder');
  add(a.compareWith, 'The model folder');
  add(a.featureModel, 'The model folder');
  add(a.project, 'The project folder');
  add(a.out, 'The output path');
  add(a.neighbourGraphFrom, 'The neighbour file');
  for (const key of ['scan', 'repair'] as const) {
    const v = a[key];
    if (typeof v === 'string') add(v, key === 'scan' ? 'The scan file' : 'The repair file');
    else if (v && typeof v === 'object' && (job === 'exportReport' || job === 'scanReport' || job === 'pocketView')) {
      // An inline result: the report reads the model and data it names unless they are given.
      const inline = v as { model?: { dir?: unknown }; dataset?: { spec?: unknown } };
      if (a.model === undefined) add(inline.model?.dir, 'The model folder');
      if (a.data === undefined) addSpec(inline.dataset?.spec, 'The dataset path');
    }
  }
  return out;
}
