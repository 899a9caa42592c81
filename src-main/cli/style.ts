/**
 * Colour on a terminal, and only there: none when the stream is not a TTY, when NO_COLOR is set
 * to anything but the empty string (no-color.org), or when TERM is "dumb". The CLI's other
 * terminal output is plain text (the progress bar redraws with a carriage return only).
 */
export interface Style {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  bold(text: string): string;
}

const plain: Style = { red: (t) => t, yellow: (t) => t, green: (t) => t, bold: (t) => t };

const sgr = (on: number, off: number) => (t: string) => `\u001b[${on}m${t}\u001b[${off}m`;
const ansi: Style = { red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), bold: sgr(1, 22) };

export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  return colourWanted(stream, env) ? ansi : plain;
}

export const noStyle = plain;
