/**
 * NumPy's .npy format (versions 1, 2 and 3), read from bytes already in memory.
 *
 * Layout: the magic string \x93NUMPY, a major and a minor version byte, the header's length
 * (2 bytes little-endian in version 1, 4 in versions 2 and 3), the header (a Python dict
 * literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }`),
 * then the values in C order.
 *
 * Only what image data needs is read: integers of 1 to 8 bytes (labels), uint8, float32 and
 * float64 (images). Object arrays (which NumPy pickles) are refused, never unpickled, and so
 * are Fortran-order arrays and structured types. The header is parsed with patterns, never
 * evaluated.
 *
 * Images are 2-D (N, F: feature vectors, shape [1, 1, F]), 3-D (N, H, W: one channel) or 4-D,
 * where the channel axis is told by its size: (N, H, W, C) with C of 1 or 3 is NHWC, as Keras
 * saves it; otherwise (N, C, H, W) with C of 1 or 3 is NCHW, as PyTorch saves it, and is moved
 * to NHWC. When both ends could be channels (N, 3, 32, 3) NHWC wins, and the description says so.
 */
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { bytesToUnit } from './idx.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** The longest header read: NumPy itself refuses headers above 10,000 bytes unless told otherwise. */
export const MAX_NPY_HEADER_BYTES = 65_536;

export type NpyType = 'u1' | 'i1' | 'u2' | 'i2' | 'u4' | 'i4' | 'u8' | 'i8' | 'f4' | 'f8';

const TYPE_NAMES: Record<NpyType, string> = {
  u1: 'uint8', i1: 'int8', u2: 'uint16', i2: 'int16', u4: 'uint32', i4: 'int32', u8: 'uint64', i8: 'int64',
  f4: 'float32', f8: 'float64',
};

/** What an array is read as: images, labels, or a neighbour index (features/imported.ts). */
export type NpyRole = 'images' | 'labels' | 'neighbours';

/** What a .npy header declares. */
export interface NpyHeader {
  type: NpyType;
  littleEndian: boolean;
  shape: number[];
  /** Bytes before the values: magic, version, length and header. */
  headerBytes: number;
  /** Values of one item (one image, one label) and their bytes. */
  itemValues: number;
  itemBytes: number;
  /** Bytes of all the values, what must follow the header. */
  bodyBytes: number;
}

/** The NumPy name of an array's value type (`uint8`, `float32`…). */
export function npyTypeName(type: NpyType): string {
  return TYPE_NAMES[type];
}

/** The shape as messages write it: `60000×28×28`. */
export function npyShapeText(shape: readonly number[]): string {
  return shape.length === 0 ? 'a single value' : shape.join('×');
}

/**
 * Parses the header at the start of `head`, or returns undefined when `head` ends before the
 * header does. `name` begins every message (`The NPY file x.npy`). The declared item count and
 * item size are checked against the limits here, before anything is allocated for them.
 */
export function parseNpyHeader(head: Uint8Array, name: string, role: NpyRole): NpyHeader | undefined {
  const known = Math.min(head.length, MAGIC.length);
  for (let i = 0; i < known; i++) {
    if (head[i] !== MAGIC[i]) throw new UserError(`${name} is not a NumPy .npy file: it does not begin with the bytes \\x93NUMPY.`);
  }
  if (head.length < 10) return undefined;
  const major = head[6];
  if (major < 1 || major > 3) throw new UserError(`${name} is a .npy file of format version ${major}, which this app does not read (versions 1 to 3).`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lengthBytes) return undefined;
  const textBytes = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (textBytes > MAX_NPY_HEADER_BYTES) {
    throw new UserError(`${name} declares a header of ${textBytes} bytes, more than the ${MAX_NPY_HEADER_BYTES} a .npy header may have.`);
  }
  const headerBytes = 8 + lengthBytes + textBytes;
  if (head.length < headerBytes) return undefined;
  const text = Buffer.from(head.buffer, head.byteOffset + 8 + lengthBytes, textBytes).toString('latin1');
  const { type, littleEndian } = parseDescr(text, name);
  if (/['"]fortran_order['"]\s*:\s*True/.test(text)) {
    throw new UserError(`${name} holds a Fortran-order (column-major) array; save it in C order, e.g. with numpy.ascontiguousarray.`);
  }
  const shape = parseShape(text, name);
  const count = shape.length === 0 ? 1 : shape[0];
  checkLimit('samples', count, name, `declares ${count} items`);
  checkRole(shape, type, name, role);
  const itemValues = shape.slice(1).reduce((a, b) => a * b, 1);
  const itemBytes = itemValues * bytesPerValue(type);
  return { type, littleEndian, shape, headerBytes, itemValues, itemBytes, bodyBytes: count * itemBytes };
}

function bytesPerValue(type: NpyType): number {
  return Number(type.slice(1));
}

function parseDescr(text: string, name: string): { type: NpyType; littleEndian: boolean } {
  const match = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  if (!match) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) throw new UserError(`${name} holds a structured array (a record type), but only plain arrays of numbers are read.`);
    throw new UserError(`${name} has a header without a value type (descr), so it is not a .npy file this app reads.`);
  }
  const descr = /^([<>|=])([uif])(\d)$/.exec(match[2]);
  const type = descr ? `${descr[2]}${descr[3]}` as NpyType : undefined;
  if (!descr || !(type! in TYPE_NAMES)) {
    const what = match[2] === '|O' ? 'Python objects (which would need unpickling)' : `values of type ${match[2].length <= 12 ? match[2] : 'unknown'}`;
    throw new UserError(`${name} holds ${what}, but only integer, uint8, float32 and float64 arrays are read.`);
  }
  return { type: type!, littleEndian: descr[1] !== '>' };
}

function parseShape(text: string, name: string): number[] {
  const match = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!match) throw new UserError(`${name} has a header without a shape, so it is not a .npy file this app reads.`);
  const parts = match[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length > 8) throw new UserError(`${name} declares an array of ${parts.length} dimensions, but images have at most 4.`);
  return parts.map((part) => {
    const value = /^\d{1,16}L?$/.test(part) ? Number.parseInt(part, 10) : Number.NaN;
    if (!Number.isSafeInteger(value)) throw new UserError(`${name} declares a shape with a dimension that is not a whole number.`);
    return value;
  });
}

/** The array must have the dimensions and value type its role needs, and images a size within the limits. */
function checkRole(shape: number[], type: NpyType, name: string, role: NpyRole): void {
  const typeName = TYPE_NAMES[type];
  if (role === 'labels') {
    if (type === 'f4' || type === 'f8') throw new UserError(`${name} holds ${typeName} labels, but labels must be whole numbers (an integer array).`);
    if (shape.length === 0 || shape.length > 2 || (shape.length === 2 && shape[1] !== 1)) {
      throw new UserError(`${name} holds an array of ${npyShapeText(shape)} values, but labels must be one class number per sample (shape N or N×1).`);
    }
    return;
  }
  if (role === 'neighbours') {
    if (type !== 'i4' && type !== 'i8') throw new UserError(`${name} holds ${typeName} values, but neighbour indices must be int32 or int64 (what Faiss's search returns).`);
    if (shape.length !== 2) throw new UserError(`${name} holds an array of ${npyShapeText(shape)} values, but neighbour indices must be one row per training sample (shape N×K).`);
    return;
  }
  if (type !== 'u1' && type !== 'f4' && type !== 'f8') {
    throw new UserError(`${name} holds ${typeName} values, but images must be uint8, float32 or float64.`);
  }
  if (shape.length < 2 || shape.length > 4) {
    throw new UserError(`${name} holds an array of ${npyShapeText(shape)} values, but images must have 2 to 4 dimensions (N×F, N×H×W, N×H×W×C or N×C×H×W).`);
  }
  if (shape.slice(1).some((d) => d === 0)) throw new UserError(`${name} declares images of ${shape.slice(1).join('×')} values, which hold nothing.`);
  const { shape: [h, w, c] } = npyLayout(shape, name);
  checkLimit('imagePixels', h * w, name, `declares images of ${h}×${w} pixels`);
  checkLimit('sampleValues', h * w * c, name, `declares images of ${h}×${w}×${c} values`);
}

export type NpyLayout = 'vectors' | 'NHW' | 'NHWC' | 'NCHW';

/** The image shape [H, W, C] an images array gives, and the layout its dimensions were read in. */
export function npyLayout(shape: readonly number[], name: string): { shape: [number, number, number]; layout: NpyLayout; ambiguous: boolean } {
  if (shape.length === 2) return { shape: [1, 1, shape[1]], layout: 'vectors', ambiguous: false };
  if (shape.length === 3) return { shape: [shape[1], shape[2], 1], layout: 'NHW', ambiguous: false };
  const [, a, b, c] = shape;
  const channel = (d: number) => d === 1 || d === 3;
  if (channel(c)) return { shape: [a, b, c], layout: 'NHWC', ambiguous: channel(a) };
  if (channel(a)) return { shape: [b, c, a], layout: 'NCHW', ambiguous: false };
  throw new UserError(
    `${name} holds images of ${shape.slice(1).join('×')} values with no channel axis of size 1 or 3 at either end, so whether they are NHWC or NCHW cannot be told.`);
}

/** How an images array was read, for the dataset's description. */
export function layoutText(layout: NpyLayout, ambiguous: boolean): string {
  switch (layout) {
    case 'vectors': return 'feature vectors';
    case 'NHW': return 'NHW (one channel)';
    case 'NHWC': return ambiguous ? 'NHWC (channels last; channels first was also possible, and channels last was assumed)' : 'NHWC (channels last)';
    default: return 'NCHW (channels first), moved to NHWC';
  }
}

/** The values as a typed array of their own type (a view when aligned and little-endian, else a copy). */
function typedValues(header: NpyHeader, body: Uint8Array): ArrayLike<number> | BigInt64Array | BigUint64Array {
  const size = bytesPerValue(header.type);
  const count = header.bodyBytes / size;
  let bytes = body.subarray(0, header.bodyBytes);
  if (size > 1 && (!header.littleEndian || bytes.byteOffset % size !== 0)) {
    bytes = bytes.slice();
    if (!header.littleEndian) {
      for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
    }
  }
  const { buffer, byteOffset } = bytes;
  switch (header.type) {
    case 'u1': return bytes;
    case 'i1': return new Int8Array(buffer, byteOffset, count);
    case 'u2': return new Uint16Array(buffer, byteOffset, count);
    case 'i2': return new Int16Array(buffer, byteOffset, count);
    case 'u4': return new Uint32Array(buffer, byteOffset, count);
    case 'i4': return new Int32Array(buffer, byteOffset, count);
    case 'u8': return new BigUint64Array(buffer, byteOffset, count);
    case 'i8': return new BigInt64Array(buffer, byteOffset, count);
    case 'f4': return new Float32Array(buffer, byteOffset, count);
    default: return new Float64Array(buffer, byteOffset, count);
  }
}

/** Labels as int32; a label beyond what int32 holds is refused, naming its item. */
export function npyLabels(header: NpyHeader, body: Uint8Array, name: string): Int32Array {
  const values = typedValues(header, body);
  const out = new Int32Array(header.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const v = Number(values[i]);
    if (v < -0x80000000 || v > 0x7fffffff) {
      throw new UserError(`${name} has label ${String(values[i])} at item ${i}, but labels must be class numbers from 0 up.`);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Images as NHWC float32 in [0, 1]: uint8 values are divided by 255 (exactly as every other
 * loader does, so the same bytes give the same fingerprint); float values must all lie in 0–1,
 * or all be whole numbers from 0 to 255 (then divided by 255), as for CSV files.
 */
export function npyImages(header: NpyHeader, body: Uint8Array, name: string): { images: Float32Array; shape: [number, number, number]; layout: NpyLayout; ambiguous: boolean } {
  const { shape, layout, ambiguous } = npyLayout(header.shape, name);
  const values = typedValues(header, body) as Uint8Array | Float32Array | Float64Array;
  let unit: ArrayLike<number>;
  if (values instanceof Uint8Array) {
    unit = bytesToUnit(values);
  } else {
    unit = floatsToUnit(values, name);
  }
  if (layout !== 'NCHW') return { images: unit instanceof Float32Array ? unit : Float32Array.from(unit), shape, layout, ambiguous };
  const [h, w, c] = shape;
  const plane = h * w;
  const size = plane * c;
  const count = header.shape[0];
  const images = new Float32Array(count * size);
  for (let n = 0; n < count; n++) {
    const o = n * size;
    for (let ch = 0; ch < c; ch++) {
      const from = o + ch * plane;
      for (let p = 0; p < plane; p++) images[o + p * c + ch] = unit[from + p];
    }
  }
  return { images, shape, layout, ambiguous };
}

function floatsToUnit(values: Float32Array | Float64Array, name: string): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new UserError(`${name} has a value that is not a number (NaN) at position ${i}.`);
    if (v < min) min = v;
    if (v > max) max = v;
    if (whole && !Number.isInteger(v)) whole = false;
  }
  // The values are this array's own (a view of its body or a copy), so float32 ones are kept as they are.
  if (min >= 0 && max <= 1) return values instanceof Float32Array ? values : Float32Array.from(values);
  if (min >= 0 && max <= 255 && whole) return bytesToUnit(values);
  throw new UserError(`${name} has values from ${min} to ${max}, but image values must all lie in 0–1 or all be whole numbers from 0 to 255.`);
}

/** A one-line account of an array: `x_train 60000×28×28 uint8`. */
export function npyArrayText(label: string, header: NpyHeader): string {
  return `${label} ${npyShapeText(header.shape)} ${TYPE_NAMES[header.type]}`;
}
