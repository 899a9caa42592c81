// A model trained on the digits "0"–"9", opened with a folder dataset of the same digits whose
// sub-folders are named "zero"…"nine" (read in alphabetical order, so the labels are
// scrambled): eval reports the names and the low accuracy as warnings (also sent as warning
// events, which the command line prints), with the confusion matrix; the same data in the
// right order gives none. A model of another input shape is refused before anything runs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WARNING_STAGE } from '../../src-main/contract/messages.js';
import { evalJob, trainJob } from '../../src-main/engine/jobs/clear.js';
import { digitFolders } from '../digit-folders.js';
import { initBackend } from '../../src-main/engine/backend/index.js';

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-load-mismatch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'model');

beforeAll(async () => {
  await initBackend('wasm');
  await trainJob({ data: 'mnist', limit: 2000, arch: 'mlp', epochs: 3, seed: 0, out: model });
  await digitFolders(path.join(dir, 'words'), (c) => WORDS[c]);
  await digitFolders(path.join(dir, 'digits'), (c) => String(c));
}, 600_000);

describe('a model opened with mismatched data', () => {
  it('warns about scrambled class names and an accuracy far below chance-adjusted, with the confusion matrix', async () => {
    const events: string[] = [];
    const r = await evalJob({ model, data: `folder:${path.join(dir, 'words')}`, split: 'train' }, { onProgress: (e) => { if (e.stage === WARNING_STAGE) events.push(e.message ?? ''); } });
    expect(r.dataset.classNames).toEqual([...WORDS].sort());
    expect(r.modelClassNames).toEqual(WORDS.map((_, c) => String(c)));
    expect(r.accuracy).toBeLessThan(0.5);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/names its classes "0", "1", .* but the dataset folder:\S+ names them "eight", "five", .* Labels are matched by position/);
    expect(r.warnings[1]).toMatch(/classifies only \d+\.\d% of the train split .* the class order or the pixel scaling may be wrong/);
    expect(events).toEqual(r.warnings);
    // The confusion matrix shows where the labels went: "eight" (label 0) is read as 8.
    expect(r.confusion).toHaveLength(10);
    expect(r.confusion[0][8]).toBeGreaterThan(15);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(r.count);
  }, 120_000);

  it('gives no warning for the same digits in the model\'s order', async () => {
    const r = await evalJob({ model, data: `folder:${path.join(dir, 'digits')}`, split: 'train' });
    expect(r.accuracy).toBeGreaterThan(0.7);
    expect(r.warnings).toEqual([]);
    expect(r.confusion[3][3]).toBe(Math.round(r.perClass[3].accuracy * r.perClass[3].count));
  }, 120_000);

  it('refuses a model of another input shape before it runs', async () => {
    await expect(evalJob({ model, data: 'mnist:downsampled', limit: 200, split: 'test' })).rejects.toThrow(/takes inputs of shape 28×28×1, but the dataset mnist:downsampled has samples of shape 14×14×1/);
  }, 120_000);
});
