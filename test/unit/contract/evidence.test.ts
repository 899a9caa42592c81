// The scan and repair schemas read back what the engine writes (through JSON, where NaN
// becomes null) and refuse what it never writes, with the place in the file.
import { describe, expect, it } from 'vitest';
import { RepairResultSchema, ScanResultSchema, describeIssue } from '../../../src-main/contract/evidence.js';
import { ProjectFile } from '../../../src-main/contract/project.js';
import { handMadeRepair, handMadeScan } from '../../e2e/fixtures.js';

const scan = handMadeScan({
  dataset: { spec: 'mnist', fingerprint: 'f'.repeat(64), trainCount: 600 },
  model: { dir: '/models/m', fingerprint: 'e'.repeat(64) },
  members: [1, 2, 3], attackerClass: 7, enclosingClass: 1,
});
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v));
const issue = (schema: typeof ScanResultSchema, value: unknown) => {
  const parsed = schema.safeParse(value);
  return parsed.success ? 'accepted' : describeIssue(parsed.error, value);
};

describe('scan schema', () => {
  it('reads back a scan written as JSON, a measurement that was NaN as NaN', () => {
    const written = viaJson({ ...scan, pockets: scan.pockets.map((p, k) => (k === 0 ? { ...p, flipDistance: Number.NaN } : p)) });
    expect(written.pockets[0].flipDistance).toBeNull();
    const read = ScanResultSchema.parse(written);
    expect(read.pockets[0].flipDistance).toBeNaN();
    expect(read.pockets[0].members).toEqual([1, 2, 3]);
    expect(read.pockets[1]).toEqual(scan.pockets[1]);
    // Electron's IPC carries NaN as it is: accepted the same.
    expect(ScanResultSchema.parse({ ...scan, timings: { ...scan.timings, total: Number.NaN } }).timings.total).toBeNaN();
  });

  it('refuses indices that are not whole numbers ≥ 0, probabilities outside [0, 1] and another schema', () => {
    const edit = (f: (s: any) => void) => { const s = viaJson(scan); f(s); return issue(ScanResultSchema, s); };
    expect(edit((s) => { s.pockets[1].members[0] = 1.5; })).toBe('pockets.1.members.0: Expected integer, received float, found 1.5');
    expect(edit((s) => { s.pockets[0].shell[0] = -1; })).toBe('pockets.0.shell.0: Number must be greater than or equal to 0, found -1');
    expect(edit((s) => { s.pockets[0].pValue = 1.2; })).toBe('pockets.0.pValue: Number must be less than or equal to 1, found 1.2');
    expect(edit((s) => { s.pockets[0].pValue = null; })).toBe('pockets.0.pValue: Expected number, received null, found null');
    expect(edit((s) => { s.pockets[0].confirmed = 'true'; })).toBe('pockets.0.confirmed: Expected boolean, received string, found "true"');
    expect(edit((s) => { s.pockets[0].members = []; })).toMatch(/^pockets\.0\.members: Array must contain at least 1 element/);
    expect(edit((s) => { s.schema = 'clear-scan/1'; })).toMatch(/^schema: Invalid literal value, expected "clear-scan\/2"/);
    expect(edit((s) => { s.settings.falseAlarm = 0; })).toMatch(/^settings\.falseAlarm: Number must be greater than 0/);
    expect(edit((s) => { s.settings.neighbours = 1e9; })).toMatch(/^settings\.neighbours: Number must be less than or equal to 10000/);
    expect(edit((s) => { s.model.fingerprint = 'abc'; })).toMatch(/^model\.fingerprint: a SHA-256 fingerprint/);
  });
});

describe('repair schema', () => {
  it('reads back a repair report, its rescan checked as a scan', () => {
    const repair = viaJson(handMadeRepair(scan, '/models/r'));
    expect(RepairResultSchema.parse(repair).relabelled).toHaveLength(3);
    repair.rescan.pockets[0].members[0] = 'x';
    expect(issue(RepairResultSchema as never, repair)).toBe('rescan.pockets.0.members.0: Expected number, received string, found "x"');
  });
});

describe('project file', () => {
  const base = { schema: 'clear-project/1', name: 'p', createdAt: 'now', updatedAt: 'now' };

  it('stores a scan and a repair result only when they are ones', () => {
    const project = ProjectFile.parse({
      ...base, scan: { file: '/p/scans/scan-1.json', result: viaJson(scan) },
      repair: { model: { dir: '/p/models/repaired-1', fingerprint: 'b'.repeat(64), origin: 'repaired' }, result: viaJson(handMadeRepair(scan, '/p/models/repaired-1')) },
    });
    expect(project.scan?.result.pockets[0].members).toEqual([1, 2, 3]);
    const bad = ProjectFile.safeParse({ ...base, scan: { file: '/p/s.json', result: { verdict: { suspected: true } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path.slice(0, 2)).toEqual(['scan', 'result']);
  });
});
