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
    const images = split.images;
    if (images instanceof Float32Array) hash.update(typedBytes(images));
    else {
      // Read from the file a block of samples at a time: the same bytes as if held in memory.
      const size = split.count ? images.length / split.count : 0;
      for (let start = 0; start < split.count; start += HASH_BLOCK) {
        hash.update(typedBytes(images.subarray(start * size, Math.min(split.count, start + HASH_BLOCK) * size)));
      }
    }
    hash.update(typedBytes(split.labels));
  }
  return hash.digest('hex');
}

/** Samples of a lazily read split hashed per read. */
const HASH_BLOCK = 4096;

function typedBytes(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
