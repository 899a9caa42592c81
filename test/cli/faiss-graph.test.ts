// Past one workstation (README, "Where one workstation stops"): `clearwb features` writes the
// scan's features as .npy, real Faiss (IndexFlatL2, scripts/faiss_graph.py) finds each row's
// K + 1 nearest, and `clearwb scan --neighbour-graph-from` takes them back: on a seeded
// 1,500-digit MNIST subset with a real mlp, the imported graph's recall is 1 and the scan finds
// what the exact graph's scan finds, group for group. A file that does not fit is refused in
// one sentence, exit 1, nothing written. python3-faiss is a test dependency (.ci/run installs
// it): without it this test fails and says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearwb, pythonWith } from './helpers.js';
import type { FeaturesResult, ScanResult } from '../../src-main/contract/results.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-faiss-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = ['--data', 'mnist', '--limit', '1500'];
const model = path.join(dir, 'model');
const features = path.join(dir, 'features.npy');
const indices = path.join(dir, 'indices.npy');

function ok(args: string[]) {
  const r = clearwb(args);
  expect(r.code, `clearwb ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

let python = 'python3';

beforeAll(() => {
  python = pythonWith(['faiss', 'numpy'], 'python3-faiss');
  ok(['train', ...data, '--arch', 'mlp', '--epochs', '3', '--out', model, '--quiet']);
}, 300_000);

describe('a neighbour graph from Faiss', () => {
  it('gives the exact graph\'s scan: recall 1, the same verdict and the same groups', () => {
    const written = ok(['features', '--model', model, ...data, '--out', features, '--json']);
    const result = JSON.parse(written.stdout) as FeaturesResult;
    expect(result).toMatchObject({ out: features, samples: 1500, normalisation: 'l2', neighbours: 40 });
    // float32 N×d, as NumPy reads it.
    const shape = spawnSync(python, ['-c', `import numpy as np; x = np.load(${JSON.stringify(features)}); print(x.dtype, x.shape, round(float(np.linalg.norm(x, axis=1).mean()), 4))`], { encoding: 'utf8' });
    expect(shape.stdout.trim()).toBe(`float32 (1500, ${result.dim}) 1.0`);

    const faiss = spawnSync(python, ['scripts/faiss_graph.py', features, indices, '--neighbours', '40'], { encoding: 'utf8' });
    expect(faiss.status, faiss.stderr).toBe(0);
    expect(faiss.stdout).toMatch(/^Wrote the 41 nearest of 1500 samples \(\d+-d\) to \S+ in [\d.]+ s \(faiss [\d.]+, IndexFlatL2\)\.$/m);

    const exactFile = path.join(dir, 'exact.json');
    const importedFile = path.join(dir, 'imported.json');
    const exactRun = clearwb(['scan', '--model', model, ...data, '--neighbour-graph', 'exact', '--out', exactFile]);
    const importedRun = clearwb(['scan', '--model', model, ...data, '--neighbour-graph-from', indices, '--out', importedFile]);
    expect(importedRun.code, importedRun.stderr).toBe(exactRun.code);
    expect([0, 3, 4]).toContain(exactRun.code);
    expect(importedRun.stdout).toMatch(new RegExp(`^Neighbour graph imported from ${indices.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(41 candidates per sample, every distance recomputed here\\): recall 1\\.0000 of the exact 40 nearest, measured on 128 rows\\.$`, 'm'));

    const exact = JSON.parse(readFileSync(exactFile, 'utf8')) as ScanResult;
    const imported = JSON.parse(readFileSync(importedFile, 'utf8')) as ScanResult;
    expect(exact.timings.neighbourGraph).toMatchObject({ method: 'exact', recall: null });
    expect(imported.timings.neighbourGraph).toMatchObject({ method: 'imported', file: indices, recall: 1, recallRows: 128, candidates: 41 });
    expect(imported.timings.neighbourGraph?.note).toBeUndefined();
    expect(imported.verdict).toEqual(exact.verdict);
    expect(imported.pockets.length).toBeGreaterThan(0);
    expect(imported.pockets).toEqual(exact.pockets);
    expect(imported.calibration).toEqual(exact.calibration);
  });

  it('refuses a file that does not fit, in one sentence naming it, exit 1, nothing written', () => {
    const out = path.join(dir, 'refused.json');
    // 1,499 rows for 1,500 samples: an index over other data.
    const short = path.join(dir, 'short.npy');
    const made = spawnSync(python, ['-c', `import numpy as np; np.save(${JSON.stringify(short)}, np.load(${JSON.stringify(indices)})[:-1])`], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const notNpy = path.join(dir, 'indices.csv');
    writeFileSync(notNpy, '0,1,2\n');
    for (const [file, problem] of [
      [short, 'has 1499 rows, but the training set has 1500 samples'],
      [notNpy, 'is not a NumPy .npy file'],
    ] as const) {
      const r = clearwb(['scan', '--model', model, ...data, '--neighbour-graph-from', file, '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`The neighbour file ${file} ${problem}`);
      expect(existsSync(out)).toBe(false);
    }
    // Outputs are never replaced: features refuses an existing file, as scan does.
    const again = clearwb(['features', '--model', model, ...data, '--out', features]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`The file ${features} already exists; choose a new name so nothing is overwritten.`);
  });
});
