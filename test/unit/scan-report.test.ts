// The scanReport job (`clearwb report --format csv`): one row per flagged sample (members of
// reported groups only, each sample once), fields quoted as CSV needs and defused where a
// spreadsheet would run them, a scan without sources giving an empty source column, and a file
// that is written new or not at all.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, flaggedCsv, scanReportJob } from '../../src-main/engine/jobs/report.js';
import type { ScanResult } from '../../src-main/contract/results.js';
import { handMadeScan } from '../e2e/fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-scan-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scan(): ScanResult {
  const s = handMadeScan({
    dataset: { spec: 'folder:pets', fingerprint: 'f'.repeat(64), trainCount: 600 },
    model: { dir: 'model', fingerprint: 'e'.repeat(64) },
    members: [42, 7, 19], attackerClass: 3, enclosingClass: 5,
  });
  s.dataset.classNames = ['ant', 'bee', 'cat', 'dog, big', 'eel', '=cmd|x', 'fox', 'gnu', 'hen', 'ibis'];
  s.pockets[0] = { ...s.pockets[0], id: 1, sources: ['dog/42 "best".png', 'dog/7.png', '-19.png'] };
  // A poisoning attempt the model did not learn is flagged too; it shares sample 7 with the pocket.
  s.pockets[2] = { ...s.pockets[2], attempt: true, members: [7, 300], sources: ['dog/7.png', 'data.csv:301'] };
  return s;
}

describe('the CSV of flagged samples', () => {
  it('lists the members of reported groups, group by group, members ascending, each sample once', () => {
    const { text, rows, groups } = flaggedCsv(scan());
    expect(text).toBe([
      'index,source,label,relabel,pocket',
      `7,dog/7.png,"dog, big",'=cmd|x,1`,
      `19,'-19.png,"dog, big",'=cmd|x,1`,
      `42,"dog/42 ""best"".png","dog, big",'=cmd|x,1`,
      `300,data.csv:301,ibis,eel,2`,
      '',
    ].join('\r\n'));
    expect([rows, groups]).toEqual([4, 2]);
  });

  it('lists crafted samples after the groups, with no relabel, each sample once', () => {
    const s = scan();
    s.crafted = [{ id: 1, classIndex: 2, members: [88, 7, 5], sources: ['cat/88.png', 'dog/7.png', 'cat/5.png'], driftRatios: [6, 5, 4], nextRatio: 2, pValue: 0.001, explanation: 'crafted' }];
    const { text, rows, groups } = flaggedCsv(s);
    expect(text.split('\r\n').slice(5)).toEqual(['88,cat/88.png,cat,,crafted 1', '5,cat/5.png,cat,,crafted 1', '']);
    expect([rows, groups]).toEqual([6, 3]);
  });

  it('quotes commas, quotes and line breaks, and defuses what a spreadsheet would run', () => {
    expect(csvField('plain.png')).toBe('plain.png');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@sum')).toBe("'@sum");
  });

  it('is written to a new file only, from a scan file or a scan given as data', async () => {
    const file = path.join(dir, 'scan.json');
    writeFileSync(file, JSON.stringify(scan()));
    const out = path.join(dir, 'flagged.csv');
    const result = await scanReportJob({ scan: file, format: 'csv', out });
    expect(result).toEqual({ out, format: 'csv', rows: 4, groups: 2, withSources: true, sha256: createHash('sha256').update(readFileSync(out)).digest('hex'), notes: [] });
    expect(readFileSync(out, 'utf8')).toBe(flaggedCsv(scan()).text);
    await expect(scanReportJob({ scan: file, format: 'csv', out })).rejects.toThrow(`The file ${out} already exists; choose a new name so nothing is overwritten.`);
    const old = scan();
    for (const p of old.pockets) delete p.sources;
    const bare = await scanReportJob({ scan: old as never, format: 'csv', out: path.join(dir, 'bare.csv') });
    expect(bare.withSources).toBe(false);
    expect(readFileSync(path.join(dir, 'bare.csv'), 'utf8').split('\r\n')[1]).toBe(`7,,"dog, big",'=cmd|x,1`);
  });

  it('refuses a file that is not a scan, and a scan whose sources do not match its members, in one sentence', async () => {
    const notScan = path.join(dir, 'not-scan.json');
    writeFileSync(notScan, '{"hello": 1}');
    await expect(scanReportJob({ scan: notScan, format: 'csv', out: path.join(dir, 'x.csv') })).rejects.toThrow(/is not a CLEAR scan result \(expected schema clear-scan\/2; schema: /);
    const bad = scan();
    bad.pockets[0].sources = ['only one'];
    await expect(scanReportJob({ scan: bad as never, format: 'csv', out: path.join(dir, 'y.csv') }))
      .rejects.toThrow('The scan given lists 1 sources for the 3 members of pocket 1, so they cannot be matched to its samples.');
  });
});
