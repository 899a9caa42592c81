/**
 * Model-folder fingerprints, computed in the host process without the engine (the main
 * process never loads tfjs). The rule is the engine's (engine/model/io.ts,
 * fingerprintModelDir): SHA-256 over model.json's bytes, then each weight file listed in its
 * weightsManifest, in manifest order. Same rule, same hex string, so a fingerprint the
 * engine reported can be checked here when a project is reopened.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The fingerprint, or null when the folder holds no readable model.json. */
export function modelFingerprint(dir: string): string | null {
  const file = path.join(dir, 'model.json');
  if (!existsSync(file)) return null;
  const bytes = readFileSync(file);
  let manifest: { paths?: unknown }[] = [];
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { weightsManifest?: { paths?: unknown }[] };
    manifest = Array.isArray(json.weightsManifest) ? json.weightsManifest : [];
  } catch {
    return null;
  }
  const hash = createHash('sha256').update(bytes);
  for (const group of manifest) {
    for (const p of Array.isArray(group.paths) ? group.paths : []) {
      const f = path.join(dir, String(p));
      if (existsSync(f)) hash.update(readFileSync(f));
    }
  }
  return hash.digest('hex');
}
