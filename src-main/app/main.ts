/**
 * The Electron main process: one window, the menu, native dialogs, recent projects, and the
 * engine worker's supervision. It never loads tfjs (the engine runs in a forked worker
 * process): the window stays responsive while a scan runs.
 *
 * The worker is an Electron utility process (engine-process.ts), so a packaged app needs no
 * separate Node and no ELECTRON_RUN_AS_NODE (its RunAsNode fuse is off). A crashed worker is
 * restarted by the EngineSupervisor and the job it was running is reported failed.
 */
import { app, BrowserWindow, Menu } from 'electron';
import path from 'node:path';
import { RecentProjects } from '../project/recent.js';
import { ENGINE_LOG_PREFIX } from '../contract/log.js';
import { logEngineStderr, RotatingLog } from '../host/log-file.js';
import { createAppHandlers } from '../host/app-calls.js';
import { EngineSupervisor } from '../host/engine-supervisor.js';
import { PathScope } from '../host/path-scope.js';
import { CallRouter } from '../host/router.js';
import { reloadAfterCrashes } from './crash.js';
import { showOpenDialog } from './dialogs.js';
import { utilityWorker } from './engine-process.js';
import { registerIpc, sendToWindow } from './ipc.js';
import { buildMenu } from './menu.js';
import { appPaths, startupProjectArg } from './paths.js';
import { registerAppScheme, serveRenderer } from './protocol.js';
import { hardenApp } from './security.js';
import { createMainWindow } from './window.js';

// Errors with their stack traces go to a rotating log in the user data folder; the window shows one sentence.
const logFile = new RotatingLog(path.join(app.getPath('userData'), 'logs', 'clear-workbench.log'));
const log = (line: string) => { process.stderr.write(`${line}\n`); logFile.info(line); };
// Observed, not handled: Electron still reports the error as it would (an unhandled rejection reaches it as an uncaught exception).
process.on('uncaughtExceptionMonitor', (err, origin) => { logFile.error(`Uncaught ${origin === 'unhandledRejection' ? 'rejection' : 'exception'} in the main process`, err); });

// Before `ready`: the app:// scheme's privileges, the sandbox for every renderer, and the
// navigation, window, webview and permission rules for every web contents.
registerAppScheme();
hardenApp(log);

if (!app.requestSingleInstanceLock()) {
  // One window over one engine: a second launch focuses the first.
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  const engine = new EngineSupervisor({
    workerPath: appPaths.worker,
    spawn: utilityWorker,
    onStderr: (text) => {
      logEngineStderr(logFile, text);
      const shown = text.split('\n').filter((l) => l.trim() && !l.startsWith(ENGINE_LOG_PREFIX)).join('\n');
      if (shown) process.stderr.write(`${shown}\n`);
    },
  }, log);

  app.on('second-instance', () => {
    if (window) { if (window.isMinimized()) window.restore(); window.focus(); }
  });

  app.whenReady().then(() => {
    serveRenderer(appPaths.renderer);
    const recent = new RecentProjects(path.join(app.getPath('userData'), 'recent-projects.json'));
    // Paths from the window are accepted only under what the user chose in a native dialog (or a project they opened).
    const scope = new PathScope();
    const handlers = createAppHandlers({
      mode: 'electron', engine, recent, logFile: logFile.file, scope,
      dialog: (purpose) => showOpenDialog(window, purpose),
      startupProject: startupProjectArg(process.argv),
    });
    // File › Open Recent follows the recent list: rebuilt whenever a project is opened or created.
    const refreshMenu = () => Menu.setApplicationMenu(buildMenu(
      () => window,
      (action, dir) => sendToWindow(window?.webContents, { type: 'menu', action, ...(dir ? { dir } : {}) }),
      { recent: recent.list(), onClearRecent: () => { recent.clear(); app.clearRecentDocuments(); refreshMenu(); }, logFile: logFile.file },
    ));
    const openProject = handlers['project.open'];
    handlers['project.open'] = async (args) => {
      const opened = await openProject(args);
      app.addRecentDocument(opened.dir);
      refreshMenu();
      return opened;
    };
    const createProject = handlers['project.create'];
    handlers['project.create'] = async (args) => {
      const created = await createProject(args);
      refreshMenu();
      return created;
    };
    registerIpc(new CallRouter(engine, handlers, scope), log);
    refreshMenu();
    window = createMainWindow();
    window.on('closed', () => { window = null; });
    reloadAfterCrashes(window, { log });
    void engine.backend();
  }).catch((err: unknown) => {
    log(`CLEAR Workbench could not start: ${err instanceof Error ? err.message : String(err)}`);
    app.exit(1);
  });

  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    // Stop the worker before exiting, so no orphan process keeps computing.
    event.preventDefault();
    engine.close().finally(() => app.exit(0));
  });
}
