/**
 * File-system access for the loaders: every failure the user can fix (a missing file, a
 * folder where a file was expected) becomes a one-sentence UserError naming the path.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { UserError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/** Reads a whole file; a missing or unreadable file is a UserError. */
export async function readUserFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') throw new UserError(`The file ${file} does not exist.`);
    if (code === 'EISDIR') throw new UserError(`The path ${file} is a folder, but a file was expected.`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`The file ${file} cannot be read: permission denied.`);
    throw err;
  }
}

/**
 * Reads a file and gunzips it when it starts with the gzip magic bytes 1f 8b. The magic
 * bytes decide, not the extension, because downloaded IDX files are often renamed.
 */
export async function readMaybeGzipped(file: string): Promise<Buffer> {
  const raw = await readUserFile(file);
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return await gunzipAsync(raw);
  } catch (err) {
    throw new UserError(`The file ${file} looks gzip-compressed but cannot be decompressed (${(err as Error).message}).`);
  }
}

/** Checks that a folder exists; a missing path or a file is a UserError. */
export async function requireFolder(dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await fs.stat(dir)).isDirectory();
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new UserError(`The folder ${dir} does not exist.`);
    throw err;
  }
  if (!isDir) throw new UserError(`The path ${dir} is a file, but a folder was expected.`);
}

/** Entries of a folder sorted by code point, so the order never depends on the locale. */
export async function listFolder(dir: string): Promise<Dirent[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Names of the visible sub-folders of a folder (following symbolic links), sorted. */
export async function listSubfolders(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await listFolder(dir)) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory() || (entry.isSymbolicLink() && await isFolder(path.join(dir, entry.name)))) {
      names.push(entry.name);
    }
  }
  return names;
}

export async function isFolder(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
