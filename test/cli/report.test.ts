// `clearwb report --scan SCAN.json --format csv --out FILE`: writes one row per flagged sample,
// says how many, never replaces a file (exit 1, one sentence), and refuses a format it does not
// write as a usage error (exit 2) before starting anything.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { handMadeScan } from '../e2e/fixtures.js';
import { clearwb } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scanFile = path.join(dir, 'scan.json');
const scan = handMadeScan({
  dataset: { spec: 'folder:digits', fingerprint: 'f'.repeat(64), trainCount: 600 },
  model: { dir: 'model', fingerprint: 'e'.repeat(64) },
  members: [5, 9], attackerClass: 7, enclosingClass: 1,
});
scan.pockets[0] = { ...scan.pockets[0], sources: ['7/planted-00.png', '7/planted-01.png'] };
writeFileSync(scanFile, JSON.stringify(scan));

describe('clearwb report', () => {
  it('writes the flagged samples as CSV and says how many', () => {
    const out = path.join(dir, 'flagged.csv');
    const r = clearwb(['report', '--scan', scanFile, '--format', 'csv', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Wrote 2 flagged samples from 1 reported group to ${out}.\n`);
    expect(readFileSync(out, 'utf8')).toBe('index,source,label,relabel,pocket\r\n5,7/planted-00.png,7,1,0\r\n9,7/planted-01.png,7,1,0\r\n');
    const json = clearwb(['report', '--scan', scanFile, '--out', path.join(dir, 'again.csv'), '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ format: 'csv', rows: 2, groups: 1, withSources: true });
  });

  it('never replaces a file: exit 1 with one sentence', () => {
    const out = path.join(dir, 'taken.csv');
    writeFileSync(out, 'mine\n');
    const r = clearwb(['report', '--scan', scanFile, '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: The file ${out} already exists; choose a new name so nothing is overwritten.\n`);
    expect(readFileSync(out, 'utf8')).toBe('mine\n');
  });

  it('refuses a format it does not write, and a missing --out, as usage errors', () => {
    const format = clearwb(['report', '--scan', scanFile, '--format', 'xlsx', '--out', path.join(dir, 'x')]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format .*csv.*"xlsx"/);
    const missing = clearwb(['report', '--scan', scanFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Option --out is required/);
    expect(clearwb(['report', '--help']).stdout).toMatch(/^Usage: clearwb report --scan SCAN.json --out FILE \[options\]/);
  });
});
