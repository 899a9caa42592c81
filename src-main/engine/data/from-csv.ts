/**
 * `csv:FILE`: one sample per row, comma-separated, numbers only (fields may be wrapped in
 * double quotes, but a quoted field cannot contain a comma).
 *
 * - The first row is a header when any of its fields is not a number. With a header, the
 *   column named `label` holds the label and an optional column named `split` holds
 *   `train`/`test`; without one, the first column is the label. All other columns are
 *   features, in order.
 * - Labels are whole numbers 0–255 and are the class index (classes '0'…'K-1').
 * - Features must all lie in 0–1, or all be whole numbers 0–255 (then scaled by 1/255), since
 *   the engine treats values as pixel intensities in [0, 1] (attacks clip to that range).
 * - Shape: 784 features are a 28×28×1 image, 3072 a 32×32×3 image (values in H, W, C
 *   order), anything else a [1, 1, F] feature vector.
 * - Without a `split` column load.ts splits the rows 80/20.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { selectSamples, type Split } from './dataset.js';
import { readUserFile } from './files.js';
import { bytesToUnit } from './idx.js';
import { classCount, numericClassNames, type LoadedData } from './source.js';

const MAX_LABEL = 255;

interface Columns {
  label: number;
  split: number; // -1 when absent
  features: number[];
  width: number;
}

interface Row {
  line: number;
  fields: string[];
}

export async function loadCsv(file: string): Promise<LoadedData> {
  const rows = csvRows((await readUserFile(file)).toString('utf8'));
  if (rows.length === 0) throw new UserError(`The CSV file ${file} is empty.`);
  const hasHeader = rows[0].fields.some((f) => !isNumber(f));
  const columns = hasHeader ? headerColumns(rows[0].fields, file) : { label: 0, split: -1, features: range(1, rows[0].fields.length), width: rows[0].fields.length };
  const data = hasHeader ? rows.slice(1) : rows;
  if (data.length === 0) throw new UserError(`The CSV file ${file} has a header row but no data rows.`);
  if (columns.features.length === 0) throw new UserError(`The CSV file ${file} has a label column but no feature columns.`);

  const F = columns.features.length;
  const values = new Float32Array(data.length * F);
  const labels = new Int32Array(data.length);
  const isTest = new Uint8Array(data.length);
  data.forEach((row, r) => {
    if (row.fields.length !== columns.width) {
      throw new UserError(`The CSV file ${file} has ${row.fields.length} columns on line ${row.line} but ${columns.width} on line ${rows[0].line}.`);
    }
    labels[r] = parseLabel(row.fields[columns.label], row.line, file);
    if (columns.split >= 0) isTest[r] = parseSplit(row.fields[columns.split], row.line, file);
    columns.features.forEach((col, f) => { values[r * F + f] = parseFeature(row.fields[col], row.line, col, file); });
  });

  const images = toUnitRange(values, file);
  const shape = featureShape(F);
  const K = classCount(labels);
  const pool: Split = { images, labels, count: data.length };
  const base = { name: path.basename(file), shape, classNames: numericClassNames(K) };
  if (columns.split < 0) return { ...base, splits: { pool } };
  return { ...base, splits: { train: pick(pool, shape, isTest, 0), test: pick(pool, shape, isTest, 1) } };
}

/** Non-blank lines, split into trimmed, unquoted fields; a byte-order mark is ignored. */
function csvRows(text: string): Row[] {
  const rows: Row[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    rows.push({ line: i + 1, fields: line.split(',').map(unquote) });
  });
  return rows;
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
  if (label < 0) throw new UserError(`The CSV file ${file} has a header row but no column named label.`);
  const split = names.indexOf('split');
  const features = range(0, header.length).filter((c) => c !== label && c !== split);
  return { label, split, features, width: header.length };
}

function parseLabel(field: string, line: number, file: string): number {
  if (!isNumber(field)) throw new UserError(`The CSV file ${file} has a non-numeric label "${field}" on line ${line}.`);
  const label = Number(field);
  if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
    throw new UserError(`The CSV file ${file} has label ${field} on line ${line}, but labels must be whole numbers from 0 to ${MAX_LABEL}.`);
  }
  return label;
}

/** 1 for test, 0 for train. */
function parseSplit(field: string, line: number, file: string): number {
  const value = field.toLowerCase();
  if (value === 'train') return 0;
  if (value === 'test') return 1;
  throw new UserError(`The CSV file ${file} has split "${field}" on line ${line}, but the split column may only hold train or test.`);
}

function parseFeature(field: string, line: number, column: number, file: string): number {
  if (!isNumber(field)) {
    throw new UserError(`The CSV file ${file} has a non-numeric value "${field}" on line ${line}, column ${column + 1}.`);
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
    `The CSV file ${file} has feature values from ${min} to ${max}, but they must all lie in 0–1 or all be whole numbers from 0 to 255.`);
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
