/**
 * The desktop app's engine worker runs as an Electron utility process (so the packaged app
 * can ship with the RunAsNode fuse off): the EngineHost drives it through the same
 * start / run / progress / crash / restart / close cycle as a child_process fork. Electron's
 * utilityProcess is the stub's; the test plays the child.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ENGINE_SERVICE_NAME, utilityWorker } from '../../../src-main/app/engine-process.js';
import { EngineHost } from '../../../src-main/host/engine-host.js';
import { EngineSupervisor } from '../../../src-main/host/engine-supervisor.js';
import { parentChannel, type ParentPortLike } from '../../../src-main/worker/parent-channel.js';
import { registered, resetElectronStub, utilityProcess, type FakeUtilityProcess } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

const READY = { type: 'ready', backend: { name: 'wasm', threads: 2, skipped: [] } };

function host(options: Partial<ConstructorParameters<typeof EngineHost>[0]> = {}) {
  return new EngineHost({ workerPath: '/app/dist/worker.js', spawn: utilityWorker, ...options });
}

/** The utility process the host forked last, once it exists. */
async function child(n = 1): Promise<FakeUtilityProcess> {
  await vi.waitFor(() => expect(registered.utilityProcesses).toHaveLength(n));
  return registered.utilityProcesses[n - 1];
}

/** The child answers the host's nth 'run' with `reply(id)`. */
async function lastRun(c: FakeUtilityProcess, n = 1): Promise<{ id: string; job: string; args: unknown }> {
  await vi.waitFor(() => expect(c.posted.filter((m: any) => m.type === 'run')).toHaveLength(n));
  return c.posted.filter((m: any) => m.type === 'run')[n - 1] as { id: string; job: string; args: unknown };
}

describe('the engine worker as a utility process', () => {
  beforeEach(resetElectronStub);

  it('forks the worker script as a named utility process, stderr piped, without ELECTRON_RUN_AS_NODE', async () => {
    const h = host({ backend: 'wasm', threads: 2, env: { CLEAR_LIMITS: 'samples=10' } });
    const ready = h.start();
    const c = await child();
    expect(utilityProcess.fork).toHaveBeenCalledOnce();
    expect(c.modulePath).toBe('/app/dist/worker.js');
    expect(c.args).toEqual([]);
    expect(c.options.serviceName).toBe(ENGINE_SERVICE_NAME);
    expect(c.options.stdio).toEqual(['ignore', 'inherit', 'pipe']);
    expect(c.options.env).toMatchObject({ CLEAR_BACKEND: 'wasm', CLEAR_THREADS: '2', CLEAR_LIMITS: 'samples=10' });
    expect(c.options.env).not.toHaveProperty('ELECTRON_RUN_AS_NODE');
    for (const v of Object.values(c.options.env)) expect(typeof v).toBe('string');
    c.fromChild(READY);
    expect(await ready).toEqual(READY.backend);
    expect(h.backend).toEqual(READY.backend);
  });

  it('runs a job: the request goes out by postMessage, progress and the result (typed arrays intact) come back', async () => {
    const h = host();
    const progress = vi.fn();
    const started = h.start();
    const c = await child();
    c.fromChild(READY);
    await started;
    const result = h.run('info', { model: '/m' } as never, { id: 'j1', onProgress: progress });
    const run = await lastRun(c);
    expect(run).toEqual({ type: 'run', id: 'j1', job: 'info', args: { model: '/m' } });
    c.fromChild({ type: 'progress', id: 'j1', event: { stage: 'load', fraction: 0.5 } });
    c.fromChild({ type: 'progress', id: 'other', event: { stage: 'x', fraction: 1 } });
    c.fromChild({ type: 'done', id: 'j1', result: { weights: new Float32Array([1.5, 2.5]), counts: new Map([[1, 2]]) } });
    const value = (await result) as unknown as { weights: Float32Array; counts: Map<number, number> };
    expect(progress).toHaveBeenCalledExactlyOnceWith({ stage: 'load', fraction: 0.5 });
    expect(value.weights).toBeInstanceOf(Float32Array);
    expect([...value.weights]).toEqual([1.5, 2.5]);
    expect(value.counts.get(1)).toBe(2);
  });

  it('sends a cancel to the child, and ignores messages that are not the contract', async () => {
    const h = host();
    const started = h.start();
    const c = await child();
    c.fromChild({ hello: 'not a contract message' });
    c.fromChild(READY);
    await started;
    const result = h.run('info', { model: '/m' } as never, { id: 'j2' });
    await lastRun(c);
    h.cancel('j2');
    expect(c.posted.at(-1)).toEqual({ type: 'cancel', id: 'j2' });
    c.fromChild({ type: 'failed', id: 'j2', error: { kind: 'cancelled', message: 'Cancelled.' } });
    await expect(result).rejects.toMatchObject({ kind: 'cancelled', message: 'Cancelled.' });
  });

  it('reports the running job failed when the utility process dies, with its last stderr line, and starts a fresh one for the next job', async () => {
    const h = host();
    const started = h.start();
    const c1 = await child();
    c1.fromChild(READY);
    await started;
    const running = h.run('info', { model: '/m' } as never, { id: 'j3' });
    await lastRun(c1);
    c1.stderr.write('tfjs: loading\nFATAL: out of memory\n');
    await new Promise((r) => setImmediate(r));
    c1.exit(134);
    await expect(running).rejects.toMatchObject({ kind: 'internal', message: 'The engine stopped unexpectedly (exit code 134): FATAL: out of memory.' });
    expect(h.backend).toBeUndefined();
    // Posting to the dead process is never attempted.
    h.cancel('j3');
    expect(c1.postMessage).toHaveBeenCalledTimes(1);

    const next = h.run('info', { model: '/n' } as never, { id: 'j4' });
    const c2 = await child(2);
    c2.fromChild(READY);
    const run = await lastRun(c2);
    expect(run.id).toBe('j4');
    c2.fromChild({ type: 'done', id: 'j4', result: 'ok' });
    expect(await next).toBe('ok');
  });

  it('says why when the utility process hits a V8 fatal error', async () => {
    const h = host();
    const started = h.start();
    const c = await child();
    c.emit('error', 'FatalError', 'v8::ToLocalChecked', '{}');
    c.exit(5);
    await expect(started).rejects.toThrow('The engine stopped unexpectedly (exit code 5): FatalError at v8::ToLocalChecked.');
  });

  it('reports a fork that throws (e.g. before the app is ready) as a failed start, and tries again next time', async () => {
    utilityProcess.fork.mockImplementationOnce(() => { throw new Error('utilityProcess cannot be forked before the app is ready'); });
    const h = host();
    await expect(h.start()).rejects.toThrow(/could not be started: utilityProcess cannot be forked/);
    const again = h.start();
    const c = await child();
    c.fromChild(READY);
    await expect(again).resolves.toEqual(READY.backend);
  });

  it('close() ends the utility process and resolves once it has exited', async () => {
    const h = host();
    const started = h.start();
    const c = await child();
    c.fromChild(READY);
    await started;
    await h.close();
    expect(c.kill).toHaveBeenCalledOnce();
    expect(c.pid).toBeUndefined();
    await expect(h.run('info', { model: '/m' } as never)).rejects.toThrow('closed');
  });

  it('the supervisor restarts the engine after a crash and the job says to run the step again', async () => {
    const logged: string[] = [];
    const engine = new EngineSupervisor({ workerPath: '/app/dist/worker.js', spawn: utilityWorker }, (l) => logged.push(l));
    const backend = engine.backend();
    const c1 = await child();
    c1.fromChild(READY);
    expect((await backend).backend).toMatchObject({ name: 'wasm' });
    const running = engine.run('info', { model: '/m' }, { id: 'j5', onProgress: () => {} });
    await lastRun(c1);
    c1.exit(139);
    await expect(running).rejects.toMatchObject({ kind: 'internal', message: expect.stringMatching(/it has been restarted, so run this step again\.$/) });
    // The restart forks a new utility process straight away.
    const c2 = await child(2);
    c2.fromChild(READY);
    expect(logged.some((l) => l.includes('Restarting the engine'))).toBe(true);
    const close = engine.close();
    await close;
    expect(c2.kill).toHaveBeenCalledOnce();
  });
});

describe('the worker\'s channel to its host', () => {
  it('uses process.parentPort in a utility process: posts messages, and unwraps event.data', () => {
    const posted: unknown[] = [];
    const listeners: ((e: { data: unknown }) => void)[] = [];
    const port: ParentPortLike = { postMessage: (m) => posted.push(m), on: (_e, l) => listeners.push(l) };
    const send = vi.fn();
    const on = vi.fn();
    const channel = parentChannel({ parentPort: port, send, on });
    channel.send({ type: 'ready' });
    const received = vi.fn();
    channel.onMessage(received);
    listeners[0]({ data: { type: 'run', id: 'a' } });
    expect(posted).toEqual([{ type: 'ready' }]);
    expect(received).toHaveBeenCalledExactlyOnceWith({ type: 'run', id: 'a' });
    expect(send).not.toHaveBeenCalled();
    expect(on).not.toHaveBeenCalled();
  });

  it('uses process.send and process.on(\'message\') in a child_process fork, and sends nothing when run on its own', () => {
    const send = vi.fn();
    const on = vi.fn();
    const channel = parentChannel({ send, on });
    channel.send({ type: 'ready' });
    const received = vi.fn();
    channel.onMessage(received);
    expect(send).toHaveBeenCalledExactlyOnceWith({ type: 'ready' });
    expect(on).toHaveBeenCalledExactlyOnceWith('message', received);
    expect(() => parentChannel({ on }).send({ type: 'ready' })).not.toThrow();
  });
});
