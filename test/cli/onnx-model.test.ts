// ONNX models from the command line: `clearwb info`, `scan` and `repair` take a PyTorch-made
// .onnx file (test/fixtures/onnx/make.py) end to end; repair writes model.onnx with a new head
// (in a folder, or as the one file --out names);
// a file that cannot be used is one sentence naming it, exit 1, and nothing written.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-cli-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => path.resolve('test/fixtures/onnx', name);
const data = ['--data', `npz:${fixture('digits.npz')}`];

function clear(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/clearwb.js', ...args], { encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('clearwb with an ONNX model', () => {
  it('info names the feature layer and says a repair is head-only', () => {
    const r = clear('info', '--model', fixture('cnn.onnx'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\* onnx_features\s+OnnxFeatures\s+\[null,24\]/);
    expect(r.stdout).toContain('a repair retrains the classifier head only and writes model.onnx');
  });

  it('info and eval state that a flat input is fed colour images channels first', () => {
    const i = clear('info', '--model', fixture('flat-rgb.onnx'));
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toContain('Input order: a colour image is fed to the flat input channels first (C×H×W, as PyTorch flattens an N×C×H×W batch), as assumed for ONNX files; the metadata entry clear.flat_input_order = HWC in the file makes it channels last.');
    const e = clear('eval', '--model', fixture('flat-rgb.onnx'), '--data', `npz:${fixture('flat-rgb.npz')}`);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain('Accuracy on the test split: 100.00% (40 samples');
    expect(e.stdout).toContain(`Input order: the ONNX model in ${fixture('flat-rgb.onnx')} takes flat vectors of 192 values, so the 8×8×3 images of npz:${fixture('flat-rgb.npz')} are fed channels first (C×H×W`);
    // A model whose input is an image states no order: there is none to choose.
    expect(clear('info', '--model', fixture('cnn.onnx')).stdout).not.toContain('Input order');
  });

  it('scan finds the planted pocket (exit 3) and repair writes a new .onnx with a new head (exit 0)', () => {
    const before = sha256(fixture('cnn.onnx'));
    const scan = path.join(dir, 'scan.json');
    const s = clear('scan', '--model', fixture('cnn.onnx'), ...data, '--out', scan, '--quiet');
    expect(s.code, s.stderr).toBe(3);
    expect(s.stdout).toContain('"1" inside "7"');
    const out = path.join(dir, 'repaired');
    const r = clear('repair', '--model', fixture('cnn.onnx'), ...data, '--scan', scan, '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Head-only repair: model.onnx in');
    expect(readdirSync(out).sort()).toEqual(['model.onnx', 'repair-report.json']);
    expect(sha256(fixture('cnn.onnx'))).toBe(before);
    expect(sha256(path.join(out, 'model.onnx'))).not.toBe(before);
    const report = JSON.parse(readFileSync(path.join(out, 'repair-report.json'), 'utf8'));
    expect(report.model.fingerprint).toBe(sha256(path.join(out, 'model.onnx')));
    // The repaired folder is a model the product reads again.
    const again = clear('eval', '--model', out, ...data, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim()).accuracy).toBeCloseTo(report.after.accuracy, 10);
  }, 300_000);

  it('repair --out NAME.onnx writes exactly that file (the same head as the folder\'s model.onnx) and its report; --out NAME.h5 is refused', () => {
    const scan = path.join(dir, 'scan.json');
    const file = path.join(dir, 'repaired-cnn.onnx');
    const r = clear('repair', '--model', fixture('cnn.onnx'), ...data, '--scan', scan, '--out', file, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Head-only repair: ${file} is the input ONNX file with a new classifier head`);
    expect(readFileSync(file)).toEqual(readFileSync(path.join(dir, 'repaired', 'model.onnx')));
    const report = JSON.parse(readFileSync(`${file}.repair-report.json`, 'utf8'));
    expect(report.model.out).toBe(file);
    expect(report.model.fingerprint).toBe(sha256(file));
    const again = clear('eval', '--model', file, ...data, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim()).accuracy).toBeCloseTo(report.after.accuracy, 10);

    const keras = path.join(dir, 'repaired-cnn.h5');
    const refused = clear('repair', '--model', fixture('cnn.onnx'), ...data, '--scan', scan, '--out', keras, '--quiet');
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`Error: The output ${keras} names a Keras file, but the model ${fixture('cnn.onnx')} is an ONNX model, whose head-only repair can only be written as an ONNX file (its other layers exist only there); name a .onnx file, or a new folder, instead.`);
    expect(existsSync(keras)).toBe(false);
    expect(existsSync(`${keras}.repair-report.json`)).toBe(false);
  }, 300_000);

  for (const [name, make, pattern] of [
    ['a truncated file', () => { const f = path.join(dir, 'cut.onnx'); writeFileSync(f, readFileSync(fixture('mlp.onnx')).subarray(0, 5000)); return f; }, /is not a valid ONNX model \(truncated or corrupt/],
    ['a model without a final Gemm or MatMul', () => fixture('no-head.onnx'), /not a fully connected layer/],
    ['a model for other images', () => fixture('rgb32.onnx'), /takes inputs of shape 32×32×3, but the dataset .* has samples of shape 28×28×1/],
  ] as const) {
    it(`${name}: one sentence naming the file, exit 1, nothing written`, () => {
      const file = make();
      const out = path.join(dir, `scan-${path.basename(file)}.json`);
      const r = clear('scan', '--model', file, ...data, '--out', out, '--quiet');
      expect(r.code).toBe(1);
      const message = r.stderr.trim();
      expect(message).toContain(file);
      expect(message).toMatch(pattern);
      expect(message.split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    });
  }
});
