/**
 * How the engine worker hands a failed job's details to its host's log file: one stderr line
 * that starts with ENGINE_LOG_PREFIX and holds an EngineLogRecord as JSON (worker/main.ts
 * writes it, host/log-file.ts reads it). The user sees the job's one sentence; the stack
 * trace goes only to the log.
 */
export const ENGINE_LOG_PREFIX = 'CLEAR-LOG ';

export interface EngineLogRecord { job: string; id: string; message: string; stack?: string }
