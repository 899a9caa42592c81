// The transformed MNIST of the development studies (null-study.ts, crafted-study.ts): rotated a
// quarter turn, inverted, or with each 2×2 block set to its top-left pixel, so the geometry
// differs from the data the scan was developed on.
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';

export function transformVariant(ds: Dataset, kind: string): Dataset {
  if (kind === 'mnist') return ds;
  const [h, w] = ds.shape;
  const map = (images: Float32Array, count: number) => {
    const outImages = new Float32Array(images.length);
    for (let s = 0; s < count; s++) {
      const base = s * h * w;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        let v: number;
        if (kind === 'rot') v = images[base + (w - 1 - x) * w + y];
        else if (kind === 'inv') v = 1 - images[base + y * w + x];
        else { const yy = y - (y % 2); const xx = x - (x % 2); v = images[base + yy * w + xx]; }
        outImages[base + y * w + x] = v;
      }
    }
    return outImages;
  };
  return { ...ds, spec: `${ds.spec}:${kind}`, fingerprint: `${ds.fingerprint}-${kind}`, train: { ...ds.train, images: map(pixelsInMemory(ds.train.images), ds.train.count) }, test: { ...ds.test, images: map(pixelsInMemory(ds.test.images), ds.test.count) } };
}
