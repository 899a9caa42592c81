/**
 * The command line's exit statuses. 0, 1 and 2 mean the same for every command; `scan` also
 * says what it found (3, 4), so a pipeline can gate on it; 130 is the shell's "ended by Ctrl+C".
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  backdoorSuspected: 3,
  poisoningAttempt: 4,
  cancelled: 130,
} as const;

export interface ExitStatus { code: number; means: string }

/** What every command's statuses mean, after its own. */
export const COMMON_EXIT_STATUSES: ExitStatus[] = [
  { code: EXIT.failure, means: 'failure (one sentence on stderr says what and where)' },
  { code: EXIT.usage, means: 'usage error (a bad or missing option; nothing was run)' },
  { code: EXIT.cancelled, means: 'cancelled with Ctrl+C' },
];
