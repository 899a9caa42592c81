/**
 * Dataset fingerprints. Kept out of dataset.ts so that file stays free of Node built-ins and
 * the renderer can import its types and helpers.
 */
import { createHash } from 'node:crypto';
import type { Split } from './dataset.js';

/**
 * The dataset fingerprint: SHA-256 (hex) over a JSON header (shape, class names, split
 * sizes) followed by the raw bytes of train images, train labels, test images, test labels.
 * The split sizes in the header make the byte stream unambiguous. Typed arrays are hashed in
 * the machine's byte order, which is little-endian on every platform the app ships for.
 * The name and spec are left out on purpose: the same data loaded from `idx:` or from a
 * saved `dir:` copy has the same fingerprint.
 */
export function datasetFingerprint(
  shape: readonly [number, number, number], classNames: readonly string[], train: Split, test: Split,
): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ shape, classNames, train: train.count, test: test.count }));
  for (const split of [train, test]) {
    hash.update(typedBytes(split.images));
    hash.update(typedBytes(split.labels));
  }
  return hash.digest('hex');
}

function typedBytes(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
