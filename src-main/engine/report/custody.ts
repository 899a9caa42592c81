/**
 * The chain of custody a report carries: SHA-256 of every file that went in or came out, read
 * here as raw bytes (a reader checks them with `sha256sum -c`), and how a scan or a repair was
 * run (versions, the `--limit` subset).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { APP_VERSION } from '../../contract/version.js';
import type { RunProvenance } from '../../contract/results.js';
import { specPaths } from '../data/load.js';
import type { CustodyFile } from './document.js';

export const TFJS_VERSION: string = tf.version_core;

export function runProvenance(args: { limit?: number; dataSeed?: number }): RunProvenance {
  return { appVersion: APP_VERSION, tfjsVersion: TFJS_VERSION, limit: args.limit ?? null, dataSeed: args.dataSeed ?? null };
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Our hidden temporary siblings and dot files are not part of what was read. */
const hidden = (name: string) => name.startsWith('.');

/**
 * Every regular file a model path (or one of our dataset folders) holds: the file itself, or the top-level files of its folder
 * (model.json, the weights, repair-report.json), sorted by name. Nothing that is missing is invented.
 */
export function hashModelFiles(model: string, role: string): CustodyFile[] {
  const abs = path.resolve(model);
  let stat;
  try { stat = lstatSync(abs); } catch { return []; }
  if (stat.isFile()) return [{ role, path: abs, sha256: sha256File(abs) }];
  if (!stat.isDirectory()) return [];
  return readdirSync(abs).filter((n) => !hidden(n)).sort()
    .map((n) => path.join(abs, n))
    .filter((f) => lstatSync(f).isFile())
    .map((f) => ({ role, path: f, sha256: sha256File(f) }));
}

/**
 * The files a data spec names: hashed when they are files; a folder (`folder:`, `dir:`,
 * `cifar:`) or the built-in digits are named by the dataset's fingerprint instead, since a
 * folder's checksum list would be as long as the data.
 */
export function hashDataFiles(spec: string, fingerprint: string): { files: CustodyFile[]; unhashed: { role: string; what: string; fingerprint: string }[] } {
  const files: CustodyFile[] = [];
  const unhashed: { role: string; what: string; fingerprint: string }[] = [];
  const paths = specPaths(spec);
  if (!paths.length) unhashed.push({ role: 'dataset', what: `${spec} (built in; no file to check)`, fingerprint });
  for (const p of paths) {
    const abs = path.resolve(p);
    let stat;
    try { stat = lstatSync(abs); } catch { unhashed.push({ role: 'dataset', what: `${abs} (not found when the report was written)`, fingerprint }); continue; }
    if (stat.isFile()) files.push({ role: 'dataset', path: abs, sha256: sha256File(abs) });
    // The product's own dataset folder is a few files (IDX, dataset.json, manifest.json): each is checked.
    else if (spec.trim().startsWith('dir:') && stat.isDirectory()) files.push(...hashModelFiles(abs, 'dataset'));
    else unhashed.push({ role: 'dataset', what: `${abs} (a folder: named by the dataset's fingerprint)`, fingerprint });
  }
  return { files, unhashed };
}
