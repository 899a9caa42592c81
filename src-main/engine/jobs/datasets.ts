/**
 * The engine's dataset cache: the wizard and browser mode ask for the same dataset step after
 * step, so the last few loaded are kept. A spec names files, and files change: each entry
 * records the identity of every file and folder its spec names (device, inode, size,
 * modification and change times; folders walked), and a request whose files no longer match
 * reloads. A CSV edited in place, replaced by a rename, or touched back to its old mtime is
 * read again; the built-in `mnist` specs name no files and are kept as loaded.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadDataset, specPaths } from '../data/load.js';

export interface DataOptions { data: string; limit?: number; dataSeed?: number }

const CACHE_SIZE = 3;
/** Folders with more entries than this are not cached (walking them would cost a load). */
const MAX_ENTRIES = 200_000;
const MAX_DEPTH = 8;

const cache = new Map<string, { identity: string; dataset: Dataset }>();

function describeStat(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.mode}`;
}

/**
 * What the files a spec names are right now, as one hash; null when a folder is too large to
 * walk (such a spec is loaded every time rather than risk serving stale data).
 */
export function specIdentity(spec: string): string | null {
  const hash = createHash('sha256');
  let entries = 0;
  const walk = (dir: string, rel: string, depth: number, seen: Set<string>): boolean => {
    let names: string[];
    try { names = readdirSync(dir).sort(); } catch { hash.update(`${rel}\tunreadable\n`); return true; }
    for (const name of names) {
      if (++entries > MAX_ENTRIES) return false;
      const full = path.join(dir, name);
      const childRel = `${rel}/${name}`;
      let s: Stats;
      try { s = statSync(full); } catch { hash.update(`${childRel}\tmissing\n`); continue; }
      hash.update(`${childRel}\t${describeStat(s)}\n`);
      const id = `${s.dev}:${s.ino}`;
      if (s.isDirectory() && depth < MAX_DEPTH && !seen.has(id)) {
        seen.add(id);
        if (!walk(full, childRel, depth + 1, seen)) return false;
      }
    }
    return true;
  };
  for (const p of specPaths(spec)) {
    let s: Stats;
    try { s = statSync(p); } catch { hash.update(`${p}\tmissing\n`); continue; }
    hash.update(`${p}\t${describeStat(s)}\n`);
    if (s.isDirectory() && !walk(p, p, 1, new Set([`${s.dev}:${s.ino}`]))) return null;
  }
  return hash.digest('hex');
}

/** Loads a dataset, keeping the last few in memory while the files they came from are unchanged. */
export async function getDataset(opts: DataOptions): Promise<Dataset> {
  const spec = opts.data.trim();
  const key = JSON.stringify([spec, opts.limit ?? null, opts.dataSeed ?? 0]);
  // Taken before the load: a file that changes during it is seen as changed next time.
  const identity = specIdentity(spec);
  const hit = cache.get(key);
  if (hit && identity !== null && hit.identity === identity) {
    cache.delete(key); cache.set(key, hit); // most recently used last
    return hit.dataset;
  }
  cache.delete(key);
  const dataset = await loadDataset(opts.data, { limit: opts.limit, seed: opts.dataSeed });
  if (identity !== null) {
    cache.set(key, { identity, dataset });
    while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return dataset;
}
