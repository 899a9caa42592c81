// Issue 11 (Keras in and out) from the command line: a model given as MODEL.h5 or MODEL.keras
// is taken by info, eval, scan and repair like a Layers folder, and repair writes the repaired
// model back in the format it came in, inside the new folder, next to its Layers files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { kerasBytes } from '../../src-main/engine/model/keras.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-cli-keras-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clear(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/clearwb.js', ...args], { encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const data = ['--data', 'mnist', '--limit', '400', '--data-seed', '4'];
const folder = path.join(dir, 'layers');

beforeAll(async () => {
  const trained = clear('train', ...data, '--arch', 'mlp', '--epochs', '2', '--out', folder);
  expect(trained.code, trained.stderr).toBe(0);
  await initBackend('wasm');
  const loaded = await loadModel(folder);
  writeFileSync(path.join(dir, 'net.h5'), await kerasBytes(loaded.model, 'h5', loaded.metadata));
  writeFileSync(path.join(dir, 'net.keras'), await kerasBytes(loaded.model, 'keras', loaded.metadata));
  loaded.model.dispose();
}, 300_000);

const accuracy = (model: string) => {
  const r = clear('eval', '--model', model, ...data, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()).accuracy as number;
};

describe('clearwb with Keras model files', () => {
  it('info states the input scaling and the format; eval agrees with the Layers folder', () => {
    const i = clear('info', '--model', path.join(dir, 'net.h5'));
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/\* features/);
    expect(i.stdout).toContain('Input scaling: the data readers give pixel values from 0 to 1');
    expect(i.stdout).toContain('Read from a Keras .h5 file; a repair writes the repaired model back in this format (model.h5)');
    const want = accuracy(folder);
    expect(accuracy(path.join(dir, 'net.h5'))).toBe(want);
    expect(accuracy(path.join(dir, 'net.keras'))).toBe(want);
  }, 300_000);

  it('repair of a .keras model writes model.keras beside the Layers files; an existing folder is not overwritten', () => {
    const model = path.join(dir, 'net.keras');
    const scan = path.join(dir, 'scan.json');
    const s = clear('scan', '--model', model, ...data, '--out', scan);
    expect([0, 3, 4], s.stderr).toContain(s.code);
    const out = path.join(dir, 'repaired');
    const r = clear('repair', '--model', model, ...data, '--scan', scan, '--out', out, '--epochs', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['model.json', 'model.keras', 'repair-report.json', 'weights.bin']);
    // The Keras copy is the same repaired model as the Layers files.
    expect(accuracy(path.join(out, 'model.keras'))).toBe(accuracy(out));

    const taken = path.join(dir, 'taken');
    mkdirSync(taken);
    writeFileSync(path.join(taken, 'keep.txt'), 'mine');
    const again = clear('repair', '--model', model, ...data, '--scan', scan, '--out', taken, '--epochs', '1');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds files/);
    expect(readdirSync(taken)).toEqual(['keep.txt']);
  }, 600_000);

  it('refuses a damaged Keras file in one sentence, exit 1', () => {
    const bad = path.join(dir, 'bad.keras');
    writeFileSync(bad, 'not a zip');
    const r = clear('info', '--model', bad);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`Error: The model file ${bad} is not a readable zip archive, as a .keras file is (invalid zip data).`);
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
  });
});
