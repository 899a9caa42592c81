// How a sample's source is shortened for a narrow column (the full source is the cell's tooltip).
import { describe, expect, it } from 'vitest';
import { shortSource } from '../../../src-renderer/lib/format.js';

describe('shortSource', () => {
  it('drops the folders of an absolute path, keeping the file, the array and the item', () => {
    expect(shortSource('/home/ana/Keras project/inputs/digits.npz[x_train][6]')).toBe('digits.npz[x_train][6]');
    expect(shortSource('/data/train-images.idx3-ubyte[12]')).toBe('train-images.idx3-ubyte[12]');
    expect(shortSource('/data/sets/faces.csv:14')).toBe('faces.csv:14');
    expect(shortSource('C:\\Users\\ana\\cifar\\data_batch_1.bin[4]')).toBe('data_batch_1.bin[4]');
    expect(shortSource('/data/a[1]/b.png')).toBe('b.png');
  });

  it('keeps a path inside a dataset folder and a name whole', () => {
    expect(shortSource('cat/001.png')).toBe('cat/001.png');
    expect(shortSource('label-flip poisons[3]')).toBe('label-flip poisons[3]');
    expect(shortSource('mnist[3][17]')).toBe('mnist[3][17]');
  });
});
