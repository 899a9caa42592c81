/**
 * Scan and repair results read back from files, as evidence rather than as trusted data.
 *
 * A scan JSON decides which training samples a repair relabels, so an edited one could make a
 * repair destroy a model (relabel a whole class) or index outside the data. Reading checks the
 * file (a regular file, size-capped, opened without blocking) and its shape against the
 * contract's schemas (contract/evidence.ts); before a repair, {@link assertScanFitsData} checks
 * it against the dataset: every index inside the training split, every class one of the
 * dataset's, every member labelled with its pocket's attacker class, and every reported pocket
 * consistent with the scan's own p-values and false-alarm level. Errors are one sentence naming
 * the file and the problem.
 */
import { realpathSync, statSync } from 'node:fs';
import type { z } from 'zod';
import { describeIssue, RepairResultSchema, ScanResultSchema } from '../../contract/evidence.js';
import { formatLevel, formatPValue } from '../../contract/format.js';
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { readFolderFile } from '../model/files.js';
import { REPAIR_SCHEMA, SCAN_SCHEMA, type RepairResult, type ScanResult } from './types.js';

/** JSON.parse needs the whole text as one string; V8's strings stop a little above 500 MB. */
export const EVIDENCE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A JSON file the user named, read whole: it must be a regular file (a FIFO or a device is
 * refused by stat, before any open), no larger than the caps, and is read through a
 * descriptor opened without blocking and checked to be the file stat saw.
 */
export function readJsonFile(file: string, what: string): unknown {
  const describe = `The ${what} file ${file}`;
  let stat;
  try { stat = statSync(file); } catch {
    throw new UserError(`${describe} does not exist.`);
  }
  if (!stat.isFile()) throw new UserError(`${describe} is not a regular file, so it is not read.`);
  checkLimit('fileBytes', stat.size, describe, `is ${stat.size} bytes`);
  if (stat.size > EVIDENCE_FILE_BYTES) {
    throw new UserError(`${describe} is ${stat.size} bytes, more than the ${EVIDENCE_FILE_BYTES} bytes a ${what} file can be read in, so it is not read.`);
  }
  const bytes = readFolderFile({ name: file, real: realpathSync(file), stat }, describe);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UserError(`${describe} is not valid JSON.`);
  }
}

function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, describe: string, kind: string, schemaName: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UserError(`${describe} is not a ${kind} (expected schema ${schemaName}; ${describeIssue(parsed.error, value)}).`);
  }
  return parsed.data;
}

/** A scan result given as data (a job argument, a project's stored result), checked against the schema. */
export function parseScan(value: unknown, describe = 'The scan given'): ScanResult {
  return parseWith(ScanResultSchema, value, describe, 'CLEAR scan result', SCAN_SCHEMA);
}

export function parseRepair(value: unknown, describe = 'The repair report given'): RepairResult {
  return parseWith(RepairResultSchema, value, describe, 'CLEAR repair report', REPAIR_SCHEMA);
}

export function readScanFile(file: string): ScanResult {
  return parseScan(readJsonFile(file, 'scan'), `The file ${file}`);
}

export function readRepairFile(file: string): RepairResult {
  return parseRepair(readJsonFile(file, 'repair report'), `The file ${file}`);
}

/**
 * Checks a scan against the dataset a repair will change, beyond its fingerprints: sizes,
 * index and class ranges, members' labels, and that every pocket it asks to repair is one its
 * own p-values report at its own false-alarm level. `where` names the scan ("The scan FILE").
 */
export function assertScanFitsData(scan: ScanResult, ds: Dataset, where: string): void {
  const n = ds.train.count;
  const k = ds.classNames.length;
  const refuse = (problem: string) => { throw new UserError(`${where} ${problem}, so it is not used for a repair.`); };
  if (scan.dataset.trainCount !== n) refuse(`records ${scan.dataset.trainCount} training samples, but ${ds.spec} has ${n}`);
  if (scan.dataset.classNames.length !== k) refuse(`records ${scan.dataset.classNames.length} classes, but ${ds.spec} has ${k}`);
  const level = scan.settings.falseAlarm;
  if (scan.verdict.falseAlarm !== level) {
    refuse(`records a false-alarm level of ${formatLevel(scan.verdict.falseAlarm)} in its verdict but ${formatLevel(level)} in its settings`);
  }
  const ids = new Set<number>();
  const relabelledTo = new Map<number, { to: number; id: number }>();
  for (const p of scan.pockets) {
    const name = `pocket ${p.id}`;
    if (ids.has(p.id)) refuse(`lists ${name} twice`);
    ids.add(p.id);
    for (const c of [p.attackerClass, p.enclosingClass]) {
      if (c >= k) refuse(`gives ${name} class ${c}, but ${ds.spec} has ${k} classes (0–${k - 1})`);
    }
    if (p.attackerClass === p.enclosingClass) refuse(`gives ${name} the same attacker and enclosing class ${p.attackerClass}`);
    for (const [role, list] of [['member', p.members], ['shell sample', p.shell], ['contaminant', p.contaminants]] as const) {
      for (const i of list) {
        if (i >= n) refuse(`lists training sample ${i} as a ${role} of ${name}, but the training split of ${ds.spec} holds ${n} samples (0–${n - 1})`);
      }
    }
    const seen = new Set<number>();
    for (const m of p.members) {
      if (seen.has(m)) refuse(`lists training sample ${m} twice among the members of ${name}`);
      seen.add(m);
      const label = ds.train.labels[m];
      if (label !== p.attackerClass) {
        refuse(`gives ${name} attacker class ${p.attackerClass}, but its member ${m} is labelled ${label} in ${ds.spec}`);
      }
    }
    if (p.confirmed && p.attempt) refuse(`marks ${name} both a backdoor pocket and a poisoning attempt`);
    // A pocket that gathered a reported group keeps the better of the two p-values (scan.ts, gatherStragglers).
    if (p.confirmed && Math.min(p.pValue, p.attemptPValue) > level) {
      refuse(`marks ${name} a backdoor pocket although its p-value ${formatPValue(p.pValue)} is above the scan's false-alarm level of ${formatLevel(level)}`);
    }
    if (p.attempt && p.attemptPValue > level) {
      refuse(`marks ${name} a poisoning attempt although its p-value ${formatPValue(p.attemptPValue)} is above the scan's false-alarm level of ${formatLevel(level)}`);
    }
    if (!p.confirmed && !p.attempt) continue;
    for (const m of p.members) {
      const earlier = relabelledTo.get(m);
      if (earlier && earlier.to !== p.enclosingClass) {
        refuse(`asks to relabel training sample ${m} both to class ${earlier.to} (pocket ${earlier.id}) and to class ${p.enclosingClass} (${name})`);
      }
      relabelledTo.set(m, { to: p.enclosingClass, id: p.id });
    }
  }
  const suspected = scan.pockets.some((p) => p.confirmed);
  if (scan.verdict.suspected !== suspected) {
    refuse(suspected ? 'confirms a pocket but its verdict says no backdoor was found' : 'says a backdoor is suspected but confirms no pocket');
  }
}
