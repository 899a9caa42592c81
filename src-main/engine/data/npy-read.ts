/**
 * Reads .npy arrays from disk, alone (`npy:`) or as members of an .npz archive (`npz:`),
 * checking what each header declares before anything is allocated for the values: the header
 * is parsed from the first bytes that arrive, the array it declares must be exactly as long
 * as the file (or the archive member) says it is, and images are counted against the
 * dataset's samples and datasetValues limits; only then is room made for the values. A member
 * that inflates past its declared size is stopped there.
 */
import type { FileHandle } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { openUserFile, type Root } from './files.js';
import { MAX_NPY_HEADER_BYTES, npyLayout, npyShapeText, parseNpyHeader, type NpyHeader, type NpyLayout, type NpyRole } from './npy.js';
import { FilePixels } from './pixels.js';
import type { DatasetBudget } from './source.js';
import { readZipDirectory, readZipMember, type ZipEntry } from './zip.js';

export interface NpyArray {
  header: NpyHeader;
  body: Uint8Array;
}

/**
 * Collects the bytes of one .npy array as they arrive. `total` is how long the array's bytes
 * are (the file's size, or the member's declared size); `name` begins every message.
 */
class NpyCollector {
  private head: Uint8Array = new Uint8Array(0);
  private header: NpyHeader | undefined;
  private body: Uint8Array | undefined;
  private filled = 0;

  constructor(
    private readonly name: string, private readonly role: NpyRole, private readonly total: number,
    private readonly budget: DatasetBudget | undefined,
    private readonly accept?: (header: NpyHeader) => void,
  ) {}

  consume(chunk: Uint8Array): void {
    if (this.header !== undefined) return this.append(chunk);
    // The header is at most MAX_NPY_HEADER_BYTES, so `head` never holds more than that and one chunk.
    this.head = concat(this.head, chunk);
    const header = parseNpyHeader(this.head, this.name, this.role);
    if (header === undefined) return;
    const declared = header.headerBytes + header.bodyBytes;
    if (this.total < declared) throw this.truncated(header, this.total);
    if (this.total > declared) {
      throw new UserError(`${this.name} is longer than its header declares (${npyShapeText(header.shape)} values), so it is probably not a .npy file.`);
    }
    if (this.role === 'images') this.budget?.take(this.name, header.shape[0], header.itemValues);
    this.accept?.(header);
    this.header = header;
    this.body = new Uint8Array(header.bodyBytes);
    const rest = this.head.subarray(header.headerBytes);
    this.head = new Uint8Array(0);
    this.append(rest);
  }

  private append(bytes: Uint8Array): void {
    if (this.filled + bytes.length > this.body!.length) {
      throw new UserError(`${this.name} holds more data than its header declares (${npyShapeText(this.header!.shape)} values).`);
    }
    this.body!.set(bytes, this.filled);
    this.filled += bytes.length;
  }

  private truncated(header: NpyHeader, bytes: number): UserError {
    const held = header.itemBytes === 0 ? 0 : Math.max(0, Math.floor((bytes - header.headerBytes) / header.itemBytes));
    return new UserError(`${this.name} is truncated: its header declares ${header.shape[0]} items but it holds ${held}.`);
  }

  finish(): NpyArray {
    if (this.header === undefined) {
      throw new UserError(this.head.length < 10
        ? `${this.name} is truncated: it is only ${this.head.length} bytes long.`
        : `${this.name} is truncated: it ends inside its header.`);
    }
    if (this.filled < this.header.bodyBytes) throw this.truncated(this.header, this.header.headerBytes + this.filled);
    return { header: this.header, body: this.body! };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export interface NpyReadOptions {
  root?: Root;
  budget?: DatasetBudget;
  /** Checks the header before room is made for the values (throws to refuse the array). */
  accept?: (header: NpyHeader) => void;
}

/** Reads one .npy file; `name` begins every message (`The NPY file x.npy`). */
export async function readNpyFile(file: string, name: string, role: NpyRole, options: NpyReadOptions = {}): Promise<NpyArray> {
  const { handle, size } = await openUserFile(file, { root: options.root });
  try {
    const collector = new NpyCollector(name, role, size, options.budget, options.accept);
    // Read in pieces: the header is checked from the first piece, before the rest is read.
    const piece = new Uint8Array(Math.min(size, 1 << 20));
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(piece, 0, Math.min(piece.length, size - at), at);
      if (bytesRead === 0) break;
      collector.consume(piece.subarray(0, bytesRead));
      at += bytesRead;
    }
    return collector.finish();
  } finally {
    await handle.close();
  }
}

/**
 * A uint8 .npy images file whose float32 data would pass `above` bytes, checked as a full read
 * checks it (header, length, the samples limit), as pixels read when needed (pixels.ts);
 * undefined when it must be read whole (other values, or small enough).
 */
export async function lazyNpyImages(file: string, name: string, above: number, budget?: DatasetBudget): Promise<{ header: NpyHeader; images: FilePixels; shape: [number, number, number]; layout: NpyLayout; ambiguous: boolean } | undefined> {
  const { handle, size, real, mtimeMs } = await openUserFile(file);
  try {
    const head = new Uint8Array(Math.min(size, MAX_NPY_HEADER_BYTES + 16));
    for (let at = 0; at < head.length;) {
      const { bytesRead } = await handle.read(head, at, head.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    const header = parseNpyHeader(head, name, 'images');
    if (header === undefined || header.type !== 'u1' || header.bodyBytes * 4 <= above) return undefined;
    const declared = header.headerBytes + header.bodyBytes;
    // A file of the wrong length is read whole, where the full read's message names the problem.
    if (size !== declared) return undefined;
    const { shape, layout, ambiguous } = npyLayout(header.shape, name);
    budget?.takeLazy(name, header.shape[0]);
    const images = new FilePixels({ file, real, offset: header.headerBytes, count: header.shape[0], shape, layout: layout === 'NCHW' ? 'NCHW' : 'NHWC', size, mtimeMs });
    return { header, images, shape, layout, ambiguous };
  } finally {
    await handle.close();
  }
}

/** An open .npz archive: its members, and a way to read one as a .npy array. */
export interface NpzArchive {
  entries: ZipEntry[];
  read(entry: ZipEntry, name: string, role: NpyRole, budget?: DatasetBudget, accept?: (header: NpyHeader) => void): Promise<NpyArray>;
  close(): Promise<void>;
}

export async function openNpz(file: string, name: string): Promise<NpzArchive> {
  const { handle, size } = await openUserFile(file);
  try {
    const entries = await readZipDirectory(handle, size, name, file);
    return {
      entries,
      read: (entry, memberName, role, budget, accept) => readMember(handle, size, entry, memberName, file, role, budget, accept),
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readMember(
  handle: FileHandle, size: number, entry: ZipEntry, name: string, file: string, role: NpyRole, budget: DatasetBudget | undefined,
  accept?: (header: NpyHeader) => void,
): Promise<NpyArray> {
  const collector = new NpyCollector(name, role, entry.size, budget, accept);
  await readZipMember(handle, size, entry, name, file, (chunk) => collector.consume(chunk));
  return collector.finish();
}
