/**
 * An error the user caused and can fix (bad file, bad option): its message is one sentence
 * that names the file or setting and the problem, and the CLI prints it without a stack.
 */
export class UserError extends Error {
  readonly kind = 'user' as const;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Thrown by long jobs when their cancel signal fires. */
export class CancelledError extends Error {
  readonly kind = 'cancelled' as const;
  constructor(message = 'The job was cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}
