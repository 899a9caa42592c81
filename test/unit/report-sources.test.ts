// The HTML report and the CLI's scan summary show where a reported group's members came from,
// and neither lets a crafted file name through as markup or as terminal control codes.
import { describe, expect, it } from 'vitest';
import { reportHtml } from '../../src-main/engine/report/html.js';
import { buildReport } from '../../src-main/engine/report/document.js';
import type { ScanResult } from '../../src-main/contract/results.js';
import { describeScan, describeSources } from '../../src-main/cli/clear-commands.js';
import { handMadeScan } from '../e2e/fixtures.js';

const members = Array.from({ length: 10 }, (_, i) => 100 + i);
const sources = members.map((m, k) => (k === 3 ? '7/<img src=x onerror=alert(1)>.png' : k === 4 ? '7/\u001b[2Jwiped.png' : `7/planted-${k}.png`));

function scanWithSources() {
  const scan = handMadeScan({
    dataset: { spec: 'folder:digits', fingerprint: 'f'.repeat(64), trainCount: 600 },
    model: { dir: 'model', fingerprint: 'e'.repeat(64) },
    members, attackerClass: 7, enclosingClass: 1,
  });
  scan.pockets[0] = { ...scan.pockets[0], sources };
  return scan;
}

/** The report of a scan alone, as when its model and data cannot be read (no thumbnails). */
function html(scan: ScanResult): string {
  return reportHtml(buildReport(scan, undefined, {
    title: 'Report',
    custody: { files: [], unhashed: [], scanSha256: null, appVersion: '0', tfjsVersion: '0', backend: 'cpu', command: null, project: null, limit: null, dataSeed: null },
  }));
}

describe('sources of flagged samples', () => {
  it('are listed with their training indices in the HTML report, escaped', () => {
    const page = html(scanWithSources());
    expect(page).toContain('<th>training index</th><th>source</th>');
    expect(page).toContain('<td>100</td><td>7/planted-0.png</td>');
    expect(page).toContain('7/&#60;img src=x onerror=alert(1)&#62;.png');
    expect(page).not.toContain('<img src=x');
  });

  it('leave the source empty, beside each index, for a scan without them', () => {
    const scan = scanWithSources();
    delete scan.pockets[0].sources;
    expect(html(scan)).toContain('<td>100</td><td>–</td>');
    expect(html(scan)).toContain('<td>109</td><td>–</td>');
  });

  it('are named, the first eight, in the CLI summary of a reported group, without control codes', () => {
    const lines: string[] = [];
    describeScan(scanWithSources(), (s) => lines.push(s));
    const line = lines.find((l) => l.startsWith('Group 0'));
    expect(line).toBe("Group 0's 10 members come from: 7/planted-0.png, 7/planted-1.png, 7/planted-2.png, 7/<img src=x onerror=alert(1)>.png, 7/?[2Jwiped.png, 7/planted-5.png, 7/planted-6.png, 7/planted-7.png and 2 more (--json for all).");
    expect(lines.join('\n')).not.toContain('\u001b');
    expect(describeSources({ id: 2, members: [5], sources: ['a.csv:7'] }, '')).toBe("Group 2's member comes from: a.csv:7.");
  });
});

describe('crafted samples', () => {
  function scanWithCrafted(): ScanResult {
    const scan = handMadeScan({
      dataset: { spec: 'folder:digits', fingerprint: 'f'.repeat(64), trainCount: 600 },
      model: { dir: 'model', fingerprint: 'e'.repeat(64) },
      members, attackerClass: 7, enclosingClass: 1,
      crafted: { classIndex: 2, members: [40, 41, 42] },
    });
    scan.crafted![0].sources = ['2/a.png', '2/<b>.png', '2/\u001b[2Jc.png'];
    return scan;
  }

  it('have their own section in the HTML report and JSON document, with sources escaped, drifts, and the glossary terms', () => {
    const scan = scanWithCrafted();
    const doc = buildReport(scan, undefined, {
      title: 'Report',
      custody: { files: [], unhashed: [], scanSha256: null, appVersion: '0', tfjsVersion: '0', backend: 'cpu', command: null, project: null, limit: null, dataSeed: null },
    });
    expect(doc.crafted).toHaveLength(1);
    expect(doc.crafted[0].members.map((m) => [m.index, m.source, m.driftRatio])).toEqual([[40, '2/a.png', 6.5], [41, '2/<b>.png', 6.25], [42, '2/\u001b[2Jc.png', 6]]);
    expect(doc.glossary.map((g) => g.term)).toEqual(expect.arrayContaining(['Crafted samples', 'Squeezing drift ratio']));
    const page = reportHtml(doc);
    expect(page).toContain('Reported groups (2)');
    expect(page).toContain('Crafted samples 1: 3 labelled “2”, p-value &#60; 0.001');
    expect(page).toContain('<td>41</td><td>2/&#60;b&#62;.png</td><td>6.3</td>');
  });

  it('are named in the CLI summary, with sources, without control codes', () => {
    const lines: string[] = [];
    describeScan(scanWithCrafted(), (s) => lines.push(s));
    expect(lines.some((l) => l.startsWith('CRAFTED samples 1, 3 labelled "2" (p < 0.001): 3 training samples labelled "2"'))).toBe(true);
    expect(lines).toContain("Crafted samples 1's 3 members come from: 2/a.png, 2/<b>.png, 2/?[2Jc.png.");
  });
});
