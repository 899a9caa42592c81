/**
 * Pixels read from their file as they are needed (the LazyPixels of dataset.ts), so a large
 * uint8 IDX or NPY training set costs no memory until a batch of it is used: a million 28×28
 * images are 3.1 GB as float32, 0 bytes here. Each read opens the file, checks that it is the
 * file that was loaded (same size and modification time, else a UserError naming it), reads
 * the samples asked for (consecutive ones in one read) and converts them exactly as the
 * in-memory loaders do (idx.ts, bytesToUnit; planes to NHWC for NCHW arrays), so a lazily read
 * dataset has the same values and fingerprint as the same data read whole.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { LazyPixels } from './dataset.js';
import { shown } from './files.js';
import { bytesToUnitInto } from './idx.js';

/** Where a file's uint8 samples are and how they are laid out. */
export interface PixelFile {
  /** The path as the user gave it (for messages). */
  file: string;
  /** The resolved path read. */
  real: string;
  /** Byte offset of the first sample. */
  offset: number;
  /** Samples in the file. */
  count: number;
  /** [height, width, channels] of one sample as the dataset holds it (NHWC). */
  shape: [number, number, number];
  /** How the file stores one sample: NHWC (channels last) or NCHW (one plane per channel). */
  layout: 'NHWC' | 'NCHW';
  /** The file's size and modification time when it was loaded. */
  size: number;
  mtimeMs: number;
}

/**
 * Float32 data past this many bytes (512 MiB: 170,000 28×28 grey images, 43,000 32×32 colour
 * ones) is read lazily from plain uint8 IDX and NPY files; smaller data is held in memory.
 */
export const LAZY_PIXELS_ABOVE = 512 * 1024 ** 2;

/** Bytes of one read; a larger request is read in pieces of this size. */
const READ_BYTES = 8 * 1024 ** 2;

export class FilePixels implements LazyPixels {
  readonly lazy = true;
  private readonly sampleValues: number;

  /** `rows` maps this view's samples to the file's (all of them, in order, when absent). */
  constructor(private readonly source: PixelFile, private readonly rows?: Int32Array) {
    this.sampleValues = source.shape[0] * source.shape[1] * source.shape[2];
  }

  get count(): number {
    return this.rows ? this.rows.length : this.source.count;
  }

  get length(): number {
    return this.count * this.sampleValues;
  }

  select(indices: ArrayLike<number>): FilePixels {
    const rows = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i];
      if (!Number.isInteger(k) || k < 0 || k >= this.count) throw new RangeError(`Sample index ${k} is outside the split (0–${this.count - 1}).`);
      rows[i] = this.rows ? this.rows[k] : k;
    }
    return new FilePixels(this.source, rows);
  }

  subarray(begin: number, end: number): Float32Array {
    const size = this.sampleValues;
    if (begin % size !== 0 || end % size !== 0 || begin < 0 || end > this.length || end < begin) {
      throw new RangeError(`Values ${begin}–${end} are not whole samples of ${size} values within ${this.length}.`);
    }
    const first = begin / size;
    const count = (end - begin) / size;
    const out = new Float32Array(count * size);
    if (count === 0) return out;
    const { file, real } = this.source;
    let fd: number;
    try {
      fd = openSync(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      throw new UserError(`The data file ${shown(file)} can no longer be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); load the data again.`);
    }
    try {
      const stat = fstatSync(fd);
      if (stat.size !== this.source.size || stat.mtimeMs !== this.source.mtimeMs) {
        throw new UserError(`The data file ${shown(file)} changed on disk after it was loaded (its samples are read as they are needed); load the data again.`);
      }
      const perRead = Math.max(1, Math.floor(READ_BYTES / size));
      const buffer = new Uint8Array(Math.min(count, perRead) * size);
      for (let k = 0; k < count;) {
        // The longest run of consecutive file rows from here, up to one buffer.
        const row = this.rows ? this.rows[first + k] : first + k;
        let run = 1;
        while (k + run < count && run < perRead && (this.rows ? this.rows[first + k + run] : first + k + run) === row + run) run++;
        this.readRows(fd, row, run, buffer);
        this.convert(buffer, run, out, k * size);
        k += run;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  private readRows(fd: number, row: number, run: number, buffer: Uint8Array): void {
    const bytes = run * this.sampleValues;
    let done = 0;
    while (done < bytes) {
      const n = readSync(fd, buffer, done, bytes - done, this.source.offset + row * this.sampleValues + done);
      if (n === 0) throw new UserError(`The data file ${shown(this.source.file)} ended before sample ${row + run - 1}; load the data again.`);
      done += n;
    }
  }

  private convert(bytes: Uint8Array, run: number, out: Float32Array, at: number): void {
    const size = this.sampleValues;
    if (this.source.layout === 'NHWC') { bytesToUnitInto(bytes.subarray(0, run * size), out, at); return; }
    const [h, w, c] = this.source.shape;
    const plane = h * w;
    const unit = new Float32Array(size);
    for (let n = 0; n < run; n++) {
      bytesToUnitInto(bytes.subarray(n * size, (n + 1) * size), unit, 0);
      const o = at + n * size;
      for (let ch = 0; ch < c; ch++) for (let p = 0; p < plane; p++) out[o + p * c + ch] = unit[ch * plane + p];
    }
  }
}
