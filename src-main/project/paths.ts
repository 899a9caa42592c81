/** What a typed path is, for the browser-mode path entry (there is no native dialog there). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PATH_LIST_LIMIT, type PathInfo } from '../contract/app-calls.js';
import { PROJECT_FILE } from '../contract/project.js';

/** `~` and `~/x` mean the home folder, as in a shell; everything else is resolved as given. */
export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

export function inspectPath(input: string): PathInfo {
  const resolved = path.resolve(expandHome(input.trim()));
  const parent = path.dirname(resolved) === resolved ? null : path.dirname(resolved);
  if (!existsSync(resolved)) return { path: resolved, exists: false, kind: null, parent };
  const stat = statSync(resolved);
  if (!stat.isDirectory()) return { path: resolved, exists: true, kind: stat.isFile() ? 'file' : 'other', parent };
  let entries: PathInfo['entries'] = [];
  try {
    entries = readdirSync(resolved, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .map((e) => ({ name: e.name, kind: isFolder(resolved, e) ? 'folder' as const : 'file' as const }))
      .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === 'folder' ? -1 : 1))
      .slice(0, PATH_LIST_LIMIT);
  } catch {
    // An unreadable folder still "exists"; the listing is a convenience.
  }
  const holds = existsSync(path.join(resolved, 'model.json')) ? 'model' as const
    : existsSync(path.join(resolved, PROJECT_FILE)) ? 'project' as const : undefined;
  return { path: resolved, exists: true, kind: 'folder', parent, entries, ...(holds ? { holds } : {}) };
}

function isFolder(dir: string, e: { name: string; isDirectory(): boolean; isSymbolicLink(): boolean }): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try { return statSync(path.join(dir, e.name)).isDirectory(); } catch { return false; }
}
