/**
 * File safety that every Node process shares (the engine worker reading a model, the hosts
 * copying one): how a file that is not a regular file is named in a message, whether a real
 * path stays inside a folder's real path, how a name from a file is quoted, and the naming of
 * our temporary siblings (`.NAME.partial-<16 hex>`, holding PARTIAL_MARKER while filled), so a
 * leftover of either side is recognised by the other. Node built-ins only.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import path from 'node:path';

/** Present in a temporary folder of ours while it is being filled. */
export const PARTIAL_MARKER = '.clear-partial';
/** A leftover temporary folder or file older than this is from a write that crashed. */
export const STALE_PARTIAL_MS = 60 * 60 * 1000;

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The name of a new temporary sibling of ours for `base`: `.BASE.partial-<16 hex>`. */
export function partialName(base: string): string {
  return `.${base}.partial-${randomBytes(8).toString('hex')}`;
}

/** A name from a file, quoted for a message: control characters escaped, long names cut. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 117)}...` : name);
}

/** What a file that is not a regular file is, for a message ("is a FIFO (named pipe)"). */
export function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The real path `real` lies strictly inside the folder whose real path is `folderReal`. */
export function isInside(real: string, folderReal: string): boolean {
  const rel = path.relative(folderReal, real);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
