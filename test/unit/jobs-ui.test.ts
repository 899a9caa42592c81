/**
 * The engine jobs behind the app's views (engine/jobs/ui.ts) that need no model: the 2-D
 * hull and projection of the pocket view, thumbnails, and the exported report.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { hull2d, principalPlane, samplePng } from '../../src-main/engine/jobs/ui.js';
import { exportReportJob } from '../../src-main/engine/jobs/report.js';
import { handMadeRepair, handMadeScan } from '../e2e/fixtures.js';

describe('pocket view geometry', () => {
  it('finds the convex hull of 2-D points, interior and collinear points left out', () => {
    const square: [number, number][] = [[0, 0], [2, 0], [2, 2], [0, 2], [1, 1], [1, 0], [0.5, 1.5]];
    const hull = hull2d(square);
    expect(hull).toHaveLength(4);
    expect(new Set(hull.map((p) => p.join(',')))).toEqual(new Set(['0,0', '2,0', '2,2', '0,2']));
    expect(hull2d([[1, 1], [2, 2]])).toHaveLength(2);
  });

  it('projects onto the directions of largest spread', () => {
    // Points spread along (1, 1, 0) a lot and along (0, 0, 1) a little.
    const rows = [[-3, -3, 0.1], [-1, -1, -0.1], [1, 1, 0.1], [3, 3, -0.1], [0, 0, 0.3], [0, 0, -0.3]];
    const x = Float32Array.from(rows.flat());
    const plane = principalPlane(x, 3, rows.map((_, i) => i));
    const [a] = plane.project(0);
    const [b] = plane.project(3);
    expect(Math.abs(a - b)).toBeCloseTo(2 * Math.hypot(3, 3), 2);
    expect(plane.explained[0]).toBeGreaterThan(0.95);
    expect(plane.explained[0] + plane.explained[1]).toBeLessThanOrEqual(1.0001);
  });

  it('draws a grey sample as a PNG of its size, and feature vectors as nothing', () => {
    const images = new Float32Array(2 * 4).fill(0.5);
    const url = samplePng({ images }, [2, 2, 1], 1)!;
    const png = PNG.sync.read(Buffer.from(url.replace('data:image/png;base64,', ''), 'base64'));
    expect([png.width, png.height, png.data[0], png.data[3]]).toEqual([2, 2, 128, 255]);
    expect(samplePng({ images }, [1, 1, 4], 0)).toBeNull();
  });
});

describe('exportReport', () => {
  const scan = handMadeScan({
    dataset: { spec: 'mnist', fingerprint: 'f'.repeat(64), trainCount: 100 },
    model: { dir: '/models/<script>alert(1)</script>', fingerprint: 'e'.repeat(64) },
    members: [1, 2, 3], attackerClass: 7, enclosingClass: 1,
  });

  it('writes a self-contained HTML report, its PDF and its JSON, and never overwrites an earlier one', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'clear-report-')), 'reports');
    const first = await exportReportJob({ scan: scan as never, repair: handMadeRepair(scan, '/models/repaired') as never, out });
    const second = await exportReportJob({ scan: scan as never, out });
    expect(path.basename(first.html)).toBe('clear-report.html');
    expect(path.basename(second.html)).toBe('clear-report-2.html');
    expect(existsSync(first.json) && existsSync(second.json)).toBe(true);
    expect(readFileSync(first.pdf!).subarray(0, 5).toString()).toBe('%PDF-');
    const html = readFileSync(first.html, 'utf8');
    expect(html).toContain('Backdoor suspected');
    expect(html).toContain('labelled “7” inside class “1”');
    expect(html).toContain('Per-class held-out accuracy before and after the repair');
    // Self-contained and inert: no scripts, no outside resources, names escaped.
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('&#60;script&#62;');
    expect(JSON.parse(readFileSync(first.json, 'utf8'))).toMatchObject({ schema: 'clear-report/2', verdict: { level: 'backdoor' } });
  });
});
