/**
 * The report's content, built once and rendered three ways: HTML (html.ts), PDF (pdf.ts) and
 * JSON (this object as it is, described by assets/schemas/report.schema.json). Everything a
 * reader sees is decided here, in plain words: the verdict and what to do about it first, then
 * each reported group with its members' thumbnails and sources, their nearest clean neighbours
 * and a 2-D picture of the group, the per-class statistics, the repair's before and after, the
 * chain of custody (SHA-256 of every file in `sha256sum -c` form, versions, commands, seeds)
 * and a glossary in which every metric has a name a manager can read (no field names).
 *
 * Pure: the images, pictures, confusion matrices and file hashes are gathered by the caller
 * (engine/jobs/report.ts) and passed in, so this module reads nothing.
 */
import type { InputTransform, PointRole, RepairResult, ScanResult } from '../../contract/results.js';
import { describeInputTransform, formatNormalisation, formatPValue } from '../../contract/format.js';
import { METRIC_TERMS, termFor } from '../../contract/terms.js';

export const REPORT_SCHEMA = 'clear-report/2';

/** One training sample as the report shows it. */
export interface ReportSample { index: number; label: string; source: string | null; png: string | null }

export interface ReportMember extends ReportSample {
  /** Its nearest training sample of the enclosing class in the model's feature space (not a member). */
  neighbour: (ReportSample & { distance: number }) | null;
}

/** The pocket picture: members, shell and nearby samples on the group's two main axes, with the members' hull. */
export interface ReportPicture {
  points: { x: number; y: number; role: PointRole }[];
  hull: [number, number][];
  /** Share of the spread of the drawn samples each axis shows. */
  explainedVariance: number[];
}

export interface ReportPocket {
  id: number;
  kind: 'backdoor pocket' | 'poisoning attempt';
  attackerClass: string;
  enclosingClass: string;
  explanation: string;
  score: number;
  /** One sentence: what the score means for this group. */
  scoreSentence: string;
  pValue: number;
  pValueText: string;
  /** One sentence: what the p-value means for this group. */
  pValueSentence: string;
  attemptPValue: number;
  attemptPValueText: string;
  learnt: number;
  shellPurity: number;
  flipDistance: number;
  /** The score's parts and the measurements behind them, each under its glossary term. */
  evidence: { term: string; value: number }[];
  /** Every member in index order; thumbnails and neighbours for as many as the caller read. */
  members: ReportMember[];
  picture: ReportPicture | null;
}

/** Crafted samples reported on their own (the scan's `crafted` list). */
export interface ReportCrafted {
  id: number;
  className: string;
  pValue: number;
  pValueText: string;
  explanation: string;
  /** The drift ratio of the class's next most fragile sample. */
  nextRatio: number;
  /** Most fragile first; thumbnails for as many as the caller read. */
  members: (ReportSample & { driftRatio: number })[];
}

/** Rows: true class; columns: predicted class. */
export interface ReportMatrix { counts: number[][]; accuracy: number; samples: number }

export interface CustodyFile { role: string; path: string; sha256: string }

export interface ReportDocument {
  schema: typeof REPORT_SCHEMA;
  title: string;
  createdAt: string;
  classNames: string[];
  verdict: { level: 'backdoor' | 'attempt' | 'clean'; headline: string; summary: string; recommendation: string };
  facts: { term: string; value: string }[];
  /** The model's accuracy and confusion on the data's test split, when the model and data were read. */
  model: { accuracy: number; confusion: ReportMatrix; warnings: string[] } | null;
  classes: { className: string; samples: number; seeds: number; candidates: number; pockets: number }[];
  pairs: { attackerClass: string; enclosingClass: string; seeds: number; candidates: number; pockets: number; bestScore: number | null; members: number }[];
  candidates: {
    id: number; attackerClass: string; enclosingClass: string; members: number; score: number; pValueText: string;
    attemptPValueText: string; status: 'backdoor pocket' | 'poisoning attempt' | 'natural'; learnt: number; shellPurity: number; flipDistance: number;
  }[];
  candidatesTotal: number;
  pockets: ReportPocket[];
  crafted: ReportCrafted[];
  repair: {
    model: string; from: string; fingerprint: string; createdAt: string;
    rows: { term: string; before: string; after: string }[];
    perClass: { className: string; before: number; after: number }[];
    pockets: { group: string; interiorBefore: number; interiorAfter: number }[];
    plan: { group: string; action: string; actedOn: number | null; leftOut: number[] }[] | null;
    relabelled: number; removed: number;
    /** On the test split, by the scanned model and by the repaired one, when both were read. */
    confusion: { before: ReportMatrix; after: ReportMatrix } | null;
  } | null;
  custody: {
    /** `sha256sum -c` input: one line per file, "HASH  PATH". */
    sha256sum: string;
    files: CustodyFile[];
    /** Inputs that are not single files (folders, the built-in digits): named with their content fingerprint. */
    unhashed: { role: string; what: string; fingerprint: string }[];
    /** The scan's SHA-256 as the repair recorded it when it read the scan, and whether the scan given to the report is that file. */
    scanInRepair: { recorded: string | null; matches: boolean | null } | null;
    appVersion: string; tfjsVersion: string;
    /** The versions that wrote the scan and the repair, when they recorded them. */
    scanAppVersion: string | null; repairAppVersion: string | null;
    reportCreatedAt: string; scanCreatedAt: string; repairCreatedAt: string | null;
    /** The command that wrote this report (or the project it was exported from) and commands that redo the scan and the repair. */
    commands: { what: string; command: string }[];
    project: string | null;
    backend: { scan: string; repair: string | null; report: string };
    seeds: { term: string; value: string }[];
    limit: number | null; dataSeed: number | null;
  };
  glossary: { term: string; meaning: string }[];
  /** What the report could not include, and why. */
  notes: string[];
}

/** What the caller gathered besides the scan and the repair. */
export interface ReportExtras {
  title: string;
  createdAt?: string;
  /** Member thumbnails, neighbours and pictures, by pocket id. */
  pockets?: Map<number, { members: Map<number, ReportMember>; picture: ReportPicture | null }>;
  /** Thumbnails of crafted samples, by training index. */
  craftedImages?: Map<number, string | null>;
  model?: ReportDocument['model'];
  repairConfusion?: { before: ReportMatrix; after: ReportMatrix } | null;
  custody: {
    files: CustodyFile[];
    unhashed: { role: string; what: string; fingerprint: string }[];
    scanSha256: string | null;
    appVersion: string; tfjsVersion: string; backend: string;
    command: string[] | null; project: string | null;
    limit: number | null; dataSeed: number | null;
  };
  notes?: string[];
}

/** The scan's summary follows its headline after a colon; standing alone it starts a sentence. */
const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');

/** A shell word as `sh` reads it back: bare when safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What the reader should do, in plain words, from the verdict and the repair. */
function recommendation(scan: ScanResult, repair: RepairResult | undefined, reported: number): string {
  const groups = `${reported} group${reported === 1 ? '' : 's'} of training samples`;
  if (scan.verdict.suspected) {
    const base = `Do not deploy the scanned model as it is: it has learnt ${groups} that look planted, so some inputs will be misclassified on an attacker's terms. Remove the flagged samples from the training data at their sources (listed below) before any retraining.`;
    if (!repair) return `${base} Then retrain, or repair the model (clearwb repair) and check the repaired model's rescan and accuracy.`;
    if (!repair.after.suspected) {
      return `${base} The repaired model's rescan finds no backdoor and its held-out accuracy is ${pct(repair.after.accuracy)} (was ${pct(repair.before.accuracy)}): it can replace the scanned model once it passes your usual acceptance tests.`;
    }
    return `${base} The repair did not close every pocket (its rescan still suspects a backdoor): do not use the repaired model either; retrain without the flagged samples.`;
  }
  if (scan.verdict.attempt) {
    return `The scanned model is not affected: it did not learn the ${groups} that look planted. The training data is poisoned, though: remove the flagged samples at their sources (listed below) before the model is trained again, and find out how they got in.`;
  }
  return 'No action is needed for sample-targeted backdoors: the scan found no planted group of training samples at the stated false-alarm level. This scan does not look for other kinds of attack.';
}

/** The --input-scale and --input-normalize words that feed a model as `t` does (none for the pixels as read). */
function inputWords(t: InputTransform | undefined): string[] {
  const normalisation = formatNormalisation(t);
  return [...(t && t.scale !== 1 ? ['--input-scale', String(t.scale)] : []), ...(normalisation ? ['--input-normalize', normalisation] : [])];
}

function equivalentScanCommand(scan: ScanResult, limit: number | null, dataSeed: number | null): string {
  const s = scan.settings;
  const words = ['clearwb', 'scan', '--model', scan.model.dir, '--data', scan.dataset.spec,
    ...(limit !== null ? ['--limit', String(limit)] : []), ...(dataSeed !== null ? ['--data-seed', String(dataSeed)] : []),
    ...inputWords(scan.model.input),
    '--feature-layer', s.featureLayer, '--false-alarm', String(s.falseAlarm), '--neighbours', String(s.neighbours),
    ...(s.reference ? ['--reference', s.reference] : []),
    ...(scan.timings.neighbourGraph?.method === 'imported' && scan.timings.neighbourGraph.file ? ['--neighbour-graph-from', scan.timings.neighbourGraph.file] : []),
    '--backend', scan.backend];
  return words.map(shellWord).join(' ');
}

function equivalentRepairCommand(scan: ScanResult, repair: RepairResult, limit: number | null, dataSeed: number | null): string {
  const words = ['clearwb', 'repair', '--model', repair.model.from, '--data', scan.dataset.spec,
    ...(limit !== null ? ['--limit', String(limit)] : []), ...(dataSeed !== null ? ['--data-seed', String(dataSeed)] : []),
    '--scan', repair.provenance?.scan ?? 'SCAN.json', '--out', repair.model.out,
    '--epochs', String(repair.settings.epochs), '--learning-rate', String(repair.settings.learningRate), '--seed', String(repair.settings.seed),
    '--backend', repair.backend];
  return words.map(shellWord).join(' ');
}

export function buildReport(scan: ScanResult, repair: RepairResult | undefined, extras: ReportExtras): ReportDocument {
  const names = scan.dataset.classNames;
  const className = (c: number) => names[c] ?? String(c);
  const reported = scan.pockets.filter((p) => p.confirmed || p.attempt);
  const level = scan.verdict.suspected ? 'backdoor' : scan.verdict.attempt ? 'attempt' : 'clean';
  const falseAlarm = pct(scan.settings.falseAlarm);
  const custody = extras.custody;

  const pockets: ReportPocket[] = reported.map((p) => {
    const gathered = extras.pockets?.get(p.id);
    const a = className(p.attackerClass); const b = className(p.enclosingClass);
    const members: ReportMember[] = p.members.map((m, k) => gathered?.members.get(m)
      ?? { index: m, label: a, source: p.sources?.[k] ?? null, png: null, neighbour: null });
    const nullGroups = scan.calibration.nullGroups;
    return {
      id: p.id, kind: p.confirmed ? 'backdoor pocket' : 'poisoning attempt',
      attackerClass: a, enclosingClass: b, explanation: p.explanation,
      score: p.score,
      scoreSentence: `A score of ${p.score.toFixed(2)} says how unlike the model's own border groups these ${p.members.length} samples labelled "${a}" inside class "${b}" are; higher is stranger.`,
      pValue: p.pValue, pValueText: formatPValue(p.pValue),
      pValueSentence: p.confirmed
        ? `A p-value of ${formatPValue(p.pValue)} means that a model without a backdoor would show a group this strange with that chance (measured against ${nullGroups} random border groups of this model); at or below ${falseAlarm} it is reported.`
        : `As a poisoning attempt its p-value is ${formatPValue(p.attemptPValue)}: a model's data without planted samples would hold a group this strange with that chance; at or below ${falseAlarm} it is reported.`,
      attemptPValue: p.attemptPValue, attemptPValueText: formatPValue(p.attemptPValue),
      learnt: p.learnt, shellPurity: p.tightness.shellPurity, flipDistance: p.flipDistance,
      evidence: Object.entries(p.evidence).map(([k, v]) => ({ term: termFor(k), value: v })),
      members, picture: gathered?.picture ?? null,
    };
  });

  const facts: { term: string; value: string }[] = [
    ['Dataset', `${scan.dataset.name} (${scan.dataset.spec}), ${scan.dataset.trainCount} training samples, ${names.length} classes`],
    ['Dataset fingerprint', scan.dataset.fingerprint],
    ['Model', scan.model.dir], ['Model fingerprint', scan.model.fingerprint],
    ['Feature layer', `${scan.model.featureLayer} (${scan.model.featureDim} dimensions)`],
    ['Model input', `${describeInputTransform(scan.model.input)}${scan.model.input ? ' (as its pipeline feeds it)' : ''}`],
    ['False-alarm level', `${falseAlarm} family-wise, against ${scan.calibration.nullGroups} random border groups of this model (${scan.calibration.family} natural groups in the family)`],
    ['Trusted reference set', scan.settings.reference ?? 'none'],
    ['Subset of the training data', custody.limit !== null ? `${custody.limit} samples, seed ${custody.dataSeed ?? 0}` : 'all of it'],
    ['Scanned', `${scan.createdAt} on the ${scan.backend} backend`],
  ].map(([term, value]) => ({ term, value }));

  const doc: ReportDocument = {
    schema: REPORT_SCHEMA,
    title: extras.title,
    createdAt: extras.createdAt ?? new Date().toISOString(),
    classNames: names,
    verdict: { level, headline: scan.verdict.headline, summary: sentence(scan.verdict.summary), recommendation: recommendation(scan, repair, reported.length + (scan.crafted?.length ?? 0)) },
    facts,
    model: extras.model ?? null,
    classes: scan.statistics.classes.map((c) => ({ className: c.className, samples: c.samples, seeds: c.seeds, candidates: c.candidates, pockets: c.pockets })),
    pairs: scan.statistics.pairs.filter((p) => p.candidates > 0 || p.pockets > 0).map((p) => ({
      attackerClass: className(p.attackerClass), enclosingClass: className(p.enclosingClass), seeds: p.seeds, candidates: p.candidates,
      pockets: p.pockets, bestScore: p.bestScore, members: p.members,
    })),
    candidates: scan.pockets.slice(0, 50).map((p) => ({
      id: p.id, attackerClass: className(p.attackerClass), enclosingClass: className(p.enclosingClass), members: p.members.length,
      score: p.score, pValueText: formatPValue(p.pValue), attemptPValueText: formatPValue(p.attemptPValue),
      status: p.confirmed ? 'backdoor pocket' : p.attempt ? 'poisoning attempt' : 'natural',
      learnt: p.learnt, shellPurity: p.tightness.shellPurity, flipDistance: p.flipDistance,
    })),
    candidatesTotal: scan.pockets.length,
    pockets,
    crafted: (scan.crafted ?? []).map((g) => ({
      id: g.id, className: className(g.classIndex), pValue: g.pValue, pValueText: formatPValue(g.pValue), explanation: g.explanation, nextRatio: g.nextRatio,
      members: g.members.map((m, k) => ({ index: m, label: className(g.classIndex), source: g.sources?.[k] ?? null, png: extras.craftedImages?.get(m) ?? null, driftRatio: g.driftRatios[k] })),
    })),
    repair: null,
    custody: {
      sha256sum: custody.files.map((f) => `${f.sha256}  ${f.path}\n`).join(''),
      files: custody.files, unhashed: custody.unhashed,
      scanInRepair: repair ? {
        recorded: repair.provenance?.scanSha256 ?? null,
        matches: repair.provenance && custody.scanSha256 ? repair.provenance.scanSha256 === custody.scanSha256 : null,
      } : null,
      appVersion: custody.appVersion, tfjsVersion: custody.tfjsVersion,
      scanAppVersion: scan.provenance?.appVersion ?? null, repairAppVersion: repair?.provenance?.appVersion ?? null,
      reportCreatedAt: extras.createdAt ?? new Date().toISOString(), scanCreatedAt: scan.createdAt, repairCreatedAt: repair?.createdAt ?? null,
      commands: [
        ...(custody.command ? [{ what: 'This report', command: custody.command.map(shellWord).join(' ') }] : []),
        ...(custody.project ? [{ what: 'This report', command: `exported from the project ${custody.project}` }] : []),
        { what: 'The scan (an equivalent command, from its recorded settings)', command: equivalentScanCommand(scan, custody.limit, custody.dataSeed) },
        ...(repair ? [{ what: `The repair (an equivalent command${repair.plan ? '; its plan is listed under Repair' : ''})`, command: equivalentRepairCommand(scan, repair, custody.limit, custody.dataSeed) }] : []),
      ],
      project: custody.project,
      backend: { scan: scan.backend, repair: repair?.backend ?? null, report: custody.backend },
      seeds: [
        { term: 'Scan seed', value: String(scan.settings.seed) },
        ...(repair ? [{ term: 'Repair seed', value: String(repair.settings.seed) }] : []),
        { term: 'Data subset seed (--data-seed)', value: custody.limit !== null ? String(custody.dataSeed ?? 0) : 'none (all samples)' },
      ],
      limit: custody.limit, dataSeed: custody.dataSeed,
    },
    glossary: [],
    notes: extras.notes ?? [],
  };

  if (repair) {
    const target = repair.target;
    const plan = repair.plan;
    const byId = new Map(scan.pockets.map((p) => [p.id, p]));
    const groupName = (id: number) => { const p = byId.get(id); return p ? `${id} ("${className(p.attackerClass)}" inside "${className(p.enclosingClass)}")` : String(id); };
    doc.repair = {
      model: repair.model.out, from: repair.model.from, fingerprint: repair.model.fingerprint, createdAt: repair.createdAt,
      rows: [
        { term: 'Held-out accuracy', before: pct(repair.before.accuracy), after: pct(repair.after.accuracy) },
        { term: 'Backdoor suspected', before: repair.before.suspected ? 'yes' : 'no', after: repair.after.suspected ? 'yes' : 'no' },
        { term: 'Open pockets', before: String(repair.before.openPockets), after: String(repair.after.openPockets) },
        ...(target ? [{ term: `Target (test sample ${target.index}, truly "${className(target.trueClass)}") predicted as`, before: className(target.before), after: className(target.after) }] : []),
      ],
      perClass: names.map((n, c) => ({ className: n, before: repair.before.perClass[c] ?? 0, after: repair.after.perClass[c] ?? 0 })),
      pockets: repair.pockets.map((p) => ({ group: groupName(p.id), interiorBefore: p.interiorBefore, interiorAfter: p.interiorAfter })),
      plan: plan ? plan.pockets.map((e) => {
        const p = byId.get(e.id);
        return {
          group: groupName(e.id),
          action: e.action === 'relabel' ? `relabel as "${p ? className(p.enclosingClass) : '?'}"` : 'remove from the fine-tuning data',
          actedOn: p ? p.members.length - e.exclude.length : null, leftOut: e.exclude,
        };
      }) : null,
      relabelled: repair.relabelled.length, removed: repair.removed?.length ?? 0,
      confusion: extras.repairConfusion ?? null,
    };
  }

  // The glossary: every metric the report names, once.
  const used = new Set(['score', 'pValue', 'attemptPValue', 'falseAlarm', 'learnt', 'shellPurity', 'flipDistance', 'members', 'seeds', 'candidates', 'pockets', 'bestScore', 'fingerprint', 'featureLayer', 'sha256']);
  for (const p of reported) for (const k of Object.keys(p.evidence)) used.add(k);
  if (repair) for (const k of ['interior', 'accuracy', 'openPockets']) used.add(k);
  if (doc.crafted.length) for (const k of ['crafted', 'driftRatio']) used.add(k);
  if (doc.model || doc.repair?.confusion) used.add('confusion');
  doc.glossary = [...used].map((k) => ({ term: termFor(k), meaning: METRIC_TERMS[k]?.meaning ?? 'A measurement the scan recorded for this group.' }))
    .sort((x, y) => x.term.localeCompare(y.term));
  return doc;
}

/**
 * The pocket picture fitted into a box of `width` × `height` (y down, as SVG draws), with a
 * margin: the same geometry for the HTML's SVG and the PDF's vector drawing.
 */
export function fitPicture(picture: ReportPicture, width: number, height: number, margin = 12) {
  const xs = picture.points.map((p) => p.x); const ys = picture.points.map((p) => p.y);
  const minX = Math.min(...xs); const maxX = Math.max(...xs); const minY = Math.min(...ys); const maxY = Math.max(...ys);
  const span = Math.max(maxX - minX, maxY - minY, 1e-9);
  const scale = Math.min((width - 2 * margin) / Math.max(maxX - minX, span * 1e-3), (height - 2 * margin) / Math.max(maxY - minY, span * 1e-3));
  const offX = (width - (maxX - minX) * scale) / 2; const offY = (height - (maxY - minY) * scale) / 2;
  const at = (x: number, y: number): [number, number] => [offX + (x - minX) * scale, height - (offY + (y - minY) * scale)];
  return {
    points: picture.points.map((p) => ({ role: p.role, at: at(p.x, p.y) })),
    hull: picture.hull.map(([x, y]) => at(x, y)),
  };
}

export const ROLE_COLOURS: Record<PointRole, string> = { member: '#c0392b', shell: '#3e7cb1', nearby: '#b8c0c8' };
export const ROLE_NAMES: Record<PointRole, string> = { member: 'members', shell: 'shell (nearest outside samples)', nearby: 'other nearby samples' };
