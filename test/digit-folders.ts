/** Test data: built-in test digits written as a `folder:` dataset of greyscale PNG files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { loadDataset } from '../src-main/engine/data/load.js';
import { samplePng } from '../src-main/engine/jobs/ui.js';

/** `perClass` test digits of each class as PNG files under `root/<name of the class>/`. */
export async function digitFolders(root: string, name: (c: number) => string, perClass = 25): Promise<void> {
  const ds = await loadDataset('mnist');
  const taken = new Array(10).fill(0);
  for (let i = 0; i < ds.test.count && taken.some((n) => n < perClass); i++) {
    const c = ds.test.labels[i];
    if (taken[c] >= perClass) continue;
    taken[c]++;
    mkdirSync(path.join(root, name(c)), { recursive: true });
    const png = samplePng(ds.test, ds.shape, i)!;
    // Greyscale, as the digits are: the folder reader takes an RGB file for a colour image.
    const grey = PNG.sync.write(PNG.sync.read(Buffer.from(png.split(',')[1], 'base64')), { colorType: 0 });
    writeFileSync(path.join(root, name(c), `${i}.png`), grey);
  }
}
