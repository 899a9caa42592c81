import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { neighbourScaling, neighbourScalingMarkdown, perfMarkdown, type PerfResult } from '../../../src-main/engine/bench/perf.js';
import { CancelledError } from '../../../src-main/engine/errors.js';

describe('neighbourScaling', () => {
  it('measures the sizes in increasing order, estimates each from the largest measured so far, and skips those over the budget', async () => {
    await initBackend('wasm');
    const rows = await neighbourScaling([1200, 300, 600, 600], { dim: 8, k: 5, budgetSeconds: 1e9 });
    expect(rows.map((r) => r.n)).toEqual([300, 600, 1200]);
    for (const row of rows) {
      expect(row.skipped).toBeUndefined();
      expect(row.seconds).toBeGreaterThan(0);
      expect(row.cpuSeconds).toBeGreaterThanOrEqual(0);
      expect(row.peakRssMiB).toBeGreaterThan(0);
      expect(row.rssBeforeMiB).toBeGreaterThan(0);
      expect(row.graphMiB).toBeCloseTo((row.n * 5 * 8) / 2 ** 20, 12);
      expect([row.dim, row.k]).toEqual([8, 5]);
      expect(row).toMatchObject({ method: 'exact', recall: null, recallRows: 0 });
    }
    expect(rows[0].estimatedSeconds).toBeNull();
    expect(rows[1].estimatedSeconds).toBeCloseTo(rows[0].seconds! * 4, 9);
    expect(rows[2].estimatedSeconds).toBeCloseTo(rows[1].seconds! * 4, 9);

    const skipped = await neighbourScaling([400, 4_000_000], { dim: 4, k: 3, budgetSeconds: 60, graph: 'exact' });
    expect(skipped[0].seconds).not.toBeNull();
    expect(skipped[1]).toMatchObject({ n: 4_000_000, seconds: null, peakRssMiB: null });
    expect(skipped[1].estimatedSeconds).toBeCloseTo(skipped[0].seconds! * 10_000 ** 2, 3);
    expect(skipped[1].skipped).toMatch(/^estimated .*, over the 60 s budget$/);
  });

  it('builds the approximate graph above the threshold, with its recall, and estimates it from approximate sizes only', async () => {
    await initBackend('wasm');
    const rows = await neighbourScaling([300, 1500, 3000], { dim: 16, k: 10, budgetSeconds: 1e9, approximateAbove: 1000 });
    expect(rows.map((r) => r.method)).toEqual(['exact', 'approximate', 'approximate']);
    expect(rows[0].recall).toBeNull();
    for (const row of rows.slice(1)) {
      expect(row.recall).toBeGreaterThanOrEqual(0.99);
      expect(row.recallRows).toBe(128);
      expect(row.recallSeconds).toBeGreaterThanOrEqual(0);
      expect(row.note).toBeUndefined();
    }
    expect(rows[1].estimatedSeconds).toBeNull();
    expect(rows[2].estimatedSeconds).toBeCloseTo(rows[1].seconds! * (3000 * Math.log(3000)) / (1500 * Math.log(1500)), 9);
    const md = neighbourScalingMarkdown(rows, 'wasm, 2 threads', 'stage');
    expect(md).toMatch(/\| 3,000 \| approximate \| [\d.]+ \| [\d.]+ \| [01]\.\d{4} \(128 rows, [\d.]+ s\) \|/);
  });

  it('measures clustered features when asked, and says so', async () => {
    await initBackend('wasm');
    const rows = await neighbourScaling([2000], { dim: 32, k: 10, approximateAbove: 1000, data: 'clustered' });
    expect(rows[0]).toMatchObject({ method: 'approximate', data: 'clustered', recallRows: 128 });
    expect(rows[0].recall).toBeGreaterThanOrEqual(0.99);
    expect(neighbourScalingMarkdown(rows, 'wasm, 2 threads', 'stage')).toContain('clustered 32-d unit vectors, K = 10');
  });

  it('stops with CancelledError when the signal fires', async () => {
    await initBackend('wasm');
    const controller = new AbortController();
    controller.abort();
    await expect(neighbourScaling([500], { dim: 4 }, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('perf Markdown', () => {
  const scaling = [
    { n: 8000, dim: 128, k: 40, seconds: 1.5, cpuSeconds: 2.25, estimatedSeconds: null, peakRssMiB: 300.2, rssBeforeMiB: 250, graphMiB: 2.44, method: 'exact' as const, recall: null, recallRows: 0, recallSeconds: null },
    { n: 250_000, dim: 128, k: 40, seconds: 300, cpuSeconds: 550, estimatedSeconds: null, peakRssMiB: 1500, rssBeforeMiB: 700, graphMiB: 76.29, method: 'approximate' as const, recall: 0.9921, recallRows: 128, recallSeconds: 4.25 },
    { n: 1_000_000, dim: 128, k: 40, seconds: null, cpuSeconds: null, estimatedSeconds: 23_437.5, peakRssMiB: null, rssBeforeMiB: null, graphMiB: 305.18, method: 'approximate' as const, recall: null, recallRows: 0, recallSeconds: null, skipped: 'estimated 6.5 h, over the 20 min budget' },
  ];

  it('gives the scaling table a row per size, measured or not', () => {
    const md = neighbourScalingMarkdown(scaling, 'wasm, 2 threads', 'stage');
    expect(md).toContain('random 128-d unit vectors, K = 40; exact up to 100,000 samples, approximate above');
    expect(md).toContain('| 8,000 | exact | 1.50 | 2.25 | – | 300.2 MiB | 250.0 MiB | 2.4 MiB |');
    expect(md).toContain('| 250,000 | approximate | 300.00 | 550.00 | 0.9921 (128 rows, 4.3 s) | 1500.0 MiB | 700.0 MiB | 76.3 MiB |');
    expect(md).toContain('| 1,000,000 | approximate | not run: estimated 6.5 h, over the 20 min budget | – | – | – | – | 305.2 MiB |');
    expect(neighbourScalingMarkdown(scaling, 'wasm, 2 threads', 'process')).toContain('peak RSS (process so far)');
  });

  it('states every scan stage as a multiple of the scan\'s own forward pass, and appends the scaling table', () => {
    const result = {
      backend: { name: 'wasm', threads: 2 }, training: [], embedding: null, repair: null, peakRssMiB: 512,
      scan: { arch: 'cnn', n: 8000, embed: 2, neighbours: 1, hulls: 0.5, pocketTest: 1.5, extension: 0.25, extendedRows: 120, craftedTest: 1, total: 5, pockets: 0, forwardPasses: 2.5, peakRssMiB: 400 },
      neighbourScaling: scaling, rssScope: 'stage',
    } as unknown as PerfResult;
    const md = perfMarkdown(result);
    expect(md).toContain('| scan cnn: embed (one forward pass) | wasm, 2 threads | 8000 | 256 | 2.00 s |');
    expect(md).toContain('| scan cnn: neighbours | wasm, 2 threads | 8000 | – | 1.00 s = 0.50× a forward pass |');
    expect(md).toContain('| scan cnn: of which longer lists past groups larger than K (120 samples) | wasm, 2 threads | 8000 | – | 0.25 s = 0.13× a forward pass |');
    expect(md).toContain('| scan cnn: of which crafted-samples test (squeezing every sample) | wasm, 2 threads | 8000 | – | 1.00 s = 0.50× a forward pass |');
    expect(md).toContain('| scan cnn: total | wasm, 2 threads | 8000 | – | 5.00 s = 2.50× a forward pass (0 confirmed pockets) |');
    expect(md).toContain('| scan cnn: peak RSS | wasm, 2 threads | 8000 | – | 400.0 MiB |');
    expect(md).toContain('| peak RSS | wasm, 2 threads | – | – | 512.0 MiB |');
    expect(md.indexOf('Neighbours stage alone')).toBeGreaterThan(md.indexOf('| peak RSS |'));
  });
});
