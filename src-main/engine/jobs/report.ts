/**
 * The `scanReport` job (`clearwb report`): the samples a scan flags, one row each, written to a
 * new file so an analyst can find and remove them where they live.
 *
 * A flagged sample is a member of a reported group (a backdoor pocket or a poisoning attempt),
 * the samples a repair relabels. CSV columns: `index` (its index in the training split),
 * `source` (where it came from, empty for a scan that did not record it), `label` (the class it
 * is labelled, the group's attacker class), `relabel` (the class a repair gives it, the
 * enclosing class) and `pocket` (the group's id). Rows follow the scan's order of groups (best
 * score first), members ascending; a sample in two groups is listed once, for the first.
 *
 * The scan is read as evidence (its schema checked); the file appears whole or not at all and
 * never replaces one (writeNewFileAtomically).
 */
import type { JobArgs } from '../../contract/jobs.js';
import type { ScanReportResult, ScanResult } from '../../contract/results.js';
import { parseScan, readScanFile } from '../clear/evidence.js';
import { UserError } from '../errors.js';
import { writeNewFileAtomically } from '../model/files.js';

export const SCAN_CSV_COLUMNS = ['index', 'source', 'label', 'relabel', 'pocket'] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. A field a
 * spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return;
 * file and class names come from the data, which may come from an attacker) gets a leading
 * apostrophe, as spreadsheets themselves mark text.
 */
export function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The flagged samples of a scan as CSV text, and how many rows and groups it holds. */
export function flaggedCsv(scan: ScanResult): { text: string; rows: number; groups: number } {
  const names = scan.dataset.classNames;
  const className = (c: number) => names[c] ?? String(c);
  const lines = [SCAN_CSV_COLUMNS.join(',')];
  const listed = new Set<number>();
  let groups = 0;
  for (const p of scan.pockets) {
    if (!p.confirmed && !p.attempt) continue;
    groups++;
    const order = p.members.map((m, k) => ({ m, source: p.sources?.[k] ?? '' })).sort((a, b) => a.m - b.m);
    for (const { m, source } of order) {
      if (listed.has(m)) continue;
      listed.add(m);
      lines.push([String(m), csvField(source), csvField(className(p.attackerClass)), csvField(className(p.enclosingClass)), String(p.id)].join(','));
    }
  }
  return { text: `${lines.join('\r\n')}\r\n`, rows: listed.size, groups };
}

export async function scanReportJob(args: JobArgs<'scanReport'>): Promise<ScanReportResult> {
  const scan = typeof args.scan === 'string' ? readScanFile(args.scan) : parseScan(args.scan);
  if (args.format !== 'csv') throw new UserError(`The report format ${args.format} is not one this app writes; use csv.`);
  // Sources are shown, not checked, when a scan is read; a report of them must not put one beside the wrong sample.
  const misaligned = scan.pockets.find((p) => (p.confirmed || p.attempt) && p.sources !== undefined && p.sources.length !== p.members.length);
  if (misaligned) {
    const where = typeof args.scan === 'string' ? `The scan ${args.scan}` : 'The scan given';
    throw new UserError(`${where} lists ${misaligned.sources!.length} sources for the ${misaligned.members.length} members of pocket ${misaligned.id}, so they cannot be matched to its samples.`);
  }
  const { text, rows, groups } = flaggedCsv(scan);
  writeNewFileAtomically(args.out, text);
  const withSources = scan.pockets.some((p) => (p.confirmed || p.attempt) && p.sources !== undefined);
  return { out: args.out, format: args.format, rows, groups, withSources };
}
