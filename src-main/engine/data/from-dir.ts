/**
 * `dir:DIR`: a dataset folder in the project's own format (see dir-format.ts), as written by
 * saveDatasetDir, e.g. a poisoned dataset from an attack.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { DATASET_VERSION, DESCRIPTION_FILE, DatasetDescription } from './dir-format.js';
import { readUserFile, requireFolder } from './files.js';
import { formatShape, readIdxPair, sameShape } from './from-idx.js';
import { checkLabelRange, type LoadedData } from './source.js';

export async function loadDir(dir: string): Promise<LoadedData> {
  const desc = await readDescription(dir);
  const files = desc.files;
  const [train, test] = await Promise.all([
    readIdxPair(inside(dir, files.trainImages), inside(dir, files.trainLabels), true),
    readIdxPair(inside(dir, files.testImages), inside(dir, files.testLabels), true),
  ]);
  for (const [part, imagesFile, labelsFile] of [
    [train, files.trainImages, files.trainLabels], [test, files.testImages, files.testLabels],
  ] as const) {
    const imagesPath = inside(dir, imagesFile);
    if (part.split.count > 0 && !sameShape(part.shape, desc.shape)) {
      throw new UserError(
        `The IDX file ${imagesPath} holds ${formatShape(part.shape)} images but ${path.join(dir, DESCRIPTION_FILE)} declares ${formatShape(desc.shape)}.`);
    }
    checkLabelRange(part.split.labels, desc.classNames.length, inside(dir, labelsFile));
  }
  return { name: desc.name, shape: desc.shape, classNames: desc.classNames, splits: { train: train.split, test: test.split } };
}

/** Reads and validates DIR/dataset.json. */
export async function readDescription(dir: string): Promise<DatasetDescription> {
  await requireFolder(dir);
  const file = path.join(dir, DESCRIPTION_FILE);
  const text = (await readUserFile(file)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`The file ${file} is not valid JSON (${(err as Error).message}).`);
  }
  const parsed = DatasetDescription.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `at ${issue.path.join('.')}` : 'at the top level';
    throw new UserError(`The file ${file} is not a valid CLEAR dataset description: ${issue.message} ${where}.`);
  }
  if (parsed.data.version > DATASET_VERSION) {
    throw new UserError(`The file ${file} has format version ${parsed.data.version}, newer than this app reads (${DATASET_VERSION}).`);
  }
  return parsed.data;
}

/**
 * Resolves a file named in dataset.json; it must stay inside the dataset folder, so a
 * crafted dataset.json cannot make the app read files elsewhere.
 */
export function inside(dir: string, name: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (path.isAbsolute(name) || !full.startsWith(root + path.sep)) {
    throw new UserError(`The file ${path.join(dir, DESCRIPTION_FILE)} names ${name}, which is outside the dataset folder.`);
  }
  return path.join(dir, name);
}

/** The manifest an attack stored with the dataset, or undefined when there is none. */
export async function loadDatasetManifest(dir: string): Promise<unknown> {
  const desc = await readDescription(dir);
  if (desc.files.manifest === undefined) return undefined;
  const file = inside(dir, desc.files.manifest);
  try {
    return JSON.parse((await readUserFile(file)).toString('utf8'));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`The file ${file} is not valid JSON (${(err as Error).message}).`);
  }
}
