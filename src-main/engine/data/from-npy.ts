/**
 * NumPy arrays (npy.ts): `npz:FILE`, an archive holding `x_train`, `y_train` and optionally
 * `x_test`, `y_test` (the names Keras' datasets use; numpy.savez(file, x_train=…, …) writes
 * them), and `npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]`, the same arrays as separate .npy files.
 *
 * Images are uint8, float32 or float64, NHWC or NCHW (told by the channel axis, see npy.ts);
 * labels are integers, one per image (shape N or N×1), and are class indices, so the classes
 * are 0..K-1 named '0'…'K-1' (every class must have a sample, see inferClassCount). Without
 * test arrays load.ts splits the data 80/20. The dataset's description says how the arrays
 * were read (their shapes, types and layout).
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { Split } from './dataset.js';
import { quoted, shown } from './files.js';
import { formatShape, sameShape } from './from-idx.js';
import { layoutText, npyArrayText, npyImages, npyLabels, type NpyRole } from './npy.js';
import { lazyNpyImages, openNpz, readNpyFile, type NpyArray } from './npy-read.js';
import { LAZY_PIXELS_ABOVE } from './pixels.js';
import { DatasetBudget, inferClassCount, numericClassNames, type FileLabels, type LoadedData } from './source.js';
import { itemSources } from './sources.js';

type Shape = [number, number, number];

/** One images array and one labels array, read, as a split. */
interface Part {
  split: Split;
  shape: Shape;
  /** How the images were read, e.g. `x_train 100×3×32×32 uint8`, and their layout. */
  account: string;
  layout: string;
  labels: FileLabels;
}

/** Where one array comes from: how messages name it, how sources name it, how the description names it. */
interface ArraySource {
  name: string;
  /** The file as label messages name it (`d.npz (y_train.npy)`). */
  file: string;
  place: string;
  label: string;
  read(role: NpyRole, budget: DatasetBudget): Promise<NpyArray>;
  /** The images as pixels read when needed, where the array allows it (lazyNpyImages). */
  lazy?(budget: DatasetBudget): ReturnType<typeof lazyNpyImages>;
}

async function readPart(images: ArraySource, labels: ArraySource, budget: DatasetBudget, mismatch: (n: number, m: number) => string): Promise<Part> {
  // Read lazily where the array allows it, else whole (npyImages), in the same shape.
  const lazy = await images.lazy?.(budget);
  const x = lazy ?? await images.read('images', budget);
  const y = await labels.read('labels', budget);
  const read = lazy ?? npyImages(x.header, (x as NpyArray).body, images.name);
  const values = npyLabels(y.header, y.body, labels.name);
  const count = x.header.shape[0];
  if (count !== values.length) throw new UserError(mismatch(count, values.length));
  if (count === 0) throw new UserError(`${images.name} holds no images.`);
  return {
    split: { images: read.images, labels: values, count, sources: itemSources(images.place, count) },
    shape: read.shape,
    account: npyArrayText(images.label, x.header),
    layout: layoutText(read.layout, read.ambiguous),
    labels: { labels: values, file: labels.file, where: (i) => `at item ${i}` },
  };
}

function assemble(name: string, kind: string, train: Part, test: Part | undefined, testName: string): LoadedData {
  if (test === undefined) {
    const K = inferClassCount(train.labels);
    return {
      name, shape: train.shape, classNames: numericClassNames(K), splits: { pool: train.split },
      description: `${kind}: ${train.account}, read as ${train.layout}; no test arrays, so it is split 80/20.`,
    };
  }
  if (!sameShape(train.shape, test.shape)) {
    throw new UserError(`${testName} holds ${formatShape(test.shape)} images but the training images are ${formatShape(train.shape)}.`);
  }
  const K = inferClassCount(train.labels, test.labels);
  return {
    name, shape: train.shape, classNames: numericClassNames(K), splits: { train: train.split, test: test.split },
    description: `${kind}: ${train.account} and ${test.account}, read as ${train.layout}.`,
  };
}

/** `npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]`; uint8 images past `lazyAbove` bytes as float32 are read as needed (pixels.ts). */
export async function loadNpy(files: string[], lazyAbove = LAZY_PIXELS_ABOVE): Promise<LoadedData> {
  const budget = new DatasetBudget();
  const source = (file: string): ArraySource => {
    const name = `The NPY file ${shown(file)}`;
    return {
      name, file, place: file, label: path.basename(file), read: (role, b) => readNpyFile(file, name, role, { budget: b }),
      lazy: (b) => lazyNpyImages(file, name, lazyAbove, b),
    };
  };
  const mismatch = (x: string, y: string) => (n: number, m: number) =>
    `The NPY files ${shown(x)} and ${shown(y)} do not match: the first holds ${n} images but the second holds ${m} labels.`;
  const [xTrain, yTrain, xTest, yTest] = files;
  const train = await readPart(source(xTrain), source(yTrain), budget, mismatch(xTrain, yTrain));
  const test = xTest === undefined ? undefined : await readPart(source(xTest), source(yTest), budget, mismatch(xTest, yTest));
  return assemble(path.basename(xTrain), 'NPY files', train, test, `The NPY file ${shown(xTest ?? '')}`);
}

const NPZ_ARRAYS = ['x_train', 'y_train', 'x_test', 'y_test'] as const;

/** `npz:FILE`. */
export async function loadNpz(file: string): Promise<LoadedData> {
  const archiveName = `The NPZ file ${shown(file)}`;
  const archive = await openNpz(file, archiveName);
  try {
    const byName = new Map(archive.entries.map((e) => [e.name, e]));
    const present = new Set(NPZ_ARRAYS.filter((a) => byName.has(`${a}.npy`)));
    for (const required of ['x_train', 'y_train'] as const) {
      if (!present.has(required)) {
        throw new UserError(`${archiveName} holds no ${required} array (${arrayList(archive.entries.map((e) => e.name))}); save it with numpy.savez(file, x_train=…, y_train=…).`);
      }
    }
    if (present.has('x_test') !== present.has('y_test')) {
      const [has, lacks] = present.has('x_test') ? ['x_test', 'y_test'] : ['y_test', 'x_test'];
      throw new UserError(`${archiveName} holds ${has} but no ${lacks}: test arrays come in pairs.`);
    }
    const budget = new DatasetBudget();
    const source = (array: string): ArraySource => {
      const name = `${archiveName} (${array}.npy)`;
      const entry = byName.get(`${array}.npy`)!;
      return { name, file: `${file} (${array}.npy)`, place: `${file}[${array}]`, label: array, read: (role, b) => archive.read(entry, name, role, b) };
    };
    const mismatch = (x: string, y: string) => (n: number, m: number) =>
      `${archiveName} does not match itself: ${x} holds ${n} images but ${y} holds ${m} labels.`;
    const train = await readPart(source('x_train'), source('y_train'), budget, mismatch('x_train', 'y_train'));
    const test = present.has('x_test') ? await readPart(source('x_test'), source('y_test'), budget, mismatch('x_test', 'y_test')) : undefined;
    return assemble(path.basename(file), `NPZ file ${path.basename(file)}`, train, test, `${archiveName} (x_test.npy)`);
  } finally {
    await archive.close();
  }
}

/** "its arrays are a, b and 3 more" / "it holds no arrays", the archive's members as a message may show them. */
function arrayList(names: string[]): string {
  const arrays = names.filter((n) => n.endsWith('.npy')).map((n) => n.slice(0, -4));
  if (arrays.length === 0) return names.length === 0 ? 'it is empty' : 'it holds no .npy arrays';
  const shownNames = arrays.slice(0, 5).map((n) => quoted(n)).join(', ');
  return `its arrays are ${shownNames}${arrays.length > 5 ? ` and ${arrays.length - 5} more` : ''}`;
}
