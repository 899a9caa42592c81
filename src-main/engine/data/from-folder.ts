/**
 * `folder:DIR`: one sub-folder per class holding PNG or JPEG images; class names are the
 * sorted folder names. When DIR has both `train/` and `test/` sub-folders, each holds the
 * class folders and gives that split; otherwise load.ts splits the images 80/20.
 *
 * Images are grayscale (1 channel) unless any image is in colour, in which case every image
 * gets 3 channels (grayscale ones are repeated across R, G, B). Alpha is dropped, not
 * composited. Files other than .png/.jpg/.jpeg (and hidden files) are ignored.
 *
 * The folder may come from someone else: its entries count against the files limit as they
 * are listed, class folders and images must resolve inside DIR (a symbolic link out of it is
 * refused), images must be regular files, and each image's size is read from its header (PNG
 * IHDR, JPEG start of frame) and checked against the limits and the first image's size before
 * it is decoded.
 *
 * Each image's source is its path inside DIR (`cat/001.png`, `train/cat/001.png`).
 */
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { UserError } from '../errors.js';
import { checkLimit, limits } from '../limits.js';
import type { Split } from './dataset.js';
import { EntryCount, openRoot, readUserFile, shown, subfolder, type Folder, type Root } from './files.js';
import { bytesToUnit } from './idx.js';
import type { LoadedData } from './source.js';
import { fileSources } from './sources.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

interface ImageFile {
  path: string;
  /** The real path when the entry is no symbolic link (a link is resolved and checked when opened). */
  real: string | undefined;
  label: number;
}

interface ImageHeader {
  width: number;
  height: number;
  colour: boolean;
}

interface DecodedImage {
  file: string;
  width: number;
  height: number;
  colour: boolean;
  /** One byte per pixel (grayscale) or three (R, G, B). */
  pixels: Uint8Array;
  label: number;
}

export async function loadFolder(dir: string): Promise<LoadedData> {
  const root = await openRoot(dir);
  const name = path.basename(path.resolve(dir));
  const entries = new EntryCount(root);
  const top: Folder = { path: dir, real: root.real };
  const trainDir = await subfolder(root, top, 'train');
  const testDir = trainDir && await subfolder(root, top, 'test');
  if (trainDir && testDir) {
    const classNames = union(await classFolders(root, entries, trainDir), await classFolders(root, entries, testDir));
    checkClassCount(classNames, dir);
    const trainFiles = await imageFiles(root, entries, trainDir, classNames);
    const testFiles = await imageFiles(root, entries, testDir, classNames);
    const { shape, images } = await decodeImages(root, dir, [...trainFiles, ...testFiles]);
    const train = toSplit(images.slice(0, trainFiles.length), shape, dir);
    const test = toSplit(images.slice(trainFiles.length), shape, dir);
    return { name, shape, classNames, splits: { train, test } };
  }
  const classNames = await classFolders(root, entries, top);
  checkClassCount(classNames, dir);
  const { shape, images } = await decodeImages(root, dir, await imageFiles(root, entries, top, classNames));
  return { name, shape, classNames, splits: { pool: toSplit(images, shape, dir) } };
}

/** Names of the visible sub-folders (following symbolic links that stay inside the root), sorted. */
async function classFolders(root: Root, entries: EntryCount, folder: Folder): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await entries.list(folder)) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory() || (entry.isSymbolicLink() && await subfolder(root, folder, entry.name))) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new UserError(`The folder ${shown(folder.path)} has no class sub-folders (one sub-folder of PNG or JPEG images per class).`);
  }
  return names;
}

function checkClassCount(classNames: string[], dir: string): void {
  checkLimit('classes', classNames.length, `The folder ${shown(dir)}`, `has ${classNames.length} class folders`);
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** The image files of the class folders under `folder` that exist there, class by class, sorted. */
async function imageFiles(root: Root, entries: EntryCount, folder: Folder, classNames: string[]): Promise<ImageFile[]> {
  const files: ImageFile[] = [];
  for (const [label, className] of classNames.entries()) {
    const classDir = await subfolder(root, folder, className);
    if (classDir === undefined) continue; // a class may be missing from one of train/ and test/
    const before = files.length;
    for (const e of await entries.list(classDir)) {
      if (e.name.startsWith('.') || e.isDirectory() || !IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) continue;
      files.push({ path: path.join(classDir.path, e.name), real: e.isSymbolicLink() ? undefined : path.join(classDir.real, e.name), label });
    }
    if (files.length === before) throw new UserError(`The class folder ${shown(classDir.path)} holds no PNG or JPEG images.`);
  }
  return files;
}

/**
 * Reads every image's size from its header, checks it against the limits and against the first
 * image before decoding, and decodes the images one by one into compact 1- or 3-channel bytes.
 */
async function decodeImages(root: Root, dir: string, files: ImageFile[]): Promise<{ shape: [number, number, number]; images: DecodedImage[] }> {
  const folderName = `The folder ${shown(dir)}`;
  if (files.length === 0) throw new UserError(`${folderName} holds no PNG or JPEG images.`);
  checkLimit('samples', files.length, folderName, `holds ${files.length} images`);
  const images: DecodedImage[] = [];
  let channels = 0;
  for (const f of files) {
    const bytes = await readUserFile(f.path, { root, real: f.real });
    const { width, height, colour } = imageHeader(bytes, f.path);
    const name = `The image ${shown(f.path)}`;
    checkLimit('imagePixels', width * height, name, `declares ${width}×${height} pixels`);
    const first = images[0];
    if (first !== undefined && (width !== first.width || height !== first.height)) {
      throw new UserError(
        `The image ${shown(f.path)} is ${width}×${height} pixels but ${shown(first.file)} is ${first.width}×${first.height}, and all images must have the same size.`);
    }
    const c = colour ? 3 : 1;
    if (c > channels) {
      channels = c;
      const values = width * height * channels;
      checkLimit('sampleValues', values, name, `has ${width}×${height}×${channels} values`);
      checkLimit('datasetValues', files.length * values, folderName,
        `holds ${files.length} images of ${values} values, ${files.length * values} values in all`);
    }
    const rgba = decodePixels(bytes, f.path);
    if (rgba.length !== width * height * 4) throw new UserError(`The image ${shown(f.path)} cannot be decoded (its pixels do not match its header).`);
    images.push({ file: f.path, width, height, colour, pixels: compact(rgba, width * height, c), label: f.label });
  }
  const first = images[0];
  return { shape: [first.height, first.width, channels], images };
}

/** The image's size and whether it is in colour, from its header; the content decides the format, not the name. */
function imageHeader(bytes: Buffer, file: string): ImageHeader {
  let header: ImageHeader | undefined;
  if (bytes[0] === 0x89 && bytes[1] === 0x50) header = pngHeader(bytes, file);
  else if (bytes[0] === 0xff && bytes[1] === 0xd8) header = jpegHeader(bytes);
  else throw new UserError(`The image ${shown(file)} is neither a PNG nor a JPEG file.`);
  if (header === undefined) throw new UserError(`The image ${shown(file)} cannot be decoded (its header is missing or broken).`);
  if (header.width === 0 || header.height === 0) {
    throw new UserError(`The image ${shown(file)} declares a size of ${header.width}×${header.height} pixels, which holds nothing.`);
  }
  return header;
}

// PNG: the 8-byte signature, then the IHDR chunk (length 13): width, height, bit depth, colour
// type, compression, filter and interlace method.
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

function pngHeader(bytes: Buffer, file: string): ImageHeader | undefined {
  if (bytes.length < 33 || bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const depth = bytes[24];
  const colourType = bytes[25];
  const interlaced = bytes[28] === 1;
  if (interlaced && width * height <= limits().imagePixels) checkInterlacedData(bytes, file, width, height, depth, colourType);
  return { width, height, colour: (colourType & 2) !== 0 };
}

/**
 * pngjs inflates the pixel data of a non-interlaced PNG with a cap at the size its header
 * implies, but that of an interlaced one without any: here it is inflated first with that cap
 * (the sum of the seven Adam7 passes' rows), so a small file cannot expand to gigabytes.
 */
function checkInterlacedData(bytes: Buffer, file: string, width: number, height: number, depth: number, colourType: number): void {
  const bitsPerPixel = (PNG_CHANNELS[colourType] ?? 4) * depth;
  let expected = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) expected += h * (Math.ceil((w * bitsPerPixel) / 8) + 1);
  }
  const parts: Buffer[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (at + 12 + length > bytes.length || type === 'IEND') break;
    if (type === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(parts), { maxOutputLength: Math.max(expected, 1) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(`The image ${shown(file)} holds compressed pixel data that expands beyond the ${expected} bytes its ${width}×${height} size needs.`);
    }
    // Any other fault is left for the decoder to report.
  }
}

/**
 * The frame size and component count from a JPEG's start-of-frame header (1 component for
 * grayscale, 3 for colour: jpeg-js always returns RGBA, so this is the only way to tell a
 * grayscale JPEG apart), or undefined when no frame header is found.
 */
function jpegHeader(bytes: Buffer): ImageHeader | undefined {
  let i = 2;
  while (i + 9 < bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { i += 2; continue; } // no payload
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7), colour: bytes[i + 9] >= 3 };
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  return undefined;
}

/** Decodes an image (whose header has been checked) to RGBA, 8 bits per channel. */
function decodePixels(bytes: Buffer, file: string): Uint8Array {
  try {
    if (bytes[0] === 0x89) return pngjs.PNG.sync.read(bytes).data;
    const pixels = limits().imagePixels;
    return jpeg.decode(bytes, {
      useTArray: true, formatAsRGBA: true,
      maxResolutionInMP: pixels / 1e6,
      maxMemoryUsageInMB: Math.max(64, Math.ceil((pixels * 32) / 2 ** 20)),
    }).data;
  } catch (err) {
    throw new UserError(`The image ${shown(file)} cannot be decoded (${decoderMessage(err)}).`);
  }
}

/** A decoder's error message as one short clause. */
function decoderMessage(err: unknown): string {
  const text = shown(err instanceof Error ? err.message : String(err)).replace(/[.\s]+$/, '');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function compact(rgba: Uint8Array, pixels: number, channels: number): Uint8Array {
  const out = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) out[p * channels + c] = rgba[p * 4 + c];
  }
  return out;
}

/** Each image's source: its path inside the dataset folder, with '/' between folders on every system. */
function toSplit(images: DecodedImage[], shape: [number, number, number], dir: string): Split {
  const [h, w, channels] = shape;
  const size = h * w * channels;
  const bytes = new Uint8Array(images.length * size);
  images.forEach((img, n) => {
    if (img.colour || channels === 1) {
      bytes.set(img.pixels, n * size);
      return;
    }
    for (let p = 0; p < h * w; p++) bytes.fill(img.pixels[p], n * size + p * 3, n * size + p * 3 + 3);
  });
  const files = images.map((img) => path.relative(dir, img.file).split(path.sep).join('/'));
  return { images: bytesToUnit(bytes), labels: Int32Array.from(images, (img) => img.label), count: images.length, sources: fileSources(files) };
}
