/** Small statistics the scan, the calibration and the baselines share. */

/** Median of a list (a copy is sorted); NaN for an empty list. */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const s = Array.from(values).sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
