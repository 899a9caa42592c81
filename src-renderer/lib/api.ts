/**
 * The renderer's one client. Every call goes through here, on one of two transports:
 * - Electron: the preload's `window.clear` bridge (IPC);
 * - browser mode: a WebSocket to the server that served this page (token from the URL).
 * Nothing else in the renderer knows which one it runs on. Errors come back as ApiError
 * with the contract's kind (`user`, `cancelled`, `internal`) and one sentence.
 */
import { HostMessage, type MenuAction, type ReplyMessage } from '../../src-main/contract/host-messages.js';
import { type AppCallArgs, type AppCallName, type AppCallResults } from '../../src-main/contract/app-calls.js';
import type { JobInput, JobName, JobResults } from '../../src-main/contract/jobs.js';
import type { ErrorKind, ProgressEventMessage } from '../../src-main/contract/messages.js';

export type Progress = ProgressEventMessage;

export class ApiError extends Error {
  constructor(readonly kind: ErrorKind, message: string) { super(message); this.name = 'ApiError'; }
}

interface Transport {
  invoke(id: string, call: string, args: unknown): Promise<ReplyMessage>;
  cancel(id: string): void;
  onProgress(listener: (id: string, event: Progress) => void): () => void;
  onMenu(listener: (action: MenuAction, dir?: string) => void): () => void;
  /** Where a dropped file or folder is: Electron knows (the preload asks webUtils); a browser never tells a page. */
  pathForFile?(file: File): string | null;
}

/** Electron: the preload bridge, already a Transport (src-main/preload/bridge.ts). */
function electronTransport(): Transport | null {
  const bridge = (window as unknown as { clear?: Transport }).clear;
  return bridge && typeof bridge.invoke === 'function' ? bridge : null;
}

/** Browser mode: one WebSocket, opened on first use and again after it drops. */
function socketTransport(): Transport {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const pending = new Map<string, (reply: ReplyMessage) => void>();
  const progressListeners = new Set<(id: string, event: Progress) => void>();
  let socket: Promise<WebSocket> | null = null;
  const LOST = 'The connection to the workbench server was lost; check that `clearwb serve` is still running, then reload the page.';
  const lost = (): ReplyMessage => ({ type: 'refused', error: { kind: 'internal', message: LOST } });

  function connect(): Promise<WebSocket> {
    socket ??= new Promise((resolve, reject) => {
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new ApiError('internal', LOST));
      ws.onclose = () => {
        socket = null;
        for (const [, settle] of pending) settle(lost());
        pending.clear();
      };
      ws.onmessage = (e) => {
        const parsed = HostMessage.safeParse(JSON.parse(String(e.data)));
        if (!parsed.success) return;
        const m = parsed.data;
        if (m.type === 'progress') for (const l of progressListeners) l(m.id, m.event);
        else if (m.type === 'done' || m.type === 'failed') { pending.get(m.id)?.(m); pending.delete(m.id); }
      };
    });
    socket.catch(() => { socket = null; });
    return socket;
  }

  return {
    async invoke(id, call, args) {
      const ws = await connect().catch(() => null);
      if (!ws) return lost();
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ type: 'invoke', id, call, args }));
      });
    },
    cancel(id) { void connect().then((ws) => ws.send(JSON.stringify({ type: 'cancel', id }))).catch(() => {}); },
    onProgress(listener) { progressListeners.add(listener); return () => progressListeners.delete(listener); },
    // Browser mode has no application menu.
    onMenu() { return () => {}; },
  };
}

const transport: Transport = electronTransport() ?? socketTransport();
let counter = 0;
const newId = () => `r${Date.now().toString(36)}${(++counter).toString(36)}`;

function unwrap<T>(reply: ReplyMessage): T {
  if (reply.type === 'done') return reply.value as T;
  throw new ApiError(reply.error.kind, reply.error.message);
}

export interface RunningJob<T> {
  id: string;
  result: Promise<T>;
  cancel(): void;
}

export const api = {
  /** An app call, answered by the host (projects, dialogs, export). */
  async call<N extends AppCallName>(name: N, args: AppCallArgs<N>): Promise<AppCallResults[N]> {
    return unwrap<AppCallResults[N]>(await transport.invoke(newId(), name, args));
  },
  /** An engine job, with its progress events; cancel() asks the engine to stop it. */
  job<N extends JobName>(name: N, args: JobInput<N>, onProgress?: (event: Progress) => void): RunningJob<JobResults[N]> {
    const id = newId();
    const stop = onProgress ? transport.onProgress((from, event) => { if (from === id) onProgress(event); }) : () => {};
    const result = transport.invoke(id, name, args).then((reply) => unwrap<JobResults[N]>(reply)).finally(stop);
    return { id, result, cancel: () => transport.cancel(id) };
  },
  onMenu(listener: (action: MenuAction, dir?: string) => void): () => void {
    return transport.onMenu(listener);
  },
  /** Whether a dropped file's location can be known here (the desktop app), or not (a browser). */
  get dropsGivePaths(): boolean { return typeof transport.pathForFile === 'function'; },
  /** The path of a dropped file or folder, or null where the page cannot know it. */
  pathForFile(file: File): string | null {
    return transport.pathForFile?.(file) ?? null;
  },
};
