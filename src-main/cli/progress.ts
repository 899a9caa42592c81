/** Progress on stderr: a redrawn bar on a terminal, plain lines otherwise (logs, CI). */
export interface ProgressLike { stage: string; fraction: number; message?: string; metrics?: Record<string, number> }

export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr, quiet = false) {
  const tty = Boolean(stream.isTTY);
  let lastLine = 0;
  let lastStage = '';
  let lastFractionPrinted = -1;
  return {
    update(event: ProgressLike) {
      if (quiet) return;
      const pct = Math.round(event.fraction * 100);
      const eta = event.metrics?.etaSeconds;
      const etaText = eta !== undefined && Number.isFinite(eta) ? ` · ETA ${formatSeconds(eta)}` : '';
      const text = `${event.stage} ${pct}%${event.message ? ` · ${event.message}` : ''}${etaText}`;
      if (tty) {
        const width = 24;
        const filled = Math.round(event.fraction * width);
        const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`.slice(0, (stream.columns || 100) - 1);
        stream.write(`\r${line.padEnd(lastLine)}`);
        lastLine = line.length;
        if (event.fraction >= 1) { stream.write('\n'); lastLine = 0; }
      } else {
        // Plain lines: one per stage start, every 10%, and at the end.
        const bucket = Math.floor(pct / 10);
        if (event.stage !== lastStage || bucket !== lastFractionPrinted || event.fraction >= 1) {
          if (event.stage === lastStage && bucket === lastFractionPrinted) return;
          stream.write(`${text}\n`);
          lastStage = event.stage; lastFractionPrinted = bucket;
        }
      }
    },
    done() { if (tty && lastLine) { stream.write('\n'); lastLine = 0; } },
  };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
