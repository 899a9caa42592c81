// `clearwb repair --out NAME.h5` (or NAME.keras): the repaired model is that one file, in that
// format, with its report beside it; read back, it predicts exactly what the repaired model in a
// folder predicts. A name that asks for a format the model cannot be repaired into, or a file
// that exists, is one sentence, exit 1, and nothing written. Real engine, built-in MNIST digits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { getDataset } from '../../src-main/engine/jobs/datasets.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { kerasBytes } from '../../src-main/engine/model/keras.js';
import { predictSplit } from '../../src-main/engine/model/train.js';
import { exportModelFileJob } from '../../src-main/engine/jobs/repair-file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-cli-repair-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clear(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/clearwb.js', ...args], { encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const dataOpts = { data: 'mnist', limit: 400, dataSeed: 4 };
const data = ['--data', 'mnist', '--limit', '400', '--data-seed', '4'];
const model = path.join(dir, 'net.h5');
const scan = path.join(dir, 'scan.json');
const repair = (out: string, ...more: string[]) => clear('repair', '--model', model, ...data, '--scan', scan, '--out', out, '--epochs', '1', ...more);

/** The test split's class probabilities of a model, read from disk by the engine. */
async function probabilities(file: string): Promise<Float32Array> {
  const ds = await getDataset(dataOpts);
  const loaded = await loadModel(file);
  try {
    return (await predictSplit(loaded.model, ds.test, ds.shape, { withProbabilities: true })).probabilities!;
  } finally {
    loaded.model.dispose();
  }
}

beforeAll(async () => {
  const folder = path.join(dir, 'layers');
  const trained = clear('train', ...data, '--arch', 'mlp', '--epochs', '2', '--out', folder);
  expect(trained.code, trained.stderr).toBe(0);
  await initBackend('wasm');
  const loaded = await loadModel(folder);
  writeFileSync(model, await kerasBytes(loaded.model, 'h5', loaded.metadata));
  loaded.model.dispose();
  const s = clear('scan', '--model', model, ...data, '--out', scan);
  expect([0, 3, 4], s.stderr).toContain(s.code);
}, 300_000);

describe('clearwb repair --out a model file', () => {
  it('writes exactly NAME.h5 and NAME.keras (and their reports), which predict what the repaired folder predicts', async () => {
    const folder = path.join(dir, 'repaired');
    const f = repair(folder);
    expect(f.code, f.stderr).toBe(0);
    const want = await probabilities(folder);

    for (const name of ['repaired.h5', 'repaired.keras']) {
      const out = path.join(dir, name);
      const r = repair(out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Repaired model written to ${out} (the original is unchanged).`);
      expect(r.stdout).toContain(`The repair report is in ${out}.repair-report.json.`);
      // The format the name asks for: HDF5's signature, or a zip holding Keras 3's three entries.
      const bytes = readFileSync(out);
      if (name.endsWith('.h5')) expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
      else {
        expect(bytes.subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
        for (const entry of ['metadata.json', 'config.json', 'model.weights.h5']) expect(bytes.includes(Buffer.from(entry))).toBe(true);
      }
      const report = JSON.parse(readFileSync(`${out}.repair-report.json`, 'utf8'));
      expect(report.model.out).toBe(out);
      expect(report.model.fingerprint).toBe(sha256(out));
      expect(report.rescan.model.dir).toBe(out);
      // Nothing of the temporary folder the repair ran in is named in the report.
      expect(JSON.stringify(report)).not.toContain('clearwb-repair-');
      // Read back, the file is the repaired model.
      expect(Array.from(await probabilities(out))).toEqual(Array.from(want));
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('repaired')).sort()).toEqual([
      'repaired', 'repaired.h5', 'repaired.h5.repair-report.json', 'repaired.keras', 'repaired.keras.repair-report.json',
    ]);
    // The report of a repair written to a file is read like a folder's.
    const html = path.join(dir, 'report.html');
    const rep = clear('report', '--scan', scan, '--repair', `${path.join(dir, 'repaired.h5')}.repair-report.json`, '--format', 'html', '--out', html);
    expect(rep.code, rep.stderr).toBe(0);
  }, 900_000);

  it('refuses an ONNX file for a Keras model, and a file that exists, in one sentence: exit 1, nothing written', () => {
    const onnx = path.join(dir, 'wrong.onnx');
    const r = repair(onnx, '--quiet');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`Error: The output ${onnx} names an ONNX file, but the model ${model} is not an ONNX model, and only an ONNX model's head-only repair is written as one; name a .h5 or .keras file, or a new folder, instead.`);
    expect(existsSync(onnx)).toBe(false);
    expect(existsSync(`${onnx}.repair-report.json`)).toBe(false);

    const taken = path.join(dir, 'taken.keras');
    writeFileSync(taken, 'mine');
    const again = repair(taken, '--quiet');
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`Error: The file ${taken} already exists; choose a new name so nothing is overwritten.`);
    expect(readFileSync(taken, 'utf8')).toBe('mine');
    expect(existsSync(`${taken}.repair-report.json`)).toBe(false);

    // The report's name is checked too, before anything runs.
    const free = path.join(dir, 'free.h5');
    writeFileSync(`${free}.repair-report.json`, 'mine');
    const third = repair(free, '--quiet');
    expect(third.code).toBe(1);
    expect(third.stderr.trim()).toBe(`Error: The file ${free}.repair-report.json already exists; choose a new name so nothing is overwritten.`);
    expect(existsSync(free)).toBe(false);
  }, 300_000);

  it('exports a repaired folder as one .keras file (the wizard\'s Export step) that predicts what the folder predicts; refuses a taken name, a wrong format and a non-model name', async () => {
    const folder = path.join(dir, 'repaired');
    expect(existsSync(folder)).toBe(true);
    const out = path.join(dir, 'exported.keras');
    const r = await exportModelFileJob({ model: folder, out });
    expect(r).toEqual({ file: out, format: 'keras', bytes: readFileSync(out).length, fingerprint: sha256(out) });
    expect(Array.from(await probabilities(out))).toEqual(Array.from(await probabilities(folder)));
    const before = sha256(out);
    await expect(exportModelFileJob({ model: folder, out })).rejects.toThrow(`The file ${out} already exists; choose a new name so nothing is overwritten.`);
    expect(sha256(out)).toBe(before);
    const onnx = path.join(dir, 'exported.onnx');
    await expect(exportModelFileJob({ model: folder, out: onnx })).rejects.toThrow(`The output ${onnx} names an ONNX file, but the model ${folder} is not an ONNX model`);
    const other = path.join(dir, 'exported.bin');
    await expect(exportModelFileJob({ model: folder, out: other })).rejects.toThrow(`The output ${other} is not a new model file: name one ending in .h5, .keras or .onnx.`);
    expect(existsSync(onnx) || existsSync(other)).toBe(false);
  }, 300_000);
});
