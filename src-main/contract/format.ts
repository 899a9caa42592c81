/**
 * How the product writes the numbers of a verdict, the same in the CLI, the wizard, the report
 * and the scan's own explanations. Pure functions, no imports but types: every layer may use them.
 */
import type { InputTransform } from './results.js';

/** A p-value as people read it: "< 0.001" below what the calibration resolves, else three decimals. */
export function formatPValue(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/**
 * Where, on the ray probes from a group's centre to its nearest outside samples (pocket-test.ts),
 * the model's prediction leaves the group's class: the mean flip distance, or "at the first step"
 * when every ray leaves at once (a centre the model already gives another class), never "0% of
 * the way out".
 */
export function formatFlipDistance(flipDistance: number): string {
  return flipDistance > 0 ? `on average ${Math.round(flipDistance * 100)}% of the way out` : 'at the first step';
}

/** A significance level as people write it: 1%, 5%, 0.1% (never "0%"). */
export function formatLevel(level: number): string {
  return `${Number((level * 100).toPrecision(2))}%`;
}

/**
 * A value from a message as an error may quote it: its JSON text (cut at 200 characters), or
 * only its type when JSON cannot write it (a bigint, a cycle, an object without a prototype's
 * toJSON), so writing an error about a hostile value never throws.
 */
export function shownValue(value: unknown): string {
  let text: string | undefined;
  try { text = JSON.stringify(value); } catch { text = undefined; }
  if (text === undefined) return `a value of type ${typeof value}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Anything thrown as text: its String() when that works (an object without a prototype has none). */
export function thrownText(err: unknown): string {
  try { return String(err); } catch { return `a thrown ${typeof err}`; }
}

/**
 * The feature layer of a model read from an ONNX file (engine/model/onnx.ts): its graph up to the
 * last fully connected layer, never retrained, so a repair of such a model is head-only.
 */
export const ONNX_FEATURES_LAYER = 'onnx_features';

/**
 * The metadata entry (ModelProto metadata_props) in which an ONNX file with a flat input may say
 * in what order it takes an image's values: `CHW` (channels first, assumed without it) or `HWC`.
 */
export const FLAT_ORDER_KEY = 'clear.flat_input_order';

/** The model file formats a repair writes to a file named by its output path: Keras HDF5, Keras 3 zip, ONNX. */
export type ModelFileFormat = 'h5' | 'keras' | 'onnx';

/**
 * The model file format an output path names by its extension (`.h5`/`.hdf5`, `.keras`,
 * `.onnx`), or null for any other name, which is a folder. (An existing folder with such a
 * name is still a folder: the caller checks that on disk.)
 */
export function modelFileFormatOf(p: string): ModelFileFormat | null {
  const ext = /\.([A-Za-z0-9]+)$/.exec(p)?.[1]?.toLowerCase();
  return ext === 'h5' || ext === 'hdf5' ? 'h5' : ext === 'keras' ? 'keras' : ext === 'onnx' ? 'onnx' : null;
}

/** Where a repair written to a model file puts its report: beside it, `repaired.h5` → `repaired.h5.repair-report.json`. */
export function repairReportBeside(modelFile: string): string {
  return `${modelFile}.repair-report.json`;
}

/** `t`'s normalisation as a user writes it, "MEAN:STD" ("0.1307:0.3081"), or null when it has none (mean 0, std 1). */
export function formatNormalisation(t: InputTransform | null | undefined): string | null {
  if (!t || (t.mean.every((m) => m === 0) && t.std.every((s) => s === 1))) return null;
  return `${t.mean.join(',')}:${t.std.join(',')}`;
}

/** Whether `t` changes nothing (absent, or scale 1, mean 0, std 1). */
export function isIdentityTransform(t: InputTransform | null | undefined): boolean {
  return !t || (t.scale === 1 && formatNormalisation(t) === null);
}

/** `t` in words, for summaries and reports: "pixels × 255, then (x − 0.1307) / 0.3081". */
export function describeInputTransform(t: InputTransform | null | undefined): string {
  if (!t || isIdentityTransform(t)) return 'pixels 0–1 as read';
  const parts: string[] = [];
  if (t.scale !== 1) parts.push(`pixels × ${t.scale}`);
  if (formatNormalisation(t) !== null) {
    const list = (v: number[]) => (v.length === 1 ? String(v[0]) : `[${v.join(', ')}]`);
    parts.push(`(x − ${list(t.mean)}) / ${list(t.std)} per channel`);
  }
  return parts.join(', then ');
}

/** Whether two transforms feed a model the same values. */
export function sameTransform(a: InputTransform | null | undefined, b: InputTransform | null | undefined): boolean {
  if (!a || !b || isIdentityTransform(a) || isIdentityTransform(b)) return isIdentityTransform(a) && isIdentityTransform(b);
  return a.scale === b.scale && formatNormalisation(a) === formatNormalisation(b);
}

/**
 * The transform from how a user writes it: a scale (255 for 0–255 pixels) and a normalisation
 * "MEAN:STD", each side one number or one per channel separated by commas. Undefined when
 * neither is given; throws an Error whose message is one sentence naming the mistake, the
 * two settings called by `names` (the CLI's option names, or the wizard's words).
 */
export function parseInputTransform(scale: number | undefined, normalize: string | undefined,
  names = { scale: 'The input scale', normalize: 'The input normalisation' }): InputTransform | undefined {
  if (scale === undefined && (normalize === undefined || normalize.trim() === '')) return undefined;
  if (scale !== undefined && !(scale > 0 && Number.isFinite(scale) && scale <= 65536)) throw new Error(`${names.scale} must be a positive number up to 65536, not ${scale}.`);
  let mean = [0]; let std = [1];
  if (normalize !== undefined && normalize.trim() !== '') {
    const halves = normalize.split(':');
    const list = (text: string | undefined) => (text ?? '').split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
    if (halves.length === 2) { mean = list(halves[0]); std = list(halves[1]); }
    if (halves.length !== 2 || ![...mean, ...std].every(Number.isFinite) || !std.every((v) => v > 0) || mean.length > 4 || std.length > 4) {
      throw new Error(`${names.normalize} takes MEAN:STD, each one number or one per channel separated by commas, with every STD above 0 (e.g. 0.1307:0.3081), not "${normalize}".`);
    }
  }
  return { scale: scale ?? 1, mean, std };
}
