/**
 * Messages between a job host (CLI, Electron main, browser-mode server) and the engine
 * worker. Replies are matched to requests by `id`; errors come back as data, not throws.
 */
import { z } from 'zod';
import { thrownText } from './format.js';

export const ProgressEventSchema = z.object({
  stage: z.string(),
  fraction: z.number(),
  message: z.string().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
});
export type ProgressEventMessage = z.infer<typeof ProgressEventSchema>;

/**
 * The progress stage under which a job reports a warning the user must see (a model and data
 * that may not belong together, engine/jobs/fit.ts): hosts show its message as a warning,
 * never as progress, even when progress is hidden.
 */
export const WARNING_STAGE = 'warning';

export const ToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), id: z.string().min(1).max(100), job: z.string(), args: z.unknown() }),
  z.object({ type: z.literal('cancel'), id: z.string().min(1).max(100) }),
]);
export type ToWorker = z.infer<typeof ToWorker>;

/** `user`: bad input the user can fix; `cancelled`; `internal`: a bug or a crash. */
export const ErrorKind = z.enum(['user', 'cancelled', 'internal']);
export type ErrorKind = z.infer<typeof ErrorKind>;

export const JobError = z.object({ kind: ErrorKind, message: z.string() });
export type JobError = z.infer<typeof JobError>;

/**
 * Any thrown value as a JobError: an error that carries a known `kind` (the engine's UserError
 * and CancelledError, a host's JobFailedError, a project error) keeps its kind and sentence;
 * anything else is an internal error.
 */
export function toJobError(err: unknown): JobError {
  const kind = (err as { kind?: unknown } | null)?.kind;
  const message = err instanceof Error ? err.message : thrownText(err);
  const parsed = ErrorKind.safeParse(kind);
  if (parsed.success) return { kind: parsed.data, message };
  return { kind: 'internal', message: `Internal error: ${message}` };
}

export const FromWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), backend: z.object({ name: z.string(), threads: z.number(), warning: z.string().optional(), skipped: z.array(z.string()) }) }),
  z.object({ type: z.literal('progress'), id: z.string(), event: ProgressEventSchema }),
  z.object({ type: z.literal('done'), id: z.string(), result: z.unknown() }),
  z.object({ type: z.literal('failed'), id: z.string(), error: JobError }),
]);
export type FromWorker = z.infer<typeof FromWorker>;
