/**
 * Worker supervision as both hosts use it: a crashed engine worker is restarted, and the job
 * it was running is reported failed with a sentence, never lost. Uses the built worker.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineSupervisor } from '../../../src-main/host/engine-supervisor.js';

const WORKER = path.join(fileURLToPath(new URL('../../..', import.meta.url)), 'dist', 'worker.js');
const missing = existsSync(WORKER) ? null : 'dist/worker.js is not built (run npm run build first)';

describe.skipIf(Boolean(missing))(`engine supervision${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const logged: string[] = [];
  const engine = new EngineSupervisor({ workerPath: WORKER, threads: 1 }, (line) => logged.push(line));
  afterAll(() => engine.close());

  it('reports the running job failed when the worker dies, restarts it, and runs the next job', async () => {
    const { backend } = await engine.backend();
    expect(backend?.name).toMatch(/tensorflow|wasm|cpu/);
    const running = engine.run('datasetPreview', { data: 'mnist', samplesPerClass: 1 }, { id: 'p1', onProgress: () => {} });
    engine.crash();
    await expect(running).rejects.toMatchObject({ kind: 'internal', message: expect.stringMatching(/^The engine stopped unexpectedly .*it has been restarted, so run this step again\.$/) });
    expect(logged.some((l) => l.includes('Restarting the engine'))).toBe(true);
    const preview = await engine.run('datasetPreview', { data: 'mnist', limit: 200, samplesPerClass: 1 }, { id: 'p2', onProgress: () => {} }) as { trainCount: number };
    expect(preview.trainCount).toBe(200);
  }, 120_000);
});
