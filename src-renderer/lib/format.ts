/** Small display helpers shared by the views. */

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export { formatFlipDistance as flipDistance, formatLevel as level, formatPValue as pValue } from '../../src-main/contract/format.js';

/** Joins a folder and a name with the separator the folder already uses (the host may be Windows). */
export function joinPath(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}


/**
 * A sample's source for a narrow column: an absolute file path loses its folders, so what tells
 * the samples apart shows (`digits.npz[x_train][6]`, `data.csv:14`); a path inside a dataset
 * folder (`cat/001.png`) and a name (`label-flip poisons[3]`) stay whole. The full source goes
 * in the cell's tooltip.
 */
export function shortSource(source: string): string {
  if (!/^(\/|\\\\|[A-Za-z]:[\\/])/.test(source)) return source;
  // The file's part ends where its row (":14") or item ("[6]") begins.
  const tail = source.search(/(\[[^\]]*\]|:\d+)+$/);
  const file = tail > 0 ? source.slice(0, tail) : source;
  const cut = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return cut >= 0 ? source.slice(cut + 1) : source;
}
