/**
 * A WebAssembly SIMD filter for the neighbour graph's running selection (knn.ts).
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
 * The module is assembled here from its bytes (a few hundred), so nothing is downloaded or
 * compiled at install. It needs the threaded wasm build (whose memory is shared and reachable
 * as `wasmMemory`) and WebAssembly SIMD; where either is missing, {@link selectKernel} returns
 * undefined and the selection runs in JavaScript.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export interface SelectKernel {
  filterRow(g: number, columns: number, squared: number, threshold: number, out: number): number;
  filterMirror(g: number, columns: number, own: number, thresholds: number, out: number): number;
  /** Allocates `bytes` on the backend's heap; free with {@link SelectKernel.free}. */
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

// --- A minimal encoder for the two functions -------------------------------------------

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
  i32Add: [0x6a], i32Shl: [0x74], i32ShrU: [0x76], i32And: [0x71], i32GeU: [0x4f],
  i32Store: (offset: number) => [0x36, 0x02, ...uleb(offset)],
  v128Load: [0xfd, ...uleb(0x00), 0x02, 0x00],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f32x4Gt: [0xfd, ...uleb(0x44)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  bitmask: [0xfd, ...uleb(0xa4)],
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

/** The module's bytes. */
export function selectKernelBytes(): Uint8Array<ArrayBuffer> {
  const at = (pointerParam: number) => [...op.get(pointerParam), ...op.get(8), ...op.i32Add, ...op.v128Load];
  // filterRow: (g[c..c+3] − squared[c..c+3]) > splat(threshold)
  const rowCompare = [...at(0), ...at(2), ...op.f32x4Sub, ...op.get(7), ...op.f32x4Gt];
  // filterMirror: (g[c..c+3] − splat(own)) > thresholds[c..c+3]
  const mirrorCompare = [...at(0), ...op.get(7), ...op.f32x4Sub, ...at(3), ...op.f32x4Gt];
  const types = vector([
    [0x60, ...vector([[I32], [I32], [I32], [F32], [I32]]), ...vector([[I32]])],
    [0x60, ...vector([[I32], [I32], [F32], [I32], [I32]]), ...vector([[I32]])],
  ]);
  // The backend's memory: shared, at least one page, at most 4 GiB.
  const imports = vector([[...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]]);
  const functions = vector([[0], [1]]);
  const exports = vector([[...name('filterRow'), 0x00, 0], [...name('filterMirror'), 0x00, 1]]);
  const code = vector([body(3, rowCompare), body(2, mirrorCompare)]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, functions), ...section(7, exports), ...section(10, code),
  ]);
}

let cached: { module: EmscriptenModule; kernel: SelectKernel | undefined } | undefined;

/**
 * The filter bound to the wasm backend's heap, or undefined where it cannot run (another
 * backend, a build without shared memory, no SIMD). Built once per backend instance.
 */
export function selectKernel(backend: unknown): SelectKernel | undefined {
  const module = (backend as Partial<BackendWasm> & { wasm?: EmscriptenModule }).wasm;
  if (!module) return undefined;
  if (cached?.module === module) return cached.kernel;
  let kernel: SelectKernel | undefined;
  try {
    const memory = module.wasmMemory;
    const bytes = selectKernelBytes();
    if (memory instanceof WebAssembly.Memory && memory.buffer instanceof SharedArrayBuffer && WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const exported = instance.exports as unknown as Pick<SelectKernel, 'filterRow' | 'filterMirror'>;
      kernel = {
        filterRow: exported.filterRow,
        filterMirror: exported.filterMirror,
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
