/**
 * WebAssembly SIMD kernels that work on the wasm backend's heap in place: the filter of the
 * neighbour graph's running selection (knn.ts), and the gradient of 2×2 max pooling
 * (wasm-kernels.ts).
 *
 * **The selection filter.**
 *
 * The graph's blocks of products live on the wasm backend's heap. Reading every score in
 * JavaScript costs about as much as computing the products; but after the first blocks almost
 * no score beats its row's threshold, so all the selection needs is *which* few do. This module
 * answers that four scores at a time with 128-bit SIMD, reading the blocks where the backend
 * wrote them: it imports the backend's own shared memory, so nothing is copied.
 *
 * Two functions, each over one row of a block, writing the column offsets that may enter to
 * `out` and returning how many:
 * - `filterRow(g, columns, squared, threshold, out)`: where `g[c] − squared[c] > threshold`
 *   (the row's own ranking of its columns);
 * - `filterMirror(g, columns, own, thresholds, out)`: where `g[c] − own > thresholds[c]` (the
 *   columns' rows ranking this row, the mirrored half of a symmetric block).
 * `columns` is a multiple of 4; `out` has room for `columns` offsets. The caller checks each
 * candidate again, exactly, in float64, against the threshold as it stands then, so the filter
 * only has to return a superset: its thresholds are lowered by a margin that covers float32
 * rounding.
 *
 * **The max-pool gradient.** `maxPoolGrad2x2(x, dy, dx, n, h, w, oh, ow, c)`: for 2×2
 * windows at stride 2 without padding, NHWC, `c` a multiple of 4, writes every covered
 * position of `dx`: a window's gradient goes to its largest input, the first in the order
 * (0, 0), (0, 1), (1, 0), (1, 1) among equal ones (as the cpu backend sends it), zero to the
 * other three. Four channels at a time; positions no window covers (an odd last row or column)
 * are left as they were.
 *
 * The module is assembled here from its bytes (under a kilobyte), so nothing is downloaded or
 * compiled at install. It needs the threaded wasm build (whose memory is shared and reachable
 * as `wasmMemory`) and WebAssembly SIMD; where either is missing, {@link simdKernels} returns
 * undefined and the callers run their JavaScript loops.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export interface SimdKernels {
  filterRow(g: number, columns: number, squared: number, threshold: number, out: number): number;
  filterMirror(g: number, columns: number, own: number, thresholds: number, out: number): number;
  maxPoolGrad2x2(x: number, dy: number, dx: number, n: number, h: number, w: number, oh: number, ow: number, c: number): void;
  /** Allocates `bytes` on the backend's heap; free with {@link SimdKernels.free}. */
  malloc(bytes: number): number;
  free(pointer: number): void;
  /** Current views of the backend's heap (a view goes stale when the heap grows: take them again after any tfjs call). */
  heapF32(): Float32Array;
  heapI32(): Int32Array;
}

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

// --- A minimal encoder for the three functions -----------------------------------------

function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)], brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (index: number) => [0x20, ...uleb(index)], set: (index: number) => [0x21, ...uleb(index)], tee: (index: number) => [0x22, ...uleb(index)],
  i32Const: (value: number) => [0x41, ...uleb(value)], // non-negative values below 64 only (signed LEB)
  i32Add: [0x6a], i32Mul: [0x6c], i32Shl: [0x74], i32ShrU: [0x76], i32And: [0x71], i32GeU: [0x4f],
  i32Store: (offset: number) => [0x36, 0x02, ...uleb(offset)],
  v128Load: [0xfd, ...uleb(0x00), 0x02, 0x00],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f32x4Gt: [0xfd, ...uleb(0x44)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  bitmask: [0xfd, ...uleb(0xa4)],
  v128Store: [0xfd, ...uleb(0x0b), 0x02, 0x00],
  f32x4Eq: [0xfd, ...uleb(0x41)],
  f32x4Max: [0xfd, ...uleb(0xe9)],
  v128Not: [0xfd, ...uleb(0x4d)],
  v128And: [0xfd, ...uleb(0x4e)],
  v128AndNot: [0xfd, ...uleb(0x4f)],
  v128Or: [0xfd, ...uleb(0x50)],
};

/**
 * The body shared by both functions. Parameters: 0 g, 1 columns, 2 and 3 as the function's
 * own (a pointer and a float, in either order), 4 out; locals: 5 column, 6 count, 7 the
 * splatted float, 8 the byte offset column × 4, 9 the lanes that passed (a 4-bit mask).
 * `compare` leaves the 4-lane comparison on the stack. Where any lane passed, each of the four
 * offsets is stored at out[count] and count moves on only for the lanes that passed
 * (branch-free: a failed lane's store is overwritten by the next).
 */
function body(splatParam: number, compare: number[]): number[] {
  const code = [
    ...op.get(splatParam), ...op.f32x4Splat, ...op.set(7),
    ...op.block, ...op.loop,
    ...op.get(5), ...op.get(1), ...op.i32GeU, ...op.brIf(1),
    // local 8 = column × 4 (a byte offset)
    ...op.get(5), ...op.i32Const(2), ...op.i32Shl, ...op.set(8),
    ...compare,
    ...op.bitmask, ...op.tee(9),
    ...op.if,
    ...[0, 1, 2, 3].flatMap((k) => [
      // out[count] = column + k
      ...op.get(4), ...op.get(6), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add,
      ...op.get(5), ...(k ? [...op.i32Const(k), ...op.i32Add] : []), ...op.i32Store(0),
      // count += (mask >> k) & 1
      ...op.get(6), ...op.get(9), ...(k ? [...op.i32Const(k), ...op.i32ShrU] : []), ...op.i32Const(1), ...op.i32And, ...op.i32Add, ...op.set(6),
    ]),
    ...op.end,
    ...op.get(5), ...op.i32Const(4), ...op.i32Add, ...op.set(5),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(6),
    ...op.end,
  ];
  const locals = vector([[2, I32], [1, V128], [2, I32]]);
  const content = [...locals, ...code];
  return [...uleb(content.length), ...content];
}

/** `for (i = start; i < limit; i += step) body`, with `i`, `limit` locals and `step` a small constant. */
function forLoop(i: number, limit: number, step: number, code: number[]): number[] {
  return [
    ...op.i32Const(0), ...op.set(i),
    ...op.block, ...op.loop,
    ...op.get(i), ...op.get(limit), ...op.i32GeU, ...op.brIf(1),
    ...code,
    ...op.get(i), ...op.i32Const(step), ...op.i32Add, ...op.set(i),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

/**
 * maxPoolGrad2x2's body. Parameters: 0 x, 1 dy, 2 dx, 3 n, 4 h, 5 w, 6 oh, 7 ow, 8 c.
 * Locals: i32 9 b, 10 y, 11 column, 12 channel byte, 13 window byte offset, 14 dy pointer,
 * 15 c × 4, 16 w × c × 4 (a row), 17 c × 4 (loop limit), 18 the window's first value's address;
 * v128 19 max, 20–23 the four values, then (reused) the four selections, 24 dy.
 */
function maxPoolGradBody(): number[] {
  const load = (extra: number[]) => [...op.get(18), ...extra, ...op.i32Add, ...op.v128Load];
  const at = (which: 'c' | 'row' | 'both') => which === 'c' ? [...op.get(15)] : which === 'row' ? [...op.get(16)] : [...op.get(15), ...op.get(16), ...op.i32Add];
  const store = (extra: number[] | null, selection: number) => [
    ...op.get(2), ...op.get(13), ...op.i32Add, ...op.get(12), ...op.i32Add, ...(extra ? [...extra, ...op.i32Add] : []),
    ...op.get(24), ...op.get(selection), ...op.v128And, ...op.v128Store,
  ];
  const channels = [
    // address of the window's first value for these four channels
    ...op.get(0), ...op.get(13), ...op.i32Add, ...op.get(12), ...op.i32Add, ...op.set(18),
    ...op.get(18), ...op.v128Load, ...op.set(20),
    ...load(at('c')), ...op.set(21),
    ...load(at('row')), ...op.set(22),
    ...load(at('both')), ...op.set(23),
    ...op.get(20), ...op.get(21), ...op.f32x4Max, ...op.get(22), ...op.get(23), ...op.f32x4Max, ...op.f32x4Max, ...op.set(19),
    // selections, first maximum wins: 20 = a == m; 21 = (b == m) & !20; 22 = (d == m) & !(20 | 21); 23 = !(20 | 21 | 22)
    ...op.get(20), ...op.get(19), ...op.f32x4Eq, ...op.set(20),
    ...op.get(21), ...op.get(19), ...op.f32x4Eq, ...op.get(20), ...op.v128AndNot, ...op.set(21),
    ...op.get(22), ...op.get(19), ...op.f32x4Eq, ...op.get(20), ...op.get(21), ...op.v128Or, ...op.v128AndNot, ...op.set(22),
    ...op.get(20), ...op.get(21), ...op.v128Or, ...op.get(22), ...op.v128Or, ...op.v128Not, ...op.set(23),
    ...op.get(1), ...op.get(14), ...op.i32Add, ...op.v128Load, ...op.set(24),
    ...store(null, 20), ...store(at('c'), 21), ...store(at('row'), 22), ...store(at('both'), 23),
    ...op.get(14), ...op.i32Const(16), ...op.i32Add, ...op.set(14),
  ];
  const code = [
    ...op.get(8), ...op.i32Const(2), ...op.i32Shl, ...op.set(15),
    ...op.get(5), ...op.get(15), ...op.i32Mul, ...op.set(16),
    ...op.get(15), ...op.set(17),
    ...op.i32Const(0), ...op.set(14),
    ...forLoop(9, 3, 1, forLoop(10, 6, 1, forLoop(11, 7, 1, [
      // window byte offset: (b·h + 2y)·row + 2·column·c4
      ...op.get(9), ...op.get(4), ...op.i32Mul, ...op.get(10), ...op.i32Const(1), ...op.i32Shl, ...op.i32Add, ...op.get(16), ...op.i32Mul,
      ...op.get(11), ...op.i32Const(1), ...op.i32Shl, ...op.get(15), ...op.i32Mul, ...op.i32Add, ...op.set(13),
      ...forLoop(12, 17, 16, channels),
    ]))),
    ...op.end,
  ];
  const locals = vector([[10, I32], [6, V128]]);
  const content = [...locals, ...code];
  return [...uleb(content.length), ...content];
}

/** The module's bytes. */
export function simdKernelBytes(): Uint8Array<ArrayBuffer> {
  const at = (pointerParam: number) => [...op.get(pointerParam), ...op.get(8), ...op.i32Add, ...op.v128Load];
  // filterRow: (g[c..c+3] − squared[c..c+3]) > splat(threshold)
  const rowCompare = [...at(0), ...at(2), ...op.f32x4Sub, ...op.get(7), ...op.f32x4Gt];
  // filterMirror: (g[c..c+3] − splat(own)) > thresholds[c..c+3]
  const mirrorCompare = [...at(0), ...op.get(7), ...op.f32x4Sub, ...at(3), ...op.f32x4Gt];
  const types = vector([
    [0x60, ...vector([[I32], [I32], [I32], [F32], [I32]]), ...vector([[I32]])],
    [0x60, ...vector([[I32], [I32], [F32], [I32], [I32]]), ...vector([[I32]])],
    [0x60, ...vector(Array.from({ length: 9 }, () => [I32])), ...vector([])],
  ]);
  // The backend's memory: shared, at least one page, at most 4 GiB.
  const imports = vector([[...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]]);
  const functions = vector([[0], [1], [2]]);
  const exports = vector([[...name('filterRow'), 0x00, 0], [...name('filterMirror'), 0x00, 1], [...name('maxPoolGrad2x2'), 0x00, 2]]);
  const code = vector([body(3, rowCompare), body(2, mirrorCompare), maxPoolGradBody()]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, functions), ...section(7, exports), ...section(10, code),
  ]);
}

let cached: { module: EmscriptenModule; kernel: SimdKernels | undefined } | undefined;

/**
 * The kernels bound to the wasm backend's heap, or undefined where they cannot run (another
 * backend, a build without shared memory, no SIMD). Built once per backend instance.
 */
export function simdKernels(backend: unknown): SimdKernels | undefined {
  const module = (backend as Partial<BackendWasm> & { wasm?: EmscriptenModule }).wasm;
  if (!module) return undefined;
  if (cached?.module === module) return cached.kernel;
  let kernel: SimdKernels | undefined;
  try {
    const memory = module.wasmMemory;
    const bytes = simdKernelBytes();
    if (memory instanceof WebAssembly.Memory && memory.buffer instanceof SharedArrayBuffer && WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const exported = instance.exports as unknown as Pick<SimdKernels, 'filterRow' | 'filterMirror' | 'maxPoolGrad2x2'>;
      kernel = {
        filterRow: exported.filterRow,
        filterMirror: exported.filterMirror,
        maxPoolGrad2x2: exported.maxPoolGrad2x2,
        malloc: (bytesWanted) => module._malloc(bytesWanted),
        free: (pointer) => module._free(pointer),
        heapF32: () => module.HEAPF32,
        heapI32: () => module.HEAP32,
      };
    }
  } catch {
    kernel = undefined;
  }
  cached = { module, kernel };
  return kernel;
}
