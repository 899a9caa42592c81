// `clearwb report --format html|pdf|json` on a model trained here, a scan that names real
// training samples of it, and a real repair: each format is written; the HTML has no script and
// names every flagged sample's source; the PDF is a PDF with the pages the command reported and
// the report's text; the JSON conforms to the published schema; and the chain of custody's
// checksums verify with `sha256sum -c`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { recomputePockets } from '../../src-main/engine/clear/recheck.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import type { ScanResult } from '../../src-main/contract/results.js';
import { handMadeScan } from '../e2e/fixtures.js';
import { clearwb } from './helpers.js';
import { pdfText, validate } from './report-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-report-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'model');
const repaired = path.join(dir, 'repaired');
const scanFile = path.join(dir, 'scan.json');
const LIMIT = 1000;
let scan: ScanResult;

beforeAll(async () => {
  const train = clearwb(['train', '--data', 'mnist', '--limit', String(LIMIT), '--arch', 'mlp', '--epochs', '1', '--out', model, '--json', '--quiet']);
  expect(train.code, train.stderr).toBe(0);
  const trained = JSON.parse(train.stdout);
  // A scan that reports three training "7"s inside class "1": real samples of the data the model was trained on.
  const ds = await loadDataset('mnist', { limit: LIMIT });
  const members = Array.from({ length: ds.train.count }, (_, i) => i).filter((i) => ds.train.labels[i] === 7).slice(0, 3);
  scan = handMadeScan({
    dataset: { spec: 'mnist', fingerprint: trained.dataset.fingerprint, trainCount: ds.train.count },
    model: { dir: model, fingerprint: trained.fingerprint }, members, attackerClass: 7, enclosingClass: 1,
  });
  const ones = Array.from({ length: ds.train.count }, (_, i) => i).filter((i) => ds.train.labels[i] === 1).slice(0, 8);
  // The reported group alone: the fixture's natural groups name samples of other labels.
  scan.pockets = [{ ...scan.pockets[0], shell: ones, sources: members.map((m) => `digits/7/<b>planted-${m}.png`) }];
  scan.provenance = { appVersion: 'test', tfjsVersion: 'test', limit: LIMIT, dataSeed: null };
  // Repair measures every pocket it acts on again and refuses figures the model does not give,
  // so the hand-made group carries the figures this model and data really give for it.
  await initBackend('wasm');
  const [measured] = await recomputePockets(await loadModel(model), ds, scan, scan.pockets);
  const p = scan.pockets[0];
  scan.pockets = [{ ...p, fittedRate: measured.fittedRate, interiorAttackerRate: measured.interiorAttackerRate, tightness: { ...p.tightness, shellPurity: measured.shellPurity } }];
  writeFileSync(scanFile, JSON.stringify(scan));
  const repair = clearwb(['repair', '--model', model, '--data', 'mnist', '--limit', String(LIMIT), '--scan', scanFile, '--out', repaired, '--epochs', '1', '--quiet']);
  expect(repair.code, repair.stderr).toBe(0);
}, 600_000);

function report(format: string, extra: string[] = []) {
  const out = path.join(dir, `report.${format}`);
  const r = clearwb(['report', '--scan', scanFile, '--repair', repaired, '--format', format, '--out', out, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { out, result: JSON.parse(r.stdout), bytes: readFileSync(out) };
}

describe('clearwb report --format html|pdf|json', () => {
  it('writes a self-contained HTML page without scripts that names every flagged sample and its source, with thumbnails and the pocket picture', () => {
    const { bytes, result } = report('html');
    const html = bytes.toString('utf8');
    expect(result).toMatchObject({ format: 'html', groups: 1, rows: 3, withSources: true });
    expect(html).not.toMatch(/<script|javascript:|src="http|href="http/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    for (const [k, m] of scan.pockets[0].members.entries()) {
      expect(html).toContain(`<td>${m}</td><td>digits/7/&#60;b&#62;planted-${m}.png</td>`);
      void k;
    }
    // Thumbnails of members and neighbours, inline; the 2-D picture as SVG with the members' hull.
    expect(html.match(/<img class="thumb" src="data:image\/png;base64,/g)?.length).toBe(6);
    expect(html).toMatch(/<svg[^>]*class="picture"[^>]*>.*<polygon /s);
    expect(html).toContain('What to do:');
    expect(html).toContain('Repair: before and after');
    // Metric names are words for readers: no field names of the engine's.
    for (const field of ['shellPurity', 'attemptPValue', 'flipDistance', 'interiorAttackerRate']) expect(html).not.toContain(field);
  });

  it('writes a PDF with the pages it reports and the report\'s text', async () => {
    const { bytes, result } = report('pdf');
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const pdf = await PDFDocument.load(bytes);
    expect(pdf.getPageCount()).toBe(result.pages);
    // The verdict page, one per reported group, the statistics, the repair, and the custody and glossary.
    expect(result.pages).toBeGreaterThanOrEqual(5);
    const text = pdfText(bytes).join('\n');
    expect(text).toContain('Backdoor suspected');
    expect(text).toContain('Chain of custody');
    expect(text).toContain('Glossary');
    for (const m of scan.pockets[0].members) expect(text).toContain(`digits/7/<b>planted-${m}.png`);
    expect(pdf.getTitle()).toBe('CLEAR report: MNIST (built-in)');
  });

  it('writes JSON that conforms to the published schema, whose checksums verify with sha256sum -c', () => {
    const schema = JSON.parse(readFileSync('assets/schemas/report.schema.json', 'utf8'));
    const { bytes } = report('json', ['--title', 'Quarterly model audit']);
    const doc = JSON.parse(bytes.toString('utf8'));
    expect(validate(schema, doc)).toEqual([]);
    expect(doc).toMatchObject({ schema: 'clear-report/2', title: 'Quarterly model audit', verdict: { level: 'backdoor' } });
    // The validator can fail: a report missing its verdict or with a bad checksum does not conform.
    expect(validate(schema, { ...doc, verdict: undefined, custody: { ...doc.custody, files: [{ role: 'x', path: 'y', sha256: 'zz' }] } }).length).toBeGreaterThanOrEqual(2);
    const c = doc.custody;
    expect(c.limit).toBe(LIMIT);
    expect(c.files.map((f: { role: string }) => f.role)).toEqual(expect.arrayContaining(['scanned model', 'scan result', 'repaired model']));
    expect(c.files.some((f: { path: string }) => f.path.endsWith('repair-report.json'))).toBe(true);
    expect(c.scanInRepair).toEqual({ recorded: c.files.find((f: { role: string }) => f.role === 'scan result').sha256, matches: true });
    expect(c.commands[0].command).toMatch(/^clearwb report --scan \S+scan\.json --repair \S+ --format json/);
    const sums = path.join(dir, 'SHA256SUMS');
    writeFileSync(sums, c.sha256sum);
    const check = spawnSync('sha256sum', ['-c', sums], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split('\n')).toHaveLength(c.files.length);
    // A changed file fails the check.
    writeFileSync(path.join(repaired, 'repair-report.json'), readFileSync(path.join(repaired, 'repair-report.json'), 'utf8') + ' ');
    expect(spawnSync('sha256sum', ['-c', sums], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
