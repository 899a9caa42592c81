/**
 * Writes a dataset as a `dir:` folder (see dir-format.ts), e.g. the poisoned dataset an attack
 * produces. The write is atomic: everything goes into a hidden temporary folder of ours next to
 * the target (model/files.ts, StagedFolder), which is renamed into place only when complete, so
 * a crash or a full disk never leaves a half-written dataset that would later load; a failed
 * write removes exactly the files it wrote, never a folder recursively.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';
import { StagedFolder } from '../model/files.js';
import { pixelsInMemory, sampleSize, type Dataset, type Split } from './dataset.js';
import {
  DATASET_FORMAT, DATASET_VERSION, DESCRIPTION_FILE, MANIFEST_FILE, type DatasetDescription,
} from './dir-format.js';
import { encodeIdx } from './idx.js';
import { joinSources, type SampleSources } from './sources.js';

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
  const staged = StagedFolder.open(dir);
  try {
    writeContents(ds, staged, extra);
    staged.place();
  } catch (err) {
    staged.abandon();
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

function writeContents(ds: Dataset, folder: StagedFolder, extra: SaveExtra): void {
  const labelType = ds.classNames.length <= 256 ? 'u8' : 'i32';
  const train = writeSplit(ds, 'train', folder, labelType);
  const test = writeSplit(ds, 'test', folder, labelType);
  const files: DatasetDescription['files'] = {
    trainImages: train.images, trainLabels: train.labels, testImages: test.images, testLabels: test.labels,
  };
  if (extra.manifest !== undefined) {
    folder.write(MANIFEST_FILE, `${JSON.stringify(extra.manifest, null, 2)}\n`);
    files.manifest = MANIFEST_FILE;
  }
  const description: DatasetDescription = {
    format: DATASET_FORMAT, version: DATASET_VERSION, name: ds.name, shape: ds.shape, classNames: ds.classNames, files,
  };
  const sources = writeSources(ds, folder);
  if (sources) description.sources = sources;
  folder.write(DESCRIPTION_FILE, `${JSON.stringify(description, null, 2)}\n`);
}

function writeSplit(
  ds: Dataset, split: 'train' | 'test', folder: StagedFolder, labelType: 'u8' | 'i32',
): { images: string; labels: string } {
  const s: Split = ds[split];
  const [h, w, c] = ds.shape;
  if (s.images.length !== s.count * sampleSize(ds.shape) || s.labels.length !== s.count) {
    throw new RangeError(`The ${split} split's arrays do not match its count of ${s.count} samples.`);
  }
  const dims = c === 1 ? [s.count, h, w] : [s.count, h, w, c];
  // A lazily read split is read whole here: the copy is written out in full.
  const values = pixelsInMemory(s.images);
  const bytes = asBytes(values);
  const imagesName = `${split}-images.idx${dims.length}-${bytes ? 'ubyte' : 'float'}`;
  const labelsName = `${split}-labels.idx1-${labelType === 'u8' ? 'ubyte' : 'int'}`;
  folder.write(imagesName, bytes ? encodeIdx('u8', dims, bytes) : encodeIdx('f32', dims, values));
  folder.write(labelsName, encodeIdx(labelType, [s.count], s.labels));
  return { images: imagesName, labels: labelsName };
}

/** The places of all samples' sources, as JSON, are kept below this so dataset.json stays far below what the loader reads. */
const MAX_PLACES_JSON = 16 * 1024 * 1024;

/**
 * Writes where the samples came from, when both splits know it (an empty split needs nothing):
 * the places of both splits as one list for dataset.json, and per split an int32 [N, 2] IDX
 * file of each sample's place and number. A dataset of so many distinct places (a folder of a
 * million long file names) that the list would crowd dataset.json is saved without them.
 */
function writeSources(ds: Dataset, folder: StagedFolder): DatasetDescription['sources'] {
  const of = (s: Split): SampleSources | undefined => s.sources ?? (s.count === 0 ? { places: [], numbering: [], place: new Int32Array(0), at: new Int32Array(0) } : undefined);
  const train = of(ds.train);
  const test = of(ds.test);
  if (train === undefined || test === undefined) return undefined;
  const joined = joinSources(train, test);
  if (JSON.stringify(joined.places).length > MAX_PLACES_JSON) return undefined;
  const write = (split: 'train' | 'test', from: number, count: number): string => {
    const pairs = new Int32Array(2 * count);
    for (let i = 0; i < count; i++) {
      pairs[2 * i] = joined.place[from + i];
      pairs[2 * i + 1] = joined.at[from + i];
    }
    const name = `${split}-sources.idx2-int`;
    folder.write(name, encodeIdx('i32', [count, 2], pairs));
    return name;
  };
  return {
    places: joined.places, numbering: joined.numbering,
    train: write('train', 0, ds.train.count), test: write('test', ds.train.count, ds.test.count),
  };
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
