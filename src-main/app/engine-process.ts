/**
 * The engine worker in the desktop app runs as an Electron utility process, not as a
 * child_process fork of Electron's executable in Node mode: ELECTRON_RUN_AS_NODE would need
 * the RunAsNode fuse, which the packaged app turns off (scripts/fuses.mjs), so nothing can
 * use the app's signed binary as a general-purpose Node. The worker script is the same
 * dist/worker.js; it talks over `process.parentPort` there (src-main/worker/parent-channel.ts).
 *
 * utilityProcess.fork may only be called once the app is ready; the engine starts lazily, on
 * the first job or backend query, which the main process makes after `ready`.
 */
import { utilityProcess } from 'electron';
import type { ExitListener, SpawnWorker, WorkerProcess } from '../host/worker-process.js';

export const ENGINE_SERVICE_NAME = 'CLEAR Workbench engine';

export const utilityWorker: SpawnWorker = (workerPath, env) => {
  const child = utilityProcess.fork(workerPath, [], {
    env,
    // stdout goes where the app's goes; stderr is piped so a crash's last line can be reported.
    stdio: ['ignore', 'inherit', 'pipe'],
    serviceName: ENGINE_SERVICE_NAME,
  });
  const exitListeners: ExitListener[] = [];
  let exited = false;
  let fatal: string | undefined;
  // A V8 fatal error: 'exit' follows, and says why with this.
  child.on('error', (type, location) => { fatal = `${type} at ${location}`; });
  child.on('exit', (code) => {
    if (exited) return;
    exited = true;
    for (const listener of exitListeners) listener(code, null, fatal);
  });
  const worker: WorkerProcess = {
    send(message) { if (!exited) child.postMessage(message); },
    // A utility process takes no signal: kill() ends it (SIGTERM on POSIX) and reaps it.
    kill() { if (!exited) child.kill(); },
    on(event: 'message' | 'exit', listener: never) {
      if (event === 'exit') exitListeners.push(listener);
      else child.on('message', listener);
    },
    stderr: child.stderr,
  };
  return worker;
};
