// Development: render a pocket's member digits to a PNG strip for a look.
import { PNG } from 'pngjs';
import { writeFileSync } from 'node:fs';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';
const ds = await loadDataset('mnist');
const idx = process.argv.slice(3).map(Number);
const png = new PNG({ width: 28 * idx.length, height: 28 });
idx.forEach((i, k) => { for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) { const v = Math.round(pixelsInMemory(ds.train.images)[i * 784 + y * 28 + x] * 255); const o = (y * png.width + k * 28 + x) * 4; png.data[o] = png.data[o + 1] = png.data[o + 2] = v; png.data[o + 3] = 255; } });
writeFileSync(process.argv[2], PNG.sync.write(png));
console.log(idx.map((i) => ds.train.labels[i]).join(','));
