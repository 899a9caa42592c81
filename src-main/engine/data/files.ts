/**
 * File-system access for the loaders: every failure the user can fix (a missing file, a
 * folder where a file was expected) becomes a one-sentence UserError naming the path.
 *
 * The files may come from an attacker, so nothing is read before it is checked:
 * - a file is opened only when it is a regular file (a FIFO or a device would hang the read or
 *   never end), checked with stat before the open and again on the open handle;
 * - its size is checked against the fileBytes limit before a byte is read;
 * - files a dataset folder holds or names must resolve (through any symbolic links) to a place
 *   inside that folder, its `Root`;
 * - folders are listed entry by entry, and a listing stops at the files limit.
 */
import { constants, promises as fs, type Dirent, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkLimit, limits } from '../limits.js';

/** The folder a dataset spec names: every file of the dataset must resolve inside it. */
export interface Root {
  /** The folder as the user named it (for messages). */
  dir: string;
  /** Its real path, symbolic links resolved. */
  real: string;
}

/** A path as messages show it: control and direction characters a crafted name could hold become '?'. */
export function shown(p: string): string {
  return p.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/**
 * Text taken from a file (a CSV field, a name in dataset.json) as a message may show it: quoted
 * when short and printable, otherwise only described, so an error never echoes file contents.
 */
export function quoted(text: string): string {
  if (text.length > 40) return `of ${text.length} characters`;
  if (!/^[\x20-\x7e]*$/.test(text)) return 'with characters that cannot be shown';
  return `"${text}"`;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/** The UserError for a failed file-system call on `p`, or the error itself when the user cannot fix it. */
function fsError(err: unknown, p: string, kind: 'file' | 'folder'): unknown {
  const code = errorCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UserError(`The ${kind} ${shown(p)} does not exist.`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`The ${kind} ${shown(p)} cannot be read: permission denied.`);
  if (code === 'ELOOP') return new UserError(`The path ${shown(p)} is a loop of symbolic links.`);
  return err;
}

/** Whether `full` is `root` or lies inside it (both real paths). */
export function within(root: string, full: string): boolean {
  const rel = path.relative(root, full);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The real path of `p`, which must lie inside `root` when one is given. */
async function realPathInside(p: string, root: Root | undefined, kind: 'file' | 'folder'): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(p);
  } catch (err) {
    throw fsError(err, p, kind);
  }
  if (root !== undefined && !within(root.real, real)) {
    throw new UserError(`The ${kind} ${shown(p)} leads outside the folder ${shown(root.dir)} through a symbolic link, so it was not read.`);
  }
  return real;
}

/** Checks that a folder exists and returns it as a Root; a missing path or a file is a UserError. */
export async function openRoot(dir: string): Promise<Root> {
  await requireFolder(dir);
  return { dir, real: await realPathInside(dir, undefined, 'folder') };
}

function requireRegularFile(stat: Stats, file: string): void {
  if (stat.isFile()) return;
  if (stat.isDirectory()) throw new UserError(`The path ${shown(file)} is a folder, but a file was expected.`);
  throw new UserError(`The path ${shown(file)} is not a regular file (it is a device, a pipe or a socket), so it was not opened.`);
}

export interface FileOptions {
  /** The folder the file must resolve inside. */
  root?: Root;
  /** The file's real path when the caller has already resolved and checked it. */
  real?: string;
}

/**
 * Opens a regular file for reading after checking it (see the top of this file); the caller
 * closes the handle. `size` is the file's size, already within the fileBytes limit; `real` the
 * path opened and `mtimeMs` its modification time (a lazily read file is checked against them).
 */
export async function openUserFile(file: string, options: FileOptions = {}): Promise<{ handle: FileHandle; size: number; real: string; mtimeMs: number }> {
  const real = options.real ?? await realPathInside(file, options.root, 'file');
  let before: Stats;
  try {
    before = await fs.stat(real);
  } catch (err) {
    throw fsError(err, file, 'file');
  }
  requireRegularFile(before, file);
  checkLimit('fileBytes', before.size, `The file ${shown(file)}`, `is ${before.size} bytes long`);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, the open still returns at once.
    // O_NOFOLLOW: the real path has no link left to follow, so a link appearing there is refused.
    handle = await fs.open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    throw fsError(err, file, 'file');
  }
  try {
    const stat = await handle.stat();
    requireRegularFile(stat, file);
    checkLimit('fileBytes', stat.size, `The file ${shown(file)}`, `is ${stat.size} bytes long`);
    return { handle, size: stat.size, real, mtimeMs: stat.mtimeMs };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads exactly `length` bytes at `position` into `into`; a file that ends early is a UserError. */
export async function readFully(handle: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new UserError(`The file ${shown(file)} became shorter while it was read.`);
    done += bytesRead;
  }
}

/** Reads a whole (checked) file; a missing, unreadable or special file is a UserError. */
export async function readUserFile(file: string, options: FileOptions = {}): Promise<Buffer> {
  const { handle, size } = await openUserFile(file, options);
  try {
    const bytes = Buffer.allocUnsafe(size);
    await readFully(handle, bytes, 0, file);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Checks that a folder exists; a missing path or a file is a UserError. */
export async function requireFolder(dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await fs.stat(dir)).isDirectory();
  } catch (err) {
    throw fsError(err, dir, 'folder');
  }
  if (!isDir) throw new UserError(`The path ${shown(dir)} is a file, but a folder was expected.`);
}

/** A folder inside a Root: the path as named (for messages) and its real path (to read). */
export interface Folder {
  path: string;
  real: string;
}

/**
 * The sub-folder `name` of `parent` when it exists and is a folder (following a symbolic link
 * that stays inside the root), undefined when it does not exist or is not a folder; a link that
 * leads out of the root is a UserError.
 */
export async function subfolder(root: Root, parent: Folder, name: string): Promise<Folder | undefined> {
  const p = path.join(parent.path, name);
  let stat: Stats;
  try {
    stat = await fs.lstat(path.join(parent.real, name));
  } catch {
    return undefined;
  }
  if (stat.isDirectory()) return { path: p, real: path.join(parent.real, name) };
  if (!stat.isSymbolicLink()) return undefined;
  let real: string;
  try {
    real = await fs.realpath(path.join(parent.real, name));
  } catch {
    return undefined; // a dangling link is no folder
  }
  if (!within(root.real, real)) {
    throw new UserError(`The folder ${shown(p)} leads outside the folder ${shown(root.dir)} through a symbolic link, so it was not read.`);
  }
  return (await fs.stat(real).catch(() => undefined))?.isDirectory() ? { path: p, real } : undefined;
}

/**
 * Counts the entries of every folder listed for one dataset against the files limit, so that a
 * folder of millions of entries is refused after the first million, not listed whole.
 */
export class EntryCount {
  private count = 0;

  constructor(private readonly root: Root) {}

  /** Entries of a folder sorted by code point (so the order never depends on the locale). */
  async list(folder: Folder): Promise<Dirent[]> {
    const entries: Dirent[] = [];
    const max = limits().files;
    let handle;
    try {
      handle = await fs.opendir(folder.real);
    } catch (err) {
      throw fsError(err, folder.path, 'folder');
    }
    try {
      for (let entry = await handle.read(); entry !== null; entry = await handle.read()) {
        this.count++;
        if (this.count > max) {
          checkLimit('files', this.count, `The folder ${shown(this.root.dir)}`, `holds more than ${max} files and folders`);
        }
        entries.push(entry);
      }
    } finally {
      await handle.close();
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
