/**
 * The engine worker as the renderer's hosts see it: one long-lived EngineHost (tfjs is
 * process-global, so one worker for the whole app), restarted when it dies. The job that
 * was running when it died is reported failed, with a sentence saying what to do, never
 * lost; the next job runs on the fresh worker.
 */
import type { JobName } from '../contract/jobs.js';
import type { BackendSummary } from '../contract/app-calls.js';
import type { ProgressEventMessage } from '../contract/messages.js';
import { EngineHost, EngineStoppedError, JobFailedError, type EngineHostOptions } from './engine-host.js';
import type { JobRunner } from './router.js';

export class EngineSupervisor implements JobRunner {
  readonly #host: EngineHost;
  #startError?: string;
  #closed = false;

  constructor(options: EngineHostOptions, private readonly log: (line: string) => void = () => {}) {
    this.#host = new EngineHost(options);
  }

  /** Starts the worker (if needed) and says which backend it computes with. */
  async backend(): Promise<{ backend: BackendSummary | null; error?: string }> {
    try {
      const b = await this.#host.start();
      this.#startError = undefined;
      return { backend: { name: b.name, threads: b.threads, ...(b.warning ? { warning: b.warning } : {}) } };
    } catch (err) {
      this.#startError = err instanceof Error ? err.message : String(err);
      return { backend: null, error: this.#startError };
    }
  }

  async run(job: JobName, args: unknown, options: { id: string; onProgress: (event: ProgressEventMessage) => void }): Promise<unknown> {
    try {
      // The router validated `args` against the contract; the worker validates again on arrival.
      return await this.#host.run(job, args as never, { id: options.id, onProgress: options.onProgress });
    } catch (err) {
      // The host rejects with EngineStoppedError both for a job in flight and for one that was
      // waiting for the worker to start.
      // A host that is closing stopped the engine itself: nothing to report, nothing to restart.
      if (err instanceof EngineStoppedError && this.#closed) throw new JobFailedError({ kind: 'cancelled', message: 'The job was stopped because the workbench is shutting down.' });
      if (err instanceof EngineStoppedError) {
        this.log(`${err.message} Restarting the engine.`);
        void this.backend();
        throw new JobFailedError({ kind: 'internal', message: `${err.message.replace(/\.$/, '')}; it has been restarted, so run this step again.` });
      }
      throw err;
    }
  }

  cancel(id: string): void { this.#host.cancel(id); }

  /** Kills the worker as a crash would (tests of the restart path). */
  crash(): void { this.#host.kill(); }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#host.close();
  }
}
