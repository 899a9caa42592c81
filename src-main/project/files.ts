/**
 * File-system helpers for projects and exports: atomic writes and no-overwrite copies.
 * Everything here refuses to replace what the user already has.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

/** A mistake the user can fix (a wrong folder, say); its message is one sentence. */
export class ProjectError extends Error {
  readonly kind = 'user' as const;
  constructor(message: string) { super(message); this.name = 'ProjectError'; }
}

/**
 * Writes a file so that a reader sees either the old content or the new, never half: the
 * text goes to a temporary file in the same folder (same file system), which is then
 * renamed over the target (rename is atomic on POSIX and NTFS).
 */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function isEmptyOrMissing(dir: string): boolean {
  return !existsSync(dir) || (statSync(dir).isDirectory() && readdirSync(dir).length === 0);
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) return listFiles(path.join(dir, e.name), rel);
    return e.isFile() ? [rel] : [];
  });
}

/**
 * Copies a folder to a new folder: into a temporary sibling first, renamed into place at
 * the end, so a failed copy never leaves a half-written model where the user asked for one.
 * Returns the copied files' relative paths.
 */
export function copyFolderNoOverwrite(from: string, to: string): string[] {
  const src = path.resolve(from); const dst = path.resolve(to);
  if (!existsSync(src) || !statSync(src).isDirectory()) throw new ProjectError(`The folder ${from} does not exist.`);
  if (dst === src || dst.startsWith(src + path.sep) || src.startsWith(dst + path.sep)) {
    throw new ProjectError(`Choose an export folder outside ${from}; a model is never copied onto or into itself.`);
  }
  if (!isEmptyOrMissing(dst)) throw new ProjectError(`The folder ${to} already holds files; choose a new folder so nothing there is overwritten.`);
  const files = listFiles(src);
  const tmp = `${dst}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(tmp, { recursive: true });
    for (const rel of files) {
      mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      copyFileSync(path.join(src, rel), path.join(tmp, rel));
    }
    if (existsSync(dst)) rmSync(dst, { recursive: true }); // empty, checked above
    renameSync(tmp, dst);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return files;
}
