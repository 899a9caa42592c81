/**
 * The inputs the fuzz suites found failing, kept under test/fixtures/fuzz/<parser>/ and read
 * back by the regression tests. JSON fixtures may tag what JSON cannot hold:
 * `{"$bigint": "1"}` is 1n, `{"$nullPrototype": {...}}` an object without a prototype, and a
 * field whose value is `{"$self": true}` holds the object it is a field of (a cycle).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/fuzz');

export function fixturePath(parser: string, name: string): string {
  return path.join(FIXTURES, parser, name);
}

export function fixtureBytes(parser: string, name: string): Buffer {
  return readFileSync(fixturePath(parser, name));
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (typeof obj.$bigint === 'string' && Object.keys(obj).length === 1) return BigInt(obj.$bigint);
  if ('$nullPrototype' in obj && Object.keys(obj).length === 1) return Object.assign(Object.create(null), revive(obj.$nullPrototype));
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, revive(v)]));
  // `{"$self": true}` as a field's value is the object holding that field: a cycle.
  for (const [k, v] of Object.entries(obj)) if (v !== null && typeof v === 'object' && (v as Record<string, unknown>).$self === true) out[k] = out;
  return out;
}

export function fixtureJson<T = Record<string, unknown>>(parser: string, name: string): T {
  return revive(JSON.parse(readFileSync(fixturePath(parser, name), 'utf8'))) as T;
}
