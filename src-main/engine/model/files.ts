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
import { randomBytes } from 'node:crypto';
import {
  closeSync, constants as fsConstants, existsSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync,
  readSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import path from 'node:path';
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

/** A name from a model file, quoted for a message: control characters escaped, long names cut. */
export function quoteName(name: string): string {
  const cut = name.length > 120 ? `${name.slice(0, 117)}...` : name;
  return JSON.stringify(cut);
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function isInside(real: string, folderReal: string): boolean {
  const rel = path.relative(folderReal, real);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

export function openModelFolder(dir: string): ModelFolder {
  let stat: Stats;
  try { stat = statSync(dir); } catch {
    throw new UserError(`The model folder ${dir} does not exist.`);
  }
  if (!stat.isDirectory()) throw new UserError(`The model path ${dir} is a file; give the folder that holds model.json.`);
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

/** Present in a temporary folder of ours while it is being filled; removed just before the rename. */
export const PARTIAL_MARKER = '.clear-partial';
/** A leftover temporary folder older than this is from a save that crashed. */
export const STALE_PARTIAL_MS = 60 * 60 * 1000;

function partialPattern(base: string): RegExp {
  return new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.partial-[0-9a-f]{16}$`);
}

/**
 * Removes leftovers of crashed saves of `base` in `parent`: only folders with our name
 * (`.BASE.partial-<16 hex>`), that are real folders (not links), still hold our marker, hold
 * nothing but regular files, and were last touched more than STALE_PARTIAL_MS ago. Each file
 * is unlinked by name and the folder removed with rmdir, so nothing else can be deleted.
 */
export function removeStalePartials(parent: string, base: string, now = Date.now()): string[] {
  const pattern = partialPattern(base);
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(parent); } catch { return removed; }
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const dir = path.join(parent, name);
    try {
      const stat = lstatSync(dir);
      if (!stat.isDirectory()) continue;
      const entries = readdirSync(dir);
      if (!entries.includes(PARTIAL_MARKER)) continue;
      const stats = entries.map((e) => lstatSync(path.join(dir, e)));
      if (!stats.every((s) => s.isFile())) continue;
      const newest = Math.max(stat.mtimeMs, ...stats.map((s) => s.mtimeMs));
      if (now - newest < STALE_PARTIAL_MS) continue;
      for (const e of entries) unlinkSync(path.join(dir, e));
      rmdirSync(dir);
      removed.push(dir);
    } catch { /* best effort: a leftover we cannot remove is left alone */ }
  }
  return removed;
}

function writeNewFile(file: string, data: Uint8Array | string): void {
  const fd = openSync(file, 'wx');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
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

/** Writes a folder's files into a hidden temporary sibling, then renames it into place as a whole. */
export function writeFolderAtomically(dir: string, files: Record<string, Uint8Array | string>): void {
  assertWritableOutput(dir);
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  for (const name of Object.keys(files)) {
    if (name === PARTIAL_MARKER || name === '.' || name === '..' || name !== path.basename(name) || /[\\/\0]/.test(name)) {
      throw new Error(`writeFolderAtomically: "${name}" is not a plain file name.`);
    }
  }
  mkdirSync(parent, { recursive: true });
  removeStalePartials(parent, base);
  const tmp = path.join(parent, `.${base}.partial-${randomBytes(8).toString('hex')}`);
  mkdirSync(tmp); // not recursive: fails rather than reuse anything that exists
  const written: string[] = [];
  try {
    writeNewFile(path.join(tmp, PARTIAL_MARKER), ''); written.push(PARTIAL_MARKER);
    for (const [name, data] of Object.entries(files)) { writeNewFile(path.join(tmp, name), data); written.push(name); }
    unlinkSync(path.join(tmp, PARTIAL_MARKER)); written.shift();
    placeFolder(tmp, target, dir);
  } catch (err) {
    for (const name of written) { try { unlinkSync(path.join(tmp, name)); } catch { /* already gone */ } }
    try { rmdirSync(tmp); } catch { /* renamed, or not empty: left alone */ }
    throw err;
  }
}
