// Hostile or unusable ONNX files: one sentence naming the file and what is wrong, nothing built.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { assertModelFitsData, loadModel } from '../../src-main/engine/model/io.js';
import { disposeSplitModel } from '../../src-main/engine/features/split.js';
import { DEFAULT_LIMITS, setLimits } from '../../src-main/engine/limits.js';
import { UserError } from '../../src-main/engine/errors.js';
import { modelFingerprint } from '../../src-main/project/fingerprint.js';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';

const fixture = (name: string) => path.resolve('test/fixtures/onnx', name);
let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-onnx-bad-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setLimits({ ...DEFAULT_LIMITS }));

async function refusal(file: string): Promise<string> {
  try {
    const m = await loadModel(file);
    disposeSplitModel(m.model);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error(`${file} was read`);
}

function oneSentence(message: string, file: string): void {
  expect(message).toContain(file);
  expect(message).not.toContain('\n');
  expect(message.endsWith('.')).toBe(true);
}

describe('ONNX files that cannot be read', () => {
  it('a truncated file', async () => {
    const file = path.join(dir, 'cut.onnx');
    const bytes = readFileSync(fixture('mlp.onnx'));
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const m = await refusal(file);
    oneSentence(m, file);
    expect(m).toMatch(/is not a valid ONNX model \(truncated or corrupt: .*\)\.$/);
  });

  it('random bytes, and an empty file', async () => {
    const file = path.join(dir, 'noise.onnx');
    writeFileSync(file, Uint8Array.from({ length: 4096 }, (_, k) => (k * 2654435761) >>> 24));
    oneSentence(await refusal(file), file);
    const empty = path.join(dir, 'empty.onnx');
    writeFileSync(empty, new Uint8Array(0));
    const m = await refusal(empty);
    oneSentence(m, empty);
    expect(m).toContain('holds no graph');
  });

  it('a model whose last layer is not a Gemm or MatMul', async () => {
    const m = await refusal(fixture('no-head.onnx'));
    oneSentence(m, fixture('no-head.onnx'));
    expect(m).toMatch(/its last layer is the \w+ node .* not a fully connected layer/);
  });

  it('a model for 3×32×32 images given 28×28 digits', async () => {
    const loaded = await loadModel(fixture('rgb32.onnx'));
    try {
      expect(loaded.inputShape).toEqual([32, 32, 3]);
      const ds = await loadDataset(`npz:${fixture('digits.npz')}`);
      expect(() => assertModelFitsData(loaded, ds)).toThrow(/The model in .*rgb32\.onnx takes inputs of shape 32×32×3, but the dataset .* has samples of shape 28×28×1\./);
    } finally { disposeSplitModel(loaded.model); }
  });

  it('a model with more parameters than the limit is refused before its weights are read', async () => {
    setLimits({ ...DEFAULT_LIMITS, modelParameters: 10_000 });
    const m = await refusal(fixture('mlp.onnx'));
    oneSentence(m, fixture('mlp.onnx'));
    expect(m).toMatch(/declares \d+ parameters, above the limit of 10000 \(modelParameters\)/);
  });

  it('an input larger than the sample limit is refused before a probe batch is allocated for it', async () => {
    setLimits({ ...DEFAULT_LIMITS, sampleValues: 100 });
    const m = await refusal(fixture('mlp.onnx'));
    oneSentence(m, fixture('mlp.onnx'));
    expect(m).toMatch(/The ONNX file .* takes inputs of 784 values each, above the limit of 100 \(sampleValues\)/);
  });

  it('a file above the file size limit is not read', async () => {
    setLimits({ ...DEFAULT_LIMITS, fileBytes: 1000 });
    const m = await refusal(fixture('mlp.onnx'));
    oneSentence(m, fixture('mlp.onnx'));
    expect(m).toContain('(fileBytes)');
  });
});

describe('fingerprints of ONNX models in the host (no engine)', () => {
  it('an .onnx file, and a repaired model\'s folder holding model.onnx, are fingerprinted as the engine does', async () => {
    const file = fixture('mlp.onnx');
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(await modelFingerprint(file)).toBe(digest);
    const folder = path.join(dir, 'repaired');
    mkdirSync(folder);
    copyFileSync(file, path.join(folder, 'model.onnx'));
    expect(await modelFingerprint(folder)).toBe(digest);
    const loaded = await loadModel(folder);
    try { expect(loaded.fingerprint).toBe(digest); } finally { disposeSplitModel(loaded.model); }
  });
});
