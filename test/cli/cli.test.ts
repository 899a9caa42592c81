// The `clearwb` command line: usage errors exit 2 with usage, failures exit 1 with one sentence,
// --json prints one object on stdout, and train/eval/predict/info work on MNIST and IDX files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { encodeIdx } from '../../src-main/engine/data/idx.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clear(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/clearwb.js', ...args], { encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('clearwb CLI', () => {
  it('prints usage and exits 2 on a usage error', () => {
    const none = clear();
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: clearwb <command>/);
    const bad = clear('train', '--data', 'mnist');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Option --out is required/);
    expect(bad.stderr).toMatch(/Usage: clearwb train/);
    const unknown = clear('train', '--data', 'mnist', '--out', 'x', '--frobnicate');
    expect(unknown.code).toBe(2);
    expect(clear('frobnicate').code).toBe(2);
    expect(clear('train', '--help').code).toBe(0);
  });

  it('names the bench option at fault in one sentence', () => {
    const poisons = clear('bench', '--poisons', '5,x');
    expect(poisons.code).toBe(2);
    expect(poisons.stderr).toMatch(/--poisons takes a comma list of items that are each a whole number from 1 to 1000, not "x"\./);
    const variant = clear('bench', '--variants', 'huge');
    expect(variant.code).toBe(2);
    expect(variant.stderr).toMatch(/--variants takes a comma list of items that are each one of strong, nearest, augmented or two-targets, not "huge"\./);
    const misfit = clear('bench', '--limit', '500', '--variants', 'strong');
    expect(misfit.code).toBe(1);
    expect(misfit.stderr).toMatch(/The variant strong applies to fc, cp, bp; add one of them to --attacks\./);
    const noReference = clear('bench', '--limit', '500', '--defences', 'clear+ref');
    expect(noReference.code).toBe(1);
    expect(noReference.stderr).toMatch(/The defence clear\+ref needs a reference set; add --reference N\./);
    const tooBig = clear('bench', '--limit', '500', '--reference', '1990');
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(/--reference 1990 leaves 10 of the 2000 test samples/);
  });

  it('exits 1 with one sentence naming the path for a missing model', () => {
    const r = clear('eval', '--model', path.join(dir, 'nope'), '--data', 'mnist', '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error: The model folder .*nope does not exist\./);
    expect(JSON.parse(r.stdout.trim()).kind).toBe('user');
  });

  describe('on IDX files', () => {
    let spec: string;
    beforeAll(async () => {
      // Real MNIST digits written as IDX files (gzipped images, plain labels).
      const ds = await loadDataset('mnist', { limit: 600 });
      const toBytes = (x: Float32Array) => Uint8Array.from(x, (v) => Math.round(v * 255));
      const files = {
        ti: [encodeIdx('u8', [600, 28, 28], toBytes(pixelsInMemory(ds.train.images))), true],
        tl: [encodeIdx('u8', [600], ds.train.labels), false],
        si: [encodeIdx('u8', [ds.test.count, 28, 28], toBytes(pixelsInMemory(ds.test.images))), true],
        sl: [encodeIdx('u8', [ds.test.count], ds.test.labels), false],
      } as const;
      const names: string[] = [];
      for (const [name, [bytes, gz]] of Object.entries(files)) {
        const f = path.join(dir, `${name}.idx${gz ? '.gz' : ''}`);
        writeFileSync(f, gz ? gzipSync(bytes) : bytes);
        names.push(f);
      }
      spec = `idx:${names.join(',')}`;
    });

    it('train, eval, predict and info work and print JSON', () => {
      const model = path.join(dir, 'idx-model');
      const t = clear('train', '--data', spec, '--arch', 'mlp', '--epochs', '2', '--out', model, '--json');
      expect(t.code, t.stderr).toBe(0);
      const train = JSON.parse(t.stdout.trim());
      expect(train.backend).toBe('wasm');
      expect(train.accuracy).toBeGreaterThan(0.7);
      // Validation after every epoch on the held-out test split (all of it, at most 2,000): after the last epoch it is the test accuracy.
      expect(train.validation).toEqual({ split: 'test', count: Math.min(2000, train.testCount) });
      expect(train.epochs.map((e: { valAccuracy?: number }) => typeof e.valAccuracy)).toEqual(['number', 'number']);
      if (train.testCount <= 2000) expect(train.epochs[1].valAccuracy).toBeCloseTo(train.accuracy, 6);
      const e = JSON.parse(clear('eval', '--model', model, '--data', spec, '--json').stdout.trim());
      expect(e.accuracy).toBeCloseTo(train.accuracy, 6);
      expect(e.perClass).toHaveLength(10);
      const p = JSON.parse(clear('predict', '--model', model, '--data', spec, '--split', 'test', '--index', '3', '--json').stdout.trim());
      expect(p.index).toBe(3);
      expect(p.probabilities).toHaveLength(10);
      expect(p.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
      expect(p.predicted).toBe(p.probabilities.indexOf(Math.max(...p.probabilities)));
      const i = clear('info', '--model', model);
      expect(i.code).toBe(0);
      expect(i.stdout).toMatch(/\* features/);
      expect(i.stdout).toMatch(/Fingerprint [0-9a-f]{64}/);
      const text = clear('train', '--data', spec, '--arch', 'mlp', '--epochs', '1', '--out', path.join(dir, 'idx-model-text'));
      expect(text.stdout).toMatch(/^epoch 1: loss \d\.\d{4}, accuracy [\d.]+%; validation loss \d\.\d{4}, accuracy [\d.]+%$/m);
      expect(text.stdout).toMatch(/^Validation: \d+ held-out test samples, measured after every epoch\.$/m);
      const again = clear('train', '--data', spec, '--arch', 'mlp', '--epochs', '1', '--out', model);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already holds files/);
    });
  });
});
