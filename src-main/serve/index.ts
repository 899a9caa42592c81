/**
 * Starts browser mode: the engine worker, the app calls and the server, wired together.
 * Used by `clearwb serve` and by `npm start` where the Electron binary is missing.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecentProjects } from '../project/recent.js';
import { createAppHandlers } from '../host/app-calls.js';
import { EngineSupervisor } from '../host/engine-supervisor.js';
import { PathScope } from '../host/path-scope.js';
import { CallRouter } from '../host/router.js';
import { logEngineStderr, RotatingLog } from '../host/log-file.js';
import { ENGINE_LOG_PREFIX } from '../contract/log.js';
import { startServer, type RunningServer } from './server.js';

export interface BrowserModeOptions {
  /** dist/worker.js */
  workerPath: string;
  /** dist/renderer */
  rendererDir: string;
  port?: number;
  backend?: string;
  threads?: number;
  /** Where the recent-projects list lives; CLEAR_CONFIG_DIR or the platform's config folder by default. */
  configDir?: string;
  startupProject?: string;
  log?: (line: string) => void;
}

export function defaultConfigDir(): string {
  if (process.env.CLEAR_CONFIG_DIR) return process.env.CLEAR_CONFIG_DIR;
  if (process.platform === 'win32' && process.env.APPDATA) return path.join(process.env.APPDATA, 'CLEAR Workbench');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'CLEAR Workbench');
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'clear-workbench');
}

export async function startBrowserMode(options: BrowserModeOptions): Promise<RunningServer & { engine: EngineSupervisor; logFile: string }> {
  const configDir = options.configDir ?? defaultConfigDir();
  // Errors with their stack traces go to a rotating log in the settings folder; the page shows one sentence.
  const file = new RotatingLog(path.join(configDir, 'logs', 'clear-workbench.log'));
  const toConsole = options.log ?? (() => {});
  const log = (line: string) => { toConsole(line); file.info(line); };
  if (!existsSync(path.join(options.rendererDir, 'index.html'))) {
    throw new Error(`The workbench page is not built (${path.join(options.rendererDir, 'index.html')} is missing); run npm run build first.`);
  }
  const engine = new EngineSupervisor({
    workerPath: options.workerPath, backend: options.backend, threads: options.threads,
    onStderr: (text) => {
      logEngineStderr(file, text);
      const shown = text.split('\n').filter((l) => l.trim() && !l.startsWith(ENGINE_LOG_PREFIX)).join('\n');
      if (shown) toConsole(shown);
    },
  }, log);
  // Browser mode has no native dialog: the page's path prompt (path.choose) is how the user grants a path.
  const scope = new PathScope();
  const app = createAppHandlers({
    mode: 'browser', engine, startupProject: options.startupProject, logFile: file.file, scope,
    recent: new RecentProjects(path.join(configDir, 'recent-projects.json')),
  });
  const server = await startServer({ rendererDir: options.rendererDir, router: new CallRouter(engine, app, scope), port: options.port, log });
  // Start the engine now, so the backend is known by the time the page asks.
  void engine.backend();
  return {
    ...server, engine, logFile: file.file,
    close: async () => { await server.close(); await engine.close(); },
  };
}
