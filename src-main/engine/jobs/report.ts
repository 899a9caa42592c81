/**
 * The `scanReport` job (`clearwb report`): the whole report as HTML, PDF or JSON
 * (report/document.ts builds it, html.ts and pdf.ts draw it), or the samples a scan flags, one
 * row each, as CSV, so an analyst can find and remove them where they live. `gatherReport` is
 * shared with the wizard's Export step (exportReport, jobs/ui.ts): the same content both ways.
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
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { JobArgs } from '../../contract/jobs.js';
import type { RepairResult, ScanReportResult, ScanResult } from '../../contract/results.js';
import { APP_VERSION } from '../../contract/version.js';
import { backendName } from '../backend/index.js';
import { REPAIR_REPORT_FILE } from '../clear/repair.js';
import { parseRepair, parseScan, readRepairFile, readScanFile } from '../clear/evidence.js';
import { throwIfCancelled, UserError } from '../errors.js';
import { writeNewFileAtomically } from '../model/files.js';
import { assertModelFitsData, fingerprintModelDir, loadModel } from '../model/io.js';
import { disposeSplitModel } from '../features/split.js';
import type { JobContext } from '../progress.js';
import { buildReport, type ReportDocument, type ReportExtras, type ReportMatrix, type ReportMember, type ReportPicture } from '../report/document.js';
import { hashDataFiles, hashModelFiles, sha256File, TFJS_VERSION } from '../report/custody.js';
import { reportHtml } from '../report/html.js';
import { reportPdf } from '../report/pdf.js';
import { getDataset } from './datasets.js';
import { confusionOf, loadWarnings } from './fit.js';
import { pocketViewJob, sampleImagesJob } from './ui.js';

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

/**
 * The flagged samples of a scan as CSV text, and how many rows and groups it holds: the members
 * of reported pockets and attempts (pocket: the group's id), then the crafted samples (pocket:
 * `crafted N`, relabel empty).
 */
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
  // Crafted samples are not relabelled (their label is their class's): the relabel column is empty.
  for (const g of scan.crafted ?? []) {
    groups++;
    g.members.forEach((m, k) => {
      if (listed.has(m)) return;
      listed.add(m);
      lines.push([String(m), csvField(g.sources?.[k] ?? ''), csvField(className(g.classIndex)), '', `crafted ${g.id}`].join(','));
    });
  }
  return { text: `${lines.join('\r\n')}\r\n`, rows: listed.size, groups };
}

/** A scan file or result, checked as evidence, whose reported groups' sources line up with their members. */
function readScanArg(value: string | Record<string, unknown>): ScanResult {
  const scan = typeof value === 'string' ? readScanFile(value) : parseScan(value);
  // Sources are shown, not checked, when a scan is read; a report of them must not put one beside the wrong sample.
  const misaligned = scan.pockets.find((p) => (p.confirmed || p.attempt) && p.sources !== undefined && p.sources.length !== p.members.length);
  if (misaligned) {
    const where = typeof value === 'string' ? `The scan ${value}` : 'The scan given';
    throw new UserError(`${where} lists ${misaligned.sources!.length} sources for the ${misaligned.members.length} members of pocket ${misaligned.id}, so they cannot be matched to its samples.`);
  }
  const craftedOff = (scan.crafted ?? []).find((g) => (g.sources !== undefined && g.sources.length !== g.members.length) || g.driftRatios.length !== g.members.length);
  if (craftedOff) {
    const where = typeof value === 'string' ? `The scan ${value}` : 'The scan given';
    throw new UserError(`${where} lists ${craftedOff.sources?.length ?? craftedOff.driftRatios.length} sources or drifts for the ${craftedOff.members.length} members of crafted samples ${craftedOff.id}, so they cannot be matched to its samples.`);
  }
  return scan;
}

/** Members per reported group shown with thumbnails and nearest neighbours (all are listed with their sources). */
export const REPORT_PICTURED_MEMBERS = 200;

/** A repair given as a repaired model folder (its repair-report.json), a report file, or the result itself. */
function readRepairArg(value: string | Record<string, unknown>): { repair: RepairResult; file: string | null } {
  if (typeof value !== 'string') return { repair: parseRepair(value), file: null };
  const file = existsSync(value) && statSync(value).isDirectory() ? path.join(value, REPAIR_REPORT_FILE) : value;
  if (!existsSync(file)) throw new UserError(`The repaired model folder ${value} holds no ${REPAIR_REPORT_FILE}; give the folder \`clearwb repair\` wrote.`);
  return { repair: readRepairFile(file), file };
}

export interface GatherArgs {
  scan: string | Record<string, unknown>;
  repair?: string | Record<string, unknown>;
  title?: string;
  model?: string; data?: string; limit?: number; dataSeed?: number;
  argv?: string[]; project?: string;
}

/**
 * Everything the report shows, read: the scan and the repair (checked as evidence), the hashes
 * of every file, and, when the scanned model and its data can be read and are the ones scanned
 * (fingerprints), the members' thumbnails, their nearest clean neighbours, the pocket pictures
 * and the confusion matrices. What cannot be read is said in the report's notes, not an error:
 * a report of a scan whose data has moved still says what the scan found.
 */
export async function gatherReport(args: GatherArgs, ctx: JobContext = {}): Promise<{ doc: ReportDocument; scan: ScanResult }> {
  const scan = readScanArg(args.scan);
  const given = args.repair ? readRepairArg(args.repair) : undefined;
  const repair = given?.repair;
  if (repair && repair.model.fromFingerprint !== scan.model.fingerprint) {
    throw new UserError(`The repair ${given?.file ?? 'given'} was made from another model (fingerprint ${repair.model.fromFingerprint.slice(0, 12)}…) than the scanned one (${scan.model.fingerprint.slice(0, 12)}…), so they do not make one report.`);
  }
  const notes: string[] = [];
  const limit = args.limit ?? scan.provenance?.limit ?? null;
  const dataSeed = args.dataSeed ?? scan.provenance?.dataSeed ?? null;
  const modelDir = args.model ?? scan.model.dir;
  const spec = args.data ?? scan.dataset.spec;

  // Chain of custody: every file, hashed as it is now.
  const scanFile = typeof args.scan === 'string' ? path.resolve(args.scan) : null;
  const scanSha256 = scanFile ? sha256File(scanFile) : null;
  const files = [
    ...hashModelFiles(modelDir, 'scanned model'),
    ...hashDataFiles(spec, scan.dataset.fingerprint).files,
    ...(scanFile && scanSha256 ? [{ role: 'scan result', path: scanFile, sha256: scanSha256 }] : []),
    ...(repair ? hashModelFiles(given?.file && path.basename(given.file) === REPAIR_REPORT_FILE ? path.dirname(given.file) : repair.model.out, 'repaired model') : []),
    ...(given?.file && path.basename(given.file) !== REPAIR_REPORT_FILE ? [{ role: 'repair report', path: path.resolve(given.file), sha256: sha256File(given.file) }] : []),
  ];
  const unhashed = hashDataFiles(spec, scan.dataset.fingerprint).unhashed;
  if (!hashModelFiles(modelDir, 'scanned model').length) notes.push(`The scanned model ${modelDir} could not be read when this report was written, so its files have no checksum here.`);

  // Thumbnails, neighbours, pictures and confusion matrices need the model and the data the scan used.
  const pockets: NonNullable<ReportExtras['pockets']> = new Map();
  let model: ReportExtras['model'];
  let repairConfusion: ReportExtras['repairConfusion'] = null;
  const dataArgs = { data: spec, ...(limit !== null ? { limit } : {}), ...(dataSeed !== null ? { dataSeed } : {}) };
  let ds;
  try {
    ds = await getDataset(dataArgs);
    if (ds.fingerprint !== scan.dataset.fingerprint) throw new UserError(`the data ${spec}${limit !== null ? ` (--limit ${limit})` : ''} is not the data scanned (the fingerprints differ)`);
    if (fingerprintModelDir(modelDir) !== scan.model.fingerprint) throw new UserError(`the model ${modelDir} is not the model scanned (the fingerprints differ)`);
  } catch (err) {
    ds = undefined;
    const why = err instanceof UserError ? err.message.replace(/\.$/, '') : 'they could not be read';
    notes.push(`The members' pictures, their nearest clean neighbours and the confusion matrices are left out: ${why.charAt(0).toLowerCase()}${why.slice(1)}. Give the model and the data the scan used (--model, --data) to include them.`);
  }
  if (ds) {
    const names = ds.classNames;
    const loaded = await loadModel(modelDir, scan.model.input);
    try {
      assertModelFitsData(loaded, ds);
      const split = ds.test.count > 0 ? ds.test : ds.train;
      const confusion = await confusionOf(loaded, split, ds, { signal: ctx.signal });
      const { warnings } = await loadWarnings(loaded, ds, {}, { accuracy: confusion.accuracy, split: ds.test.count > 0 ? 'test' : 'train' });
      model = { accuracy: confusion.accuracy, confusion, warnings };
      if (repair && ds.test.count > 0) {
        let repaired;
        try { repaired = await loadModel(repair.model.out, scan.model.input); } catch { repaired = undefined; }
        if (repaired && repaired.fingerprint === repair.model.fingerprint) {
          try { repairConfusion = { before: confusion as ReportMatrix, after: await confusionOf(repaired, ds.test, ds, { signal: ctx.signal }) }; } finally { disposeSplitModel(repaired.model); }
        } else {
          if (repaired) disposeSplitModel(repaired.model);
          notes.push(`The repaired model ${repair.model.out} could not be read or is not the one the repair wrote, so the confusion matrices after the repair are left out.`);
        }
      }
    } finally { disposeSplitModel(loaded.model); }
    for (const p of scan.pockets.filter((q) => q.confirmed || q.attempt)) {
      throwIfCancelled(ctx.signal);
      const view = await pocketViewJob({ ...dataArgs, model: modelDir, scan: scan as unknown as Record<string, unknown>, pocketId: p.id, nearby: 300, pairs: Math.min(REPORT_PICTURED_MEMBERS, p.members.length) }, { signal: ctx.signal });
      const neighbourIndices = view.pairs.flatMap((x) => (x.neighbour ? [x.neighbour.index] : []));
      const sources = new Map<number, string | null>();
      if (neighbourIndices.length) {
        for (const s of (await sampleImagesJob({ ...dataArgs, split: 'train', indices: [...new Set(neighbourIndices)] })).samples) sources.set(s.index, s.source);
      }
      const members = new Map<number, ReportMember>();
      const memberSource = new Map(p.members.map((m, k) => [m, p.sources?.[k] ?? null]));
      for (const x of view.pairs) {
        members.set(x.member.index, {
          index: x.member.index, label: names[x.member.label] ?? String(x.member.label), source: memberSource.get(x.member.index) ?? null, png: x.member.png,
          neighbour: x.neighbour ? { index: x.neighbour.index, label: names[x.neighbour.label] ?? String(x.neighbour.label), source: sources.get(x.neighbour.index) ?? null, png: x.neighbour.png, distance: x.neighbour.distance } : null,
        });
      }
      if (p.members.length > REPORT_PICTURED_MEMBERS) notes.push(`Group ${p.id} has ${p.members.length} members; the first ${REPORT_PICTURED_MEMBERS} are shown with pictures and neighbours, and all with their sources.`);
      const picture: ReportPicture = { points: view.points.map((q) => ({ x: q.x, y: q.y, role: q.role })), hull: view.hull, explainedVariance: view.explainedVariance };
      pockets.set(p.id, { members, picture });
    }
  }
  // Thumbnails of the crafted samples (as many as a reported group shows).
  const craftedImages = new Map<number, string | null>();
  const craftedWanted = [...new Set((scan.crafted ?? []).flatMap((g) => g.members.slice(0, REPORT_PICTURED_MEMBERS)))];
  if (craftedWanted.length && ds) {
    for (const s of (await sampleImagesJob({ ...dataArgs, split: 'train', indices: craftedWanted })).samples) craftedImages.set(s.index, s.png);
  }
  if (repair && repair.provenance && scanSha256 && repair.provenance.scanSha256 !== scanSha256) {
    notes.push(`The repair followed a scan whose SHA-256 was ${repair.provenance.scanSha256}, not this scan's ${scanSha256}: the scan file changed or is another one.`);
  }

  const doc = buildReport(scan, repair, {
    title: args.title ?? `CLEAR report: ${scan.dataset.name}`,
    pockets, craftedImages, model, repairConfusion, notes,
    custody: {
      files, unhashed, scanSha256, appVersion: APP_VERSION, tfjsVersion: TFJS_VERSION, backend: backendName(),
      command: args.argv ?? null, project: args.project ?? null, limit, dataSeed,
    },
  });
  return { doc, scan };
}

/** Renders a gathered report in a format. */
export async function renderReport(doc: ReportDocument, format: 'html' | 'pdf' | 'json'): Promise<{ data: string | Uint8Array; pages?: number }> {
  if (format === 'html') return { data: reportHtml(doc) };
  if (format === 'json') return { data: `${JSON.stringify(doc, null, 1)}\n` };
  const { bytes, pages } = await reportPdf(doc);
  return { data: bytes, pages };
}

export async function scanReportJob(args: JobArgs<'scanReport'>, ctx: JobContext = {}): Promise<ScanReportResult> {
  if (existsSync(args.out)) throw new UserError(`The file ${args.out} already exists; choose a new name so nothing is overwritten.`);
  if (args.format !== 'csv') {
    const { doc, scan } = await gatherReport(args, ctx);
    const { data, pages } = await renderReport(doc, args.format);
    writeNewFileAtomically(args.out, data);
    const reported = [...scan.pockets.filter((p) => p.confirmed || p.attempt), ...(scan.crafted ?? [])];
    return {
      out: args.out, format: args.format, rows: new Set(reported.flatMap((p) => p.members)).size, groups: reported.length,
      withSources: reported.some((p) => p.sources !== undefined), sha256: createHash('sha256').update(data).digest('hex'),
      ...(pages !== undefined ? { pages } : {}), notes: doc.notes,
    };
  }
  const scan = readScanArg(args.scan);
  const { text, rows, groups } = flaggedCsv(scan);
  writeNewFileAtomically(args.out, text);
  const withSources = scan.pockets.some((p) => (p.confirmed || p.attempt) && p.sources !== undefined) || (scan.crafted ?? []).some((g) => g.sources !== undefined);
  return { out: args.out, format: args.format, rows, groups, withSources, sha256: createHash('sha256').update(text).digest('hex'), notes: [] };
}

/** A file base name in `dir` for which none of .html, .pdf and .json exists yet. */
function freeBaseName(dir: string, base: string): string {
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}-${k}`;
    if (!['html', 'pdf', 'json'].some((ext) => existsSync(path.join(dir, `${name}.${ext}`)))) return name;
  }
}

/**
 * The wizard's Export step: the same report as `clearwb report`, as HTML, PDF and JSON side by
 * side in a folder, under names that exist nowhere there yet (never overwritten).
 */
export async function exportReportJob(args: JobArgs<'exportReport'>, ctx: JobContext = {}) {
  if (existsSync(args.out) && !statSync(args.out).isDirectory()) throw new UserError(`The report folder ${args.out} is a file; choose a folder.`);
  const { doc } = await gatherReport(args, ctx);
  mkdirSync(args.out, { recursive: true });
  const base = freeBaseName(args.out, 'clear-report');
  const written: Record<'html' | 'pdf' | 'json', string> = { html: '', pdf: '', json: '' };
  for (const format of ['json', 'pdf', 'html'] as const) {
    const file = path.join(args.out, `${base}.${format}`);
    writeNewFileAtomically(file, (await renderReport(doc, format)).data);
    written[format] = file;
  }
  return { ...written, dir: args.out };
}
