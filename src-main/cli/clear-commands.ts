/** `clearwb scan` and `clearwb repair`. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_FALSE_ALARM, type Pocket, type RepairPlan, type RepairResult, type ScanResult } from '../contract/results.js';
import { RepairPlanSchema, describeIssue } from '../contract/evidence.js';
import { jobArgs } from '../contract/jobs.js';
import { describeInputTransform, formatPValue, modelFileFormatOf, ONNX_FEATURES_LAYER, repairReportBeside } from '../contract/format.js';
import { withSchemas } from './args.js';
import { dataArgs, dataOptions, inputArgs, inputOptions, modelOption, type Command } from './commands.js';
import { EXIT } from './exit.js';
import { formatSeconds } from './progress.js';
import { noStyle, type Style } from './style.js';
import { formatTable, type Cell } from './table.js';

function pct(x: number): string { return `${(x * 100).toFixed(2)}%`; }

/** What each column of the scan table means, in one line. */
export const SCAN_TABLE_LEGEND = 'Columns: "A" inside "B" = samples labelled A lying inside class B; members = samples in the group; score = how planted it looks (higher is stranger); p-value = chance one of this model\'s natural groups scores as high; attempt p = the same for an unlearnt poisoning attempt; shell = share of its nearest outside samples in B; learnt = share the model predicts as A; POCKET and ATTEMPT are reported, natural is not.';

export interface DescribeScanOptions {
  /** Rows shown besides the reported groups (default 5). */
  top?: number;
  /** Where the rest is, for the table's title (default "--json for all"). */
  more?: string;
  style?: Style;
}

export function describeScan(r: ScanResult, say: (s: string) => void, options: DescribeScanOptions = {}): void {
  const { top = 5, more = '--json for all', style = noStyle } = options;
  const names = r.dataset.classNames;
  const paint = r.verdict.suspected ? style.red : r.verdict.attempt ? style.yellow : style.green;
  say(`${style.bold(paint(r.verdict.headline))}: ${r.verdict.summary}`);
  for (const g of r.crafted ?? []) {
    const p = formatPValue(g.pValue);
    say(`${style.yellow('CRAFTED')} samples ${g.id}, ${g.members.length} labelled "${printable(names[g.classIndex])}" (p ${p.startsWith('<') ? '' : '= '}${p}): ${printable(g.explanation)}`);
    if (g.sources) say(describeSources({ id: g.id, members: g.members, sources: g.sources }, more, `Crafted samples ${g.id}`));
  }
  // The best `top` by score (the scan lists them best first), and every reported group.
  const shown: Pocket[] = r.pockets.filter((p, i) => i < top || p.confirmed || p.attempt);
  if (!shown.length) return;
  const extra = shown.length - Math.min(top, r.pockets.length);
  const n = r.pockets.length;
  const title = shown.length === n
    ? `${n === 1 ? 'The one candidate group' : `All ${n} candidate groups`}`
    : `Top ${Math.min(top, n)} of ${n} candidate groups${extra ? ` and ${extra} more reported` : ''} (${more})`;
  say(`${title}; p-values are family-wise, against ${r.calibration.nullGroups} random border groups of this model:`);
  const rows: Cell[][] = [['#', '"A" inside "B"', 'members', 'score', 'p-value', 'attempt p', 'shell', 'learnt', 'status']];
  for (const p of shown) {
    const status = p.confirmed ? 'POCKET' : p.attempt ? 'ATTEMPT' : 'natural';
    const styled = p.confirmed ? style.red(status) : p.attempt ? style.yellow(status) : status;
    rows.push([
      String(p.id), `"${names[p.attackerClass]}" inside "${names[p.enclosingClass]}"`, String(p.members.length), p.score.toFixed(2),
      formatPValue(p.pValue), formatPValue(p.attemptPValue), p.tightness.shellPurity.toFixed(2), pct(p.learnt), { text: status, styled },
    ]);
  }
  for (const line of formatTable(rows, ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'])) say(line);
  say(SCAN_TABLE_LEGEND);
  for (const p of shown) if ((p.confirmed || p.attempt) && p.sources) say(describeSources(p, more));
  if (r.model.input) say(`The model was fed ${describeInputTransform(r.model.input)} (--input-scale, --input-normalize); a repair of this scan feeds it the same.`);
  if (r.settings.reference) say(`Held-out support from the reference set ${r.settings.reference}.`);
  const t = r.timings;
  say(`Scan took ${formatSeconds(t.total)} (embed ${t.embed.toFixed(2)} s, neighbours ${t.neighbours.toFixed(2)} s, hulls ${t.hulls.toFixed(2)} s, pocket test ${t.pocketTest.toFixed(2)} s; backend ${r.backend}${t.peakRssMiB !== undefined ? `; peak memory ${Math.round(t.peakRssMiB)} MiB${t.rssScope === 'process' ? ' (the process so far)' : ''}` : ''}).`);
  const g = t.neighbourGraph;
  if (g?.method === 'approximate' && g.recall !== null) say(`Approximate neighbour graph: recall ${g.recall.toFixed(4)} of the exact ${r.settings.neighbours} nearest, measured on ${g.recallRows} rows.`);
  if (g?.method === 'imported' && g.recall !== null) say(`Neighbour graph imported from ${printable(g.file ?? 'a file')} (${g.candidates ?? '?'} candidates per sample, every distance recomputed here): recall ${g.recall.toFixed(4)} of the exact ${r.settings.neighbours} nearest, measured on ${g.recallRows} rows.`);
  if (g?.note) say(g.note);
}

/** How many members' sources the summary lists per reported group. */
const SOURCES_SHOWN = 8;

/** A source as a terminal may show it: a file name from the data cannot move the cursor or change colours. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** "Group 3's 40 members come from: cat/001.png, … and 32 more (clearwb report --format csv lists them all)." */
export function describeSources(p: Pick<Pocket, 'id' | 'members' | 'sources'>, more: string, name = `Group ${p.id}`): string {
  const sources = p.sources ?? [];
  const listed = sources.slice(0, SOURCES_SHOWN).map(printable).join(', ');
  const rest = sources.length - Math.min(SOURCES_SHOWN, sources.length);
  return `${name}'s ${p.members.length === 1 ? 'member comes' : `${p.members.length} members come`} from: ${listed}${rest ? ` and ${rest} more (${more})` : ''}.`;
}

/** scan's exit status: what it found, so a pipeline can gate on it. */
export function scanExitCode(r: Pick<ScanResult, 'verdict'>): number {
  return r.verdict.suspected ? EXIT.backdoorSuspected : r.verdict.attempt ? EXIT.poisoningAttempt : EXIT.ok;
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'look for backdoor pockets in a model trained on a dataset',
  options: withSchemas(jobArgs.scan.shape, [
    modelOption(),
    ...inputOptions,
    ...dataOptions,
    { name: 'feature-layer', type: 'string', value: 'NAME', help: 'layer to split the model at (default: the input of the last Dense layer)' },
    { name: 'false-alarm', type: 'number', value: 'RATE', help: `family-wise level at which a pocket is reported, above 0 and below 1 (default ${DEFAULT_FALSE_ALARM})` },
    { name: 'neighbours', type: 'int', value: 'K', help: 'neighbours per sample in the feature graph (default 40; pockets larger than K are still found)' },
    { name: 'neighbour-graph', type: 'string', value: 'auto|exact|approximate', help: 'exact neighbour graph, or approximate (an HNSW index, candidates re-ranked exactly, recall measured); default auto: approximate above --approximate-above samples' },
    { name: 'approximate-above', type: 'int', value: 'N', help: 'samples above which --neighbour-graph auto builds the approximate graph (default 100000)' },
    { name: 'neighbour-graph-from', type: 'string', value: 'FILE.npy', help: 'take each sample\'s neighbour candidates from an N×K\' int32/int64 index computed elsewhere over `clearwb features`\' output (e.g. Faiss\'s index.search(x, K+1), self-matches allowed; .npy or .npz); distances are recomputed here and the recall measured' },
    { name: 'reference', type: 'string', value: 'test|SPEC', help: 'trusted labelled samples held apart from training: "test" (the dataset\'s test split) or a data spec; used as held-out support (default: none)' },
    { name: 'out', type: 'string', value: 'SCAN.json', help: 'write the scan result here (a new file)' },
  ]),
  okMeans: 'no backdoor found',
  exitStatuses: [
    { code: EXIT.backdoorSuspected, means: 'backdoor suspected (a pocket the model learnt)' },
    { code: EXIT.poisoningAttempt, means: 'poisoning attempt found (no pocket, but planted samples the model did not learn)' },
  ],
  exitCode: (r) => scanExitCode(r as ScanResult),
  async run(a, io) {
    const r = await io.run('scan', {
      ...dataArgs(a), ...inputArgs(a), model: a.model as string, featureLayer: a.featureLayer as string | undefined,
      falseAlarm: a.falseAlarm as number | undefined, neighbours: a.neighbours as number | undefined,
      neighbourGraph: a.neighbourGraph as 'auto' | 'exact' | 'approximate' | undefined, approximateAbove: a.approximateAbove as number | undefined,
      neighbourGraphFrom: a.neighbourGraphFrom as string | undefined,
      reference: a.reference as string | undefined, out: a.out as string | undefined,
    });
    describeScan(r, io.say, { style: io.style, more: a.out ? `--json or ${a.out as string} for all` : '--json for all' });
    if (a.out) io.say(`Scan written to ${a.out}.`);
    return r;
  },
};

export const featuresCommand: Command = {
  name: 'features',
  summary: 'write the features a scan builds its neighbour graph from, as a float32 .npy file (for a vector index elsewhere)',
  options: withSchemas(jobArgs.features.shape, [
    modelOption(),
    ...inputOptions,
    ...dataOptions,
    { name: 'feature-layer', type: 'string', value: 'NAME', help: 'layer to split the model at, as for scan (default: the input of the last Dense layer)' },
    { name: 'out', type: 'string', value: 'FEATURES.npy', help: 'a new .npy file: N×d float32, row i = training sample i, normalised as the scan normalises them', required: true },
  ]),
  async run(a, io) {
    const r = await io.run('features', { ...dataArgs(a), ...inputArgs(a), model: a.model as string, featureLayer: a.featureLayer as string | undefined, out: a.out as string });
    io.say(`Wrote the features of ${r.samples} training samples (${r.samples}×${r.dim} float32, layer ${r.featureLayer}, ${r.normalisation === 'l2' ? 'scaled to unit length' : 'standardised'}) to ${r.out} in ${formatSeconds(r.seconds)} (backend ${r.backend}).`);
    io.say(`A scan with the default ${r.neighbours} neighbours takes their ${r.neighbours + 1} nearest (each row's own match included) as an N×${r.neighbours + 1} index: clearwb scan … --neighbour-graph-from INDICES.npy.`);
    return r;
  },
};

export function describeRepair(r: RepairResult, classNames: string[], say: (s: string) => void): void {
  const removed = r.removed?.length ? `, removed ${r.removed.length}` : '';
  say(`Relabelled ${r.relabelled.length} training samples${removed} and fine-tuned in ${formatSeconds(r.seconds)}.`);
  describePlan(r.plan, say);
  for (const p of r.pockets) say(`  pocket ${p.id} ("${classNames[p.attackerClass]}" inside "${classNames[p.enclosingClass]}"): interior predicted as attacker ${pct(p.interiorBefore)} → ${pct(p.interiorAfter)}`);
  say(`Held-out accuracy: ${pct(r.before.accuracy)} → ${pct(r.after.accuracy)}.`);
  say(`Verdict: ${r.before.suspected ? 'suspected' : 'not suspected'} → ${r.after.suspected ? 'still suspected' : 'not suspected'} (rescan: ${r.rescan.verdict.headline.toLowerCase()}).`);
  if (r.target) say(`Target (test sample ${r.target.index}, true class "${classNames[r.target.trueClass]}"): predicted "${classNames[r.target.before]}" → "${classNames[r.target.after]}".`);
  say(`Repaired model written to ${r.model.out} (the original is unchanged).`);
}

/** A plan file is small: one entry per reported group with the members it leaves out. */
const PLAN_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a repair plan (contract/evidence.ts, RepairPlanSchema) from a JSON file, before any job
 * starts; its fit to the scan (groups it reports, their members) is checked by the engine.
 */
export function readPlanFile(file: string): RepairPlan {
  const describe = `The repair plan file ${file}`;
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error(`${describe} is not a regular file, so it is not read.`);
    size = stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${describe} does not exist.`);
    throw err;
  }
  if (size > PLAN_FILE_BYTES) throw new Error(`${describe} is ${size} bytes, more than the ${PLAN_FILE_BYTES} bytes a plan can be, so it is not read.`);
  let value: unknown;
  try { value = JSON.parse(readFileSync(file, 'utf8')); } catch {
    throw new Error(`${describe} is not valid JSON.`);
  }
  const parsed = RepairPlanSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${describe} is not a repair plan (${describeIssue(parsed.error, value)}); see "Repair plans" in the README.`);
  return parsed.data;
}

export function describePlan(plan: RepairPlan | undefined, say: (s: string) => void): void {
  if (!plan) return;
  for (const p of plan.pockets) {
    const left = p.exclude.length ? `, leaving out ${p.exclude.length} member${p.exclude.length === 1 ? '' : 's'} (${p.exclude.slice(0, 8).join(', ')}${p.exclude.length > 8 ? ', …' : ''})` : '';
    say(`  plan: group ${p.id} ${p.action === 'relabel' ? 'relabelled' : 'removed'}${left}`);
  }
}

export const repairCommand: Command = {
  name: 'repair',
  summary: 'fine-tune with corrected labels; write the repaired model to a new folder or model file',
  options: withSchemas(jobArgs.repair.shape, [
    modelOption('model folder, or a Keras .h5/.keras or ONNX .onnx file (not modified; an ONNX model is repaired in its classifier head only)'),
    ...inputOptions.map((o) => ({ ...o, help: `${o.help}; default: as the scan recorded it, and if given it must be the scan's` })),
    ...dataOptions,
    { name: 'scan', type: 'string', value: 'SCAN.json', help: 'scan result from `clearwb scan`', required: true },
    { name: 'out', type: 'string', value: 'REPAIRED_DIR', help: 'new folder for the repaired model; or a new file NAME.h5 or NAME.keras (a Keras or TensorFlow.js model) or NAME.onnx (an ONNX model), written in that format with NAME.EXT.repair-report.json beside it', required: true },
    // A file name here; the job's plan argument is the file's content (readPlanFile).
    { name: 'plan', type: 'string', value: 'PLAN.json', schema: z.string().min(1), help: 'what to do with each reported group: {"pockets":[{"id":N,"action":"relabel"|"remove","exclude":[I,…]}]} (default: relabel every reported group whole)' },
    { name: 'epochs', type: 'int', value: 'N', help: 'fine-tuning epochs (default 2)' },
    { name: 'learning-rate', type: 'number', value: 'LR', help: 'fine-tuning learning rate (default 0.0003)' },
    { name: 'seed', type: 'int', value: 'S', help: 'seed (default 0)' },
  ]),
  async run(a, io) {
    const plan = a.plan === undefined ? undefined : readPlanFile(a.plan as string);
    const r = await io.run('repair', {
      ...dataArgs(a), ...inputArgs(a), model: a.model as string, scan: a.scan as string, out: a.out as string, ...(plan ? { plan } : {}),
      epochs: a.epochs as number | undefined, learningRate: a.learningRate as number | undefined, seed: a.seed as number | undefined,
    });
    describeRepair(r, r.rescan.dataset.classNames, io.say);
    // Written to one model file (the job checked the name): its report lies beside it.
    const toFile = modelFileFormatOf(r.model.out) !== null && existsSync(repairReportBeside(r.model.out));
    if (toFile) io.say(`The repair report is in ${repairReportBeside(r.model.out)}.`);
    const onnx = toFile ? r.model.out : `model.onnx in ${r.model.out}`;
    if (r.rescan.model.featureLayer === ONNX_FEATURES_LAYER) io.say(`Head-only repair: ${onnx} is the input ONNX file with a new classifier head; its other layers are unchanged, so a pocket they carved stays in the features and only the head's mapping of it changed.`);
    return r;
  },
};
