/**
 * Property-based fuzzing of the parsers of untrusted input (fast-check, fixed seed).
 *
 * Every generated or mutated input must end one of two ways: the parser returns a result that
 * passes the suite's own checks, or it throws the product's clean user-facing error (a
 * UserError, or an error whose `kind` is 'user', with a one-line message ending in a full stop
 * that names what was read). Anything else is a crash: a TypeError, a RangeError, a message
 * that is not one sentence. An input that takes more than the suite's CPU budget (measured as
 * this process's CPU time, so a machine busy with other work does not make it a hang) or its
 * wall-clock ceiling is a hang, and one after which the process holds more ArrayBuffer memory
 * than the suite's allocation budget is an over-allocation; both fail the suite too.
 *
 * Each suite prints one line of counts. A failing input is written to a temporary file whose
 * path the failure names, to be kept as a fixture under test/fixtures/fuzz/<parser>/.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { UserError } from '../../../src-main/engine/errors.js';

/** The one seed every suite uses, so a run in CI reproduces a run here exactly. */
export const FUZZ_SEED = 20_261_201;

export interface Counts { inputs: number; valid: number; clean: number; crashes: number; hangs: number }

export interface FuzzSuite<T> {
  /** The parser's name, as the count line and the fixture folder name it. */
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Feeds one input to the parser; resolves to its result or rejects with its error. */
  run: (input: T) => unknown;
  /** Checks a result the parser returned (within the limits, consistent); throws to report it. */
  check?: (result: unknown, input: T) => void;
  /**
   * For parsers that answer instead of throwing (the contract's validators): whether a returned
   * result is a valid parse or a clean refusal. Returned results count as valid without it.
   */
  classify?: (result: unknown, input: T) => 'valid' | 'clean';
  /** Whether a thrown error is the product's clean error; by default cleanError(). */
  isClean?: (err: unknown, input: T) => boolean;
  /** A fragment every clean error's message must hold (the file or folder read), when there is one. */
  names?: (input: T) => string | undefined;
  /** Bytes of an input as a fixture file (for failing inputs); JSON text by default. */
  toBytes?: (input: T) => Uint8Array | string;
  numRuns?: number;
  /** CPU milliseconds one input may take (default 3,000: well above any input's real cost, below any loop that does not end). */
  cpuBudgetMs?: number;
  /** Wall-clock milliseconds one input may take before it counts as hung (default 30,000). */
  wallBudgetMs?: number;
  /** ArrayBuffer bytes the process may hold after an input beyond what it held before (default 64 MiB). */
  allocBudgetBytes?: number;
}

/** A one-line message ending in a full stop (a sentence, possibly with inner full stops in numbers or names). */
export function oneSentence(message: string): boolean {
  return message.length > 0 && message.length <= 2000 && !/[\r\n]/.test(message) && /[.]$/.test(message)
    && !message.startsWith('Internal error');
}

/** The engine's UserError, or any error carrying kind 'user' (the project's ProjectError), with a one-sentence message. */
export function cleanError(err: unknown): boolean {
  const user = err instanceof UserError || (err instanceof Error && (err as { kind?: unknown }).kind === 'user');
  return user && oneSentence((err as Error).message);
}

class Hang extends Error {}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.stack ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : ''}`;
  return `a thrown ${typeof err}: ${String(err)}`;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function withWallLimit<R>(work: () => R | Promise<R>, ms: number): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const ceiling = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Hang(`still running after ${ms} ms`)), ms); });
  try {
    return await Promise.race([Promise.resolve().then(work), ceiling]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the suite's property over numRuns inputs with the fixed seed, prints the count line and
 * fails (naming the input's fixture file) on the first crash, hang or over-allocation.
 */
export async function fuzz<T>(suite: FuzzSuite<T>): Promise<Counts> {
  const counts: Counts = { inputs: 0, valid: 0, clean: 0, crashes: 0, hangs: 0 };
  const cpuBudget = suite.cpuBudgetMs ?? 3000;
  const wallBudget = suite.wallBudgetMs ?? 30_000;
  const allocBudget = suite.allocBudgetBytes ?? 64 * 1024 * 1024;
  const isClean = suite.isClean ?? ((err: unknown) => cleanError(err));
  let failure: string | undefined;

  const keep = (input: T, why: string): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `clear-fuzz-${suite.name}-`));
    const file = path.join(dir, 'input');
    try {
      writeFileSync(file, suite.toBytes ? suite.toBytes(input) : JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    } catch { /* an input that cannot be written is described by fast-check's report instead */ }
    return `${why} (input kept in ${file})`;
  };

  const trace = process.env.CLEAR_FUZZ_TRACE;
  const property = fc.asyncProperty(suite.arbitrary, async (input) => {
    counts.inputs++;
    // To find an input that hangs the process (a loop no timer can interrupt): each input is written before it runs.
    if (trace) writeFileSync(`${trace}-${suite.name}`, suite.toBytes ? suite.toBytes(input) : JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const cpuBefore = cpuMs();
    let outcome: 'valid' | 'clean' | 'crash' | 'hang';
    let why = '';
    try {
      const result = await withWallLimit(() => suite.run(input), wallBudget);
      suite.check?.(result, input);
      outcome = suite.classify ? suite.classify(result, input) : 'valid';
    } catch (err) {
      if (err instanceof Hang) { outcome = 'hang'; why = err.message; } else if (isClean(err, input)) {
        const fragment = suite.names?.(input);
        if (fragment !== undefined && !(err as Error).message.includes(fragment)) {
          outcome = 'crash';
          why = `the error does not name ${fragment}: ${(err as Error).message}`;
        } else {
          outcome = 'clean';
        }
      } else {
        outcome = 'crash';
        why = describe(err);
      }
    }
    const cpu = cpuMs() - cpuBefore;
    if (outcome !== 'hang' && outcome !== 'crash' && cpu > cpuBudget) { outcome = 'hang'; why = `took ${Math.round(cpu)} ms of CPU`; }
    const grown = process.memoryUsage().arrayBuffers - buffersBefore;
    if (outcome !== 'hang' && outcome !== 'crash' && grown > allocBudget) {
      outcome = 'crash';
      why = `left ${Math.round(grown / 2 ** 20)} MiB of ArrayBuffers allocated, above the ${Math.round(allocBudget / 2 ** 20)} MiB budget`;
    }
    if (outcome === 'valid') counts.valid++;
    else if (outcome === 'clean') counts.clean++;
    else if (outcome === 'hang') counts.hangs++;
    else counts.crashes++;
    if (outcome === 'crash' || outcome === 'hang') {
      failure ??= keep(input, `${outcome}: ${why}`);
      return false;
    }
    return true;
  });

  const result = await fc.check(property, { seed: FUZZ_SEED, numRuns: suite.numRuns ?? 1000, endOnFailure: true });
  console.log(`fuzz ${suite.name}: ${counts.inputs} inputs, ${counts.valid} valid, ${counts.clean} clean errors, ${counts.crashes} crashes, ${counts.hangs} hangs`);
  if (result.failed && failure === undefined) failure = `fast-check failed: ${String(result.errorInstance ?? 'no error')}`;
  expect(failure, `fuzz ${suite.name}`).toBeUndefined();
  expect(counts.inputs).toBeGreaterThanOrEqual(suite.numRuns ?? 1000);
  return counts;
}

// --- inputs ---------------------------------------------------------------------------------

/** Values a header field is set to: zero, one, the edges of 8-, 16- and 32-bit ranges. */
export const EXTREMES = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number; little: boolean }
  | { op: 'u16'; at: number; value: number; little: boolean }
  | { op: 'truncate'; at: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'replace'; bytes: Uint8Array };

/** A position: mostly in the first bytes (where headers are), sometimes anywhere. */
const position = fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 63 }) }, { weight: 1, arbitrary: fc.nat({ max: 1 << 20 }) });
const extreme = fc.constantFrom(...EXTREMES);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('u32' as const), at: position, value: extreme, little: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('u16' as const), at: position, value: fc.constantFrom(0, 1, 2, 0x7fff, 0x8000, 0xffff), little: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
);

/** Applies mutations in order; positions wrap around the current length. */
export function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(seed);
  for (const m of mutations) {
    const n = b.length;
    switch (m.op) {
      case 'flip': if (n > 0) b[m.at % n] ^= 1 << m.bit; break;
      case 'set': if (n > 0) b[m.at % n] = m.value; break;
      case 'u32': case 'u16': {
        const size = m.op === 'u32' ? 4 : 2;
        if (n < size) break;
        const at = m.at % (n - size + 1);
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (size === 4) view.setUint32(at, m.value >>> 0, m.little); else view.setUint16(at, m.value & 0xffff, m.little);
        break;
      }
      case 'truncate': b = b.slice(0, n === 0 ? 0 : m.at % (n + 1)); break;
      case 'delete': if (n > 0) { const at = m.at % n; b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.length)]); } break;
      case 'insert': { const at = n === 0 ? 0 : m.at % (n + 1); b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]); break; }
      case 'append': b = Uint8Array.from([...b, ...m.bytes]); break;
      case 'replace': b = Uint8Array.from(m.bytes); break;
    }
  }
  return b;
}

/**
 * One of the seeds, unchanged or with up to `max` mutations: unchanged one time in eight by
 * default, more often for one of several files of an input (so the others are mostly valid).
 */
export function mutatedBytes(seeds: readonly Uint8Array[], max = 4, unchanged = 1): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.oneof({ weight: unchanged, arbitrary: fc.constant([] as Mutation[]) }, { weight: 7, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: max }) }))
    .map(([k, ms]) => mutate(seeds[k], ms));
}

// --- JSON documents ---------------------------------------------------------------------------

/** Values a JSON field is replaced with: wrong types, edges of numbers, long strings, deep nesting. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 0.5, 1.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324,
    '', '..', '../../etc/passwd', '/abs/path', 'a\u0000b', '\u202e', 'x'.repeat(5000), [], {}, [[[[[[[[[[[]]]]]]]]]]], JSON.parse('{"__proto__": {"x": 1}}'),
    'clear-scan/2', 'clear-project/1', 'clear-dataset', 'toString', '__proto__', 'constructor'),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.array(fc.integer({ min: -3, max: 1_000_000 }), { maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);

export type JsonEdit = { pick: number; op: 'replace' | 'delete' | 'wrap' | 'grow'; value: unknown };

export const jsonEditArb: fc.Arbitrary<JsonEdit> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'wrap', 'grow') as fc.Arbitrary<JsonEdit['op']>,
  value: hostileJson,
});

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function slots(value: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(value)) value.forEach((v, i) => { out.push({ parent: value, key: i }); slots(v, out); });
  else if (value !== null && typeof value === 'object') {
    for (const k of Object.keys(value)) { out.push({ parent: value as Record<string, unknown>, key: k }); slots((value as Record<string, unknown>)[k], out); }
  }
  return out;
}

/** A deep copy of `doc` with the edits applied at fields chosen among all of its fields, nested ones included. */
export function editJson(doc: unknown, edits: readonly JsonEdit[]): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  for (const e of edits) {
    const all = slots(copy);
    if (all.length === 0) return e.value;
    const { parent, key } = all[e.pick % all.length];
    const current = (parent as Record<string | number, unknown>)[key];
    if (e.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1); else delete parent[key as string];
    } else if (e.op === 'wrap') {
      (parent as Record<string | number, unknown>)[key] = [current];
    } else if (e.op === 'grow' && Array.isArray(current)) {
      // A list made long: its first item repeated.
      (parent as Record<string | number, unknown>)[key] = Array.from({ length: 3000 }, () => current[0] ?? e.value);
    } else {
      (parent as Record<string | number, unknown>)[key] = JSON.parse(JSON.stringify(e.value ?? null));
    }
  }
  return copy;
}

/** A JSON document: a seed with field edits, or its text with byte mutations (broken JSON, odd encodings). */
export function mutatedJsonText(seeds: readonly unknown[]): fc.Arbitrary<string | Uint8Array> {
  const texts = seeds.map((s) => new TextEncoder().encode(JSON.stringify(s)));
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(jsonEditArb, { minLength: 0, maxLength: 3 })).map(([k, edits]) => JSON.stringify(editJson(seeds[k], edits))) },
    { weight: 2, arbitrary: mutatedBytes(texts, 3) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  );
}
