/**
 * Writes a float32 matrix as a NumPy .npy file (format version 1.0; npy.ts reads it back), so
 * that features computed here can be handed to a vector index elsewhere (numpy.load, Faiss).
 *
 * The header is the dict literal NumPy writes, `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (N, D), }`, padded with spaces and ended with a newline so that the values begin at
 * a multiple of 64 bytes, as NumPy aligns them. Values are little-endian, in C order.
 */
import { writeNewFileAtomically } from '../model/files.js';

/** The values start at a multiple of this (NumPy's own alignment since 1.15). */
const ALIGNMENT = 64;

/** The bytes of a .npy file holding `values` as a float32 array of `shape` (C order). */
export function float32NpyBytes(values: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0) || count !== values.length) {
    throw new RangeError(`float32NpyBytes: shape ${shape.join('×')} does not hold the ${values.length} values given.`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6), version (2), header length (2), then the dict, padded, and a newline.
  const unpadded = 10 + dict.length + 1;
  const headerLength = Math.ceil(unpadded / ALIGNMENT) * ALIGNMENT - 10;
  if (headerLength > 0xffff) throw new RangeError('float32NpyBytes: the header does not fit format version 1.0.');
  const text = `${dict}${' '.repeat(headerLength - dict.length - 1)}\n`;
  const bytes = new Uint8Array(10 + headerLength + values.length * 4);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, headerLength & 0xff, headerLength >> 8]);
  bytes.set(Buffer.from(text, 'latin1'), 10);
  const body = new DataView(bytes.buffer, 10 + headerLength);
  for (let i = 0; i < values.length; i++) body.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** Writes `values` (`rows × columns`, row-major) to a new .npy file, whole or not at all; an existing file is never replaced. */
export function writeFloat32Npy(file: string, values: Float32Array, rows: number, columns: number): void {
  writeNewFileAtomically(file, float32NpyBytes(values, [rows, columns]));
}
