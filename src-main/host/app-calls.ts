/**
 * The app calls (contract/app.ts `appCalls`) as both hosts answer them. Only dialogs and
 * the host's name differ between the Electron main process and browser mode, so those come
 * in as options; projects, path checks and model export are the same code.
 */
import { APP_VERSION } from '../contract/version.js';
import type { AppInfo, DialogPurpose, DialogResult } from '../contract/app-calls.js';
import { modelFingerprint } from '../project/fingerprint.js';
import { copyFolderNoOverwrite, ProjectError } from '../project/files.js';
import { expandHome, inspectPath } from '../project/paths.js';
import type { RecentProjects } from '../project/recent.js';
import { ProjectStore } from '../project/store.js';
import type { EngineSupervisor } from './engine-supervisor.js';
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
}

export function createAppHandlers(options: AppHostOptions): AppHandlers {
  const store = new ProjectStore();
  const remember = <T extends { dir: string; project: { name: string } }>(opened: T): T => {
    options.recent.add(opened.dir, opened.project.name);
    return opened;
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
    'project.create': async ({ dir, name }) => remember(await store.create(expandHome(dir), name)),
    'project.open': async ({ dir }) => remember(await store.open(expandHome(dir))),
    'project.save': ({ dir, project }) => store.save(expandHome(dir), project),
    'project.recent': () => options.recent.list(),
    'project.allocate': ({ dir, kind }) => store.allocate(expandHome(dir), kind),
    'dialog.open': async ({ purpose }): Promise<DialogResult> => {
      if (!options.dialog) return { manual: true };
      return { path: await options.dialog(purpose) };
    },
    'path.inspect': ({ path }) => inspectPath(path),
    // The source is read as hostile (its weight paths must stay inside it) and without blocking;
    // the copy is placed only when it has the source's fingerprint.
    'export.model': async ({ from, to }) => {
      const source = expandHome(from);
      const target = expandHome(to);
      const fingerprint = await modelFingerprint(source);
      if (fingerprint === null) throw new ProjectError(`The folder ${from} holds no model (no readable model.json) to export.`);
      const files = await copyFolderNoOverwrite(source, target, async (staged) => {
        if (await modelFingerprint(staged) !== fingerprint) throw new ProjectError(`The model in ${from} changed while it was being exported; export it again.`);
      });
      return { dir: target, files, fingerprint };
    },
  };
}
