/**
 * Writes a dataset as a `dir:` folder (see dir-format.ts), e.g. the poisoned dataset an attack
 * produces. The write is atomic: everything goes into a hidden temporary folder next to the
 * target, which is renamed into place only when complete, so a crash or a full disk never
 * leaves a half-written dataset that would later load.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { sampleSize, type Dataset, type Split } from './dataset.js';
import {
  DATASET_FORMAT, DATASET_VERSION, DESCRIPTION_FILE, MANIFEST_FILE, type DatasetDescription,
} from './dir-format.js';
import { encodeIdx } from './idx.js';

export interface SaveExtra {
  /** JSON-serialisable record of how the dataset was made (an attack's poison list…). */
  manifest?: unknown;
}

/**
 * Writes `ds` to the folder `dir`, which must not exist or be empty. Pixels are stored as
 * u8 when every value is an exact multiple of 1/255 (so the saved copy is byte-for-byte the
 * data that was loaded), and as float32 otherwise (crafted poisons), per split.
 */
export async function saveDatasetDir(ds: Dataset, dir: string, extra: SaveExtra = {}): Promise<void> {
  await checkTarget(dir);
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const temp = path.join(parent, `.${path.basename(path.resolve(dir))}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(temp);
  try {
    await writeContents(ds, temp, extra);
    await removeEmptyFolder(dir);
    await fs.rename(temp, dir);
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function checkTarget(dir: string): Promise<void> {
  let entries: string[];
  try {
    const stat = await fs.stat(dir);
    if (!stat.isDirectory()) throw new UserError(`The path ${dir} is a file, so a dataset folder cannot be written there.`);
    entries = await fs.readdir(dir);
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as { code?: string }).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length > 0) {
    throw new UserError(`The folder ${dir} already exists and is not empty, so the dataset was not written there.`);
  }
}

/** Removes the (empty) target folder so the rename can take its place; rmdir fails if it filled up meanwhile. */
async function removeEmptyFolder(dir: string): Promise<void> {
  try {
    await fs.rmdir(dir);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}

async function writeContents(ds: Dataset, folder: string, extra: SaveExtra): Promise<void> {
  const labelType = ds.classNames.length <= 256 ? 'u8' : 'i32';
  const train = await writeSplit(ds, 'train', folder, labelType);
  const test = await writeSplit(ds, 'test', folder, labelType);
  const files: DatasetDescription['files'] = {
    trainImages: train.images, trainLabels: train.labels, testImages: test.images, testLabels: test.labels,
  };
  if (extra.manifest !== undefined) {
    await fs.writeFile(path.join(folder, MANIFEST_FILE), `${JSON.stringify(extra.manifest, null, 2)}\n`);
    files.manifest = MANIFEST_FILE;
  }
  const description: DatasetDescription = {
    format: DATASET_FORMAT, version: DATASET_VERSION, name: ds.name, shape: ds.shape, classNames: ds.classNames, files,
  };
  await fs.writeFile(path.join(folder, DESCRIPTION_FILE), `${JSON.stringify(description, null, 2)}\n`);
}

async function writeSplit(
  ds: Dataset, split: 'train' | 'test', folder: string, labelType: 'u8' | 'i32',
): Promise<{ images: string; labels: string }> {
  const s: Split = ds[split];
  const [h, w, c] = ds.shape;
  if (s.images.length !== s.count * sampleSize(ds.shape) || s.labels.length !== s.count) {
    throw new RangeError(`The ${split} split's arrays do not match its count of ${s.count} samples.`);
  }
  const dims = c === 1 ? [s.count, h, w] : [s.count, h, w, c];
  const bytes = asBytes(s.images);
  const imagesName = `${split}-images.idx${dims.length}-${bytes ? 'ubyte' : 'float'}`;
  const labelsName = `${split}-labels.idx1-${labelType === 'u8' ? 'ubyte' : 'int'}`;
  await fs.writeFile(path.join(folder, imagesName), bytes ? encodeIdx('u8', dims, bytes) : encodeIdx('f32', dims, s.images));
  await fs.writeFile(path.join(folder, labelsName), encodeIdx(labelType, [s.count], s.labels));
  return { images: imagesName, labels: labelsName };
}

/**
 * The pixels as bytes when every value is exactly the float32 a loader makes from a byte
 * (b / 255), else undefined. Comparing against that exact float means a u8 round trip
 * reproduces the data bit for bit, and with it the fingerprint.
 */
function asBytes(images: Float32Array): Uint8Array | undefined {
  const bytes = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    const b = Math.round(v * 255);
    if (!(b >= 0 && b <= 255) || Math.fround(b / 255) !== v) return undefined;
    bytes[i] = b;
  }
  return bytes;
}
