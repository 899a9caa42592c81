/**
 * The files of a model folder, read and written as if they came from an attacker.
 *
 * A model.json names its weight files by path, and the analyst opens models from suspected
 * attackers, so every name is checked before anything is opened: it must be relative, must not
 * climb out with `..`, must resolve (symbolic links followed) to a regular file inside the
 * folder's real path, and is opened non-blocking without following a link, then checked again
 * by its open descriptor. A FIFO, a device or a directory is refused by lstat/stat before open,
 * so nothing here can block the worker or read without end. Errors name the file as the user
 * wrote it and the problem; they never report anything about a file outside the folder.
 *
 * Writing is atomic: the files go into a hidden sibling folder of ours, which is renamed into
 * place as a whole; nothing of the user's is ever deleted recursively.
 */
import {
  closeSync, constants as fsConstants, existsSync, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync,
  readSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import path from 'node:path';
import { PARTIAL_MARKER, STALE_PARTIAL_MS, escapeRegExp, partialName, quoteName, kindOf, isInside } from '../../files/guard.js';
export { PARTIAL_MARKER, STALE_PARTIAL_MS, quoteName } from '../../files/guard.js';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';

export const MODEL_JSON = 'model.json';

/** A model folder the user named, and its real path (symbolic links resolved) for containment checks. */
export interface ModelFolder {
  /** As the user gave it: used in messages. */
  dir: string;
  real: string;
}

/** A file inside a model folder that passed the checks, with the stat its descriptor must match. */
export interface FolderFile {
  /** As written in model.json (or `model.json`): used in messages. */
  name: string;
  real: string;
  stat: Stats;
}

export function openModelFolder(dir: string): ModelFolder {
  let stat: Stats;
  try { stat = statSync(dir); } catch {
    throw new UserError(`The model folder ${dir} does not exist.`);
  }
  if (!stat.isDirectory()) throw new UserError(`The model path ${dir} is a file; give the folder that holds model.json, or a Keras model file ending in .h5 or .keras.`);
  return { dir, real: realpathSync(dir) };
}

/**
 * Resolves a relative name inside the folder to a regular file there, or throws a UserError.
 * `describe` is how messages name it ("The weight file "w.bin" listed in DIR/model.json").
 * Returns null for a name that does not exist when `missingOk` is set.
 */
function resolveInside(folder: ModelFolder, name: string, describe: string, missingOk = false): FolderFile | null {
  const joined = path.join(folder.real, name);
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    let link = false;
    try { link = lstatSync(joined).isSymbolicLink(); } catch { /* the name itself is missing */ }
    if (link) throw new UserError(`${describe} is a symbolic link that leads outside the model folder ${folder.dir} or to nothing, so it is not read.`);
    if (missingOk) return null;
    throw new UserError(`${describe} does not exist.`);
  }
  if (real !== folder.real && !isInside(real, folder.real)) {
    throw new UserError(`${describe} leads through a symbolic link outside the model folder ${folder.dir}, so it is not read.`);
  }
  const stat = lstatSync(real); // real has no links left in it
  if (!stat.isFile()) throw new UserError(`${describe} is ${kindOf(stat)}, not a regular file, so it is not read.`);
  return { name, real, stat };
}

/** model.json of the folder: a regular file inside it, no larger than the modelJsonBytes limit. */
export function locateModelJson(folder: ModelFolder): FolderFile {
  const file = path.join(folder.dir, MODEL_JSON);
  const describe = `The model file ${file}`;
  let own: Stats | null = null;
  try { own = lstatSync(path.join(folder.real, MODEL_JSON)); } catch { /* missing: below */ }
  if (!own) throw new UserError(`The model folder ${folder.dir} has no model.json (a TensorFlow.js Layers model is expected).`);
  const found = resolveInside(folder, MODEL_JSON, describe)!;
  checkLimit('modelJsonBytes', found.stat.size, describe, `is ${found.stat.size} bytes`);
  return found;
}

/**
 * Checks a weight path as written in model.json: relative, no `..`, and (resolved) a regular
 * file inside the folder. Only after all of this is the file's size looked at.
 */
export function locateWeightFile(folder: ModelFolder, name: unknown, modelJson: string, missingOk = false): FolderFile | null {
  if (typeof name !== 'string' || name.length === 0) {
    throw new UserError(`The model file ${modelJson} lists a weight file path that is not a non-empty string.`);
  }
  const describe = `The weight file ${quoteName(name)} listed in ${modelJson}`;
  if (name.includes('\0') || name.length > 4096) throw new UserError(`${describe} is not a usable file name.`);
  if (path.isAbsolute(name) || path.posix.isAbsolute(name) || path.win32.isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw new UserError(`${describe} is an absolute path, which leads outside the model folder ${folder.dir}; weight files must lie inside it.`);
  }
  if (name.split(/[\\/]+/).includes('..')) {
    throw new UserError(`${describe} climbs out with "..", which leads outside the model folder ${folder.dir}; weight files must lie inside it.`);
  }
  return resolveInside(folder, name, describe, missingOk);
}

const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/**
 * Reads a located file whole, through a descriptor opened without following links and without
 * blocking, after checking that the descriptor is the same regular file of the size seen
 * before. A file that changed in between (swapped, grown) is refused, never read further.
 */
export function readFolderFile(file: FolderFile, describe: string): Buffer {
  let fd: number;
  try { fd = openSync(file.real, OPEN_FLAGS); } catch {
    throw new UserError(`${describe} could not be opened; it changed while the model was being read.`);
  }
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== file.stat.ino || now.dev !== file.stat.dev || now.size !== file.stat.size) {
      throw new UserError(`${describe} changed while the model was being read, so it is not read.`);
    }
    const size = file.stat.size;
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) throw new UserError(`${describe} shrank while the model was being read.`);
      at += n;
    }
    if (readSync(fd, Buffer.alloc(1), 0, 1, size) !== 0) throw new UserError(`${describe} grew while the model was being read, so it is not read.`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Refuses to write into a folder that holds anything, so no user file is ever overwritten. */
export function assertWritableOutput(dir: string, what = 'output folder'): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`The ${what} ${dir} is a file, not a folder.`);
    if (readdirSync(dir).length > 0) {
      throw new UserError(`The ${what} ${dir} already holds files; choose a new folder so nothing there is overwritten.`);
    }
  }
}

function partialPattern(base: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(base)}\\.partial-[0-9a-f]{16}$`);
}

/**
 * Removes leftovers of crashed saves of `base` in `parent`, and nothing else. A folder goes
 * only when it has our name (`.BASE.partial-<16 hex>`), is a real folder (not a link), still
 * holds our marker, holds nothing but regular files, and was last touched more than
 * STALE_PARTIAL_MS ago; each file is unlinked by name and the folder removed with rmdir. A
 * file goes when it has our name (that, or `BASE.partial-<pid>` as JSON files were once
 * written), is a regular file, and is as old.
 */
export function removeStalePartials(parent: string, base: string, now = Date.now()): string[] {
  const pattern = partialPattern(base);
  const legacyFile = new RegExp(`^${escapeRegExp(base)}\\.partial-[0-9]{1,10}$`);
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(parent); } catch { return removed; }
  for (const name of names) {
    const ourFolderOrFile = pattern.test(name);
    if (!ourFolderOrFile && !legacyFile.test(name)) continue;
    const entry = path.join(parent, name);
    try {
      const stat = lstatSync(entry);
      if (stat.isFile()) {
        if (now - stat.mtimeMs < STALE_PARTIAL_MS) continue;
        unlinkSync(entry);
        removed.push(entry);
        continue;
      }
      if (!ourFolderOrFile || !stat.isDirectory()) continue;
      const entries = readdirSync(entry);
      if (!entries.includes(PARTIAL_MARKER)) continue;
      const stats = entries.map((e) => lstatSync(path.join(entry, e)));
      if (!stats.every((s) => s.isFile())) continue;
      const newest = Math.max(stat.mtimeMs, ...stats.map((s) => s.mtimeMs));
      if (now - newest < STALE_PARTIAL_MS) continue;
      for (const e of entries) unlinkSync(path.join(entry, e));
      rmdirSync(entry);
      removed.push(entry);
    } catch { /* best effort: a leftover we cannot remove is left alone */ }
  }
  return removed;
}

/** Error codes of a disk (or the user's quota, or the largest file it takes) that has no room left. */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * A full disk as one sentence naming the file as the user will know it (`shown`: the output's
 * own name, not our hidden temporary sibling); any other error is returned unchanged.
 */
function noRoomError(err: unknown, shown: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (!code || !NO_ROOM.has(code)) return err;
  return new UserError(`There is no room left on the disk for ${shown} (${code}), so it was not written; free some space or choose a folder on another disk.`);
}

/**
 * Creates `file` (never one that exists), writes it whole and syncs it; `created` is told once
 * the file exists. A full disk is reported naming `shown`.
 */
function writeNewFile(file: string, data: Uint8Array | string, shown: string, created?: () => void): void {
  let fd: number;
  try { fd = openSync(file, 'wx'); } catch (err) { throw noRoomError(err, shown); }
  created?.();
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } catch (err) {
    throw noRoomError(err, shown);
  } finally {
    closeSync(fd);
  }
}

/** Moves the filled temporary folder to its name; an empty folder there is replaced, anything else refused. */
function placeFolder(tmp: string, target: string, shown: string): void {
  try {
    renameSync(tmp, target); // POSIX replaces an empty folder atomically and refuses a non-empty one
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let stat: Stats | null = null;
    try { stat = lstatSync(target); } catch { /* gone */ }
    if (!stat) throw err;
    if (stat.isSymbolicLink()) throw new UserError(`The output folder ${shown} is a symbolic link; choose a new folder so nothing there is overwritten.`);
    if (!stat.isDirectory()) throw new UserError(`The output folder ${shown} is a file, not a folder.`);
    if (readdirSync(target).length > 0 || code === 'ENOTEMPTY') {
      throw new UserError(`The output folder ${shown} already holds files; choose a new folder so nothing there is overwritten.`);
    }
    // Windows does not rename onto an existing folder: remove the empty one (rmdir refuses a non-empty one).
    rmdirSync(target);
    renameSync(tmp, target);
  }
}

function assertPlainName(name: string): void {
  if (name === PARTIAL_MARKER || name === '.' || name === '..' || name !== path.basename(name) || /[\\/\0]/.test(name)) {
    throw new Error(`StagedFolder: "${name}" is not a plain file name.`);
  }
}

/**
 * A folder written as a whole: its files go into a hidden temporary sibling of ours
 * (`.NAME.partial-<16 hex>`, holding PARTIAL_MARKER while it is filled), which {@link place}
 * renames to its name at the end. Until then nothing exists under the name, so a crash, a
 * full disk or a cancel leaves either nothing or a leftover of ours that a later save of the
 * same name removes once it is old. `abandon` removes exactly the files this object wrote.
 */
export class StagedFolder {
  /** The temporary folder, for reading back what was written (a saved model, say). */
  readonly path: string;
  readonly #target: string;
  readonly #shown: string;
  readonly #written: string[] = [];
  #done = false;

  private constructor(shown: string, target: string, tmp: string) {
    this.#shown = shown; this.#target = target; this.path = tmp;
  }

  /** Starts a folder for `dir`, which must not exist or be empty; old leftovers of ours for it are removed first. */
  static open(dir: string): StagedFolder {
    assertWritableOutput(dir);
    const target = path.resolve(dir);
    const parent = path.dirname(target);
    const base = path.basename(target);
    mkdirSync(parent, { recursive: true });
    removeStalePartials(parent, base);
    const tmp = path.join(parent, partialName(base));
    try { mkdirSync(tmp); } catch (err) { throw noRoomError(err, dir); } // not recursive: fails rather than reuse anything that exists
    const staged = new StagedFolder(dir, target, tmp);
    try {
      writeNewFile(path.join(tmp, PARTIAL_MARKER), '', dir, () => staged.#written.push(PARTIAL_MARKER));
    } catch (err) {
      staged.abandon();
      throw err;
    }
    return staged;
  }

  /** Writes one new file (a plain name; never one that exists) and syncs it to disk. */
  write(name: string, data: Uint8Array | string): void {
    if (this.#done) throw new Error('StagedFolder: the folder was already placed or abandoned.');
    assertPlainName(name);
    if (this.#written.includes(name)) throw new Error(`StagedFolder: "${name}" was already written.`);
    // Recorded as soon as it exists: a write that fails half-way leaves a file abandon() must remove.
    writeNewFile(path.join(this.path, name), data, path.join(this.#shown, name), () => this.#written.push(name));
  }

  /** Renames the finished folder to its name, as a whole; refuses if something else took the name meanwhile. */
  place(): void {
    if (this.#done) throw new Error('StagedFolder: the folder was already placed or abandoned.');
    unlinkSync(path.join(this.path, PARTIAL_MARKER));
    this.#written.splice(this.#written.indexOf(PARTIAL_MARKER), 1);
    placeFolder(this.path, this.#target, this.#shown);
    this.#done = true;
  }

  /** Removes the temporary folder: the files written through this object, then the (then empty) folder. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    // The marker goes last, so a folder left half-removed by a crash is still recognisably ours.
    const order = [...this.#written.filter((n) => n !== PARTIAL_MARKER), ...this.#written.filter((n) => n === PARTIAL_MARKER)];
    for (const name of order) { try { unlinkSync(path.join(this.path, name)); } catch { /* already gone */ } }
    try { rmdirSync(this.path); } catch { /* not empty (not ours to empty) or gone: left alone */ }
  }
}

/** Writes a folder's files into a hidden temporary sibling, then renames it into place as a whole. */
export function writeFolderAtomically(dir: string, files: Record<string, Uint8Array | string>): void {
  for (const name of Object.keys(files)) assertPlainName(name);
  const staged = StagedFolder.open(dir);
  try {
    for (const [name, data] of Object.entries(files)) staged.write(name, data);
    staged.place();
  } catch (err) {
    staged.abandon();
    throw err;
  }
}

/**
 * Writes a new file so that it appears whole or not at all, and never replaces one: the bytes
 * go to a hidden sibling of ours (`.NAME.partial-<16 hex>`), synced, then hard-linked to the
 * name (which fails if the name exists, however late it appeared) and the sibling unlinked.
 * Where the file system has no hard links, the sibling is renamed after a last check.
 */
export function writeNewFileAtomically(file: string, data: Uint8Array | string, shown = file): void {
  const target = path.resolve(file);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const exists = () => { try { lstatSync(target); return true; } catch { return false; } };
  const taken = () => new UserError(`The file ${shown} already exists; choose a new name so nothing is overwritten.`);
  if (exists()) throw taken();
  mkdirSync(parent, { recursive: true });
  removeStalePartials(parent, base);
  const tmp = path.join(parent, partialName(base));
  let created = false;
  try {
    writeNewFile(tmp, data, shown, () => { created = true; });
    try {
      linkSync(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw taken();
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      if (exists()) throw taken();
      renameSync(tmp, target);
      return;
    }
  } finally {
    if (created) { try { unlinkSync(tmp); } catch { /* renamed, or already gone */ } }
  }
}
