// ONNX image classifiers made by PyTorch (test/fixtures/onnx/make.py): read, checked against
// ONNX Runtime's own output, scanned, and repaired in the head, written back as ONNX.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import type { Dataset } from '../../src-main/engine/data/dataset.js';
import { assertModelFitsData, loadModel, modelFiles, type LoadedModel } from '../../src-main/engine/model/io.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { disposeSplitModel } from '../../src-main/engine/features/split.js';
import { scanModel } from '../../src-main/engine/clear/scan.js';
import { repairModel } from '../../src-main/engine/clear/repair.js';
import { addGraphOutput, readOnnxModel, readTensorValues } from '../../src-main/engine/model/onnx-proto.js';
import type { ScanResult } from '../../src-main/engine/clear/types.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';

const FIXTURES = path.resolve('test/fixtures/onnx');
const fixture = (name: string) => path.join(FIXTURES, name);
const attack = JSON.parse(readFileSync(fixture('attack.json'), 'utf8')) as { target: number; trueClass: number; attackerClass: number };
let dir: string;
let ds: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  ort.env.wasm.numThreads = 1;
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-onnx-'));
  ds = await loadDataset(`npz:${fixture('digits.npz')}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ONNX Runtime's own output for the test split (NHWC images moved to the file's NCHW), and the head's input when asked. */
async function runtimeOutput(file: string, extra?: string): Promise<{ output: Float32Array; extra?: Float32Array }> {
  const session = await ort.InferenceSession.create(extra ? addGraphOutput(readFileSync(file), readOnnxModel(readFileSync(file), { nodes: 100 }), extra) : readFileSync(file));
  const [h, w, c] = ds.shape; const n = ds.test.count;
  const nchw = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    nchw[((b * c + ch) * h + y) * w + x] = pixelsInMemory(ds.test.images)[((b * h + y) * w + x) * c + ch];
  }
  const r = await session.run({ input: new ort.Tensor('float32', nchw, [n, c, h, w]) });
  await session.release();
  return { output: r.output.data as Float32Array, ...(extra ? { extra: r[extra].data as Float32Array } : {}) };
}

function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(values.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[i * classes + c] > values[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

function softmaxRows(values: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length / classes; i++) {
    const row = values.subarray(i * classes, (i + 1) * classes);
    const max = Math.max(...row); let sum = 0;
    for (let c = 0; c < classes; c++) { out[i * classes + c] = Math.exp(row[c] - max); sum += out[i * classes + c]; }
    for (let c = 0; c < classes; c++) out[i * classes + c] /= sum;
  }
  return out;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The file's initializers, name → values. */
function initializers(file: string): Map<string, Float32Array | number[]> {
  const bytes = new Uint8Array(readFileSync(file));
  const g = readOnnxModel(bytes, { nodes: 1000 });
  return new Map([...g.initializers].map(([name, t]) => [name, readTensorValues(bytes, t)]));
}

describe('ONNX models exported by PyTorch', () => {
  for (const name of ['mlp.onnx', 'cnn.onnx', 'matmul.onnx']) {
    it(`${name}: predictions on the test split are ONNX Runtime's`, async () => {
      const loaded = await loadModel(fixture(name));
      try {
        assertModelFitsData(loaded, ds);
        const ours = await predictSplit(loaded.model, ds.test, ds.shape, { withProbabilities: true });
        const theirs = await runtimeOutput(fixture(name));
        expect(Array.from(ours.predicted)).toEqual(Array.from(argmaxRows(theirs.output, 10)));
        // The model's output is probabilities: the file's own (cnn ends in Softmax) or its logits' softmax.
        const probs = name === 'cnn.onnx' ? theirs.output : softmaxRows(theirs.output, 10);
        let maxDiff = 0;
        for (let k = 0; k < probs.length; k++) maxDiff = Math.max(maxDiff, Math.abs(probs[k] - ours.probabilities![k]));
        expect(maxDiff).toBeLessThan(1e-4);
      } finally { disposeSplitModel(loaded.model); }
    });
  }
});

describe('round trip without a repair', () => {
  for (const name of ['mlp.onnx', 'matmul.onnx']) {
    it(`${name} written back unchanged predicts the test split exactly as the original in ONNX Runtime`, async () => {
      const loaded = await loadModel(fixture(name));
      const file = path.join(dir, `again-${name}`);
      try { writeFileSync(file, (await modelFiles(loaded.model))['model.onnx']); } finally { disposeSplitModel(loaded.model); }
      const a = await runtimeOutput(fixture(name)); const b = await runtimeOutput(file);
      expect(Array.from(b.output)).toEqual(Array.from(a.output));
      const again = await loadModel(file);
      try {
        const ours = await predictSplit(again.model, ds.test, ds.shape);
        expect(Array.from(ours.predicted)).toEqual(Array.from(argmaxRows(a.output, 10)));
      } finally { disposeSplitModel(again.model); }
    });
  }
});

describe('scan and head-only repair of a PyTorch CNN with a planted pocket', () => {
  let loaded: LoadedModel;
  let scan: ScanResult;
  beforeAll(async () => { loaded = await loadModel(fixture('cnn.onnx')); });
  afterAll(() => disposeSplitModel(loaded.model));

  it('the scan reads the features at the input of the final Gemm and finds the pocket', async () => {
    scan = await scanModel(loaded, ds);
    expect(scan.model.featureLayer).toBe('onnx_features');
    expect(scan.model.featureDim).toBe(24);
    const confirmed = scan.pockets.filter((p) => p.confirmed);
    expect(confirmed.some((p) => p.attackerClass === attack.attackerClass && p.enclosingClass === attack.trueClass)).toBe(true);
  }, 120_000);

  it('the repair writes a new .onnx whose head changed and whose feature layers are untouched', async () => {
    const before = sha256(fixture('cnn.onnx'));
    const out = path.join(dir, 'repaired');
    const result = await repairModel(loaded, ds, scan, out, { target: { index: attack.target, trueClass: attack.trueClass, attackerClass: attack.attackerClass } });
    expect(sha256(fixture('cnn.onnx'))).toBe(before);
    expect(readdirSync(out).sort()).toEqual(['model.onnx', 'repair-report.json']);
    const repaired = path.join(out, 'model.onnx');
    const a = initializers(fixture('cnn.onnx')); const b = initializers(repaired);
    expect([...b.keys()]).toEqual([...a.keys()]);
    const changed = [...a.keys()].filter((k) => JSON.stringify(Array.from(a.get(k)!)) !== JSON.stringify(Array.from(b.get(k)!)));
    expect(changed.sort()).toEqual(['9.bias', '9.weight']);
    // ONNX Runtime loads the repaired file; the features (the head's input) are the same bit for bit.
    const g = readOnnxModel(new Uint8Array(readFileSync(repaired)), { nodes: 100 });
    const head = g.nodes.find((n) => n.opType === 'Gemm' && n.inputs[1] === '9.weight')!;
    const r0 = await runtimeOutput(fixture('cnn.onnx'), head.inputs[0]);
    const r1 = await runtimeOutput(repaired, head.inputs[0]);
    expect(Array.from(r1.extra!)).toEqual(Array.from(r0.extra!));
    expect(result.target).toMatchObject({ before: attack.attackerClass, after: attack.trueClass });
    expect(result.after.openPockets).toBe(0);
    // Read back (the folder or its file): the same predictions as ONNX Runtime on the repaired file.
    for (const p of [out, repaired]) {
      const back = await loadModel(p);
      try {
        expect(back.fingerprint).toBe(sha256(repaired));
        expect(result.model.fingerprint).toBe(back.fingerprint);
        const ours = await predictSplit(back.model, ds.test, ds.shape);
        expect(Array.from(ours.predicted)).toEqual(Array.from(argmaxRows(r1.output, 10)));
      } finally { disposeSplitModel(back.model); }
    }
  }, 300_000);
});
