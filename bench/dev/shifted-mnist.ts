// Development: a 60,000-image training set for the 60k speed measurements of `clearwb bench
// --perf --data idx:…`: the built-in 8,000 training digits as they are and shifted by one pixel
// seven ways (cut to 60,000), and the 2,000 test digits as they are, as plain uint8 IDX files.
//   node .shiftx.mjs OUT_DIR   → OUT_DIR/{train,test}-{images,labels}.idx
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { pixelsInMemory, type Split } from '../../src-main/engine/data/dataset.js';

const out = process.argv[2];
const TRAIN = 60_000;
const SHIFTS = [[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [-1, -1], [1, 1], [1, -1]];
const ds = await loadDataset('mnist');
const [h, w] = ds.shape;

function idx(count: number, fill: (bytes: Uint8Array) => void, images: boolean): Uint8Array {
  const header = images ? 16 : 8;
  const bytes = new Uint8Array(header + count * (images ? h * w : 1));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, images ? 0x803 : 0x801);
  view.setUint32(4, count);
  if (images) { view.setUint32(8, h); view.setUint32(12, w); }
  fill(bytes.subarray(header));
  return bytes;
}

function write(name: string, split: Split, shifts: number[][], count: number) {
  const pixels = pixelsInMemory(split.images);
  const source = (k: number) => ({ i: k % split.count, shift: shifts[Math.floor(k / split.count)] });
  writeFileSync(path.join(out, `${name}-images.idx`), idx(count, (b) => {
    for (let k = 0; k < count; k++) {
      const { i, shift: [dx, dy] } = source(k);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const sx = x - dx; const sy = y - dy;
        const v = sx >= 0 && sx < w && sy >= 0 && sy < h ? pixels[i * h * w + sy * w + sx] : 0;
        b[k * h * w + y * w + x] = Math.round(v * 255);
      }
    }
  }, true));
  writeFileSync(path.join(out, `${name}-labels.idx`), idx(count, (b) => { for (let k = 0; k < count; k++) b[k] = split.labels[source(k).i]; }, false));
}

mkdirSync(out, { recursive: true });
write('train', ds.train, SHIFTS, Math.min(TRAIN, SHIFTS.length * ds.train.count));
write('test', ds.test, [[0, 0]], ds.test.count);
console.log(`Wrote ${out}/{train,test}-{images,labels}.idx`);
