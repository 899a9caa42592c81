/**
 * A project is a folder: `project.json` (settings, dataset and model references with their
 * SHA-256 fingerprints, scan and repair results) beside the artifacts the wizard writes:
 *
 *   project.json
 *   models/model-N/      trained here        models/repaired-N/   repaired here
 *   data/poisoned-N/     simulated attacks   scans/scan-N.json    scan results
 *
 * Paths inside the folder are stored relative to it, so a project still opens after it is
 * moved or copied; the host hands the renderer absolute paths. Opening reads and checks,
 * and never runs a job: a model is never retrained because a project was opened.
 *
 * project.json is read as evidence: a regular file (a FIFO is refused by stat, never opened),
 * size-capped, checked against the contract's schema, its scan and repair results included
 * (contract/evidence.ts). All file work is asynchronous, so the host never blocks on it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PROJECT_FILE, PROJECT_SCHEMA, ProjectFile } from '../contract/project.js';
import { OUTPUT_KINDS, type OpenedProject } from '../contract/app-calls.js';
import { describeIssue } from '../contract/evidence.js';
import { modelFingerprint } from './fingerprint.js';
import { ProjectError, readUserFile, writeFileAtomicAsync } from './files.js';

/** Largest project.json read: it holds a scan and a repair report (with its rescan), a few MB at most in practice. */
export const PROJECT_FILE_BYTES = 256 * 1024 * 1024;

type OutputKind = (typeof OUTPUT_KINDS)[number];

/** Where each kind of job output goes inside a project, and how it is named. */
const OUTPUT_LAYOUT: Record<OutputKind, { folder: string; stem: string; ext: string }> = {
  model: { folder: 'models', stem: 'model', ext: '' },
  repair: { folder: 'models', stem: 'repaired', ext: '' },
  data: { folder: 'data', stem: 'poisoned', ext: '' },
  scan: { folder: 'scans', stem: 'scan', ext: '.json' },
};

const SPEC_WITH_PATHS = /^(dir|folder|csv|idx):(.*)$/s;

async function exists(p: string): Promise<boolean> {
  try { await fs.lstat(p); return true; } catch { return false; }
}

/** A job is writing `name` in `folder` right now: a temporary sibling of ours (`.NAME.partial-…`, or `NAME.partial-…` as once written) exists. */
function busy(entries: string[], name: string): boolean {
  return entries.some((f) => f.startsWith(`.${name}.partial-`) || f.startsWith(`${name}.partial-`));
}

export class ProjectStore {
  /** Creates a project in an empty or new folder; a folder that is already a project is opened instead. */
  async create(dir: string, name?: string): Promise<OpenedProject> {
    const root = path.resolve(dir);
    if (await exists(path.join(root, PROJECT_FILE))) return this.open(root);
    const stat = await fs.stat(root).catch(() => null);
    if (stat) {
      if (!stat.isDirectory()) throw new ProjectError(`The path ${dir} is a file; choose a folder for the project.`);
      const visible = (await fs.readdir(root)).filter((f) => !f.startsWith('.'));
      if (visible.length > 0) throw new ProjectError(`The folder ${dir} already holds other files; choose an empty or new folder for the project.`);
    }
    await fs.mkdir(root, { recursive: true });
    const now = new Date().toISOString();
    const project = ProjectFile.parse({ schema: PROJECT_SCHEMA, name: name ?? path.basename(root), createdAt: now, updatedAt: now });
    await this.#write(root, project);
    return { dir: root, project, warnings: [] };
  }

  async open(dir: string): Promise<OpenedProject> {
    const root = path.resolve(dir);
    const file = path.join(root, PROJECT_FILE);
    const bytes = await readUserFile(file, `The project file ${file}`, PROJECT_FILE_BYTES);
    if (!bytes) throw new ProjectError(`The folder ${dir} is not a CLEAR project (it has no ${PROJECT_FILE}); create a new project there or choose another folder.`);
    let raw: unknown;
    try { raw = JSON.parse(bytes.toString('utf8')); } catch {
      throw new ProjectError(`The project file ${file} is not valid JSON; restore it from a backup or create a new project.`);
    }
    const parsed = ProjectFile.safeParse(raw);
    if (!parsed.success) {
      throw new ProjectError(`The project file ${file} is not a CLEAR project file (${describeIssue(parsed.error, raw)}).`);
    }
    const project = this.#mapPaths(parsed.data, (p) => (path.isAbsolute(p) ? p : path.join(root, p)));
    return { dir: root, project, warnings: await this.#check(project) };
  }

  async save(dir: string, project: ProjectFile): Promise<{ savedAt: string }> {
    const root = path.resolve(dir);
    if (!(await exists(path.join(root, PROJECT_FILE)))) throw new ProjectError(`The folder ${dir} is not an open project; open or create it first.`);
    const savedAt = new Date().toISOString();
    await this.#write(root, { ...project, updatedAt: savedAt });
    return { savedAt };
  }

  /** A new path inside the project for a job's output; its parent folder exists, the path does not. */
  async allocate(dir: string, kind: OutputKind): Promise<{ path: string }> {
    const root = path.resolve(dir);
    if (!(await exists(path.join(root, PROJECT_FILE)))) throw new ProjectError(`The folder ${dir} is not an open project; open or create it first.`);
    const { folder, stem, ext } = OUTPUT_LAYOUT[kind];
    const parent = path.join(root, folder);
    await fs.mkdir(parent, { recursive: true });
    const entries = await fs.readdir(parent);
    for (let n = 1; ; n++) {
      const name = `${stem}-${n}${ext}`;
      if (!entries.includes(name) && !busy(entries, name)) return { path: path.join(parent, name) };
    }
  }

  async #write(root: string, project: ProjectFile): Promise<void> {
    const stored = this.#mapPaths(project, (p) => {
      const rel = path.relative(root, p);
      return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : p;
    });
    await writeFileAtomicAsync(path.join(root, PROJECT_FILE), JSON.stringify(ProjectFile.parse(stored), null, 2) + '\n');
  }

  /** One sentence per recorded file that vanished, changed or became unreadable since it was recorded. */
  async #check(project: ProjectFile): Promise<string[]> {
    const warnings: string[] = [];
    for (const [what, ref] of [['model', project.model], ['repaired model', project.repair?.model]] as const) {
      if (!ref) continue;
      let now: string | null;
      try { now = await modelFingerprint(ref.dir); } catch (err) {
        if (!(err instanceof ProjectError)) throw err;
        warnings.push(err.message);
        continue;
      }
      if (now === null) warnings.push(`The ${what} folder ${ref.dir} is missing; open the model again or retrain it.`);
      else if (now !== ref.fingerprint) warnings.push(`The ${what} in ${ref.dir} changed since it was recorded (its fingerprint differs); results computed on it may not apply.`);
    }
    if (project.scan && !(await exists(project.scan.file))) warnings.push(`The scan file ${project.scan.file} is missing; the repair step needs it, so scan again.`);
    return warnings;
  }

  /** Applies `f` to every file path the project records (model folders, scan file, data specs). */
  #mapPaths(project: ProjectFile, f: (p: string) => string): ProjectFile {
    const spec = (s: string) => {
      const m = SPEC_WITH_PATHS.exec(s);
      return m ? `${m[1]}:${m[2].split(',').map((p) => f(p)).join(',')}` : s;
    };
    return {
      ...project,
      dataset: project.dataset && { ...project.dataset, spec: spec(project.dataset.spec) },
      attack: project.attack && {
        ...project.attack, data: spec(project.attack.data), source: { ...project.attack.source, spec: spec(project.attack.source.spec) },
        ...(project.attack.before ? { before: { ...project.attack.before, dir: f(project.attack.before.dir) } } : {}),
      },
      model: project.model && { ...project.model, dir: f(project.model.dir) },
      training: project.training && {
        ...project.training,
        ...(project.training.attackOutcome?.before?.model ? { attackOutcome: { ...project.training.attackOutcome, before: { ...project.training.attackOutcome.before, model: f(project.training.attackOutcome.before.model) } } } : {}),
      },
      scan: project.scan && { ...project.scan, file: f(project.scan.file) },
      repair: project.repair && { ...project.repair, model: { ...project.repair.model, dir: f(project.repair.model.dir) } },
      repairPlan: project.repairPlan && { ...project.repairPlan, scan: f(project.repairPlan.scan) },
      history: project.history.map((h) => ({
        ...h, model: { ...h.model, dir: f(h.model.dir) }, scan: f(h.scan), ...(h.repaired ? { repaired: { ...h.repaired, dir: f(h.repaired.dir) } } : {}),
      })),
      exports: project.exports,
    };
  }
}
