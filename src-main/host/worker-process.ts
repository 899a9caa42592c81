/**
 * The engine worker process as EngineHost drives it, whatever started it: Node's
 * child_process.fork (the CLI and browser mode, `forkWorker` here) or Electron's
 * utilityProcess (the desktop app, src-main/app/engine-process.ts). Both carry messages by
 * structured clone, so typed arrays and Maps survive the trip either way.
 */
import { fork } from 'node:child_process';

/** A running worker process. */
export interface WorkerProcess {
  /** Sends a message if the process is still there; otherwise drops it (its exit is reported). */
  send(message: unknown): void;
  /** Stops the process (a signal where the kind of process takes one); its 'exit' follows. */
  kill(signal?: NodeJS.Signals): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  /** Emitted once, when the process ends or could not start (`error` says why, then). */
  on(event: 'exit', listener: (code: number | null, signal: string | null, error?: string) => void): void;
  /** The worker's stderr, when piped. */
  readonly stderr: NodeJS.ReadableStream | null;
}

/** Starts the worker script with the given environment. */
export type SpawnWorker = (workerPath: string, env: Record<string, string>) => WorkerProcess;

export type ExitListener = (code: number | null, signal: string | null, error?: string) => void;

/** The default: Node's child_process.fork, with `execPath` as the Node executable if given. */
export function forkWorker(execPath?: string): SpawnWorker {
  return (workerPath, env) => {
    const child = fork(workerPath, [], {
      env, execPath,
      // Typed arrays and Maps survive the trip.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const exitListeners: ExitListener[] = [];
    let exited = false;
    const exit: ExitListener = (code, signal, error) => {
      if (exited) return;
      exited = true;
      for (const l of exitListeners) l(code, signal, error);
    };
    child.on('exit', (code, signal) => exit(code, signal));
    // A process that could not be started emits 'error', and not always 'exit'.
    child.on('error', (err) => { if (child.pid === undefined) exit(null, null, err.message); });
    const worker: WorkerProcess = {
      send(message) { if (child.connected) child.send(message as never); },
      kill(signal) { if (!exited) child.kill(signal); },
      on(event: 'message' | 'exit', listener: never) {
        if (event === 'exit') exitListeners.push(listener);
        else child.on('message', listener);
      },
      stderr: child.stderr,
    };
    return worker;
  };
}
