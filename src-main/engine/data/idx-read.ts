/**
 * Reads an IDX file from disk, plain or gzipped, checking what its header declares before
 * allocating anything for the values:
 * - plain: the header is read first, and the file's size must be what it declares;
 * - gzipped (the magic bytes 1f 8b decide, not the extension, because downloaded IDX files are
 *   often renamed): the file is decompressed as a stream, the header is checked as soon as its
 *   bytes come out, the declared size must be within the decompressedBytes limit, and the
 *   decompression stops the moment the output passes the declared size. A small file expanding
 *   to gigabytes is refused after a few kilobytes.
 */
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { openUserFile, readFully, shown, type Root } from './files.js';
import {
  MAX_IDX_HEADER_BYTES, idxLengthError, idxShortHeaderError, idxValues, parseIdxHeader,
  type IdxArray, type IdxHeader, type IdxRole,
} from './idx.js';
import type { DatasetBudget } from './source.js';
import { FilePixels } from './pixels.js';

export interface IdxReadOptions {
  /** The dataset folder the file must resolve inside. */
  root?: Root;
  /** Counts an images file's samples and values against the dataset's limits. */
  budget?: DatasetBudget;
  /** Read a plain uint8 images file's samples as they are needed when their float32 data would pass this many bytes (pixels.ts). */
  lazyAbove?: number;
}

/**
 * A plain (not gzipped) uint8 IDX images file whose float32 data would pass `above` bytes, checked
 * as a full read checks it (header, length, the samples limit), as pixels read when needed;
 * undefined when the file must be read whole (gzipped, other values, or small enough).
 */
export async function lazyIdxImages(file: string, above: number, options: IdxReadOptions = {}): Promise<{ pixels: FilePixels; shape: [number, number, number]; count: number } | undefined> {
  const { handle, size, real, mtimeMs } = await openUserFile(file, { root: options.root });
  try {
    if (await gzipped(handle, size, file)) return undefined;
    const header = await plainHeader(handle, size, file, 'images');
    if (header.type !== 'u8' || header.bodyBytes * 4 <= above) return undefined;
    const count = header.dims[0];
    options.budget?.takeLazy(`The IDX file ${shown(file)}`, count);
    const shape: [number, number, number] = [header.dims[1], header.dims[2], header.dims.length === 4 ? header.dims[3] : 1];
    const pixels = new FilePixels({ file, real, offset: header.headerBytes, count, shape, layout: 'NHWC', size, mtimeMs });
    return { pixels, shape, count };
  } finally {
    await handle.close();
  }
}

export async function readIdxFile(file: string, role: IdxRole, options: IdxReadOptions = {}): Promise<IdxArray> {
  const { handle, size } = await openUserFile(file, { root: options.root });
  try {
    const { header, body } = await gzipped(handle, size, file)
      ? await readGzipped(handle, file, role, options.budget)
      : await readPlain(handle, size, file, role, options.budget);
    return idxValues(header, body);
  } finally {
    await handle.close();
  }
}

/** Whether the file starts with gzip's magic bytes 1f 8b (they decide, not the extension). */
async function gzipped(handle: FileHandle, size: number, file: string): Promise<boolean> {
  const magic = new Uint8Array(Math.min(2, size));
  await readFully(handle, magic, 0, file);
  return magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
}

/** Checks a parsed header's declared size against the budget before its body is allocated. */
function charge(header: IdxHeader, file: string, role: IdxRole, budget: DatasetBudget | undefined): void {
  if (role === 'images') budget?.take(`The IDX file ${shown(file)}`, header.dims[0], header.itemValues);
}

/** A plain file's header, which must declare exactly the bytes the file holds after it. */
async function plainHeader(handle: FileHandle, size: number, file: string, role: IdxRole): Promise<IdxHeader> {
  const head = new Uint8Array(Math.min(size, MAX_IDX_HEADER_BYTES));
  await readFully(handle, head, 0, file);
  const header = parseIdxHeader(head, file, role);
  if (header === undefined) throw idxShortHeaderError(size, file);
  const lengthError = idxLengthError(header, size - header.headerBytes, file);
  if (lengthError) throw lengthError;
  return header;
}

async function readPlain(
  handle: FileHandle, size: number, file: string, role: IdxRole, budget: DatasetBudget | undefined,
): Promise<{ header: IdxHeader; body: Uint8Array }> {
  const header = await plainHeader(handle, size, file, role);
  charge(header, file, role, budget);
  const body = new Uint8Array(header.bodyBytes);
  await readFully(handle, body, header.headerBytes, file);
  return { header, body };
}

async function readGzipped(
  handle: FileHandle, file: string, role: IdxRole, budget: DatasetBudget | undefined,
): Promise<{ header: IdxHeader; body: Uint8Array }> {
  let head: Uint8Array = new Uint8Array(0);
  let header: IdxHeader | undefined;
  let body: Uint8Array | undefined;
  let filled = 0;
  const append = (bytes: Uint8Array) => {
    if (filled + bytes.length > body!.length) throw idxLengthError(header!, filled + bytes.length, file)!;
    body!.set(bytes, filled);
    filled += bytes.length;
  };
  const consume = (chunk: Uint8Array) => {
    if (header !== undefined) return append(chunk);
    // The header is at most 1 KB, so `head` never holds more than that and one chunk.
    head = concat(head, chunk);
    header = parseIdxHeader(head, file, role);
    if (header === undefined) return;
    checkLimit('decompressedBytes', header.headerBytes + header.bodyBytes, `The file ${shown(file)}`,
      `declares ${header.headerBytes + header.bodyBytes} bytes once decompressed`);
    charge(header, file, role, budget);
    body = new Uint8Array(header.bodyBytes);
    append(head.subarray(header.headerBytes));
    head = new Uint8Array(0);
  };
  // An error thrown while consuming reaches pipeline's caller as an AbortError, so it is kept here.
  let refusal: unknown;
  try {
    await pipeline(
      handle.createReadStream({ start: 0, autoClose: false }),
      createGunzip(),
      async (output: AsyncIterable<Buffer>) => {
        try {
          for await (const chunk of output) consume(chunk);
        } catch (err) {
          refusal = err;
          throw err;
        }
      });
  } catch (err) {
    if (refusal !== undefined) throw refusal;
    if (errorCode(err)?.startsWith('Z_')) {
      throw new UserError(`The file ${shown(file)} looks gzip-compressed but cannot be decompressed (${(err as Error).message}).`);
    }
    throw err;
  }
  if (header === undefined) throw idxShortHeaderError(head.length, file);
  const lengthError = idxLengthError(header, filled, file);
  if (lengthError) throw lengthError;
  return { header, body: body! };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
