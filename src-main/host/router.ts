/**
 * Routes renderer messages to the engine (jobs) or the host (app calls), the same way in
 * the Electron main process and in the browser-mode server. Every message is validated
 * against the contract on arrival; a malformed message, an unknown call or bad arguments
 * get an error reply and nothing runs. With a PathScope (both hosts pass the one their app calls
 * grant into), a job whose paths are not all under the session's granted roots is refused in
 * one sentence before it reaches the engine.
 */
import { parseCall, parseClientMessage, type HostMessage, type ReplyMessage } from '../contract/host-messages.js';
import { type AppCallArgs, type AppCallName, type AppCallResults } from '../contract/app-calls.js';
import type { JobName } from '../contract/jobs.js';
import { toJobError } from '../contract/messages.js';
import type { ProgressEventMessage } from '../contract/messages.js';
import type { PathScope } from './path-scope.js';

export interface JobRunner {
  run(job: JobName, args: unknown, options: { id: string; onProgress: (event: ProgressEventMessage) => void }): Promise<unknown>;
  cancel(id: string): void;
}

export type AppHandlers = { [N in AppCallName]: (args: AppCallArgs<N>) => Promise<AppCallResults[N]> | AppCallResults[N] };

export class CallRouter {
  #connections = 0;
  constructor(private readonly runner: JobRunner, private readonly app: AppHandlers, private readonly scope?: PathScope) {}

  /** One renderer (a window, a socket); `send` carries progress events to it. */
  connect(send: (message: HostMessage) => void): Connection {
    return new Connection(`c${++this.#connections}`, this.runner, this.app, send, this.scope);
  }
}

export class Connection {
  /** Calls in flight, by the renderer's id, so a cancel or a closed window reaches them. */
  readonly #inFlight = new Set<string>();
  #closed = false;

  constructor(private readonly tag: string, private readonly runner: JobRunner,
    private readonly app: AppHandlers, private readonly send: (message: HostMessage) => void,
    private readonly scope?: PathScope) {}

  /** Handles one raw message; resolves to the reply for an invoke, null for a cancel. */
  async receive(raw: unknown): Promise<ReplyMessage | null> {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      const error = { kind: 'user' as const, message: parsed.error };
      return parsed.id ? { type: 'failed', id: parsed.id, error } : { type: 'refused', error };
    }
    const msg = parsed.message;
    if (msg.type === 'cancel') {
      if (this.#inFlight.has(msg.id)) this.runner.cancel(this.#workerId(msg.id));
      return null;
    }
    if (this.#inFlight.has(msg.id)) {
      return { type: 'failed', id: msg.id, error: { kind: 'user', message: `A call with id ${msg.id} is already running; use a new id.` } };
    }
    const call = parseCall(msg.call, msg.args);
    if (!call.ok) return { type: 'failed', id: msg.id, error: { kind: 'user', message: call.error } };
    this.#inFlight.add(msg.id);
    try {
      if (call.kind === 'job') await this.scope?.checkJob(call.call, call.args);
      const value = call.kind === 'job'
        ? await this.runner.run(call.call, call.args, {
          id: this.#workerId(msg.id),
          onProgress: (event) => { if (!this.#closed) this.send({ type: 'progress', id: msg.id, event }); },
        })
        : await (this.app[call.call] as (args: unknown) => unknown)(call.args);
      return { type: 'done', id: msg.id, value };
    } catch (err) {
      return { type: 'failed', id: msg.id, error: toJobError(err) };
    } finally {
      this.#inFlight.delete(msg.id);
    }
  }

  /** The renderer went away: its running jobs are cancelled, not left to run for nobody. */
  close(): void {
    this.#closed = true;
    for (const id of this.#inFlight) this.runner.cancel(this.#workerId(id));
  }

  #workerId(id: string): string { return `${this.tag}-${id}`; }
}
