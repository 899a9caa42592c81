/**
 * File-system helpers for projects and exports, run in the host (the Electron main process or
 * the browser-mode server), where a blocked call freezes the app: everything that reads a
 * file the user or an attacker chose is asynchronous (fs/promises), refuses anything but a
 * regular file by stat before it is opened, and opens without blocking (a FIFO never stalls
 * a read). A model folder is read as hostile: the paths model.json names must stay inside it
 * (relative, no `..`, real path inside the folder's real path, regular files by lstat).
 *
 * Nothing here deletes recursively or replaces what the user has: a copy goes into a hidden
 * temporary sibling of ours (`.NAME.partial-<16 hex>`, marked while it is filled) that is
 * renamed into place as a whole; on failure exactly the files and folders it created are
 * removed, and an old leftover of a crashed copy is removed by the next copy to that name.
 * The naming, the marker and the containment checks are shared with the engine's model files
 * through src-main/files/guard.ts, so either side's leftovers are recognised.
 */
import { constants as fsConstants, promises as fs, mkdirSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { PARTIAL_MARKER, STALE_PARTIAL_MS, escapeRegExp, partialName, quoteName, kindOf, isInside } from '../files/guard.js';
export { PARTIAL_MARKER, STALE_PARTIAL_MS, quoteName, kindOf } from '../files/guard.js';

/** A mistake the user can fix (a wrong folder, say); its message is one sentence. */
export class ProjectError extends Error {
  readonly kind = 'user' as const;
  constructor(message: string) { super(message); this.name = 'ProjectError'; }
}

/** Largest model.json read (the engine's default modelJsonBytes). */
export const MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Largest single weight file hashed or copied (the engine's default fileBytes). */
export const WEIGHT_FILE_BYTES = 4 * 1024 ** 3;
/** Most entries a model folder may hold for an export. */
export const FOLDER_ENTRIES = 10_000;

const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);
const READ_NOFOLLOW = READ_FLAGS | (fsConstants.O_NOFOLLOW ?? 0);
const CHUNK = 1024 * 1024;

export async function lstatOrNull(p: string): Promise<Stats | null> {
  try { return await fs.lstat(p); } catch { return null; }
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Opens a file that stat found to be the regular file `stat`, without blocking, and checks the
 * descriptor is that file (a swap in between is refused). `nofollow` for real paths inside a
 * checked folder, where a link appearing meanwhile must not be followed.
 */
async function openChecked(file: string, stat: Stats, describe: string, nofollow: boolean): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try { handle = await fs.open(file, nofollow ? READ_NOFOLLOW : READ_FLAGS); } catch {
    throw new ProjectError(`${describe} could not be opened; it changed while it was being read.`);
  }
  const now = await handle.stat();
  if (!now.isFile() || now.ino !== stat.ino || now.dev !== stat.dev || now.size !== stat.size) {
    await handle.close();
    throw new ProjectError(`${describe} changed while it was being read, so it is not read.`);
  }
  return handle;
}

/** Reads a checked file in chunks, handing each to `take`; refuses one that shrank or grew meanwhile. */
async function readChunks(handle: fs.FileHandle, size: number, describe: string, take: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, size)));
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - at), at);
    if (bytesRead === 0) throw new ProjectError(`${describe} shrank while it was being read.`);
    await take(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, size);
  if (bytesRead !== 0) throw new ProjectError(`${describe} grew while it was being read, so it is not read.`);
}

/**
 * A file the user named (project.json, say), read whole: a regular file by stat (a FIFO or a
 * device is refused before it is opened), no larger than `maxBytes`, opened without blocking.
 * Returns null when it does not exist.
 */
export async function readUserFile(file: string, describe: string, maxBytes: number): Promise<Buffer | null> {
  let stat: Stats;
  try { stat = await fs.stat(file); } catch { return null; }
  if (!stat.isFile()) throw new ProjectError(`${describe} is ${kindOf(stat)}, not a regular file, so it is not read.`);
  if (stat.size > maxBytes) throw new ProjectError(`${describe} is ${stat.size} bytes, more than the ${maxBytes} it may be, so it is not read.`);
  const handle = await openChecked(file, stat, describe, false);
  try {
    const parts: Buffer[] = [];
    await readChunks(handle, stat.size, describe, (chunk) => { parts.push(Buffer.from(chunk)); });
    return Buffer.concat(parts);
  } finally {
    await handle.close();
  }
}

/** A folder the user named and its real path (links resolved), for containment checks. */
export interface CheckedFolder { dir: string; real: string }

/** The folder, or null when there is none (missing, or not a folder). */
export async function openFolder(dir: string): Promise<CheckedFolder | null> {
  try {
    const stat = await fs.stat(dir);
    if (!stat.isDirectory()) return null;
    return { dir, real: await fs.realpath(dir) };
  } catch {
    return null;
  }
}

/** A file inside a checked folder: its real path and the stat its descriptor must match. */
export interface InsideFile { name: string; real: string; stat: Stats }

/**
 * Checks a path as a file inside the folder names it (model.json's weight paths): a relative
 * path without `..`, whose real path (links resolved) is a regular file inside the folder's
 * real path. Returns null for a name that does not exist (the fingerprint skips those).
 */
export async function locateInside(folder: CheckedFolder, name: unknown, describe: string): Promise<InsideFile | null> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 4096 || name.includes('\0')) {
    throw new ProjectError(`${describe} is not a usable file name.`);
  }
  if (path.isAbsolute(name) || path.posix.isAbsolute(name) || path.win32.isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw new ProjectError(`${describe} is an absolute path, which leads outside the model folder ${folder.dir}, so it is not read.`);
  }
  if (name.split(/[\\/]+/).includes('..')) {
    throw new ProjectError(`${describe} climbs out with "..", which leads outside the model folder ${folder.dir}, so it is not read.`);
  }
  const joined = path.join(folder.real, name);
  let real: string;
  try {
    real = await fs.realpath(joined);
  } catch {
    if ((await lstatOrNull(joined))?.isSymbolicLink()) {
      throw new ProjectError(`${describe} is a symbolic link that leads outside the model folder ${folder.dir} or to nothing, so it is not read.`);
    }
    return null;
  }
  if (!isInside(real, folder.real)) {
    throw new ProjectError(`${describe} leads through a symbolic link outside the model folder ${folder.dir}, so it is not read.`);
  }
  const stat = await fs.lstat(real); // real has no links left in it
  if (!stat.isFile()) throw new ProjectError(`${describe} is ${kindOf(stat)}, not a regular file, so it is not read.`);
  return { name, real, stat };
}

/** Reads a located file in chunks (without blocking, not following a link swapped in meanwhile). */
export async function readInside(file: InsideFile, describe: string, maxBytes: number, take: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  if (file.stat.size > maxBytes) throw new ProjectError(`${describe} is ${file.stat.size} bytes, more than the ${maxBytes} it may be, so it is not read.`);
  const handle = await openChecked(file.real, file.stat, describe, true);
  try {
    await readChunks(handle, file.stat.size, describe, take);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes a file so that a reader sees either the old content or the new, never half: the
 * text goes to a temporary file of ours in the same folder (same file system), which is then
 * renamed over the target (rename is atomic on POSIX and NTFS). For the host's own files
 * (project.json, the recent-projects list), which a save replaces on purpose.
 */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), partialName(path.basename(file)));
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    throw err;
  }
}

/** writeFileAtomic with fs/promises, for saves the host awaits. */
export async function writeFileAtomicAsync(file: string, text: string): Promise<void> {
  const parent = path.dirname(file);
  await fs.mkdir(parent, { recursive: true });
  await removeStalePartials(parent, path.basename(file));
  const tmp = path.join(parent, partialName(path.basename(file)));
  let created = false;
  try {
    const handle = await fs.open(tmp, 'wx');
    created = true;
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    created = false;
  } finally {
    if (created) await fs.unlink(tmp).catch(() => {});
  }
}

/**
 * Removes leftovers of crashed writes of `base` in `parent`, and nothing else: a folder only
 * when it has our name, is a real folder, still holds our marker, holds nothing but regular
 * files, and nothing in it changed for STALE_PARTIAL_MS (each file unlinked by name, the
 * folder removed with rmdir); a file only when it has our name, is a regular file and is as old.
 */
export async function removeStalePartials(parent: string, base: string, now = Date.now()): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegExp(base)}\\.partial-[0-9a-f]{16}$`);
  const removed: string[] = [];
  let names: string[];
  try { names = await fs.readdir(parent); } catch { return removed; }
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const entry = path.join(parent, name);
    try {
      const stat = await fs.lstat(entry);
      if (stat.isFile()) {
        if (now - stat.mtimeMs < STALE_PARTIAL_MS) continue;
        await fs.unlink(entry);
        removed.push(entry);
        continue;
      }
      if (!stat.isDirectory()) continue;
      const entries = await fs.readdir(entry);
      if (!entries.includes(PARTIAL_MARKER)) continue;
      const stats = await Promise.all(entries.map((e) => fs.lstat(path.join(entry, e))));
      if (!stats.every((s) => s.isFile())) continue;
      if (now - Math.max(stat.mtimeMs, ...stats.map((s) => s.mtimeMs)) < STALE_PARTIAL_MS) continue;
      for (const e of entries) await fs.unlink(path.join(entry, e));
      await fs.rmdir(entry);
      removed.push(entry);
    } catch { /* best effort: a leftover we cannot remove is left alone */ }
  }
  return removed;
}

/** What a folder to copy holds: its regular files, by relative path, with where to read each. */
interface Listed { rel: string; file: InsideFile }

/**
 * Lists a folder's files for a copy: real folders are walked, regular files taken, a symbolic
 * link taken only when it resolves to a regular file inside the folder; anything else (a link
 * out, a FIFO, a device, a socket) refuses the copy, naming the entry.
 */
async function listForCopy(folder: CheckedFolder, shown: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let entries = 0;
  const walk = async (rel: string): Promise<void> => {
    const here = path.join(folder.real, rel);
    for (const e of await fs.readdir(here, { withFileTypes: true })) {
      if (++entries > FOLDER_ENTRIES) throw new ProjectError(`The folder ${shown} holds more than ${FOLDER_ENTRIES} entries, more than a model folder has, so it is not exported.`);
      const childRel = rel ? path.join(rel, e.name) : e.name;
      const describe = `The entry ${quoteName(childRel)} of ${shown}`;
      const stat = await fs.lstat(path.join(here, e.name));
      if (stat.isDirectory()) { await walk(childRel); continue; }
      if (stat.isFile()) { out.push({ rel: childRel, file: { name: childRel, real: path.join(here, e.name), stat } }); continue; }
      if (stat.isSymbolicLink()) {
        const located = await locateInside(folder, childRel, describe);
        if (!located) throw new ProjectError(`${describe} is a symbolic link that leads to nothing, so the folder is not exported.`);
        out.push({ rel: childRel, file: located });
        continue;
      }
      throw new ProjectError(`${describe} is ${kindOf(stat)}, not a regular file, so the folder is not exported.`);
    }
  };
  await walk('');
  return out;
}

async function isEmptyFolderOrMissing(dir: string): Promise<boolean> {
  const stat = await lstatOrNull(dir);
  if (!stat) return true;
  return stat.isDirectory() && (await fs.readdir(dir)).length === 0;
}

/** Renames the filled temporary folder to its name; an empty folder there is replaced (rmdir, never recursive), anything else refused. */
async function placeFolder(tmp: string, target: string, shown: string): Promise<void> {
  try {
    await fs.rename(tmp, target); // POSIX replaces an empty folder and refuses a non-empty one
    return;
  } catch (err) {
    const stat = await lstatOrNull(target);
    if (!stat) throw err;
    if (!stat.isDirectory() || (await fs.readdir(target)).length > 0) {
      throw new ProjectError(`The folder ${shown} already holds files; choose a new folder so nothing there is overwritten.`);
    }
    await fs.rmdir(target); // Windows: no rename onto a folder; rmdir refuses one that filled up meanwhile
    await fs.rename(tmp, target);
  }
}

/**
 * Copies a folder to a new folder: into a hidden temporary sibling first, renamed into place
 * at the end, so a failed copy never leaves a half-written model where the user asked for one
 * and never deletes anything that was there. `check` may inspect the finished copy before it
 * is placed (the export compares fingerprints). Returns the copied files' relative paths.
 */
export async function copyFolderNoOverwrite(from: string, to: string, check?: (staged: string) => Promise<void>): Promise<string[]> {
  const folder = await openFolder(from);
  if (!folder) throw new ProjectError(`The folder ${from} does not exist.`);
  const dst = path.resolve(to);
  const parent = path.dirname(dst);
  await fs.mkdir(parent, { recursive: true });
  const parentReal = await fs.realpath(parent);
  const dstReal = path.join(parentReal, path.basename(dst));
  if (dstReal === folder.real || isInside(dstReal, folder.real) || isInside(folder.real, dstReal)) {
    throw new ProjectError(`Choose an export folder outside ${from}; a model is never copied onto or into itself.`);
  }
  const target = await lstatOrNull(dst);
  if (target?.isSymbolicLink()) throw new ProjectError(`The folder ${to} is a symbolic link; choose a new folder so nothing there is overwritten.`);
  if (!(await isEmptyFolderOrMissing(dst))) throw new ProjectError(`The folder ${to} already holds files; choose a new folder so nothing there is overwritten.`);
  const files = await listForCopy(folder, from);

  await removeStalePartials(parent, path.basename(dst));
  const tmp = path.join(parent, partialName(path.basename(dst)));
  await fs.mkdir(tmp); // not recursive: fails rather than reuse anything that exists
  const createdFiles: string[] = [];
  const createdFolders: string[] = [];
  const create = async (file: string, fill: (handle: fs.FileHandle) => Promise<void>) => {
    const handle = await fs.open(file, 'wx');
    createdFiles.push(file);
    try { await fill(handle); await handle.sync(); } finally { await handle.close(); }
  };
  try {
    await create(path.join(tmp, PARTIAL_MARKER), async () => {});
    for (const { rel, file } of files) {
      const dest = path.join(tmp, rel);
      const parts = path.dirname(rel) === '.' ? [] : path.dirname(rel).split(path.sep);
      for (let k = 1; k <= parts.length; k++) {
        const sub = path.join(tmp, ...parts.slice(0, k));
        if (!createdFolders.includes(sub)) { await fs.mkdir(sub); createdFolders.push(sub); }
      }
      await create(dest, async (out) => {
        await readInside(file, `The file ${quoteName(rel)} of ${from}`, WEIGHT_FILE_BYTES, async (chunk) => { await out.write(chunk); });
      });
    }
    if (check) await check(tmp);
    await fs.unlink(path.join(tmp, PARTIAL_MARKER));
    createdFiles.shift();
    await placeFolder(tmp, dst, to);
  } catch (err) {
    // Exactly what this copy created, files first, folders deepest first, the marker last.
    const marker = path.join(tmp, PARTIAL_MARKER);
    for (const f of createdFiles.filter((f) => f !== marker)) await fs.unlink(f).catch(() => {});
    for (const d of [...createdFolders].reverse()) await fs.rmdir(d).catch(() => {});
    await fs.unlink(marker).catch(() => {});
    await fs.rmdir(tmp).catch(() => {});
    throw err;
  }
  return files.map((f) => f.rel);
}
