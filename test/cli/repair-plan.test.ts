// `clearwb repair --plan PLAN.json` on real data (a seeded 2,000-digit MNIST subset with 40
// label-flip poisons, real training and scan, wasm): the plan's group is removed instead of
// relabelled, the member it leaves out keeps its label, and the repair report records the plan;
// a plan that is not JSON, not a plan, or names a group the scan does not report is refused in
// one sentence (exit 1) and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearwb } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const poisoned = path.join(dir, 'poisoned');
const data = `dir:${poisoned}`;
const victim = path.join(dir, 'victim');
const scanFile = path.join(dir, 'scan.json');

interface ScanFile { pockets: { id: number; confirmed: boolean; attempt: boolean; members: number[]; attackerClass: number; enclosingClass: number }[] }
let scan: ScanFile;

function ok(args: string[]) {
  const r = clearwb(args);
  expect(r.code, `clearwb ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

beforeAll(() => {
  ok(['attack', '--data', 'mnist', '--limit', '2000', '--attack', 'label-flip', '--target', '0', '--attacker-class', '7', '--poisons', '40', '--out', poisoned, '--quiet']);
  ok(['train', '--data', data, '--arch', 'mlp', '--epochs', '5', '--out', victim, '--quiet']);
  const r = clearwb(['scan', '--model', victim, '--data', data, '--out', scanFile, '--quiet']);
  expect(r.code, r.stderr).toBe(3);
  scan = JSON.parse(readFileSync(scanFile, 'utf8')) as ScanFile;
}, 400_000);

const planFile = (name: string, body: string) => { const f = path.join(dir, name); writeFileSync(f, body); return f; };
const repair = (plan: string, out: string) => clearwb(['repair', '--model', victim, '--data', data, '--scan', scanFile, '--out', out, '--plan', plan, '--quiet']);

describe('clearwb repair --plan', () => {
  it('removes the planned group, keeps the member it leaves out, and records the plan', () => {
    const pocket = scan.pockets.find((p) => p.confirmed)!;
    expect(pocket).toMatchObject({ attackerClass: 7, enclosingClass: 1 });
    const kept = pocket.members[0];
    const out = path.join(dir, 'repaired');
    const r = repair(planFile('plan.json', JSON.stringify({ pockets: [{ id: pocket.id, action: 'remove', exclude: [kept] }] })), out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`plan: group ${pocket.id} removed, leaving out 1 member (${kept})`);
    const report = JSON.parse(readFileSync(path.join(out, 'repair-report.json'), 'utf8')) as { plan: unknown; removed: number[]; relabelled: { index: number }[] };
    expect(report.plan).toMatchObject({ pockets: [{ id: pocket.id, action: 'remove', exclude: [kept] }] });
    expect(report.removed).toEqual(expect.arrayContaining(pocket.members.filter((m) => m !== kept)));
    expect(report.removed).not.toContain(kept);
    expect(report.relabelled.map((x) => x.index)).not.toContain(kept);
  }, 300_000);

  it('refuses a plan that is not JSON, not a plan, or names a group the scan does not report, writing nothing', () => {
    const out = path.join(dir, 'never');
    const notJson = repair(planFile('bad.json', '{"pockets": ['), out);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^Error: The repair plan file .*bad\.json is not valid JSON\.\n$/);
    const notPlan = repair(planFile('burn.json', JSON.stringify({ pockets: [{ id: 0, action: 'burn' }] })), out);
    expect(notPlan.code).toBe(1);
    expect(notPlan.stderr).toMatch(/^Error: The repair plan file .*burn\.json is not a repair plan \(pockets\.0\.action: .*"burn"\)/);
    const natural = scan.pockets.find((p) => !p.confirmed && !p.attempt)!;
    const unreported = repair(planFile('natural.json', JSON.stringify({ pockets: [{ id: natural.id, action: 'relabel' }] })), out);
    expect(unreported.code).toBe(1);
    expect(unreported.stderr).toMatch(new RegExp(`names group ${natural.id}, which the scan does not report`));
    expect(repair(path.join(dir, 'missing.json'), out).stderr).toMatch(/missing\.json does not exist\./);
    expect(existsSync(out)).toBe(false);
  });

  it('documents the option in the command help', () => {
    expect(clearwb(['repair', '--help']).stdout).toMatch(/--plan PLAN\.json/);
  });
});
