import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/engine/data/index.js';
import { tempDir } from './helpers.js';
import { pixelsInMemory } from '../../../src-main/engine/data/dataset.js';

async function writeCsv(lines: string[], name = 'data.csv'): Promise<string> {
  const file = path.join(await tempDir(), name);
  await fs.writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('loadDataset("csv:…")', () => {
  it('reads a header with label and split columns anywhere, and keeps 0–1 values as they are', async () => {
    const file = await writeCsv([
      'f1,label,f2,split,f3',
      '0.1,0,0.2,train,0.3',
      '0.4,1,0.5,train,0.6',
      '"0.7",2,0.8,test,0.9',
      '',
      '1,1,0,TEST,0',
    ]);
    const ds = await loadDataset(`csv:${file}`);
    expect(ds.shape).toEqual([1, 1, 3]);
    expect(ds.classNames).toEqual(['0', '1', '2']);
    expect(ds.name).toBe('data.csv');
    expect(ds.train.count).toBe(2);
    expect(ds.test.count).toBe(2);
    expect(Array.from(ds.train.labels)).toEqual([0, 1]);
    expect(Array.from(ds.test.labels)).toEqual([2, 1]);
    expect(Array.from(pixelsInMemory(ds.test.images))).toEqual(Array.from(Float32Array.from([0.7, 0.8, 0.9, 1, 0, 0])));
  });

  it('takes the first column as the label without a header, scales 0–255 integers, and splits 80/20', async () => {
    const lines = Array.from({ length: 20 }, (_, r) => [r % 2, r, 255 - r, 0, 128].join(',').replace(/,/g, ', '));
    const ds = await loadDataset(`csv:${await writeCsv(lines)}`);
    expect(ds.shape).toEqual([1, 1, 4]);
    expect(ds.train.count).toBe(16);
    expect(ds.test.count).toBe(4);
    const all = [...pixelsInMemory(ds.train.images), ...pixelsInMemory(ds.test.images)];
    expect(Math.max(...all)).toBe(1);
    expect(all).toContain(Math.fround(128 / 255));
  });

  it('treats 784 features as a 28×28 image and accepts Windows line ends', async () => {
    const row = (label: number) => [label, ...Array.from({ length: 784 }, (_, i) => i % 256)].join(',');
    const file = path.join(await tempDir(), 'digits.csv');
    await fs.writeFile(file, [row(0), row(1), row(0), row(1), row(1)].join('\r\n'));
    const ds = await loadDataset(`csv:${file}`);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.train.count + ds.test.count).toBe(5);
  });
});
