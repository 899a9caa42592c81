/**
 * The host side of the engine worker: starts it, sends jobs, routes progress, cancels, and
 * restarts the worker when it dies (the job that was running is reported failed, never lost).
 * Used by the CLI, the Electron main process and the browser-mode server alike.
 *
 * How the worker process is started is the host's choice (`spawn`): the CLI and browser mode
 * fork it with Node's child_process (the default, `forkWorker` in worker-process.ts); the
 * desktop app uses Electron's utilityProcess (src-main/app/engine-process.ts), so the
 * packaged app needs no ELECTRON_RUN_AS_NODE and ships with the RunAsNode fuse off.
 */
import { randomUUID } from 'node:crypto';
import { FromWorker, type JobError } from '../contract/messages.js';
import { ENGINE_LOG_PREFIX } from '../contract/log.js';
import type { JobInput, JobName, JobResults } from '../contract/jobs.js';
import { forkWorker, type SpawnWorker, type WorkerProcess } from './worker-process.js';

export interface BackendReady { name: string; threads: number; warning?: string; skipped: string[] }

export class JobFailedError extends Error {
  readonly kind: JobError['kind'];
  constructor(error: JobError) {
    super(error.message);
    this.name = 'JobFailedError';
    this.kind = error.kind;
  }
}

/**
 * The engine worker exited while a job ran or waited for it to start. The one error a host
 * checks for to restart the engine (never a message's wording).
 */
export class EngineStoppedError extends JobFailedError {
  constructor(message: string) {
    super({ kind: 'internal', message });
    this.name = 'EngineStoppedError';
  }
}

export interface RunOptions {
  onProgress?: (event: { stage: string; fraction: number; message?: string; metrics?: Record<string, number> }) => void;
  signal?: AbortSignal;
  /** Reuse an id (the renderer chooses ids so it can cancel); a fresh one by default. */
  id?: string;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: RunOptions['onProgress'];
}

export interface EngineHostOptions {
  /** The bundled worker script (dist/worker.js). */
  workerPath: string;
  backend?: string;
  threads?: number;
  /** Extra environment for the worker. */
  env?: NodeJS.ProcessEnv;
  /** The Node executable for the default child_process spawn. */
  execPath?: string;
  /** How the worker process is started; child_process.fork by default. */
  spawn?: SpawnWorker;
  onStderr?: (text: string) => void;
}

export class EngineHost {
  #child?: WorkerProcess;
  #ready?: Promise<BackendReady>;
  #exited?: Promise<void>;
  #pending = new Map<string, Pending>();
  #backend?: BackendReady;
  #closed = false;

  constructor(private readonly options: EngineHostOptions) {}

  get backend(): BackendReady | undefined { return this.#backend; }

  /** Starts the worker if it is not running; resolves when its backend is ready. */
  start(): Promise<BackendReady> {
    if (this.#ready) return this.#ready;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({
      ...process.env, ...this.options.env,
      ...(this.options.backend ? { CLEAR_BACKEND: this.options.backend } : {}),
      ...(this.options.threads ? { CLEAR_THREADS: String(this.options.threads) } : {}),
    })) if (v !== undefined) env[k] = v;
    let child: WorkerProcess;
    try {
      child = (this.options.spawn ?? forkWorker(this.options.execPath))(this.options.workerPath, env);
    } catch (err) {
      // Nothing started: the next call tries again.
      return Promise.reject(new Error(`The engine could not be started: ${err instanceof Error ? err.message : String(err)}`));
    }
    this.#child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-4000);
      this.options.onStderr?.(text);
    });
    let markExited: () => void = () => {};
    this.#exited = new Promise((r) => { markExited = r; });
    this.#ready = new Promise<BackendReady>((resolve, reject) => {
      child.on('message', (raw) => {
        const parsed = FromWorker.safeParse(raw);
        if (!parsed.success) return;
        const msg = parsed.data;
        if (msg.type === 'ready') { this.#backend = msg.backend; resolve(msg.backend); return; }
        const pending = this.#pending.get(msg.id);
        if (!pending) return;
        if (msg.type === 'progress') pending.onProgress?.(msg.event);
        else if (msg.type === 'done') { this.#pending.delete(msg.id); pending.resolve(msg.result); }
        else { this.#pending.delete(msg.id); pending.reject(new JobFailedError(msg.error)); }
      });
      child.on('exit', (code, signal, error) => {
        // The last line a person wrote, not a log record (contract/log.ts).
        const why = error ?? stderr.trim().split('\n').filter((l) => l && !l.startsWith(ENGINE_LOG_PREFIX)).pop();
        const message = `The engine stopped unexpectedly (${signal ?? `exit code ${code}`})${why ? `: ${why.replace(/\.$/, '')}` : ''}.`;
        reject(new EngineStoppedError(message));
        for (const [, p] of this.#pending) p.reject(new EngineStoppedError(message));
        this.#pending.clear();
        // Restart lazily: the next job starts a fresh worker.
        if (this.#child === child) { this.#child = undefined; this.#ready = undefined; this.#backend = undefined; }
        markExited();
      });
    });
    return this.#ready;
  }

  async run<N extends JobName>(job: N, args: JobInput<N>, options: RunOptions = {}): Promise<JobResults[N]> {
    if (this.#closed) throw new Error('The engine host is closed.');
    await this.start();
    const id = options.id ?? randomUUID();
    const child = this.#child!;
    return new Promise<JobResults[N]>((resolve, reject) => {
      // The worker's reply is that job's result (engine/jobs/index.ts is typed by JobResults).
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress: options.onProgress });
      const cancel = () => child.send({ type: 'cancel', id });
      if (options.signal) {
        if (options.signal.aborted) cancel();
        else options.signal.addEventListener('abort', cancel, { once: true });
      }
      child.send({ type: 'run', id, job, args });
    });
  }

  cancel(id: string): void {
    this.#child?.send({ type: 'cancel', id });
  }

  /** Kills the worker (tests use it to check crash recovery; apps on quit). */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (child) {
      const exited = this.#exited;
      child.kill();
      await exited;
    }
  }

  /** Simulates a crash: kills the worker but keeps the host usable. */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }
}
