/**
 * The default way hosts start the engine worker (child_process.fork, as the CLI and browser
 * mode do): a worker that cannot be started is reported as a failed start, never thrown or
 * left hanging, and the message says why.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineHost } from '../../../src-main/host/engine-host.js';
import { forkWorker } from '../../../src-main/host/worker-process.js';

describe('forkWorker', () => {
  it('reports a Node executable that does not exist as a failed start, with the reason', async () => {
    const host = new EngineHost({ workerPath: '/nonexistent/worker.js', execPath: '/nonexistent/node' });
    await expect(host.start()).rejects.toThrow(/^The engine stopped unexpectedly .*ENOENT/);
  });

  it('carries messages both ways with structured clone, and reports the exit code', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-fork-'));
    const script = path.join(dir, 'echo.cjs');
    writeFileSync(script, `process.on('message', (m) => { process.send({ echo: m, env: process.env.CLEAR_X }); if (m === 'bye') process.exit(7); });`);
    const worker = forkWorker()(script, { ...process.env as Record<string, string>, CLEAR_X: 'x' });
    const got = new Promise((resolve) => worker.on('message', resolve));
    worker.send({ a: new Float32Array([1, 2]), m: new Map([[1, 'one']]) });
    const reply = await got as { echo: { a: Float32Array; m: Map<number, string> }; env: string };
    expect(reply.env).toBe('x');
    expect(reply.echo.a).toBeInstanceOf(Float32Array);
    expect(reply.echo.m.get(1)).toBe('one');
    const exited = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
    worker.send('bye');
    expect(await exited).toEqual({ code: 7, signal: null });
    // Sending to or killing an exited worker is a no-op, not an error.
    expect(() => { worker.send('again'); worker.kill(); }).not.toThrow();
  });
});
