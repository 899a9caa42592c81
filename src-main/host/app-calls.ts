/**
 * The app calls (contract/app.ts `appCalls`) as both hosts answer them. Only dialogs and
 * the host's name differ between the Electron main process and browser mode, so those come
 * in as options; projects, path checks and model export are the same code.
 *
 * Every path from the page is checked against the session's granted roots (host/path-scope.ts):
 * a dialog's answer, a path chosen in browser mode's prompt (`path.choose`), a project in the
 * recent list or named at start-up, and the project folder in use are granted; the router
 * checks engine jobs' paths against the same scope.
 */
import path from 'node:path';
import { APP_VERSION } from '../contract/version.js';
import type { AppInfo, DialogPurpose, DialogResult } from '../contract/app-calls.js';
import { modelFingerprint } from '../project/fingerprint.js';
import { copyFolderNoOverwrite, ProjectError } from '../project/files.js';
import { expandHome, inspectPath } from '../project/paths.js';
import type { RecentProjects } from '../project/recent.js';
import { ProjectStore } from '../project/store.js';
import type { EngineSupervisor } from './engine-supervisor.js';
import { PathScope } from './path-scope.js';
import type { AppHandlers } from './router.js';


export interface AppHostOptions {
  mode: AppInfo['mode'];
  engine: Pick<EngineSupervisor, 'backend'>;
  recent: RecentProjects;
  /** A native dialog; absent in browser mode, where the page asks for a typed path. */
  dialog?: (purpose: DialogPurpose) => Promise<string | null>;
  startupProject?: string;
  /** Where errors are logged with their stack traces, for the page to point to. */
  logFile?: string;
  /** The session's granted roots, shared with the router (which checks jobs against it). */
  scope: PathScope;
}

export function createAppHandlers(options: AppHostOptions): AppHandlers {
  const store = new ProjectStore();
  const { scope } = options;
  const remember = async <T extends { dir: string; project: { name: string } }>(opened: T): Promise<T> => {
    await scope.grant(opened.dir);
    options.recent.add(opened.dir, opened.project.name);
    return opened;
  };
  /** A project folder from the page: granted, or one the user opened before (recent list) or started with. */
  const projectDir = async (dir: string): Promise<string> => {
    const resolved = path.resolve(expandHome(dir));
    if (!(await scope.allows(resolved))) {
      const known = [...options.recent.list().map((r) => r.dir), ...(options.startupProject ? [options.startupProject] : [])];
      if (known.some((k) => path.resolve(expandHome(k)) === resolved)) await scope.grant(resolved);
    }
    await scope.check(resolved, 'The project folder');
    return resolved;
  };
  const granted = async (p: string, what: string): Promise<string> => {
    const resolved = path.resolve(expandHome(p));
    await scope.check(resolved, what);
    return resolved;
  };
  return {
    'app.info': async () => {
      const { backend, error } = await options.engine.backend();
      return {
        mode: options.mode, version: APP_VERSION, nativeDialogs: Boolean(options.dialog), backend,
        ...(error ? { engineError: error } : {}),
        ...(options.startupProject ? { startupProject: options.startupProject } : {}),
        ...(options.logFile ? { logFile: options.logFile } : {}),
      };
    },
    'project.create': async ({ dir, name }) => remember(await store.create(await projectDir(dir), name)),
    'project.open': async ({ dir }) => remember(await store.open(await projectDir(dir))),
    'project.save': async ({ dir, project }) => store.save(await granted(dir, 'The project folder'), project),
    'project.recent': () => options.recent.list(),
    'project.allocate': async ({ dir, kind }) => store.allocate(await granted(dir, 'The project folder'), kind),
    'dialog.open': async ({ purpose }): Promise<DialogResult> => {
      if (!options.dialog) return { manual: true };
      const picked = await options.dialog(purpose);
      // The user chose it in the system's own dialog, which the page cannot fake: granted.
      if (picked) await scope.grant(picked);
      return { path: picked };
    },
    'path.inspect': async ({ path: typed }) => {
      const resolved = path.resolve(expandHome(typed.trim()));
      if (await scope.browsable(resolved)) return inspectPath(resolved);
      const parent = path.dirname(resolved) === resolved ? null : path.dirname(resolved);
      return { path: resolved, exists: false, kind: null, parent, outside: true };
    },
    'path.choose': async ({ path: typed }) => {
      if (options.dialog) throw new ProjectError('This window chooses files and folders with the system dialog: use Browse… or File › Open.');
      const resolved = path.resolve(expandHome(typed.trim()));
      await scope.grant(resolved);
      return inspectPath(resolved);
    },
    // The source is read as hostile (its weight paths must stay inside it) and without blocking;
    // the copy is placed only when it has the source's fingerprint.
    'export.model': async ({ from, to }) => {
      const source = await granted(from, 'The model folder');
      const target = await granted(to, 'The export folder');
      const fingerprint = await modelFingerprint(source);
      if (fingerprint === null) throw new ProjectError(`The folder ${from} holds no model (no readable model.json) to export.`);
      const files = await copyFolderNoOverwrite(source, target, async (staged) => {
        if (await modelFingerprint(staged) !== fingerprint) throw new ProjectError(`The model in ${from} changed while it was being exported; export it again.`);
      });
      return { dir: target, files, fingerprint };
    },
  };
}
