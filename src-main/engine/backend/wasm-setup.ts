/**
 * Configures the wasm backend before it initialises: SIMD (picked by tfjs itself) and, in
 * Node, the multi-threaded XNNPACK build, which tfjs leaves switched off there.
 *
 * Why threads are off in Node and what this module does about it (tfjs 4.22):
 * - `WASM_HAS_MULTITHREAD_SUPPORT` returns false whenever IS_NODE
 *   (tensorflow/tfjs#3830; an upstream fix, tensorflow/tfjs#8059, was never merged).
 *   We set the flag to true.
 * - The Emscripten pthread pool starts its workers from a `blob:` URL of the worker
 *   script, which Node's `worker_threads.Worker` cannot load, and hands them the main
 *   script as a `Blob`, which the worker's `importScripts` (a `fs.readFileSync`) cannot
 *   read. While the backend initialises, `worker_threads.Worker` is replaced by a subclass
 *   that runs the same worker script with `eval: true` and passes the main script's file
 *   path instead of the Blob.
 * - The C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two
 *   hyper-threads per core), i.e. at `os.cpus().length / 2` in Node: one thread on a
 *   2-core machine. `os.cpus` reports 2× the requested threads during initialisation.
 * - Emscripten `ref()`s a worker while its pthread runs; XNNPACK's pool threads never
 *   exit, so Node would never exit either. The subclass ignores `ref()`: the main thread
 *   waits for pool work synchronously, so nothing relies on the workers keeping the event
 *   loop alive.
 * - Emscripten pre-spawns 8 workers; only threads−1 are used. The rest are terminated
 *   after initialisation (about 7 MB each).
 *
 * Every patch is undone by `finishWasmInit`, except Emscripten's own `global.Worker`,
 * which it points at the subclass (it does the same with the stock Worker in Node). If a
 * pthread worker fails while the threaded build starts, initBackend (index.ts) starts the
 * single-threaded SIMD build instead.
 */
import { env } from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import os from 'node:os';
import workerThreads from 'node:worker_threads';

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

/** XNNPACK's pool in tfjs-backend-wasm is capped at 8 threads (src/cc/backend.cc). */
const MAX_WASM_THREADS = 8;
const THREADED_SCRIPT = 'tfjs-backend-wasm-threaded-simd.js';

interface PendingPatches {
  restore: () => void;
  failure: Promise<never>;
}
let pending: PendingPatches | undefined;

type Listener = (...args: unknown[]) => void;
const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'];
const listeners = (event: string): Listener[] => (process.listeners as (e: string) => Listener[])(event);
let listenersBefore: Map<string, Listener[]> | undefined;

/** Whether this runtime can run the threaded build's pthreads as worker_threads. */
function nodeThreadsPossible(): boolean {
  if (typeof process === 'undefined' || !process.versions?.node) return false;
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  try {
    // A shared memory is the one wasm-threads feature the threaded build cannot do without.
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return false;
  }
  return typeof workerThreads.Worker === 'function';
}

/**
 * Sets SIMD/threads options for the wasm backend; call before `tf.setBackend('wasm')` and
 * call `finishWasmInit` after it (whether or not it succeeded). Returns the thread count
 * requested from XNNPACK; `finishWasmInit` returns the count actually obtained.
 */
export function configureWasm(wasm: WasmModule, threads: number): number {
  const wanted = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads) || 1));
  undoPatches();
  let useThreads = wanted > 1 && nodeThreadsPossible();
  if (useThreads) {
    try {
      pending = installNodeThreadPatches(wanted);
    } catch {
      useThreads = false; // e.g. the threaded build's files are missing from a package
    }
  }
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', useThreads);
  listenersBefore = new Map(PROCESS_EVENTS.map((e) => [e, listeners(e)]));
  const count = useThreads ? wanted : 1;
  wasm.setThreadsCount(count);
  return count;
}

/** Rejects if a pthread worker fails while the threaded build starts (see index.ts). */
export function wasmThreadStartFailure(): Promise<never> | undefined {
  return pending?.failure;
}

/**
 * Undoes the temporary patches. Given the initialised backend, also terminates the pthread
 * workers XNNPACK does not use. Returns the thread count the backend computes with.
 */
export function finishWasmInit(wasm: WasmModule, backend?: unknown): number {
  undoPatches();
  removeEmscriptenProcessListeners();
  const threadModule = (backend as { wasm?: { PThread?: { unusedWorkers?: { terminate(): unknown }[] } } } | undefined)
    ?.wasm?.PThread;
  const idle = threadModule?.unusedWorkers;
  if (idle) for (const w of idle.splice(0)) void w.terminate();
  try {
    return wasm.getThreadsCount();
  } catch {
    return 1;
  }
}

/**
 * Both wasm builds' Emscripten glue add `process.on('unhandledRejection', r => { throw r })`
 * and an 'uncaughtException' listener that rethrows, and keep them for the life of the
 * module. A listener that rethrows kills the process before any handler the engine installs
 * can report the error, so the ones added while the backend initialised are removed.
 */
function removeEmscriptenProcessListeners(): void {
  if (!listenersBefore) return;
  for (const event of PROCESS_EVENTS) {
    const before = listenersBefore.get(event) ?? [];
    for (const listener of listeners(event)) {
      if (!before.includes(listener) && /throw (reason|ex)\b/.test(String(listener))) {
        process.removeListener(event, listener);
      }
    }
  }
  listenersBefore = undefined;
}

function undoPatches(): void {
  pending?.restore();
  pending = undefined;
}

function installNodeThreadPatches(threads: number): PendingPatches {
  const require = createRequire(import.meta.url);
  const scriptPath = require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${THREADED_SCRIPT}`);
  const { wasmWorkerContents } = require(
    `@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`,
  ) as { wasmWorkerContents: string };
  // tfjs escapes newlines the same way before making its Blob: the script holds string
  // literals with "\n" escapes that the template literal it ships in turned into newlines.
  const workerSource = wasmWorkerContents.replace(/\n/g, '\\n');

  let fail: (err: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => { fail = reject; });
  failure.catch(() => {}); // observed by index.ts only while initialising

  const Base = workerThreads.Worker;
  class PthreadWorker extends Base {
    constructor(filename: string | URL, options?: workerThreads.WorkerOptions) {
      if (typeof filename === 'string' && filename.startsWith('blob:')) {
        URL.revokeObjectURL(filename);
        super(workerSource, { eval: true });
      } else {
        super(filename, options);
      }
    }

    override postMessage(message: unknown, transferList?: readonly workerThreads.TransferListItem[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') {
        message = { ...m, urlOrBlob: scriptPath };
      }
      super.postMessage(message, transferList);
    }

    override ref(): void {
      // See the module comment: pool threads live forever and must not hold the process.
    }

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own signature
    override on(event: string | symbol, listener: (...args: any[]) => void): this {
      if (event !== 'error') return super.on(event, listener);
      // Emscripten's handler rethrows, which would crash the process; record the error so
      // initBackend can fall back to the single-threaded build instead.
      return super.on('error', (err: unknown) => {
        try { listener(err); } catch { /* reported below */ }
        fail(err instanceof Error ? err : new Error(String(err)));
      });
    }
  }

  const realCpus = os.cpus;
  const module = workerThreads as { Worker: typeof workerThreads.Worker };
  module.Worker = PthreadWorker;
  (os as { cpus: typeof os.cpus }).cpus = () => {
    const cpus = realCpus();
    return Array.from({ length: Math.max(cpus.length, 2 * threads) }, (_, i) => cpus[i % cpus.length]);
  };
  return {
    failure,
    restore: () => {
      module.Worker = Base;
      (os as { cpus: typeof os.cpus }).cpus = realCpus;
    },
  };
}
