/**
 * How the product writes the numbers of a verdict, the same in the CLI, the wizard, the report
 * and the scan's own explanations. Pure functions, no imports: every layer may use them.
 */

/** A p-value as people read it: "< 0.001" below what the calibration resolves, else three decimals. */
export function formatPValue(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
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
