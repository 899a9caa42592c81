/** Shared helpers for the data-layer tests: temp folders and small synthetic IDX files. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, expect } from 'vitest';
import { UserError } from '../../../src-main/engine/errors.js';
import { encodeIdx } from '../../../src-main/engine/data/idx.js';

const created: string[] = [];

/** A fresh temporary folder, removed after the current test. */
export async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clear-data-test-'));
  created.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** Deterministic pseudo-random bytes (no Math.random in tests either). */
export function bytePattern(count: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 37 + salt * 101 + ((i * i) >> 3)) & 0xff);
}

/** Writes an images IDX file and a labels IDX file; returns their paths. */
export async function writeIdxPair(
  dir: string, prefix: string, pixels: Uint8Array, dims: number[], labels: number[], gzip = false,
): Promise<{ images: string; labels: string }> {
  const images = path.join(dir, `${prefix}-images.idx3-ubyte${gzip ? '.gz' : ''}`);
  const labelsFile = path.join(dir, `${prefix}-labels.idx1-ubyte${gzip ? '.gz' : ''}`);
  const pack = (b: Uint8Array) => (gzip ? gzipSync(b) : b);
  await fs.writeFile(images, pack(encodeIdx('u8', dims, pixels)));
  await fs.writeFile(labelsFile, pack(encodeIdx('u8', [labels.length], labels)));
  return { images, labels: labelsFile };
}

/** Asserts that the promise rejects with a UserError whose message contains every fragment. */
export async function expectUserError(promise: Promise<unknown>, ...fragments: string[]): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a UserError').toBeInstanceOf(UserError);
  const message = (err as UserError).message;
  for (const f of fragments) expect(message).toContain(f);
  // One sentence: ends with a full stop and has no line breaks.
  expect(message).toMatch(/\.$/);
  expect(message).not.toContain('\n');
  return message;
}

/**
 * Bit-for-bit equality of two typed arrays. Use this instead of toEqual/toBe on pixel arrays:
 * vitest's deep equality walks millions of elements one by one and takes tens of seconds.
 */
export function sameArray(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  const bytes = (x: Float32Array | Int32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return a.constructor === b.constructor && bytes(a).equals(bytes(b));
}
