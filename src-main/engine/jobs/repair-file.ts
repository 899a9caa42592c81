/**
 * A repair written to one model file (`--out repaired.h5`, `repaired.keras` or `repaired.onnx`)
 * instead of a folder. The repair itself (clear/repair.ts) writes a folder and rescans the model
 * from it; here that folder lives in a temporary directory of ours, and what leaves it is the
 * model in the format the name asks for, written as a new file that appears whole or not at all,
 * with the repair's report beside it (`NAME.repair-report.json`, which `clearwb report --repair`
 * reads). Nothing that exists is overwritten, and the temporary directory is removed whatever
 * happens.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelFileFormatOf, repairReportBeside, type ModelFileFormat } from '../../contract/format.js';
import type { JobArgs } from '../../contract/jobs.js';
import type { ExportModelFileResult, RepairResult } from '../../contract/results.js';
import { UserError } from '../errors.js';
import { writeNewFileAtomically } from '../model/files.js';
import { loadModel, onnxInFolder } from '../model/io.js';
import { kerasBytes, kerasFileName } from '../model/keras.js';
import { isOnnxPath, ONNX_FILE } from '../model/onnx.js';

export interface ModelFileTarget {
  /** The model file, as the user named it. */
  file: string;
  format: ModelFileFormat;
  /** The repair report written beside it. */
  report: string;
}

const exists = (p: string) => { try { lstatSync(p); return true; } catch { return false; } };

/**
 * The format of the model file `out` names, checked against `model` before anything is read;
 * null when `out` is not a model file (any other name, or an existing folder). An ONNX model's
 * repair is head-only and exists only as its ONNX file, so it is written as `.onnx` alone, and
 * only it is: a Keras or TensorFlow.js model can go to `.h5` or `.keras`. A file that exists is
 * refused, so nothing is overwritten.
 */
export function modelFileFormatFor(out: string, model: string): ModelFileFormat | null {
  const format = modelFileFormatOf(out);
  if (!format) return null;
  try { if (statSync(out).isDirectory()) return null; } catch { /* nothing there: a new file */ }
  const onnxModel = isOnnxPath(model) || onnxInFolder(model) !== null;
  if (format === 'onnx' && !onnxModel) {
    throw new UserError(`The output ${out} names an ONNX file, but the model ${model} is not an ONNX model, and only an ONNX model's head-only repair is written as one; name a .h5 or .keras file, or a new folder, instead.`);
  }
  if (format !== 'onnx' && onnxModel) {
    throw new UserError(`The output ${out} names a Keras file, but the model ${model} is an ONNX model, whose head-only repair can only be written as an ONNX file (its other layers exist only there); name a .onnx file, or a new folder, instead.`);
  }
  if (exists(out)) throw new UserError(`The file ${out} already exists; choose a new name so nothing is overwritten.`);
  return format;
}

/** The model file a repair's output path names, and its report beside it (see {@link modelFileFormatFor}). */
export function modelFileTarget(out: string, model: string): ModelFileTarget | null {
  const format = modelFileFormatFor(out, model);
  if (!format) return null;
  const report = repairReportBeside(out);
  if (exists(report)) throw new UserError(`The file ${report} already exists; choose a new name so nothing is overwritten.`);
  return { file: out, format, report };
}

/**
 * The model at `folder` (what repairModel wrote, or a model file) as the bytes of a `format`
 * file.
 */
async function modelBytes(folder: string, format: ModelFileFormat): Promise<Uint8Array> {
  if (format === 'onnx') return readFileSync(isOnnxPath(folder) ? folder : path.join(folder, ONNX_FILE));
  // A model that came in this format was written back in it, with the file's own config and names.
  const own = path.join(folder, kerasFileName(format));
  if (exists(own)) return readFileSync(own);
  const loaded = await loadModel(folder);
  try {
    return await kerasBytes(loaded.model, format, loaded.metadata);
  } finally {
    loaded.model.dispose();
  }
}

/** Removes a temporary directory of ours: its regular files and (one level down) folders of regular files; links are unlinked, never followed. */
function removeOurs(dir: string, depth = 2): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    const p = path.join(dir, name);
    try {
      if (lstatSync(p).isDirectory()) { if (depth > 0) removeOurs(p, depth - 1); } else unlinkSync(p);
    } catch { /* already gone */ }
  }
  try { rmdirSync(dir); } catch { /* not empty or gone: left alone */ }
}

/**
 * Runs `repair` into a temporary folder, then writes its model to `target.file` in the target's
 * format and the report beside it. The result names the file: its `model.out` and the rescan's
 * model are the file, and the fingerprint is the file's SHA-256 (what loading it reports).
 */
export async function repairToModelFile(target: ModelFileTarget, repair: (folder: string) => Promise<RepairResult>): Promise<RepairResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'clearwb-repair-'));
  let written = false;
  try {
    const folder = path.join(work, 'repaired');
    const result = await repair(folder);
    const bytes = await modelBytes(folder, target.format);
    const fingerprint = createHash('sha256').update(bytes).digest('hex');
    const named: RepairResult = {
      ...result,
      model: { ...result.model, out: target.file, fingerprint },
      rescan: { ...result.rescan, model: { ...result.rescan.model, dir: target.file, fingerprint } },
    };
    writeNewFileAtomically(target.file, bytes);
    written = true;
    writeNewFileAtomically(target.report, JSON.stringify(named, null, 1));
    return named;
  } catch (err) {
    // The model without its report is not a finished repair: the file this run created goes.
    if (written) { try { unlinkSync(target.file); } catch { /* already gone */ } }
    throw err;
  } finally {
    removeOurs(work);
  }
}

/**
 * The `exportModelFile` job (the wizard's Export step): a model, usually the project's repaired
 * model folder, written as one new `.h5`, `.keras` or `.onnx` file, whole or not at all, for a
 * pipeline that takes a single file. The result gives the file's SHA-256, what loading it reports.
 */
export async function exportModelFileJob(args: JobArgs<'exportModelFile'>): Promise<ExportModelFileResult> {
  const format = modelFileFormatFor(args.out, args.model);
  if (!format) throw new UserError(`The output ${args.out} is not a new model file: name one ending in .h5, .keras or .onnx.`);
  const bytes = await modelBytes(args.model, format);
  writeNewFileAtomically(args.out, bytes);
  return { file: args.out, format, bytes: bytes.length, fingerprint: createHash('sha256').update(bytes).digest('hex') };
}
