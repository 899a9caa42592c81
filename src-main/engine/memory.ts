/**
 * Resident memory of the engine process: the high-water mark per stretch of work (a scan, a
 * benchmark stage), as the scan and the speed benchmark report it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * The process's resident-memory high-water mark, per stretch of work. On Linux a process may
 * reset its own mark (writing 5 to /proc/self/clear_refs), so each stretch gets its own peak;
 * elsewhere every reading is the peak since the process started.
 */
export class RssPeaks {
  readonly scope: 'stage' | 'process';
  /** The highest peak of the stretches already taken (and of the process before this object). */
  private earlier: number;

  constructor() {
    const before = RssPeaks.statusKiB('VmHWM');
    this.scope = before !== undefined && RssPeaks.reset() ? 'stage' : 'process';
    this.earlier = (before ?? 0) / 1024;
  }

  /** Current RSS in MiB. */
  now(): number {
    return (RssPeaks.statusKiB('VmRSS') ?? process.memoryUsage().rss / 1024) / 1024;
  }

  /** The peak since the last `take` (since the process started, in scope `process`) in MiB; starts a new stretch. */
  take(): number {
    const peak = this.current();
    this.earlier = Math.max(this.earlier, peak);
    if (this.scope === 'stage') RssPeaks.reset();
    return peak;
  }

  /** Counts a peak measured by another tracker (a scan's own) among this one's stretches. */
  record(peakMiB: number): void {
    this.earlier = Math.max(this.earlier, peakMiB);
  }

  /** The peak over every stretch so far (without starting a new one). */
  overall(): number {
    return Math.max(this.earlier, this.current());
  }

  private current(): number {
    return (this.scope === 'stage' ? RssPeaks.statusKiB('VmHWM') ?? 0 : process.resourceUsage().maxRSS) / 1024;
  }

  /**
   * Collects JavaScript garbage, so that what a stretch measures is not what an earlier one
   * left: V8 exposes `gc` to code compiled after the flag is set. Best effort.
   */
  static collectGarbage(): void {
    try {
      v8.setFlagsFromString('--expose-gc');
      (vm.runInNewContext('gc') as () => void)();
    } catch { /* not available in this runtime */ }
  }

  private static reset(): boolean {
    try { writeFileSync('/proc/self/clear_refs', '5'); return true; } catch { return false; }
  }

  private static statusKiB(field: string): number | undefined {
    try {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
      return match ? Number(match[1]) : undefined;
    } catch { return undefined; }
  }
}
