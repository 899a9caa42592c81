/**
 * The IDX file format (the one the original MNIST files use), read and written.
 *
 * Layout: two zero bytes, a type byte, a dimension-count byte, one big-endian u32 per
 * dimension, then the values, big-endian, row-major. We use type 0x08 (u8) for labels and
 * 8-bit pixels, 0x0D (float32) for pixels that are not whole multiples of 1/255 (poisons
 * crafted by attacks), and read 0x0C (int32) labels for datasets with more than 256 classes.
 * Images have 3 dimensions [N, H, W] (one channel) or 4 dimensions [N, H, W, C]. A saved
 * dataset's sample sources are int32 [N, 2]: each sample's place and its number there (sources.ts).
 */
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { shown } from './files.js';

export type IdxType = 'u8' | 'i32' | 'f32';

export interface IdxArray {
  type: IdxType;
  /** dims[0] is the item count. */
  dims: number[];
  data: Uint8Array | Int32Array | Float32Array;
}

export type IdxRole = 'labels' | 'images' | 'sources';

const TYPE_BY_CODE: Record<number, IdxType> = { 0x08: 'u8', 0x0c: 'i32', 0x0d: 'f32' };
const CODE_BY_TYPE: Record<IdxType, number> = { u8: 0x08, i32: 0x0c, f32: 0x0d };
const BYTES_PER_VALUE: Record<IdxType, number> = { u8: 1, i32: 4, f32: 4 };
const EXPECTED_MAGIC: Record<IdxRole, string> = {
  labels: '0x00000801',
  images: '0x00000803 (or 0x00000D03 for float32 pixels)',
  sources: '0x00000C02',
};

function hex32(bytes: Uint8Array): string {
  const value = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  return `0x${value.toString(16).toUpperCase().padStart(8, '0')}`;
}

function magicMatchesRole(role: IdxRole, type: IdxType | undefined, ndims: number): boolean {
  if (role === 'labels') return (type === 'u8' || type === 'i32') && ndims === 1;
  if (role === 'sources') return type === 'i32' && ndims === 2;
  return (type === 'u8' || type === 'f32') && (ndims === 3 || ndims === 4);
}

/** What an IDX header declares: the value type, the dimensions (dims[0] is the item count) and the sizes they imply. */
export interface IdxHeader {
  type: IdxType;
  dims: number[];
  headerBytes: number;
  /** Values and bytes of one item (one label, one image). */
  itemValues: number;
  itemBytes: number;
  /** Bytes of all the items, the length the file must have after its header. */
  bodyBytes: number;
}

/** The largest IDX header: the magic number and 255 dimensions. */
export const MAX_IDX_HEADER_BYTES = 4 + 4 * 255;

/**
 * Parses the header from the first bytes of an (already gunzipped) IDX file, or returns
 * undefined when `head` ends before the header does. The magic number must match the role,
 * and the declared item count and image size must lie within the limits, so nothing is
 * allocated for a file that declares more than the app accepts.
 */
export function parseIdxHeader(head: Uint8Array, file: string, role: IdxRole): IdxHeader | undefined {
  if (head.length < 4) return undefined;
  const type = head[0] === 0 && head[1] === 0 ? TYPE_BY_CODE[head[2]] : undefined;
  const ndims = head[3];
  if (!magicMatchesRole(role, type, ndims)) {
    throw new UserError(
      `The file ${shown(file)} is not an IDX ${role} file: its magic number is ${hex32(head)} but ${EXPECTED_MAGIC[role]} was expected.`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (head.length < headerBytes) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const name = `The IDX file ${shown(file)}`;
  checkLimit('samples', dims[0], name, `declares ${dims[0]} items`);
  if (role === 'sources' && dims[1] !== 2) {
    throw new UserError(`${name} declares ${dims[1]} values per sample, but a sources file holds 2 (a place and a number).`);
  }
  if (role === 'images') {
    const [h, w, c = 1] = dims.slice(1);
    if (h === 0 || w === 0 || c === 0) {
      throw new UserError(`${name} declares images of ${dims.slice(1).join('×')} values, which hold nothing.`);
    }
    checkLimit('imagePixels', h * w, name, `declares images of ${h}×${w} pixels`);
    checkLimit('sampleValues', h * w * c, name, `declares images of ${h}×${w}×${c} values`);
  }
  const itemValues = dims.slice(1).reduce((a, b) => a * b, 1);
  const itemBytes = itemValues * BYTES_PER_VALUE[type!];
  return { type: type!, dims, headerBytes, itemValues, itemBytes, bodyBytes: dims[0] * itemBytes };
}

/** The error for an IDX file whose body is not the length its header declares, or undefined when it is. */
export function idxLengthError(header: IdxHeader, bodyBytes: number, file: string): UserError | undefined {
  const declared = header.dims[0];
  if (bodyBytes < header.bodyBytes) {
    const held = Math.floor(bodyBytes / header.itemBytes);
    return new UserError(`The IDX file ${shown(file)} is truncated: its header declares ${declared} items but it holds ${held}.`);
  }
  if (bodyBytes > header.bodyBytes) {
    return new UserError(
      `The IDX file ${shown(file)} is longer than its header declares (${declared} items), so it is probably not an IDX file.`);
  }
  return undefined;
}

/** The error for an IDX file that ends before its header does. */
export function idxShortHeaderError(length: number, file: string): UserError {
  return length < 4
    ? new UserError(`The IDX file ${shown(file)} is truncated: it is only ${length} bytes long.`)
    : new UserError(`The IDX file ${shown(file)} is truncated: it ends inside its header.`);
}

/** Parses an (already gunzipped) IDX file held in memory; `file` is only used in error messages. */
export function decodeIdx(bytes: Uint8Array, file: string, role: IdxRole): IdxArray {
  const header = parseIdxHeader(bytes, file, role);
  if (header === undefined) throw idxShortHeaderError(bytes.length, file);
  const lengthError = idxLengthError(header, bytes.length - header.headerBytes, file);
  if (lengthError) throw lengthError;
  const body = header.type === 'u8' ? bytes.slice(header.headerBytes) : bytes.subarray(header.headerBytes);
  return idxValues(header, body);
}

/** The values of an IDX body that holds exactly what `header` declares (u8 values are a view of it). */
export function idxValues(header: IdxHeader, body: Uint8Array): IdxArray {
  const { type, dims } = header;
  const count = dims[0] * header.itemValues;
  if (type === 'u8') return { type, dims, data: body.subarray(0, count) };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out = type === 'i32' ? new Int32Array(count) : new Float32Array(count);
  const read = type === 'i32' ? view.getInt32.bind(view) : view.getFloat32.bind(view);
  for (let i = 0; i < count; i++) out[i] = read(4 * i, false);
  return { type, dims, data: out };
}

/** Serialises values into an IDX file. dims[0] is the item count. */
export function encodeIdx(type: IdxType, dims: readonly number[], data: ArrayLike<number>): Uint8Array {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new RangeError(`IDX data holds ${data.length} values but dims [${dims.join(', ')}] need ${expected}.`);
  }
  const headerBytes = 4 + 4 * dims.length;
  const bytes = new Uint8Array(headerBytes + expected * BYTES_PER_VALUE[type]);
  const view = new DataView(bytes.buffer);
  bytes[2] = CODE_BY_TYPE[type];
  bytes[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (type === 'u8') {
    bytes.set(data, headerBytes);
  } else {
    const write = type === 'i32' ? view.setInt32.bind(view) : view.setFloat32.bind(view);
    for (let i = 0; i < expected; i++) write(headerBytes + 4 * i, data[i], false);
  }
  return bytes;
}

/** The image shape [H, W, C] of an IDX images array. */
export function idxImageShape(idx: IdxArray): [number, number, number] {
  return [idx.dims[1], idx.dims[2], idx.dims.length === 4 ? idx.dims[3] : 1];
}

/**
 * Converts IDX pixels to float32 in [0, 1]: u8 values are divided by 255; float32 values are
 * kept but must already lie in [0, 1].
 */
export function idxPixelsToFloat(idx: IdxArray, file: string): Float32Array {
  if (idx.type === 'u8') return bytesToUnit(idx.data as Uint8Array);
  const data = idx.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // The negated test also catches NaN.
    if (!(v >= 0 && v <= 1)) {
      throw new UserError(`The IDX file ${shown(file)} has a pixel value of ${v}, outside the range 0–1 that float32 pixels must use.`);
    }
  }
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

// A lookup table makes u8 → float conversion a single read per pixel, and guarantees that
// every loader produces exactly the same float for the same byte (the fingerprint relies on it).
const UNIT_FROM_BYTE = Float32Array.from({ length: 256 }, (_, b) => b / 255);

export function bytesToUnit(bytes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bytes.length);
  bytesToUnitInto(bytes, out, 0);
  return out;
}

/** bytesToUnit into `out` from position `at`. */
export function bytesToUnitInto(bytes: ArrayLike<number>, out: Float32Array, at: number): void {
  for (let i = 0; i < bytes.length; i++) out[at + i] = UNIT_FROM_BYTE[bytes[i]];
}

/** Labels as int32, whatever the IDX type. */
export function idxLabels(idx: IdxArray): Int32Array {
  return idx.data instanceof Int32Array ? idx.data : Int32Array.from(idx.data);
}
