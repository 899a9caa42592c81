/**
 * A small zip reader for .npz archives (what numpy.savez and numpy.savez_compressed write):
 * the central directory, and one member at a time, stored or deflated, as a stream of chunks.
 *
 * The archive may come from an attacker, so what it declares is checked before it is used:
 * - the end-of-archive record (and its Zip64 form, which numpy writes for large arrays) must lie
 *   in the file, the member count must be within the files limit, and the central directory
 *   must lie inside the file before a byte of it is read;
 * - a member's data must lie inside the file, its declared size must be within the
 *   decompressedBytes limit, and it is inflated as a stream that the caller stops as soon as
 *   the output passes what was declared; its CRC-32 is checked at the end;
 * - encrypted members and compression methods other than stored (0) and deflate (8) are refused.
 */
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { readFully } from './files.js';

export interface ZipEntry {
  /** The member's name in the archive (`x_train.npy`). */
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  /** Its size once decompressed, as the central directory declares it. */
  size: number;
  /** Where its local header begins. */
  localOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_COMMENT = 0xffff;

/** A u64 field as a number; one beyond 2^53 is a damaged (or hostile) archive. */
function u64(view: DataView, at: number, name: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged(name, 'it declares a size beyond any file');
  return Number(value);
}

function damaged(name: string, why: string): UserError {
  return new UserError(`${name} is a damaged zip archive: ${why}.`);
}

async function readAt(handle: FileHandle, position: number, length: number, file: string): Promise<DataView> {
  const bytes = new Uint8Array(length);
  await readFully(handle, bytes, position, file);
  return new DataView(bytes.buffer);
}

/**
 * The members the central directory lists. `name` begins every message (`The NPZ file
 * data.npz`); `file` is the path, for the read error of a file that shrinks meanwhile.
 */
export async function readZipDirectory(handle: FileHandle, size: number, name: string, file: string): Promise<ZipEntry[]> {
  const tailLength = Math.min(size, EOCD_BYTES + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = await readAt(handle, tailStart, tailLength, file);
  let eocd = -1;
  for (let i = tailLength - EOCD_BYTES; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE && i + EOCD_BYTES + tail.getUint16(i + 20, true) === tailLength) { eocd = i; break; }
  }
  if (eocd < 0) throw new UserError(`${name} is not a zip archive (an .npz file is one): it has no end-of-archive record.`);
  if (tail.getUint16(eocd + 4, true) !== 0 || tail.getUint16(eocd + 6, true) !== 0) {
    throw new UserError(`${name} is a zip archive split over several files, which this app does not read.`);
  }
  let entries = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  const eocdPosition = tailStart + eocd;
  let cdEnd = eocdPosition;
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocdPosition < 20) throw damaged(name, 'its Zip64 record is missing');
    const locator = await readAt(handle, eocdPosition - 20, 20, file);
    if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) throw damaged(name, 'its Zip64 record is missing');
    const at = u64(locator, 8, name);
    if (at + 56 > eocdPosition - 20) throw damaged(name, 'its Zip64 record lies outside the file');
    const record = await readAt(handle, at, 56, file);
    if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw damaged(name, 'its Zip64 record is missing');
    entries = u64(record, 32, name);
    cdSize = u64(record, 40, name);
    cdOffset = u64(record, 48, name);
    cdEnd = at;
  }
  checkLimit('files', entries, name, `declares ${entries} members`);
  if (cdOffset + cdSize > cdEnd || cdSize < entries * 46) throw damaged(name, 'its central directory does not fit in the file');
  const cd = await readAt(handle, cdOffset, cdSize, file);
  const bytes = new Uint8Array(cd.buffer);
  const list: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < entries; k++) {
    if (p + 46 > cdSize || cd.getUint32(p, true) !== CENTRAL_SIGNATURE) throw damaged(name, `its central directory ends before member ${k + 1}`);
    const flags = cd.getUint16(p + 8, true);
    const nameLength = cd.getUint16(p + 28, true);
    const extraLength = cd.getUint16(p + 30, true);
    const commentLength = cd.getUint16(p + 32, true);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > cdSize) throw damaged(name, `its central directory ends inside member ${k + 1}`);
    const entry: ZipEntry = {
      name: Buffer.from(bytes.buffer, p + 46, nameLength).toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1'),
      flags,
      method: cd.getUint16(p + 10, true),
      crc: cd.getUint32(p + 16, true),
      compressedSize: cd.getUint32(p + 20, true),
      size: cd.getUint32(p + 24, true),
      localOffset: cd.getUint32(p + 42, true),
    };
    applyZip64Extra(entry, new DataView(cd.buffer, p + 46 + nameLength, extraLength), name);
    list.push(entry);
    p = next;
  }
  return list;
}

/** Replaces the fields a member marks 0xFFFFFFFF with the Zip64 extra field's values, in the order the format gives them. */
function applyZip64Extra(entry: ZipEntry, extra: DataView, name: string): void {
  const wanted = (['size', 'compressedSize', 'localOffset'] as const).filter((field) => entry[field] === 0xffffffff);
  if (wanted.length === 0) return;
  for (let q = 0; q + 4 <= extra.byteLength;) {
    const id = extra.getUint16(q, true);
    const length = extra.getUint16(q + 2, true);
    if (q + 4 + length > extra.byteLength) break;
    if (id === 0x0001) {
      if (length < 8 * wanted.length) break;
      wanted.forEach((field, i) => { entry[field] = u64(extra, q + 4 + 8 * i, name); });
      return;
    }
    q += 4 + length;
  }
  throw damaged(name, 'a member marks its sizes as Zip64 but gives none');
}

/**
 * Streams one member's decompressed bytes to `sink`, which may throw to stop (the first error
 * thrown is the one reported). `name` names the member in messages (`The NPZ file d.npz
 * (x_train.npy)`).
 */
export async function readZipMember(
  handle: FileHandle, size: number, entry: ZipEntry, name: string, file: string, sink: (chunk: Uint8Array) => void,
): Promise<void> {
  if ((entry.flags & 0x1) !== 0) throw new UserError(`${name} is encrypted, which this app does not read.`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new UserError(`${name} is compressed with zip method ${entry.method}; only stored and deflated members are read (numpy.savez and numpy.savez_compressed write those).`);
  }
  checkLimit('decompressedBytes', entry.size, name, `declares ${entry.size} bytes once decompressed`);
  if (entry.localOffset + 30 > size) throw damaged(name, 'the member begins past the end of the file');
  const local = await readAt(handle, entry.localOffset, 30, file);
  if (local.getUint32(0, true) !== LOCAL_SIGNATURE) throw damaged(name, 'the member has no local header where the directory says');
  const start = entry.localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  if (start + entry.compressedSize > size) {
    throw new UserError(`${name} is truncated: its data ends ${start + entry.compressedSize - size} bytes past the end of the archive.`);
  }
  if (entry.method === 0 && entry.compressedSize !== entry.size) throw damaged(name, 'a stored member declares two different sizes');
  let crc = 0;
  let produced = 0;
  // An error thrown by the sink reaches pipeline's caller as an AbortError, so it is kept here.
  let refusal: unknown;
  const take = (chunk: Uint8Array) => {
    try {
      crc = crc32(chunk, crc);
      produced += chunk.length;
      sink(chunk);
    } catch (err) {
      refusal ??= err;
      throw err;
    }
  };
  if (entry.compressedSize > 0) {
    const input = handle.createReadStream({ start, end: start + entry.compressedSize - 1, autoClose: false });
    try {
      if (entry.method === 0) {
        await pipeline(input, async (chunks: AsyncIterable<Buffer>) => { for await (const chunk of chunks) take(chunk); });
      } else {
        await pipeline(input, createInflateRaw(), async (chunks: AsyncIterable<Buffer>) => { for await (const chunk of chunks) take(chunk); });
      }
    } catch (err) {
      if (refusal !== undefined) throw refusal;
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      if (code.startsWith('Z_')) throw new UserError(`${name} cannot be decompressed (${(err as Error).message}).`);
      throw err;
    }
  }
  if (produced < entry.size) {
    throw new UserError(`${name} is truncated: it holds ${produced} of the ${entry.size} bytes the archive declares for it.`);
  }
  if ((crc >>> 0) !== (entry.crc >>> 0)) throw damaged(name, 'the member\'s checksum (CRC-32) does not match its data');
}
