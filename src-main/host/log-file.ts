/**
 * The app's log file: lines appended with their time and level, rotated by size (the file
 * becomes NAME.1, NAME.1 becomes NAME.2, …, the oldest dropped), kept in the user's settings
 * folder. Errors go there with their stack traces; the window shows one sentence. Writing a log
 * never throws: a full disk or a read-only folder must not turn a message into a crash.
 *
 * The engine worker writes a failed job's stack on its stderr as one line that starts with
 * ENGINE_LOG_PREFIX and holds a JSON record (contract/log.ts); `logEngineStderr` turns such
 * lines back into readable entries and logs any other stderr text as it is.
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ENGINE_LOG_PREFIX, type EngineLogRecord } from '../contract/log.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogOptions {
  /** Size at which the file is rotated (default 1 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 3). */
  keep?: number;
}

export class RotatingLog {
  readonly maxBytes: number;
  readonly keep: number;

  constructor(readonly file: string, options: LogOptions = {}) {
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.keep = options.keep ?? 3;
  }

  write(level: LogLevel, text: string): void {
    try {
      // Continuation lines indented, so every entry starts with its time.
      const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${text.trimEnd().replace(/\r?\n/g, '\n    ')}\n`;
      mkdirSync(path.dirname(this.file), { recursive: true });
      let size = 0;
      try { size = statSync(this.file).size; } catch { /* a new file */ }
      if (size > 0 && size + Buffer.byteLength(line) > this.maxBytes) this.rotate();
      appendFileSync(this.file, line, { mode: 0o600 });
    } catch { /* never fail because of the log */ }
  }

  info(text: string): void { this.write('info', text); }
  warn(text: string): void { this.write('warn', text); }
  /** An error with its stack trace when it has one. */
  error(text: string, err?: unknown): void {
    const detail = err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : err === undefined ? '' : String(err);
    this.write('error', detail ? `${text}\n${detail}` : text);
  }

  /** NAME.(keep-1) → NAME.keep, …, NAME → NAME.1; the oldest is dropped. */
  rotate(): void {
    rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try { renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`); } catch { /* not there */ }
    }
    if (this.keep > 0) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
  }
}

/** The engine's stderr into the log: its records as errors with their stacks, anything else as it is. */
export function logEngineStderr(log: RotatingLog, text: string): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (line.startsWith(ENGINE_LOG_PREFIX)) {
      try {
        const r = JSON.parse(line.slice(ENGINE_LOG_PREFIX.length)) as EngineLogRecord;
        log.write('error', `engine: job ${r.job} (${r.id}) failed: ${r.message}${r.stack ? `\n${r.stack}` : ''}`);
        continue;
      } catch { /* logged as it is */ }
    }
    log.write('warn', `engine: ${line}`);
  }
}
