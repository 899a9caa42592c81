// Engine jobs (what the worker runs): scan and repair end to end on a small real MNIST mlp,
// files written without overwriting, bad inputs refused, and no tensors left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { repairJob, scanJob, trainJob, evalJob } from '../../src-main/engine/jobs/clear.js';
import { pocketViewJob } from '../../src-main/engine/jobs/ui.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-jobs-'));
const data = { data: 'mnist', limit: 1500 };
const model = path.join(dir, 'model');
beforeAll(async () => {
  await initBackend('wasm');
  await trainJob({ ...data, arch: 'mlp', epochs: 2, batchSize: 64, learningRate: 0.001, seed: 0, out: model });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scan and repair jobs', () => {
  it('write their results, leak no tensors, and refuse to overwrite', async () => {
    const tensors = tf.memory().numTensors;
    const scanFile = path.join(dir, 'scan.json');
    const scan = await scanJob({ ...data, model, falseAlarm: 0.05, out: scanFile });
    expect(tf.memory().numTensors).toBe(tensors);
    const stored = JSON.parse(readFileSync(scanFile, 'utf8'));
    expect(stored.schema).toBe('clear-scan/2');
    expect(stored.model.fingerprint).toBe(scan.model.fingerprint);
    expect(stored.statistics.classes).toHaveLength(10);
    expect(Object.keys(stored.timings)).toEqual(['embed', 'neighbours', 'hulls', 'pocketTest', 'extension', 'extendedRows', 'craftedTest', 'total', 'neighbourGraph', 'peakRssMiB', 'rssScope']);
    // The parts are parts of their stages: the longer lists within the neighbours stage, the crafted-samples test within the pocket test.
    expect(stored.timings.extension).toBeGreaterThanOrEqual(0);
    expect(stored.timings.extension).toBeLessThanOrEqual(stored.timings.neighbours);
    expect(Number.isInteger(stored.timings.extendedRows)).toBe(true);
    expect(stored.timings.craftedTest).toBeGreaterThan(0);
    expect(stored.timings.craftedTest).toBeLessThanOrEqual(stored.timings.pocketTest);
    // The scan's own memory peak: on Linux the high-water mark starts again with the scan, and
    // a process running a model holds far more than 50 MiB and (here) far less than 4 GiB.
    expect(stored.timings.rssScope).toBe(process.platform === 'linux' ? 'stage' : 'process');
    expect(stored.timings.peakRssMiB).toBeGreaterThan(50);
    expect(stored.timings.peakRssMiB).toBeLessThan(4096);
    // How the neighbour graph was built: exact at this size (the approximate index starts far above it).
    expect(stored.timings.neighbourGraph?.method).toBe('exact');
    await expect(scanJob({ ...data, model, falseAlarm: 0.05, out: scanFile })).rejects.toThrow(/already exists/);

    const out = path.join(dir, 'repaired');
    const repair = await repairJob({ ...data, model, scan: scanFile, out, seed: 0 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(existsSync(path.join(out, 'model.json'))).toBe(true);
    expect(existsSync(path.join(out, 'repair-report.json'))).toBe(true);
    expect(repair.model.fromFingerprint).toBe(scan.model.fingerprint);
    const evaluation = await evalJob({ ...data, model: out, split: 'test' });
    expect(evaluation.accuracy).toBeCloseTo(repair.after.accuracy, 6);
  }, 600_000);

  it("draws a pocket's view with the shell the scan judged it by, not one recomputed", async () => {
    const scan = await scanJob({ ...data, model, falseAlarm: 0.05 });
    const pocket = scan.pockets[0];
    expect(pocket, 'a scan of real data yields at least one candidate group').toBeDefined();
    expect(pocket.shell.length).toBeGreaterThan(0);
    const view = await pocketViewJob({ ...data, model, scan: scan as unknown as Record<string, unknown>, pocketId: pocket.id, nearby: 50, pairs: 2 });
    const byRole = (role: string) => view.points.filter((p) => p.role === role).map((p) => p.index);
    expect(byRole('member')).toEqual(pocket.members);
    expect(byRole('shell')).toEqual(pocket.shell);
    expect(byRole('nearby')).toHaveLength(50);
    expect(new Set([...byRole('member'), ...byRole('shell'), ...byRole('nearby')]).size).toBe(view.points.length);
  }, 600_000);

  it('uses a trusted reference set only when given one, records it, and repairs with the same one', async () => {
    const plain = await scanJob({ ...data, model, falseAlarm: 0.05 });
    expect(plain.settings.reference).toBeNull();
    expect(plain.pockets.every((p) => p.evidence.heldOutAttacker === -1)).toBe(true);
    const scanFile = path.join(dir, 'scan-ref.json');
    const withRef = await scanJob({ ...data, model, falseAlarm: 0.05, reference: 'test', out: scanFile });
    expect(withRef.settings.reference).toBe('test');
    expect(withRef.pockets.length).toBeGreaterThan(0);
    expect(withRef.pockets.every((p) => p.evidence.heldOutAttacker >= 0)).toBe(true);
    const repair = await repairJob({ ...data, model, scan: scanFile, out: path.join(dir, 'repaired-ref'), seed: 0 });
    expect(repair.rescan.settings.reference).toBe('test');
    await expect(scanJob({ ...data, model, falseAlarm: 0.05, reference: 'folder:/no/such/folder' })).rejects.toThrow(/no\/such\/folder/);
  }, 600_000);

  it('refuses a scan made on another dataset, and a file that is not a scan', async () => {
    const scanFile = path.join(dir, 'scan-other.json');
    await scanJob({ data: 'mnist', limit: 1200, model, falseAlarm: 0.05, out: scanFile });
    await expect(repairJob({ ...data, model, scan: scanFile, out: path.join(dir, 'r2'), seed: 0 }))
      .rejects.toThrow(/was computed on a different dataset/);
    const notScan = path.join(dir, 'not-a-scan.json');
    writeFileSync(notScan, '{"hello": 1}');
    await expect(repairJob({ ...data, model, scan: notScan, out: path.join(dir, 'r3'), seed: 0 }))
      .rejects.toThrow(/not-a-scan\.json is not a CLEAR scan result/);
    expect(existsSync(path.join(dir, 'r2'))).toBe(false);
  }, 600_000);
});
