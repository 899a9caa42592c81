/**
 * Compute backend selection.
 *
 * Order (README, "Compute backends"): `tensorflow` (tfjs-node, native libtensorflow)
 * when it loads; otherwise `wasm` (XNNPACK + SIMD) with the kernels that training needs and
 * that the wasm backend lacks registered by `registerWasmTrainingKernels`; `cpu` (pure JS)
 * only as a last resort, with a warning.
 *
 * The backend is process-global in tfjs, so this runs once per process: in the engine
 * worker or the CLI, never in the Electron main process.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import os from 'node:os';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerEngineGradients } from './gradients.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  /** Threads the backend computes with (wasm: its thread pool; cpu: 1). */
  threads: number;
  /** Set when the choice is a poor one the user should know about. */
  warning?: string;
  /** Why a preferred backend was not used, one line each. */
  skipped: string[];
}

let current: BackendInfo | undefined;

/** The name of the backend tfjs runs on now (the initialised one, or tfjs's own when none was). */
export function backendName(): string {
  return current?.name ?? tf.getBackend();
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

async function tryTensorflow(): Promise<void> {
  // tfjs-node is an optional dependency: its install downloads libtensorflow, which some
  // machines cannot reach. A variable specifier keeps bundlers from resolving it.
  const name = '@tensorflow/tfjs-node';
  await import(/* @vite-ignore */ name);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but its backend did not initialise');
}

async function tryWasm(threads: number): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { configureWasm, finishWasmInit, wasmThreadStartFailure } = await import('./wasm-setup.js');
  registerWasmTrainingKernels();
  const start = async (count: number): Promise<boolean> => {
    configureWasm(wasm, count);
    const failure = wasmThreadStartFailure();
    try {
      return await (failure ? Promise.race([tf.setBackend('wasm'), failure]) : tf.setBackend('wasm'));
    } catch {
      return false; // a pthread worker failed to start
    } finally {
      finishWasmInit(wasm); // undo the temporary patches either way
    }
  };
  // The multi-threaded build is a workaround (wasm-setup.ts); if it does not start here,
  // the single-threaded SIMD build still works.
  const ok = (await start(threads)) || (threads > 1 && (await start(1)));
  if (!ok) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return finishWasmInit(wasm, tf.backend());
}

/**
 * Picks and initialises the backend. `preference` 'auto' walks the order above; a named
 * backend is used or the call fails with a sentence saying why.
 */
export async function initBackend(
  preference: BackendName | 'auto' = 'auto',
  options: { threads?: number } = {},
): Promise<BackendInfo> {
  if (current && (preference === 'auto' || preference === current.name)) {
    // Someone (a test, a benchmark) may have switched tfjs to another registered backend.
    if (tf.getBackend() !== current.name) await tf.setBackend(current.name);
    return current;
  }
  registerEngineGradients();
  const threads = options.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const order: BackendName[] = preference === 'auto' ? [...BACKEND_NAMES] : [preference];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      let used = 1;
      if (name === 'tensorflow') { await tryTensorflow(); used = threads; }
      else if (name === 'wasm') used = await tryWasm(threads);
      else { if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise'); await tf.ready(); }
      current = {
        name, threads: used, skipped,
        warning: name === 'cpu'
          ? 'Using the pure-JavaScript cpu backend: training and scanning will be hundreds of times slower than with wasm or tensorflow.'
          : undefined,
      };
      return current;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      skipped.push(`${name}: ${reason}`);
      if (preference !== 'auto') {
        throw new Error(`The ${name} backend could not be started: ${reason}.`);
      }
    }
  }
  throw new Error(`No compute backend could be started (${skipped.join('; ')}).`);
}

export { tf };
