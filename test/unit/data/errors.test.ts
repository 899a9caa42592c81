/**
 * Every bad input the user can give must end in a one-sentence UserError naming the file,
 * never a stack trace or a silent wrong dataset.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import { describe, it } from 'vitest';
import { encodeIdx, loadDataset, saveDatasetDir } from '../../../src-main/engine/data/index.js';
import { bytePattern, expectUserError, tempDir, writeIdxPair } from './helpers.js';

const labels10 = Array.from({ length: 10 }, (_, i) => i % 2);

async function idxPair(dir: string): Promise<{ images: string; labels: string }> {
  return writeIdxPair(dir, 'ok', bytePattern(10 * 4), [10, 2, 2], labels10);
}

async function writeCsv(name: string, lines: string[]): Promise<string> {
  const file = path.join(await tempDir(), name);
  await fs.writeFile(file, lines.join('\n'));
  return file;
}

function png(w: number, h: number): Buffer {
  return pngjs.PNG.sync.write(new pngjs.PNG({ width: w, height: h }));
}

async function writeFileIn(dir: string, rel: string, data: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await fs.writeFile(path.join(dir, rel), data);
}

describe('missing files and folders', () => {
  it('names a missing IDX file', async () => {
    const dir = await tempDir();
    const { labels } = await idxPair(dir);
    await expectUserError(loadDataset(`idx:${path.join(dir, 'nope-images.idx')},${labels}`), 'nope-images.idx', 'does not exist');
  });

  it('names a missing folder, CSV file and dataset folder', async () => {
    const dir = await tempDir();
    await expectUserError(loadDataset(`folder:${path.join(dir, 'pics')}`), 'pics', 'does not exist');
    await expectUserError(loadDataset(`csv:${path.join(dir, 'rows.csv')}`), 'rows.csv', 'does not exist');
    await expectUserError(loadDataset(`dir:${path.join(dir, 'saved')}`), 'saved', 'does not exist');
  });

  it('names dataset.json when a dir: folder lacks it or it is invalid', async () => {
    const dir = await tempDir();
    await expectUserError(loadDataset(`dir:${dir}`), 'dataset.json');
    await fs.writeFile(path.join(dir, 'dataset.json'), '{ not json');
    await expectUserError(loadDataset(`dir:${dir}`), 'dataset.json', 'not valid JSON');
    await fs.writeFile(path.join(dir, 'dataset.json'), JSON.stringify({ format: 'clear-dataset', version: 1 }));
    await expectUserError(loadDataset(`dir:${dir}`), 'dataset.json', 'name');
  });
});

describe('bad data specs and options', () => {
  it('lists the valid forms for an unknown prefix or a bare path', async () => {
    await expectUserError(loadDataset('imagenet:/data/x'), 'imagenet:/data/x', 'folder:DIR', 'csv:FILE', 'dir:DIR', 'idx:');
    await expectUserError(loadDataset('train.csv'), 'train.csv', 'mnist');
  });

  it('rejects an idx: spec with the wrong number of files', async () => {
    await expectUserError(loadDataset('idx:a.idx,b.idx,c.idx'), 'a.idx,b.idx,c.idx', '2 or 4 files');
  });

  it('rejects a limit that is not a positive whole number', async () => {
    await expectUserError(loadDataset('mnist', { limit: 0 }), 'limit');
    await expectUserError(loadDataset('mnist', { limit: 2.5 }), 'limit');
  });
});

describe('broken IDX files', () => {
  it('reports a truncated file with declared and actual item counts', async () => {
    const dir = await tempDir();
    const { images } = await idxPair(dir);
    const labels = path.join(dir, 'train-labels.idx1-ubyte');
    const full = encodeIdx('u8', [60000], new Uint8Array(60000));
    await fs.writeFile(labels, full.subarray(0, 8 + 1200));
    await expectUserError(loadDataset(`idx:${images},${labels}`),
      'train-labels.idx1-ubyte', 'truncated', 'declares 60000 items but it holds 1200');
  });

  it('reports a truncated gzipped file by its own name', async () => {
    const dir = await tempDir();
    const images = path.join(dir, 'cut-images.gz');
    await fs.writeFile(images, gzipSync(encodeIdx('u8', [10, 2, 2], bytePattern(40)).subarray(0, 30)));
    const { labels } = await idxPair(dir);
    await expectUserError(loadDataset(`idx:${images},${labels}`), 'cut-images.gz', 'truncated');
  });

  it('reports a wrong magic number, e.g. labels given as images or a PNG given as labels', async () => {
    const dir = await tempDir();
    const { images, labels } = await idxPair(dir);
    await expectUserError(loadDataset(`idx:${labels},${labels}`), path.basename(labels), 'magic number', '0x00000801', '0x00000803');
    const notIdx = path.join(dir, 'labels.png');
    await fs.writeFile(notIdx, png(2, 2));
    await expectUserError(loadDataset(`idx:${images},${notIdx}`), 'labels.png', 'not an IDX labels file');
  });

  it('reports images and labels with different counts, naming both files', async () => {
    const dir = await tempDir();
    const { images } = await idxPair(dir);
    const labels = path.join(dir, 'short-labels.idx');
    await fs.writeFile(labels, encodeIdx('u8', [9], labels10.slice(0, 9)));
    await expectUserError(loadDataset(`idx:${images},${labels}`),
      path.basename(images), 'short-labels.idx', '10 images', '9 labels');
  });

  it('reports an empty IDX file', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'empty', new Uint8Array(0), [0, 2, 2], []);
    await expectUserError(loadDataset(`idx:${files.images},${files.labels}`), path.basename(files.images), 'no images');
  });

  it('reports float32 pixels outside 0–1', async () => {
    const dir = await tempDir();
    const images = path.join(dir, 'hot-images.idx');
    await fs.writeFile(images, encodeIdx('f32', [10, 2, 2], Float32Array.from({ length: 40 }, (_, i) => (i === 5 ? 1.5 : 0))));
    const { labels } = await idxPair(dir);
    await expectUserError(loadDataset(`idx:${images},${labels}`), 'hot-images.idx', '1.5');
  });
});

describe('broken dir: datasets', () => {
  it('reports a label outside the classes dataset.json declares', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'src', bytePattern(20 * 4), [20, 2, 2], Array.from({ length: 20 }, (_, i) => i % 3));
    const ds = await loadDataset(`idx:${files.images},${files.labels}`);
    const out = path.join(dir, 'saved');
    await saveDatasetDir(ds, out);
    const descFile = path.join(out, 'dataset.json');
    const desc = JSON.parse(await fs.readFile(descFile, 'utf8'));
    desc.classNames = ['zero', 'one'];
    await fs.writeFile(descFile, JSON.stringify(desc));
    await expectUserError(loadDataset(`dir:${out}`), 'labels.idx1-ubyte', 'label 2', 'outside the class range 0–1');
  });

  it('refuses file names that lead outside the dataset folder', async () => {
    const dir = await tempDir();
    const files = await writeIdxPair(dir, 'src', bytePattern(20 * 4), [20, 2, 2], Array.from({ length: 20 }, (_, i) => i % 2));
    const out = path.join(dir, 'saved');
    await saveDatasetDir(await loadDataset(`idx:${files.images},${files.labels}`), out);
    const descFile = path.join(out, 'dataset.json');
    const desc = JSON.parse(await fs.readFile(descFile, 'utf8'));
    desc.files.trainImages = '../src-images.idx3-ubyte';
    await fs.writeFile(descFile, JSON.stringify(desc));
    await expectUserError(loadDataset(`dir:${out}`), 'dataset.json', 'outside the dataset folder');
  });
});

describe('broken CSV files', () => {
  it('reports negative and too-large labels', async () => {
    await expectUserError(loadDataset(`csv:${await writeCsv('neg.csv', ['1,0.5', '-1,0.5'])}`), 'neg.csv', 'label -1', 'line 2');
    await expectUserError(loadDataset(`csv:${await writeCsv('big.csv', ['label,x', '256,0.5', '1,0.5'])}`), 'big.csv', 'label 256');
    await expectUserError(loadDataset(`csv:${await writeCsv('frac.csv', ['1.5,0.5', '1,0.5'])}`), 'frac.csv', 'label 1.5');
  });

  it('reports NaN, text and empty values with their line', async () => {
    await expectUserError(loadDataset(`csv:${await writeCsv('nan.csv', ['label,a,b', '0,0.1,0.2', '1,NaN,0.2'])}`), 'nan.csv', '"NaN"', 'line 3');
    await expectUserError(loadDataset(`csv:${await writeCsv('text.csv', ['0,0.1', '1,abc'])}`), 'text.csv', '"abc"', 'line 2', 'column 2');
    await expectUserError(loadDataset(`csv:${await writeCsv('hole.csv', ['label,a', '0,', '1,0.2'])}`), 'hole.csv', 'line 2');
    await expectUserError(loadDataset(`csv:${await writeCsv('lbl.csv', ['label,a', 'cat,0.1'])}`), 'lbl.csv', 'non-numeric label');
  });

  it('reports rows of the wrong width, values out of range, a missing label column and a bad split', async () => {
    await expectUserError(loadDataset(`csv:${await writeCsv('ragged.csv', ['0,0.1,0.2', '1,0.3'])}`), 'ragged.csv', 'line 2');
    await expectUserError(loadDataset(`csv:${await writeCsv('range.csv', ['0,0.5', '1,300'])}`), 'range.csv', 'from 0 to 255');
    await expectUserError(loadDataset(`csv:${await writeCsv('neg-feature.csv', ['0,0.5', '1,-0.2'])}`), 'neg-feature.csv', '0–1');
    await expectUserError(loadDataset(`csv:${await writeCsv('nolabel.csv', ['a,b', '0,0.1'])}`), 'nolabel.csv', 'label');
    await expectUserError(loadDataset(`csv:${await writeCsv('split.csv', ['label,a,split', '0,0.1,valid'])}`), 'split.csv', '"valid"');
  });

  it('reports an empty file and a header without rows', async () => {
    await expectUserError(loadDataset(`csv:${await writeCsv('empty.csv', [])}`), 'empty.csv', 'empty');
    await expectUserError(loadDataset(`csv:${await writeCsv('header.csv', ['label,a,b'])}`), 'header.csv', 'no data rows');
  });

  it('reports data with a single class', async () => {
    await expectUserError(loadDataset(`csv:${await writeCsv('one.csv', ['0,0.1', '0,0.2'])}`), 'one.csv', 'one class');
  });
});

describe('broken image folders', () => {
  it('reports images of different sizes, naming both', async () => {
    const dir = await tempDir();
    await writeFileIn(dir, 'a/first.png', png(4, 4));
    await writeFileIn(dir, 'b/odd.png', png(5, 4));
    await expectUserError(loadDataset(`folder:${dir}`), 'odd.png', 'first.png', '5×4', '4×4');
  });

  it('reports a class folder without images', async () => {
    const dir = await tempDir();
    await writeFileIn(dir, 'a/x.png', png(2, 2));
    await writeFileIn(dir, 'b/readme.txt', 'no images here');
    await expectUserError(loadDataset(`folder:${dir}`), `${path.sep}b`, 'no PNG or JPEG images');
  });

  it('reports a folder without class sub-folders', async () => {
    const dir = await tempDir();
    await writeFileIn(dir, 'loose.png', png(2, 2));
    await expectUserError(loadDataset(`folder:${dir}`), path.basename(dir), 'no class sub-folders');
  });

  it('reports an image that cannot be decoded', async () => {
    const dir = await tempDir();
    await writeFileIn(dir, 'a/x.png', png(2, 2));
    await writeFileIn(dir, 'b/broken.png', Buffer.from('definitely not a png'));
    await expectUserError(loadDataset(`folder:${dir}`), 'broken.png');
  });
});
