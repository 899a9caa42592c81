// Fuzzing the contract's validators of incoming messages: what a renderer sends over IPC or the
// WebSocket (parseClientMessage, parseCall, the router's Connection.receive), what a host sends
// the engine worker (ToWorker, parseJobRequest) and what the worker sends back (FromWorker).
// They answer instead of throwing: a valid parse, or a refusal of one sentence; never a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APP_CALL_NAMES } from '../../../src-main/contract/app-calls.js';
import { HostMessage, parseCall, parseClientMessage } from '../../../src-main/contract/host-messages.js';
import { JOB_NAMES, parseJobRequest } from '../../../src-main/contract/jobs.js';
import { FromWorker, ToWorker, toJobError } from '../../../src-main/contract/messages.js';
import { CallRouter, type AppHandlers, type JobRunner } from '../../../src-main/host/router.js';
import { editJson, fuzz, hostileJson, jsonEditArb, oneSentence } from './harness.js';

/** Arguments a valid call of each kind may carry, the seeds that edits start from. */
const ARG_SEEDS: Record<string, unknown> = {
  train: { data: 'mnist', arch: 'mlp', epochs: 1, out: '/tmp/m' },
  eval: { data: 'mnist', model: '/tmp/m' },
  predict: { data: 'mnist', model: '/tmp/m', split: 'test', index: 3 },
  info: { model: '/tmp/m' },
  scan: { data: 'mnist', model: '/tmp/m', falseAlarm: 0.01, out: '/tmp/s.json' },
  repair: { data: 'mnist', model: '/tmp/m', scan: '/tmp/s.json', out: '/tmp/r' },
  attack: { data: 'mnist', attack: 'label-flip', target: 1, attackerClass: 2, out: '/tmp/d' },
  datasetPreview: { data: 'mnist', samplesPerClass: 2 },
  pocketView: { data: 'mnist', model: '/tmp/m', scan: '/tmp/s.json', pocketId: 0 },
  exportReport: { scan: { schema: 'clear-scan/2' }, out: '/tmp/report' },
  scanReport: { scan: '/tmp/s.json', out: '/tmp/r.csv' },
  exportModelFile: { model: '/tmp/r', out: '/tmp/r.h5' },
  bench: { data: 'mnist', trials: 1 },
  'app.info': {},
  'project.create': { dir: '/tmp/p', name: 'p' },
  'project.open': { dir: '/tmp/p' },
  'project.recent': {},
  'project.allocate': { dir: '/tmp/p', kind: 'scan' },
  'dialog.open': { purpose: 'model' },
  'path.inspect': { path: '/tmp' },
  'path.choose': { path: '/tmp' },
  'export.model': { from: '/tmp/m', to: '/tmp/e' },
};

const callName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JOB_NAMES, ...APP_CALL_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom('toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '', 'scan ', 'SCAN', 'project.', 'app.info\u0000') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** Arguments: a seed's (of any call, so often another call's) with edits, or anything at all. */
const args: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...Object.values(ARG_SEEDS)), fc.array(jsonEditArb, { maxLength: 3 })).map(([seed, edits]) => editJson(seed, edits)) },
  { weight: 1, arbitrary: hostileJson },
  { weight: 1, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withDate: true, maxDepth: 3 }) },
);

/** A call with its own kind of arguments, edited or not (so valid calls are common), or any name with any arguments. */
const callWithArgs: fc.Arbitrary<[unknown, unknown]> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.keys(ARG_SEEDS)).chain((name) => fc.array(jsonEditArb, { maxLength: 2 }).map((edits): [unknown, unknown] => [name, editJson(ARG_SEEDS[name], edits)])) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof({ weight: 6, arbitrary: callName }, { weight: 1, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, maxDepth: 2 }) }), args) },
);

const anyValue = fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withDate: true, maxDepth: 3 });
const messageId = fc.oneof(fc.constantFrom('1', 'a', 'x'.repeat(64), 'x'.repeat(65), '', '__proto__'), fc.string({ maxLength: 70 }), anyValue);

/** What a renderer might send: well-formed invokes and cancels with hostile fields, extra keys, or anything. */
const clientMessage: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('invoke'), id: messageId, call: callName, args }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancel'), id: messageId }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('invoke', 'cancel', 'run', 'done', '', 'INVOKE'), id: messageId, call: callName, args, extra: anyValue }, { requiredKeys: ['type'] }) },
  { weight: 1, arbitrary: anyValue },
);

function refusal(result: { ok: boolean; error?: string }): 'valid' | 'clean' {
  if (result.ok) return 'valid';
  if (typeof result.error !== 'string' || !oneSentence(result.error)) throw new Error(`not a one-sentence refusal: ${String(result.error)}`);
  return 'clean';
}

describe('fuzz: contract messages', () => {
  it('parseClientMessage answers every raw message', async () => {
    await fuzz({
      name: 'client-message',
      arbitrary: clientMessage,
      run: (raw) => parseClientMessage(raw),
      classify: (r) => refusal(r as { ok: boolean; error?: string }),
    });
  });

  it('parseCall answers every call name and argument value', async () => {
    await fuzz({
      name: 'call',
      arbitrary: callWithArgs,
      run: ([call, a]) => parseCall(call, a),
      classify: (r) => refusal(r as { ok: boolean; error?: string }),
    });
  });

  it('parseJobRequest (the engine worker\'s check) answers every job name and argument value', async () => {
    await fuzz({
      name: 'job-request',
      arbitrary: callWithArgs,
      run: ([job, a]) => parseJobRequest(job, a),
      classify: (r) => refusal(r as { ok: boolean; error?: string }),
    });
  });

  it('ToWorker, FromWorker and HostMessage parse every message without throwing', async () => {
    const workerMessage = fc.oneof(
      fc.record({ type: fc.constantFrom('run', 'cancel', 'ready', 'progress', 'done', 'failed'), id: messageId, job: callName, args, result: anyValue,
        event: fc.record({ stage: fc.string({ maxLength: 8 }), fraction: fc.double(), metrics: fc.dictionary(fc.string({ maxLength: 6 }), fc.double()) }, { requiredKeys: [] }),
        error: fc.record({ kind: fc.constantFrom('user', 'cancelled', 'internal', 'x'), message: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }),
        backend: fc.record({ name: fc.string({ maxLength: 5 }), threads: fc.integer(), skipped: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }) }, { requiredKeys: [] }) },
      { requiredKeys: ['type'] }),
      anyValue,
    );
    await fuzz({
      name: 'worker-message',
      arbitrary: workerMessage,
      run: (raw) => [ToWorker.safeParse(raw), FromWorker.safeParse(raw), HostMessage.safeParse(raw)],
      classify: (r) => ((r as { success: boolean }[]).some((p) => p.success) ? 'valid' : 'clean'),
    });
  });

  it('the router answers every message a renderer sends with a contract reply, and runs only valid calls', async () => {
    const ran: { job: string; args: unknown }[] = [];
    const runner: JobRunner = {
      run: async (job, a) => { ran.push({ job, args: a }); return { ok: true }; },
      cancel: () => {},
    };
    const app = new Proxy({}, { get: () => async () => ({ ok: true }) }) as AppHandlers;
    const connection = new CallRouter(runner, app).connect(() => {});
    await fuzz({
      name: 'router',
      arbitrary: clientMessage,
      run: async (raw) => {
        ran.length = 0;
        const reply = await connection.receive(raw);
        return { reply, ran: ran.slice() };
      },
      check: (r) => {
        const { reply, ran: jobs } = r as { reply: unknown; ran: { job: string; args: unknown }[] };
        if (reply === null) return;
        const parsed = HostMessage.safeParse(reply);
        if (!parsed.success) throw new Error(`the reply is not a host message: ${JSON.stringify(reply)}`);
        for (const j of jobs) if (!parseJobRequest(j.job, j.args).ok) throw new Error(`the router ran ${j.job} with arguments its schema refuses`);
      },
      classify: (r) => {
        const reply = (r as { reply: { type: string; error?: { kind: string; message: string } } | null }).reply;
        if (reply === null || reply.type === 'done') return 'valid';
        if (reply.error?.kind !== 'user' || !oneSentence(reply.error.message)) throw new Error(`not a one-sentence user refusal: ${JSON.stringify(reply)}`);
        return 'clean';
      },
    });
  });

  it('toJobError turns anything thrown into a job error without throwing', async () => {
    await fuzz({
      name: 'job-error',
      arbitrary: fc.oneof(anyValue, fc.string().map((m) => new Error(m)), fc.constantFrom<unknown>(Object.create(null), { kind: 'user', message: 'x' }, { kind: 'bogus' })),
      run: (v) => toJobError(v),
      check: (e) => { expect(['user', 'cancelled', 'internal']).toContain((e as { kind: string }).kind); expect(typeof (e as { message: unknown }).message).toBe('string'); },
    });
  });
});
