// Where flagged samples came from, end to end: real MNIST digits written as a folder dataset of
// named PNG files, 40 label-flip copies of one test digit planted among them as
// planted-NN.png files; a model trained on the folder, scanned. The scan's pocket members carry
// their file names, each checked against the file whose pixels the member holds, the
// candidate group holding the copies names the planted files, and `clearwb report`'s CSV
// (the scanReport job) lists every flagged sample with its file, label and new label.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pngjs from 'pngjs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { sampleSize, type Dataset, type Split } from '../../src-main/engine/data/dataset.js';
import { labelFlipAttack } from '../../src-main/engine/attacks/label-flip.js';
import { scanJob, trainJob } from '../../src-main/engine/jobs/clear.js';
import { scanReportJob } from '../../src-main/engine/jobs/report.js';
import type { ScanResult } from '../../src-main/engine/clear/types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-sources-'));
const folder = path.join(dir, 'digits');
const TARGET = 3;
const ATTACKER = 7;
const COPIES = 40;

/** Pixel bytes of each file written, by content: the independent record of which file holds which image. */
const fileOf = new Map<string, string[]>();
let ds: Dataset;
let scan: ScanResult;
let scanFile: string;

function bytesOf(split: Split, size: number, i: number): Uint8Array {
  return Uint8Array.from(split.images.subarray(i * size, (i + 1) * size), (v) => Math.round(v * 255));
}

function writePng(file: string, bytes: Uint8Array, side: number): void {
  const png = new pngjs.PNG({ width: side, height: side });
  bytes.forEach((b, p) => { png.data[p * 4] = png.data[p * 4 + 1] = png.data[p * 4 + 2] = b; png.data[p * 4 + 3] = 255; });
  writeFileSync(file, pngjs.PNG.sync.write(png, { colorType: 0 }));
}

beforeAll(async () => {
  await initBackend('wasm');
  const clean = await loadDataset('mnist', { limit: 1500 });
  const { dataset, manifest } = await labelFlipAttack(clean, { targetIndex: TARGET, attackerClass: ATTACKER, poisons: COPIES, seed: 0 });
  const poisons = new Set(manifest.poisonIndices);
  const size = sampleSize(dataset.shape);
  for (const part of ['train', 'test'] as const) {
    const split = dataset[part];
    const count = part === 'test' ? 300 : split.count;
    for (let i = 0; i < count; i++) {
      const label = split.labels[i];
      const name = part === 'train' && poisons.has(i) ? `planted-${String(i - clean.train.count).padStart(2, '0')}.png` : `digit ${label} no ${i}.png`;
      const rel = `${part}/${label}/${name}`;
      mkdirSync(path.join(folder, part, String(label)), { recursive: true });
      const bytes = bytesOf(split, size, i);
      writePng(path.join(folder, rel), bytes, dataset.shape[0]);
      const key = Buffer.from(bytes).toString('base64');
      fileOf.set(key, [...(fileOf.get(key) ?? []), rel]);
    }
  }
  const data = { data: `folder:${folder}` };
  const model = path.join(dir, 'model');
  await trainJob({ ...data, arch: 'cnn', seed: 0, out: model });
  scanFile = path.join(dir, 'scan.json');
  // At 5%: this small model's scan puts the copies' group near p = 0.014, so the report below has rows.
  scan = await scanJob({ ...data, model, falseAlarm: 0.05, out: scanFile });
  ds = await loadDataset(data.data);
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the sources of a scan\'s pockets', () => {
  it('are the file names of the members, in member order, in the scan and in its file', () => {
    expect(scan.pockets.length).toBeGreaterThan(0);
    const size = sampleSize(ds.shape);
    for (const p of scan.pockets) {
      expect(p.sources).toHaveLength(p.members.length);
      p.members.forEach((m, k) => {
        const files = fileOf.get(Buffer.from(bytesOf(ds.train, size, m)).toString('base64'));
        expect(files, `member ${m}`).toContain(p.sources![k]);
      });
    }
    const stored = JSON.parse(readFileSync(scanFile, 'utf8')) as ScanResult;
    expect(stored.pockets.map((p) => p.sources)).toEqual(scan.pockets.map((p) => p.sources));
    expect(Object.keys(stored.pockets[0]).slice(0, 3)).toEqual(['id', 'members', 'sources']);
  });

  it('name the planted files of the candidate group that holds them', () => {
    const planted = (p: ScanResult['pockets'][number]) => p.sources!.filter((s) => /^train\/7\/planted-\d\d\.png$/.test(s)).length;
    const group = [...scan.pockets].sort((a, b) => planted(b) - planted(a))[0];
    expect(planted(group)).toBeGreaterThanOrEqual(COPIES * 0.9);
    expect(group.attackerClass).toBe(ATTACKER);
  });

  it('are the source column of the CSV report, one row per flagged sample', async () => {
    const out = path.join(dir, 'flagged.csv');
    const result = await scanReportJob({ scan: scanFile, format: 'csv', out });
    const [header, ...rows] = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(header).toBe('index,source,label,relabel,pocket');
    const reported = scan.pockets.filter((p) => p.confirmed || p.attempt);
    expect(reported.length).toBeGreaterThan(0);
    const expected = reported.flatMap((p) => p.members.map((m, k) => [m, p.sources![k], '7', String(p.enclosingClass), p.id] as const)
      .sort((a, b) => a[0] - b[0]).map((r) => r.join(',')));
    expect(rows).toEqual(expected);
    // The result also gives the written file's SHA-256 (for the chain of custody).
    expect(result).toEqual({
      out, format: 'csv', rows: rows.length, groups: reported.length, withSources: true,
      sha256: createHash('sha256').update(readFileSync(out)).digest('hex'), notes: expect.any(Array),
    });
    expect(rows.filter((r) => /,train\/7\/planted-\d\d\.png,7,/.test(r)).length).toBeGreaterThanOrEqual(COPIES * 0.9);
    await expect(scanReportJob({ scan: scanFile, format: 'csv', out })).rejects.toThrow(/already exists; choose a new name so nothing is overwritten/);
  });
});
