/**
 * `dir:DIR`: a dataset folder in the project's own format (see dir-format.ts), as written by
 * saveDatasetDir, e.g. a poisoned dataset from an attack. Such a folder may come from someone
 * else, so every file it names must resolve inside it (no `..`, no symbolic link out of it) and
 * be a regular file, and what dataset.json declares is checked against the limits. The samples
 * keep the sources saved with them (dir-format.ts), which must fit the splits they describe.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import { DATASET_VERSION, DESCRIPTION_FILE, DatasetDescription } from './dir-format.js';
import { openRoot, quoted, readUserFile, shown, type Root } from './files.js';
import { formatShape, readIdxPair, sameShape } from './from-idx.js';
import { readIdxFile } from './idx-read.js';
import { checkLabelRange, DatasetBudget, type LoadedData } from './source.js';
import { itemSources, sourcesProblem, type SampleSources } from './sources.js';

/** dataset.json and manifest.json are parsed whole, so they are kept well below what a string can hold. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

export async function loadDir(dir: string): Promise<LoadedData> {
  const root = await openRoot(dir);
  const desc = await readDescription(dir, root);
  const files = desc.files;
  const budget = new DatasetBudget();
  const [train, test] = await Promise.all([
    readIdxPair(inside(dir, files.trainImages), inside(dir, files.trainLabels), true, { root, budget }),
    readIdxPair(inside(dir, files.testImages), inside(dir, files.testLabels), true, { root, budget }),
  ]);
  for (const [part, imagesFile, labelsFile] of [
    [train, files.trainImages, files.trainLabels], [test, files.testImages, files.testLabels],
  ] as const) {
    const imagesPath = inside(dir, imagesFile);
    if (part.split.count > 0 && !sameShape(part.shape, desc.shape)) {
      throw new UserError(
        `The IDX file ${shown(imagesPath)} holds ${formatShape(part.shape)} images but ${shown(path.join(dir, DESCRIPTION_FILE))} declares ${formatShape(desc.shape)}.`);
    }
    checkLabelRange(part.split.labels, desc.classNames.length, inside(dir, labelsFile));
    // Without saved sources a sample's source is its item in the folder's images file.
    part.split.sources = itemSources(imagesFile, part.split.count);
  }
  if (desc.sources) {
    const [trainSources, testSources] = await Promise.all([
      readSources(dir, desc.sources, 'train', train.split.count, root),
      readSources(dir, desc.sources, 'test', test.split.count, root),
    ]);
    train.split.sources = trainSources;
    test.split.sources = testSources;
  }
  return { name: desc.name, shape: desc.shape, classNames: desc.classNames, splits: { train: train.split, test: test.split } };
}

/** One split's saved sources: its IDX file of places and numbers, checked against dataset.json's places and the split. */
async function readSources(
  dir: string, saved: NonNullable<DatasetDescription['sources']>, split: 'train' | 'test', count: number, root: Root,
): Promise<SampleSources> {
  const file = inside(dir, saved[split]);
  const idx = await readIdxFile(file, 'sources', { root });
  const pairs = idx.data as Int32Array;
  const sources: SampleSources = {
    places: saved.places, numbering: saved.numbering,
    place: Int32Array.from({ length: idx.dims[0] }, (_, i) => pairs[2 * i]),
    at: Int32Array.from({ length: idx.dims[0] }, (_, i) => pairs[2 * i + 1]),
  };
  const problem = sourcesProblem(sources, count);
  if (problem) throw new UserError(`The file ${shown(file)} does not fit its dataset: ${problem}.`);
  return sources;
}

/** Reads and validates DIR/dataset.json. */
export async function readDescription(dir: string, root?: Root): Promise<DatasetDescription> {
  root ??= await openRoot(dir);
  const file = path.join(dir, DESCRIPTION_FILE);
  const json = await readJson(file, root);
  const parsed = DatasetDescription.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `at ${issue.path.join('.')}` : 'at the top level';
    throw new UserError(`The file ${shown(file)} is not a valid CLEAR dataset description: ${issue.message} ${shown(where)}.`);
  }
  const desc = parsed.data;
  if (desc.version > DATASET_VERSION) {
    throw new UserError(`The file ${shown(file)} has format version ${desc.version}, newer than this app reads (${DATASET_VERSION}).`);
  }
  const name = `The file ${shown(file)}`;
  const [h, w, c] = desc.shape;
  checkLimit('classes', desc.classNames.length, name, `declares ${desc.classNames.length} classes`);
  checkLimit('imagePixels', h * w, name, `declares images of ${h}×${w} pixels`);
  checkLimit('sampleValues', h * w * c, name, `declares images of ${h}×${w}×${c} values`);
  return desc;
}

/** Reads a JSON file of the dataset folder; its text is never quoted in an error. */
async function readJson(file: string, root: Root): Promise<unknown> {
  const bytes = await readUserFile(file, { root });
  if (bytes.length > MAX_JSON_BYTES) {
    throw new UserError(`The file ${shown(file)} is ${bytes.length} bytes long, more than the ${MAX_JSON_BYTES} bytes a dataset's JSON file may have.`);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UserError(`The file ${shown(file)} is not valid JSON.`);
  }
}

/**
 * Resolves a file named in dataset.json; it must stay inside the dataset folder, so a
 * crafted dataset.json cannot make the app read files elsewhere (symbolic links are checked
 * when the file is opened).
 */
export function inside(dir: string, name: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (path.isAbsolute(name) || !full.startsWith(root + path.sep)) {
    throw new UserError(`The file ${shown(path.join(dir, DESCRIPTION_FILE))} names a file ${quoted(name)}, which is outside the dataset folder.`);
  }
  return path.join(dir, name);
}

/** The manifest an attack stored with the dataset, or undefined when there is none. */
export async function loadDatasetManifest(dir: string): Promise<unknown> {
  const root = await openRoot(dir);
  const desc = await readDescription(dir, root);
  if (desc.files.manifest === undefined) return undefined;
  return readJson(inside(dir, desc.files.manifest), root);
}
