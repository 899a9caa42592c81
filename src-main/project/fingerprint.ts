/**
 * Model-folder fingerprints, computed in the host process without the engine (the main
 * process never loads tfjs). The rule is the engine's (engine/model/io.ts,
 * fingerprintModelDir): SHA-256 over model.json's bytes, then each weight file listed in its
 * weightsManifest, in manifest order, skipping names that do not exist. Same rule, same hex
 * string, so a fingerprint the engine reported can be checked here when a project is reopened.
 *
 * The folder may come from an attacker and the host must never block: model.json and every
 * weight path are checked as the engine checks them (files.ts, locateInside: relative, no
 * `..`, real path inside the folder, a regular file by lstat) and read with fs/promises
 * through descriptors opened without blocking. A path that leads outside the folder or to a
 * FIFO is refused with a ProjectError naming it; nothing outside the folder is read.
 */
import { createHash } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import {
  MODEL_JSON_BYTES, ProjectError, WEIGHT_FILE_BYTES, locateInside, openFolder, quoteName, readInside,
} from './files.js';

/** A Keras model file (.h5, .hdf5, .keras) or an ONNX file rather than a folder: the engine's rule too (engine/model/io.ts, isKerasPath and isOnnxPath). */
const KERAS_FILE = /\.(h5|hdf5|keras|onnx)$/i;

/**
 * A Keras model file's fingerprint, as the engine computes it (engine/model/keras.ts): SHA-256
 * of the file's bytes; null when it does not exist.
 */
async function kerasFingerprint(file: string): Promise<string | null> {
  let real: string;
  let stat: Stats;
  try { real = await fs.realpath(file); stat = await fs.lstat(real); } catch { return null; }
  if (!stat.isFile()) throw new ProjectError(`The model file ${file} is not a regular file, so it is not read.`);
  const hash = createHash('sha256');
  await readInside({ name: path.basename(file), real, stat }, `The model file ${file}`, WEIGHT_FILE_BYTES, (chunk) => { hash.update(chunk); });
  return hash.digest('hex');
}

/** The fingerprint, or null when the folder holds no readable model.json; a ProjectError when it names a path it may not. */
export async function modelFingerprint(dir: string): Promise<string | null> {
  if (KERAS_FILE.test(dir)) {
    let folder = false;
    try { folder = (await fs.stat(dir)).isDirectory(); } catch { return null; }
    if (!folder) return kerasFingerprint(dir);
  }
  const folder = await openFolder(dir);
  if (!folder) return null;
  const jsonFile = path.join(dir, 'model.json');
  const located = await locateInside(folder, 'model.json', `The model file ${jsonFile}`);
  if (!located) {
    // A repaired ONNX model's folder: model.onnx, fingerprinted as the file (engine/model/io.ts, fingerprintModelDir).
    const onnx = await locateInside(folder, 'model.onnx', `The model file ${path.join(dir, 'model.onnx')}`);
    return onnx ? kerasFingerprint(path.join(dir, 'model.onnx')) : null;
  }
  const parts: Buffer[] = [];
  await readInside(located, `The model file ${jsonFile}`, MODEL_JSON_BYTES, (chunk) => { parts.push(Buffer.from(chunk)); });
  const bytes = Buffer.concat(parts);
  let manifest: unknown[];
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { weightsManifest?: unknown };
    manifest = Array.isArray(json?.weightsManifest) ? json.weightsManifest : [];
  } catch {
    return null;
  }
  const hash = createHash('sha256').update(bytes);
  for (const group of manifest) {
    const paths = (group as { paths?: unknown } | null)?.paths;
    for (const name of Array.isArray(paths) ? paths : []) {
      const describe = `The weight file ${typeof name === 'string' ? quoteName(name) : String(name)} listed in ${jsonFile}`;
      const file = await locateInside(folder, name, describe);
      if (file) await readInside(file, describe, WEIGHT_FILE_BYTES, (chunk) => { hash.update(chunk); });
    }
  }
  return hash.digest('hex');
}

