/**
 * Transformed variants of the built-in MNIST, as datasets of their own (`mnist:rotated`,
 * `mnist:inverted`, `mnist:downsampled`): the same digits and labels seen differently, so a
 * defence developed on `mnist` can be checked on data it was not tuned on. Each is a fixed,
 * deterministic transform of every image; the 80/20 split and `--limit` apply afterwards as for
 * any source.
 */
import { UserError } from '../errors.js';
import { pixelsInMemory, type Split } from './dataset.js';
import type { LoadedData } from './source.js';

export const MNIST_VARIANTS = ['rotated', 'inverted', 'downsampled'] as const;
export type MnistVariant = (typeof MNIST_VARIANTS)[number];

/** Every image turned a quarter turn clockwise: out(y, x) = in(H − 1 − x, y) (square images). */
export function rotateQuarter(images: Float32Array, count: number, side: number): Float32Array {
  const out = new Float32Array(images.length);
  const size = side * side;
  for (let n = 0; n < count; n++) {
    const o = n * size;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) out[o + y * side + x] = images[o + (side - 1 - x) * side + y];
  }
  return out;
}

/** Every pixel v becomes 1 − v: white digits on black become black digits on white. */
export function invert(images: Float32Array): Float32Array {
  return images.map((v) => 1 - v);
}

/** Every image halved in each direction by averaging 2×2 blocks (28×28 → 14×14). */
export function downsampleHalf(images: Float32Array, count: number, side: number): Float32Array {
  const half = side >> 1;
  const out = new Float32Array(count * half * half);
  for (let n = 0; n < count; n++) {
    const i0 = n * side * side;
    const o0 = n * half * half;
    for (let y = 0; y < half; y++) {
      for (let x = 0; x < half; x++) {
        const a = i0 + 2 * y * side + 2 * x;
        out[o0 + y * half + x] = (images[a] + images[a + 1] + images[a + side] + images[a + side + 1]) / 4;
      }
    }
  }
  return out;
}

/** The `mnist:VARIANT` dataset from the built-in digits. */
export function transformMnist(loaded: LoadedData, variant: string, spec: string): LoadedData {
  if (!(MNIST_VARIANTS as readonly string[]).includes(variant)) {
    throw new UserError(`The data spec "${spec}" names no MNIST variant we know; use mnist:${MNIST_VARIANTS.join(', mnist:')}.`);
  }
  if (!('pool' in loaded.splits)) throw new Error('The built-in MNIST is expected as one pool.');
  const pool = loaded.splits.pool;
  const [side, , channels] = loaded.shape;
  if (channels !== 1 || loaded.shape[0] !== loaded.shape[1]) throw new Error('The built-in MNIST is expected as square grey images.');
  let images: Float32Array;
  let shape: [number, number, number] = loaded.shape;
  const plain = pixelsInMemory(pool.images);
  if (variant === 'rotated') images = rotateQuarter(plain, pool.count, side);
  else if (variant === 'inverted') images = invert(plain);
  else { images = downsampleHalf(plain, pool.count, side); shape = [side >> 1, side >> 1, 1]; }
  const split: Split = { images, labels: pool.labels, count: pool.count, ...(pool.sources ? { sources: pool.sources } : {}) };
  return { ...loaded, name: `${loaded.name}, ${variant}`, shape, splits: { pool: split } };
}
