/**
 * The engine worker: a long-lived child process that owns tfjs and runs every heavy job.
 *
 * Why a process and not a worker thread: tfjs-node's native addon registers once per
 * process, and a second worker thread that loads it fails with "Module did not
 * self-register" (tensorflow/tfjs#2079, #8388); a native crash in libtensorflow or the wasm
 * runtime also takes down only this process, which the host restarts, not the app.
 * The backend is chosen once, here, from CLEAR_BACKEND (auto | tensorflow | wasm | cpu).
 */
import { parseJobRequest, type JobArgs, type JobName, type JobResults } from '../contract/jobs.js';
import type { JobContext } from '../engine/progress.js';
import { ToWorker, toJobError, type FromWorker } from '../contract/messages.js';
import { ENGINE_LOG_PREFIX, type EngineLogRecord } from '../contract/log.js';
import { initBackend, type BackendName } from '../engine/backend/index.js';
import { CancelledError, UserError } from '../engine/errors.js';
import { applyLimitsFromEnv } from '../engine/limits.js';
import { handlers } from '../engine/jobs/index.js';
import { parentChannel } from './parent-channel.js';

// child_process.fork (CLI, browser mode) or Electron's utilityProcess (the desktop app).
const parent = parentChannel();

// Ctrl+C in a terminal signals the whole foreground process group, this worker too. What it
// means is the host's to decide (the CLI cancels the job, browser mode shuts down), by message
// or by ending this process; dying of it here would turn a cancel into an engine crash.
process.on('SIGINT', () => {});
// A host that went away without ending this process (killed, crashed) leaves no one to answer.
process.on('disconnect', () => process.exit(0));

function send(message: FromWorker): void {
  parent.send(message);
}


const running = new Map<string, AbortController>();
// Jobs run one at a time: they share one backend and the machine's cores.
let queue: Promise<void> = Promise.resolve();

/** parseJobRequest validated `args` against the schema of `job` itself, so they are that job's arguments. */
function runHandler<N extends JobName>(job: N, args: unknown, ctx: JobContext): Promise<JobResults[N]> {
  return handlers[job](args as JobArgs<N>, ctx);
}

async function runJob(id: string, job: unknown, args: unknown): Promise<void> {
  const controller = running.get(id)!;
  try {
    // Inside the try: whatever the check throws becomes this job's failure, never a rejection that stops the queue.
    const request = parseJobRequest(job, args);
    if (!request.ok) throw new UserError(request.error);
    if (controller.signal.aborted) throw new CancelledError();
    const result = await runHandler(request.job, request.args, {
      signal: controller.signal,
      onProgress: (event) => send({ type: 'progress', id, event }),
    });
    send({ type: 'done', id, result });
  } catch (err) {
    if (!(err instanceof UserError) && !(err instanceof CancelledError)) {
      if (process.env.CLEAR_DEBUG) console.error(err);
      // For the host's log file (host/log-file.ts): one line, the stack kept; the user sees one sentence.
      const record: EngineLogRecord = { job: String(job), id, message: toJobError(err).message, ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) };
      process.stderr.write(`${ENGINE_LOG_PREFIX}${JSON.stringify(record)}\n`);
    }
    send({ type: 'failed', id, error: toJobError(err) });
  } finally {
    running.delete(id);
  }
}

async function main(): Promise<void> {
  const preference = (process.env.CLEAR_BACKEND || 'auto') as BackendName | 'auto';
  const threads = process.env.CLEAR_THREADS ? Number(process.env.CLEAR_THREADS) : undefined;
  applyLimitsFromEnv();
  const backend = await initBackend(preference, { threads });
  parent.onMessage((raw) => {
    const parsed = ToWorker.safeParse(raw);
    if (!parsed.success) return; // not ours: hosts only send contract messages
    const msg = parsed.data;
    if (msg.type === 'cancel') { running.get(msg.id)?.abort(); return; }
    if (running.has(msg.id)) return;
    running.set(msg.id, new AbortController());
    queue = queue.then(() => runJob(msg.id, msg.job, msg.args));
  });
  send({ type: 'ready', backend });
}

main().catch((err) => {
  console.error(`The engine could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(3);
});
