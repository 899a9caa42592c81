// An ONNX model whose input is a flat vector, fed colour images: PyTorch flattens an N×C×H×W
// batch channels first (C×H×W) while the data readers give H×W×C, so the engine reorders. The
// fixture (test/fixtures/onnx/make.py, flat-rgb) is a small MLP on synthetic 3×8×8 images,
// trained on x.reshape(n, -1) of N×3×8×8 tensors. The product's predictions must be ONNX
// Runtime's on channels-first vectors, which differ from its predictions on channels-last ones;
// a file whose metadata says HWC is fed channels last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-web';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { evalJob } from '../../src-main/engine/jobs/clear.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { embedSplit } from '../../src-main/engine/features/embed.js';
import { disposeSplitModel, splitModel } from '../../src-main/engine/features/split.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';

const fixture = (name: string) => path.resolve('test/fixtures/onnx', name);
const onnxFile = fixture('flat-rgb.onnx');
const spec = `npz:${fixture('flat-rgb.npz')}`;
let dir: string;
let ds: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  ort.env.wasm.numThreads = 1;
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-onnx-flat-'));
  ds = await loadDataset(spec);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The test split's H×W×C images as flat vectors in `order`. */
function flatten(order: 'CHW' | 'HWC'): Float32Array {
  const [h, w, c] = ds.shape; const n = ds.test.count;
  if (order === 'HWC') return Float32Array.from(pixelsInMemory(ds.test.images));
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    out[((b * c + ch) * h + y) * w + x] = pixelsInMemory(ds.test.images)[((b * h + y) * w + x) * c + ch];
  }
  return out;
}

/** ONNX Runtime's class probabilities (softmax of its logits) and predicted classes on the test split flattened in `order`. */
async function runtime(file: string, order: 'CHW' | 'HWC'): Promise<{ probabilities: Float32Array; predicted: number[] }> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  try {
    const n = ds.test.count;
    const result = await session.run({ input: new ort.Tensor('float32', flatten(order), [n, 192]) });
    const logits = result.output.data as Float32Array;
    const k = logits.length / n;
    const probabilities = new Float32Array(logits.length);
    const predicted: number[] = [];
    for (let b = 0; b < n; b++) {
      const row = logits.subarray(b * k, (b + 1) * k);
      const max = Math.max(...row);
      const e = Array.from(row, (v) => Math.exp(v - max));
      const sum = e.reduce((a, v) => a + v, 0);
      e.forEach((v, j) => { probabilities[b * k + j] = v / sum; });
      predicted.push(row.indexOf(max));
    }
    return { probabilities, predicted };
  } finally {
    await session.release();
  }
}

/**
 * The product's predictions on the test split, with the model read from `file`: whole, and split
 * into feature extractor and head as a scan and a repair use it (the same predictions).
 */
async function product(file: string) {
  const loaded = await loadModel(file);
  try {
    const before = tf.memory().numTensors;
    const p = await predictSplit(loaded.model, ds.test, ds.shape, { withProbabilities: true });
    expect(tf.memory().numTensors).toBe(before);
    const embedded = await embedSplit(splitModel(loaded.model, undefined, loaded.metadata), ds.test, ds.shape);
    expect(Array.from(embedded.predictions)).toEqual(Array.from(p.predicted));
    return { ...p, metadata: loaded.metadata };
  } finally {
    disposeSplitModel(loaded.model);
  }
}

/** A copy of the fixture with a metadata entry (ModelProto field 14: key 1, value 2) appended. */
function withMetadata(name: string, key: string, value: string): string {
  const text = (no: number, s: string) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([Buffer.from([(no << 3) | 2, b.length]), b]); };
  const entry = Buffer.concat([text(1, key), text(2, value)]);
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([readFileSync(onnxFile), Buffer.from([(14 << 3) | 2, entry.length]), entry]));
  return file;
}

describe('an ONNX model with a flat input, fed 3×8×8 colour images', () => {
  it('is fed channels first: its predictions are ONNX Runtime\'s on C×H×W vectors, not on H×W×C ones', async () => {
    expect(ds.shape).toEqual([8, 8, 3]);
    const p = await product(onnxFile);
    expect(p.metadata.flatInputOrder).toEqual({ order: 'CHW', declared: false });
    const right = await runtime(onnxFile, 'CHW');
    const wrong = await runtime(onnxFile, 'HWC');
    expect(Array.from(p.predicted)).toEqual(right.predicted);
    for (let k = 0; k < right.probabilities.length; k++) expect(Math.abs(p.probabilities![k] - right.probabilities[k])).toBeLessThan(1e-5);
    // The order matters on this data: the other order changes most predictions.
    const differ = right.predicted.filter((c, b) => c !== wrong.predicted[b]).length;
    expect(differ).toBeGreaterThan(ds.test.count / 4);
    const labels = Array.from(ds.test.labels);
    expect(right.predicted.filter((c, b) => c === labels[b]).length).toBe(ds.test.count);
  });

  it('is fed channels last when the file\'s metadata says HWC', async () => {
    const file = withMetadata('hwc.onnx', 'clear.flat_input_order', 'HWC');
    const p = await product(file);
    expect(p.metadata.flatInputOrder).toEqual({ order: 'HWC', declared: true });
    expect(Array.from(p.predicted)).toEqual((await runtime(file, 'HWC')).predicted);
    expect(Array.from(p.predicted)).not.toEqual((await runtime(file, 'CHW')).predicted);
  });

  it('states the order it assumed with the model\'s accuracy (eval, the Load step)', async () => {
    const r = await evalJob({ model: onnxFile, data: spec, split: 'test' });
    expect(r.accuracy).toBe(1);
    expect(r.notes).toEqual([`Input order: the ONNX model in ${onnxFile} takes flat vectors of 192 values, so the 8×8×3 images of ${spec} are fed channels first (C×H×W: all of the first channel's pixels row by row, then the next channel's), as PyTorch flattens an N×C×H×W batch; a model trained on channels-last vectors (H×W×C) needs the entry clear.flat_input_order = HWC in its file's metadata.`]);
    const hwc = withMetadata('hwc-eval.onnx', 'clear.flat_input_order', 'hwc');
    const h = await evalJob({ model: hwc, data: spec, split: 'test' });
    expect(h.notes[0]).toMatch(/its metadata entry clear\.flat_input_order says HWC, so the 8×8×3 images .* are fed pixel by pixel with their 3 channels together \(H×W×C, channels last\)\.$/);
    expect(h.accuracy).toBeLessThan(0.75);
  });

  it('refuses an order it does not know in one sentence naming the file', async () => {
    const file = withMetadata('bad.onnx', 'clear.flat_input_order', 'NCHW');
    await expect(loadModel(file)).rejects.toThrow(`The ONNX file ${file} cannot be read: its metadata entry clear.flat_input_order is "NCHW", where CHW (channels first) or HWC (channels last) is read.`);
  });
});
