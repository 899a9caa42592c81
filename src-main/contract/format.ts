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
