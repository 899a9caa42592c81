// The engine worker: jobs run in a separate process, progress streams back, cancel works,
// bad requests are refused, and a crashed worker is restarted with the job reported failed.
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import { EngineHost, JobFailedError } from '../../src-main/host/engine-host.js';

const workerPath = path.resolve('dist/worker.js');
const host = new EngineHost({ workerPath, backend: 'wasm' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-worker-'));
afterAll(async () => { await host.close(); rmSync(dir, { recursive: true, force: true }); });

describe('engine worker', () => {
  it('starts on the wasm backend and runs a training job with progress', async () => {
    const backend = await host.start();
    expect(backend.name).toBe('wasm');
    const events: string[] = [];
    const result = await host.run('train', { data: 'mnist', limit: 500, arch: 'mlp', epochs: 1, out: path.join(dir, 'm') },
      { onProgress: (e) => events.push(e.stage) }) as { accuracy: number; backend: string };
    expect(result.backend).toBe('wasm');
    expect(result.accuracy).toBeGreaterThan(0.5);
    expect(events).toContain('train');
    expect(existsSync(path.join(dir, 'm', 'model.json'))).toBe(true);
  });

  it('refuses unknown jobs and malformed arguments with a sentence, without running them', async () => {
    await expect(host.run('format-disk' as never, {} as never)).rejects.toThrow(/Unknown job "format-disk"/);
    await expect(host.run('train', { data: 'mnist', arch: 'resnet', out: 'x' } as never)).rejects.toThrow(/Invalid arguments for job train \(arch\)/);
    await expect(host.run('eval', { data: 'mnist', model: 'x', rm: '-rf' } as never)).rejects.toThrow(/Invalid arguments for job eval/);
  });

  it('reports user errors as user errors, naming the path', async () => {
    const err = await host.run('eval', { data: 'mnist', model: path.join(dir, 'missing') }).catch((e: unknown) => e) as JobFailedError;
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.kind).toBe('user');
    expect(err.message).toMatch(/missing does not exist/);
  });

  it('cancels a running job', async () => {
    const controller = new AbortController();
    const job = host.run('train', { data: 'mnist', arch: 'mlp', epochs: 50, out: path.join(dir, 'cancelled') },
      { signal: controller.signal, onProgress: () => controller.abort() });
    const err = await job.catch((e: unknown) => e) as JobFailedError;
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.kind).toBe('cancelled');
    expect(existsSync(path.join(dir, 'cancelled'))).toBe(false);
  });

  it('restarts after a crash and reports the running job failed', async () => {
    const job = host.run('train', { data: 'mnist', arch: 'mlp', epochs: 50, out: path.join(dir, 'crashed') }, { onProgress: () => host.kill() });
    await expect(job).rejects.toThrow(/engine stopped unexpectedly/);
    const info = await host.run('info', { model: path.join(dir, 'm') }) as { parameters: number };
    expect(info.parameters).toBeGreaterThan(1000);
  });
});
