/**
 * `csv:FILE`: one sample per row, comma-separated, numbers only (fields may be wrapped in
 * double quotes, but a quoted field cannot contain a comma).
 *
 * - The first row is a header when any of its fields is not a number. With a header, the
 *   column named `label` holds the label and an optional column named `split` holds
 *   `train`/`test`; without one, the first column is the label. All other columns are
 *   features, in order.
 * - Labels are whole numbers 0–255 and are the class index (classes '0'…'K-1', each of which
 *   must have a row).
 * - Features must all lie in 0–1, or all be whole numbers 0–255 (then scaled by 1/255), since
 *   the engine treats values as pixel intensities in [0, 1] (attacks clip to that range).
 * - Shape: 784 features are a 28×28×1 image, 3072 a 32×32×3 image (values in H, W, C
 *   order), anything else a [1, 1, F] feature vector.
 * - Without a `split` column load.ts splits the rows 80/20.
 * - Each sample's source is its line in the file (`data.csv:14`, counted from 1 as editors do).
 */
import { constants as bufferConstants } from 'node:buffer';
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { selectSamples, type Split } from './dataset.js';
import { quoted, readUserFile, shown } from './files.js';
import { bytesToUnit } from './idx.js';
import { inferClassCount, numericClassNames, type LoadedData } from './source.js';
import { numberedSources } from './sources.js';

const MAX_LABEL = 255;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

interface Columns {
  label: number;
  split: number; // -1 when absent
  features: number[];
  width: number;
}

/** A non-blank line of the file: its bytes [start, end) without the line break, and its 1-based number. */
interface Line {
  start: number;
  end: number;
  line: number;
}

/**
 * The file is never turned into one string nor split whole: its lines are counted first (for
 * the samples limit), the first line's columns are counted before it is split (for the
 * sampleValues limit), and only then is the matrix allocated and each row parsed on its own.
 */
export async function loadCsv(file: string): Promise<LoadedData> {
  const bytes = await readUserFile(file);
  const name = `The CSV file ${shown(file)}`;
  const rowCount = countLines(bytes);
  if (rowCount === 0) throw new UserError(`${name} is empty.`);
  const lines = csvLines(bytes);
  const first = lines.next().value as Line;
  const width = countCommas(bytes, first) + 1;
  // At most two columns (label and split) are not features.
  checkLimit('sampleValues', width - 2, name, `has ${width} columns on line ${first.line}`);
  const firstFields = splitLine(bytes, first, file);
  const hasHeader = firstFields.some((f) => !isNumber(f));
  const columns = hasHeader ? headerColumns(firstFields, file) : { label: 0, split: -1, features: range(1, width), width };
  const rows = hasHeader ? rowCount - 1 : rowCount;
  if (rows === 0) throw new UserError(`${name} has a header row but no data rows.`);
  if (columns.features.length === 0) throw new UserError(`${name} has a label column but no feature columns.`);

  const F = columns.features.length;
  checkLimit('sampleValues', F, name, `has ${F} feature columns`);
  checkLimit('samples', rows, name, `has ${rows} data rows`);
  checkLimit('datasetValues', rows * F, name, `has ${rows} rows of ${F} values, ${rows * F} values in all`);
  const values = new Float32Array(rows * F);
  const labels = new Int32Array(rows);
  const lineOf = new Int32Array(rows);
  const isTest = new Uint8Array(rows);
  let r = 0;
  for (const line of hasHeader ? lines : prepend(first, lines)) {
    const found = countCommas(bytes, line) + 1;
    if (found !== columns.width) {
      throw new UserError(`${name} has ${found} columns on line ${line.line} but ${columns.width} on line ${first.line}.`);
    }
    const fields = splitLine(bytes, line, file);
    labels[r] = parseLabel(fields[columns.label], line.line, file);
    lineOf[r] = line.line;
    if (columns.split >= 0) isTest[r] = parseSplit(fields[columns.split], line.line, file);
    columns.features.forEach((col, f) => { values[r * F + f] = parseFeature(fields[col], line.line, col, file); });
    r++;
  }

  const images = toUnitRange(values, file);
  const shape = featureShape(F);
  const K = inferClassCount({ labels, file, where: (i) => `on line ${lineOf[i]}` });
  const pool: Split = { images, labels, count: rows, sources: numberedSources(file, lineOf, 'line') };
  const base = { name: path.basename(file), shape, classNames: numericClassNames(K) };
  if (columns.split < 0) return { ...base, splits: { pool } };
  return { ...base, splits: { train: pick(pool, shape, isTest, 0), test: pick(pool, shape, isTest, 1) } };
}

const BOM = [0xef, 0xbb, 0xbf];

function isBlankByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;
}

/** The non-blank lines of the file in order (a line break is \n or \r\n; a byte-order mark is ignored). */
function* csvLines(bytes: Uint8Array): Generator<Line> {
  let start = bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] ? 3 : 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    let blank = true;
    for (let i = start; i < end && blank; i++) blank = isBlankByte(bytes[i]);
    if (!blank) yield { start, end: end > start && bytes[end - 1] === 0x0d ? end - 1 : end, line };
    start = end + 1;
  }
}

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (const _ of csvLines(bytes)) n++;
  return n;
}

function* prepend(first: Line, rest: Iterable<Line>): Generator<Line> {
  yield first;
  yield* rest;
}

function countCommas(bytes: Uint8Array, line: Line): number {
  let n = 0;
  for (let i = line.start; i < line.end; i++) if (bytes[i] === COMMA) n++;
  return n;
}

/** One line's trimmed, unquoted fields. */
function splitLine(bytes: Uint8Array, line: Line, file: string): string[] {
  if (line.end - line.start > bufferConstants.MAX_STRING_LENGTH) {
    throw new UserError(`The CSV file ${shown(file)} has a line too long to read on line ${line.line}.`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', line.start, line.end).split(',').map(unquote);
}

function unquote(field: string): string {
  const t = field.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

function isNumber(field: string): boolean {
  return field !== '' && Number.isFinite(Number(field));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function headerColumns(header: string[], file: string): Columns {
  const names = header.map((h) => h.toLowerCase());
  const label = names.indexOf('label');
  if (label < 0) throw new UserError(`The CSV file ${shown(file)} has a header row but no column named label.`);
  const split = names.indexOf('split');
  const features = range(0, header.length).filter((c) => c !== label && c !== split);
  return { label, split, features, width: header.length };
}

/** A number from the file as a message shows it: as written when short, else its value. */
function shownNumber(field: string): string {
  return field.length <= 40 ? field : String(Number(field));
}

function parseLabel(field: string, line: number, file: string): number {
  if (!isNumber(field)) throw new UserError(`The CSV file ${shown(file)} has a non-numeric label ${quoted(field)} on line ${line}.`);
  const label = Number(field);
  if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
    throw new UserError(`The CSV file ${shown(file)} has label ${shownNumber(field)} on line ${line}, but labels must be whole numbers from 0 to ${MAX_LABEL}.`);
  }
  return label;
}

/** 1 for test, 0 for train. */
function parseSplit(field: string, line: number, file: string): number {
  const value = field.toLowerCase();
  if (value === 'train') return 0;
  if (value === 'test') return 1;
  throw new UserError(`The CSV file ${shown(file)} has a split ${quoted(field)} on line ${line}, but the split column may only hold train or test.`);
}

function parseFeature(field: string, line: number, column: number, file: string): number {
  if (!isNumber(field)) {
    throw new UserError(`The CSV file ${shown(file)} has a non-numeric value ${quoted(field)} on line ${line}, column ${column + 1}.`);
  }
  return Number(field);
}

/** Values already in [0, 1] are kept; whole numbers 0–255 are scaled by 1/255. */
function toUnitRange(values: Float32Array, file: string): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  let allBytes = true;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    if (allBytes && !Number.isInteger(v)) allBytes = false;
  }
  if (min >= 0 && max <= 1) return values;
  if (min >= 0 && max <= 255 && allBytes) return bytesToUnit(values);
  throw new UserError(
    `The CSV file ${shown(file)} has feature values from ${min} to ${max}, but they must all lie in 0–1 or all be whole numbers from 0 to 255.`);
}

function featureShape(F: number): [number, number, number] {
  if (F === 28 * 28) return [28, 28, 1];
  if (F === 32 * 32 * 3) return [32, 32, 3];
  return [1, 1, F];
}

/** The rows whose split flag equals `want`, in file order. */
function pick(pool: Split, shape: [number, number, number], isTest: Uint8Array, want: number): Split {
  const rows: number[] = [];
  isTest.forEach((t, r) => { if (t === want) rows.push(r); });
  return selectSamples(pool, shape, rows);
}
