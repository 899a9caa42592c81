// The engine's dataset cache serves a dataset again only while the files its spec names are
// unchanged: a CSV rewritten in place (even to the same size with its old mtime put back),
// replaced by a rename, or a file inside a dir: folder changed, is read again, with the new
// data's fingerprint; an unchanged spec is served from memory.
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getDataset, specIdentity } from '../../src-main/engine/jobs/datasets.js';
import { getDataset as jobsGetDataset } from '../../src-main/engine/jobs/clear.js';
import { datasetPreviewJob } from '../../src-main/engine/jobs/ui.js';
import { saveDatasetDir } from '../../src-main/engine/data/save.js';

const made: string[] = [];
const tmp = () => { const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-dataset-cache-')); made.push(dir); return dir; };
afterAll(() => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });

/** 20 rows, label first; `flip` swaps the labels, keeping every byte count the same. */
function csvText(flip: boolean): string {
  return `${Array.from({ length: 20 }, (_, r) => [(r % 2) ^ (flip ? 1 : 0), r % 10, 9 - (r % 10)].join(',')).join('\n')}\n`;
}

describe('getDataset', () => {
  it('serves an unchanged CSV from memory and reloads it after it changed in place, size and mtime kept', async () => {
    const file = path.join(tmp(), 'data.csv');
    writeFileSync(file, csvText(false));
    const spec = `csv:${file}`;
    const first = await getDataset({ data: spec });
    expect(await getDataset({ data: spec })).toBe(first);
    const before = statSync(file);
    writeFileSync(file, csvText(true));
    expect(statSync(file).size).toBe(before.size);
    utimesSync(file, before.atime, before.mtime);
    const second = await getDataset({ data: spec });
    expect(second).not.toBe(first);
    expect(second.fingerprint).not.toBe(first.fingerprint);
  });

  it('reloads a CSV replaced by a rename, and keeps limit and seed apart', async () => {
    const dir = tmp();
    const file = path.join(dir, 'data.csv');
    writeFileSync(file, csvText(false));
    const spec = `csv:${file}`;
    const first = await getDataset({ data: spec });
    const limited = await getDataset({ data: spec, limit: 8 });
    expect(limited.train.count).toBe(8);
    expect(await getDataset({ data: spec })).toBe(first);
    writeFileSync(path.join(dir, 'next.csv'), csvText(true));
    renameSync(path.join(dir, 'next.csv'), file);
    expect((await getDataset({ data: spec })).fingerprint).not.toBe(first.fingerprint);
  });

  it('reloads a dir: dataset when a file inside its folder changes', async () => {
    const csv = path.join(tmp(), 'data.csv');
    writeFileSync(csv, csvText(false));
    const source = await getDataset({ data: `csv:${csv}` });
    const folder = path.join(tmp(), 'set');
    await saveDatasetDir(source, folder);
    const spec = `dir:${folder}`;
    const first = await getDataset({ data: spec });
    expect(first.fingerprint).toBe(source.fingerprint);
    expect(await getDataset({ data: spec })).toBe(first);
    const labels = path.join(folder, 'train-labels.idx1-ubyte');
    const bytes = readFileSync(labels);
    const before = statSync(labels);
    for (let i = 8; i < bytes.length; i++) bytes[i] = 1 - bytes[i];
    writeFileSync(labels, bytes);
    utimesSync(labels, before.atime, before.mtime);
    const second = await getDataset({ data: spec });
    expect(second.fingerprint).not.toBe(first.fingerprint);
  });

  it('is the one the jobs use: the preview browser mode shows follows a changed CSV', async () => {
    expect(jobsGetDataset).toBe(getDataset);
    const file = path.join(tmp(), 'data.csv');
    writeFileSync(file, csvText(false));
    const first = await datasetPreviewJob({ data: `csv:${file}`, samplesPerClass: 0 });
    expect((await datasetPreviewJob({ data: `csv:${file}`, samplesPerClass: 0 })).fingerprint).toBe(first.fingerprint);
    writeFileSync(file, csvText(true));
    const second = await datasetPreviewJob({ data: `csv:${file}`, samplesPerClass: 0 });
    expect(second.fingerprint).not.toBe(first.fingerprint);
  });

  it('gives the built-in digits an identity that names no file', () => {
    expect(specIdentity('mnist')).toBe(specIdentity('mnist'));
    expect(specIdentity('mnist:rotated')).toBe(specIdentity('mnist'));
  });
});
