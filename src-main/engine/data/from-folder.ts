/**
 * `folder:DIR`: one sub-folder per class holding PNG or JPEG images; class names are the
 * sorted folder names. When DIR has both `train/` and `test/` sub-folders, each holds the
 * class folders and gives that split; otherwise load.ts splits the images 80/20.
 *
 * Images are grayscale (1 channel) unless any image is in colour, in which case every image
 * gets 3 channels (grayscale ones are repeated across R, G, B). Alpha is dropped, not
 * composited. Files other than .png/.jpg/.jpeg (and hidden files) are ignored.
 */
import path from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { UserError } from '../errors.js';
import type { Split } from './dataset.js';
import { isFolder, listFolder, listSubfolders, readUserFile, requireFolder } from './files.js';
import { bytesToUnit } from './idx.js';
import type { LoadedData } from './source.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

interface DecodedImage {
  file: string;
  width: number;
  height: number;
  /** RGBA, 8 bits per channel. */
  rgba: Uint8Array;
  colour: boolean;
  label: number;
}

export async function loadFolder(dir: string): Promise<LoadedData> {
  await requireFolder(dir);
  const name = path.basename(path.resolve(dir));
  const trainDir = path.join(dir, 'train');
  const testDir = path.join(dir, 'test');
  if (await isFolder(trainDir) && await isFolder(testDir)) {
    const classNames = union(await classFolders(trainDir), await classFolders(testDir));
    const train = await decodeSplit(trainDir, classNames);
    const test = await decodeSplit(testDir, classNames);
    const all = [...train, ...test];
    const { shape, toSplit } = imageLayout(all);
    return { name, shape, classNames, splits: { train: toSplit(train), test: toSplit(test) } };
  }
  const classNames = await classFolders(dir);
  const images = await decodeSplit(dir, classNames);
  const { shape, toSplit } = imageLayout(images);
  return { name, shape, classNames, splits: { pool: toSplit(images) } };
}

async function classFolders(dir: string): Promise<string[]> {
  const names = await listSubfolders(dir);
  if (names.length === 0) {
    throw new UserError(`The folder ${dir} has no class sub-folders (one sub-folder of PNG or JPEG images per class).`);
  }
  return names;
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Decodes every image of the class folders under `dir` that exist there. */
async function decodeSplit(dir: string, classNames: string[]): Promise<DecodedImage[]> {
  const images: DecodedImage[] = [];
  for (const [label, className] of classNames.entries()) {
    const classDir = path.join(dir, className);
    if (!await isFolder(classDir)) continue; // a class may be missing from one of train/ and test/
    const files = await imageFiles(classDir);
    if (files.length === 0) throw new UserError(`The class folder ${classDir} holds no PNG or JPEG images.`);
    for (const file of files) images.push({ ...decodeImage(await readUserFile(file), file), file, label });
  }
  return images;
}

async function imageFiles(classDir: string): Promise<string[]> {
  return (await listFolder(classDir))
    .filter((e) => !e.name.startsWith('.') && !e.isDirectory() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(classDir, e.name));
}

/** Decodes by content (magic bytes), so a PNG saved with a .jpg name still loads. */
function decodeImage(bytes: Buffer, file: string): Omit<DecodedImage, 'file' | 'label'> {
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const png = pngjs.PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data, colour: png.color };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, rgba: img.data, colour: jpegComponents(bytes) >= 3 };
    }
  } catch (err) {
    throw new UserError(`The image ${file} cannot be decoded (${(err as Error).message}).`);
  }
  throw new UserError(`The image ${file} is neither a PNG nor a JPEG file.`);
}

/**
 * The component count from a JPEG's start-of-frame header: 1 for grayscale, 3 for colour.
 * jpeg-js always returns RGBA, so this is the only way to tell a grayscale JPEG apart.
 */
function jpegComponents(bytes: Buffer): number {
  let i = 2;
  while (i + 9 < bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { i += 2; continue; } // no payload
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) return bytes[i + 9];
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  return 3;
}

/** Checks that all images have one size and returns the shape and a converter to a Split. */
function imageLayout(images: DecodedImage[]): { shape: [number, number, number]; toSplit: (part: DecodedImage[]) => Split } {
  const first = images[0];
  for (const img of images) {
    if (img.width !== first.width || img.height !== first.height) {
      throw new UserError(
        `The image ${img.file} is ${img.width}×${img.height} pixels but ${first.file} is ${first.width}×${first.height}, and all images must have the same size.`);
    }
  }
  const channels = images.some((img) => img.colour) ? 3 : 1;
  const shape: [number, number, number] = [first.height, first.width, channels];
  return { shape, toSplit: (part) => toSplit(part, channels) };
}

function toSplit(images: DecodedImage[], channels: number): Split {
  const pixels = images.length === 0 ? 0 : images[0].width * images[0].height;
  const bytes = new Uint8Array(images.length * pixels * channels);
  images.forEach((img, n) => {
    const base = n * pixels * channels;
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++) bytes[base + p * channels + c] = img.rgba[p * 4 + c];
    }
  });
  return { images: bytesToUnit(bytes), labels: Int32Array.from(images, (img) => img.label), count: images.length };
}
