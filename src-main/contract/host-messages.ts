/**
 * Messages between the renderer (in Electron or a browser tab) and its host. A renderer *call*
 * is either an engine job (a name in `jobArgs`, run by the engine worker) or an app call (a
 * name in `appCalls`, answered by the host); both arrive in one `invoke` message and are
 * validated here, on arrival, before anything runs.
 */
import { z } from 'zod';
import { JOB_NAMES, parseJobRequest, type JobName } from './jobs.js';
import { JobError, ProgressEventSchema } from './messages.js';
import { id } from './fields.js';
import { shownValue } from './format.js';
import { appCalls, AppCallName, APP_CALL_NAMES } from './app-calls.js';


/** What the renderer sends: run a call (job or app call), or cancel one it started. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('invoke'), id, call: z.string().min(1).max(100), args: z.unknown() }).strict(),
  z.object({ type: z.literal('cancel'), id }).strict(),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Electron IPC channel names (browser mode carries the same messages over one WebSocket). */
export const IPC_CHANNELS = { invoke: 'clear:invoke', cancel: 'clear:cancel', event: 'clear:event' } as const;

/** `open-recent` comes with the project folder chosen in File › Open Recent. */
export const MENU_ACTIONS = ['open-project', 'open-recent', 'open-model', 'open-dataset', 'export'] as const;
export type MenuAction = (typeof MENU_ACTIONS)[number];

/** What the host sends back. `refused` answers a message too malformed to have a usable id. */
export const HostMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), id, event: ProgressEventSchema }),
  z.object({ type: z.literal('done'), id, value: z.unknown() }),
  z.object({ type: z.literal('failed'), id, error: JobError }),
  z.object({ type: z.literal('refused'), error: JobError }),
  z.object({ type: z.literal('menu'), action: z.enum(MENU_ACTIONS), dir: z.string().min(1).max(4096).optional() }),
]);
export type HostMessage = z.infer<typeof HostMessage>;
export type ReplyMessage = Extract<HostMessage, { type: 'done' | 'failed' | 'refused' }>;

export type ParsedCall =
  | { ok: true; kind: 'job'; call: JobName; args: unknown }
  | { ok: true; kind: 'app'; call: AppCallName; args: unknown }
  | { ok: false; error: string };

export function isKnownCall(call: unknown): call is JobName | AppCallName {
  return typeof call === 'string' && (Object.hasOwn(appCalls, call) || (JOB_NAMES as string[]).includes(call));
}

/** Validates a call and its arguments; the error is one sentence, and nothing runs on error. */
export function parseCall(call: unknown, args: unknown): ParsedCall {
  if (typeof call === 'string' && Object.hasOwn(appCalls, call)) {
    const name = call as AppCallName;
    const parsed = appCalls[name].safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
      return { ok: false, error: `Invalid arguments for ${name}${where}: ${issue.message}.` };
    }
    return { ok: true, kind: 'app', call: name, args: parsed.data };
  }
  if (typeof call === 'string' && (JOB_NAMES as string[]).includes(call)) {
    const parsed = parseJobRequest(call, args);
    return parsed.ok ? { ok: true, kind: 'job', call: parsed.job, args: parsed.args } : parsed;
  }
  return {
    ok: false,
    error: `Unknown call ${shownValue(call)}; the calls are the engine jobs (${JOB_NAMES.join(', ')}) and ${APP_CALL_NAMES.join(', ')}.`,
  };
}

/** Validates a raw message from a renderer; refuses anything that is not a contract message. */
export function parseClientMessage(raw: unknown): { ok: true; message: ClientMessage } | { ok: false; id?: string; error: string } {
  const parsed = ClientMessage.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? (raw as { id: unknown }).id : undefined;
  const usableId = id.safeParse(rawId).success ? (rawId as string) : undefined;
  const issue = parsed.error.issues[0];
  const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
  return { ok: false, id: usableId, error: `Refused a message that is not part of the contract${where}: ${issue.message}.` };
}
