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
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  PROJECT_FILE, PROJECT_SCHEMA, ProjectFile, OUTPUT_KINDS, type OpenedProject,
} from '../contract/app.js';
import { modelFingerprint } from './fingerprint.js';
import { ProjectError, writeFileAtomic } from './files.js';

type OutputKind = (typeof OUTPUT_KINDS)[number];

/** Where each kind of job output goes inside a project, and how it is named. */
const OUTPUT_LAYOUT: Record<OutputKind, { folder: string; stem: string; ext: string }> = {
  model: { folder: 'models', stem: 'model', ext: '' },
  repair: { folder: 'models', stem: 'repaired', ext: '' },
  data: { folder: 'data', stem: 'poisoned', ext: '' },
  scan: { folder: 'scans', stem: 'scan', ext: '.json' },
};

const SPEC_WITH_PATHS = /^(dir|folder|csv|idx):(.*)$/s;

export class ProjectStore {
  /** Creates a project in an empty or new folder; a folder that is already a project is opened instead. */
  create(dir: string, name?: string): OpenedProject {
    const root = path.resolve(dir);
    if (existsSync(path.join(root, PROJECT_FILE))) return this.open(root);
    if (existsSync(root)) {
      if (!statSync(root).isDirectory()) throw new ProjectError(`The path ${dir} is a file; choose a folder for the project.`);
      const visible = readdirSync(root).filter((f) => !f.startsWith('.'));
      if (visible.length > 0) throw new ProjectError(`The folder ${dir} already holds other files; choose an empty or new folder for the project.`);
    }
    mkdirSync(root, { recursive: true });
    const now = new Date().toISOString();
    const project = ProjectFile.parse({ schema: PROJECT_SCHEMA, name: name ?? path.basename(root), createdAt: now, updatedAt: now });
    this.#write(root, project);
    return { dir: root, project, warnings: [] };
  }

  open(dir: string): OpenedProject {
    const root = path.resolve(dir);
    const file = path.join(root, PROJECT_FILE);
    if (!existsSync(file)) throw new ProjectError(`The folder ${dir} is not a CLEAR project (it has no ${PROJECT_FILE}); create a new project there or choose another folder.`);
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch {
      throw new ProjectError(`The project file ${file} is not valid JSON; restore it from a backup or create a new project.`);
    }
    const parsed = ProjectFile.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProjectError(`The project file ${file} is not a CLEAR project file (${issue.path.join('.') || 'top level'}: ${issue.message}).`);
    }
    const project = this.#mapPaths(parsed.data, (p) => (path.isAbsolute(p) ? p : path.join(root, p)));
    return { dir: root, project, warnings: this.#check(project) };
  }

  save(dir: string, project: ProjectFile): { savedAt: string } {
    const root = path.resolve(dir);
    if (!existsSync(path.join(root, PROJECT_FILE))) throw new ProjectError(`The folder ${dir} is not an open project; open or create it first.`);
    const savedAt = new Date().toISOString();
    this.#write(root, { ...project, updatedAt: savedAt });
    return { savedAt };
  }

  /** A new path inside the project for a job's output; its parent folder exists, the path does not. */
  allocate(dir: string, kind: OutputKind): { path: string } {
    const root = path.resolve(dir);
    if (!existsSync(path.join(root, PROJECT_FILE))) throw new ProjectError(`The folder ${dir} is not an open project; open or create it first.`);
    const { folder, stem, ext } = OUTPUT_LAYOUT[kind];
    const parent = path.join(root, folder);
    mkdirSync(parent, { recursive: true });
    for (let n = 1; ; n++) {
      const candidate = path.join(parent, `${stem}-${n}${ext}`);
      // A `.partial-…` sibling means a job is writing there right now.
      const busy = readdirSync(parent).some((f) => f.startsWith(`${stem}-${n}${ext}.partial-`));
      if (!existsSync(candidate) && !busy) return { path: candidate };
    }
  }

  #write(root: string, project: ProjectFile): void {
    const stored = this.#mapPaths(project, (p) => {
      const rel = path.relative(root, p);
      return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : p;
    });
    writeFileAtomic(path.join(root, PROJECT_FILE), JSON.stringify(ProjectFile.parse(stored), null, 2) + '\n');
  }

  /** One sentence per recorded file that vanished or changed since it was recorded. */
  #check(project: ProjectFile): string[] {
    const warnings: string[] = [];
    for (const [what, ref] of [['model', project.model], ['repaired model', project.repair?.model]] as const) {
      if (!ref) continue;
      const now = modelFingerprint(ref.dir);
      if (now === null) warnings.push(`The ${what} folder ${ref.dir} is missing; open the model again or retrain it.`);
      else if (now !== ref.fingerprint) warnings.push(`The ${what} in ${ref.dir} changed since it was recorded (its fingerprint differs); results computed on it may not apply.`);
    }
    if (project.scan && !existsSync(project.scan.file)) warnings.push(`The scan file ${project.scan.file} is missing; the repair step needs it, so scan again.`);
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
      attack: project.attack && { ...project.attack, data: spec(project.attack.data), source: { ...project.attack.source, spec: spec(project.attack.source.spec) } },
      model: project.model && { ...project.model, dir: f(project.model.dir) },
      scan: project.scan && { ...project.scan, file: f(project.scan.file) },
      repair: project.repair && { ...project.repair, model: { ...project.repair.model, dir: f(project.repair.model.dir) } },
      exports: project.exports,
    };
  }
}
