/** Columns sized to their content, so long layer or class names do not push a row out of line. */

/** A cell: its text, and optionally the same text styled (colour codes take no width). */
export type Cell = string | { text: string; styled: string };

export function formatTable(rows: Cell[][], align: ('left' | 'right')[], indent = '  ', gap = '  '): string[] {
  const text = (c: Cell) => (typeof c === 'string' ? c : c.text);
  const shown = (c: Cell) => (typeof c === 'string' ? c : c.styled);
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, j) => Math.max(0, ...rows.map((r) => (r[j] === undefined ? 0 : [...text(r[j])].length))));
  return rows.map((r) => indent + r.map((c, j) => {
    const pad = ' '.repeat(widths[j] - [...text(c)].length);
    if (j === r.length - 1 && align[j] !== 'right') return shown(c);
    return align[j] === 'right' ? pad + shown(c) : shown(c) + pad;
  }).join(gap).replace(/\s+$/, ''));
}
