// A repair plan is checked against its scan before anything runs (engine/clear/plan.ts): it may
// name only the scan's reported groups, once each, and leave out only their members; what it
// asks becomes the relabel map and the removal set the repair applies.
import { describe, expect, it } from 'vitest';
import { resolveRepairPlan } from '../../../src-main/engine/clear/plan.js';
import { RepairPlanSchema } from '../../../src-main/contract/evidence.js';
import { jobArgs } from '../../../src-main/contract/jobs.js';
import { UserError } from '../../../src-main/engine/errors.js';
import type { ScanResult } from '../../../src-main/contract/results.js';
import { handMadeScan } from '../../e2e/fixtures.js';

const MEMBERS = [5, 9, 14, 20];
/** Pocket 0 (7 inside 1, members MEMBERS) is a backdoor pocket; pockets 1–3 are natural groups. */
function scan(): ScanResult {
  return handMadeScan({
    dataset: { spec: 'mnist', fingerprint: 'a'.repeat(64), trainCount: 600 },
    model: { dir: '/m', fingerprint: 'c'.repeat(64) }, members: MEMBERS, attackerClass: 7, enclosingClass: 1,
  });
}
/** Scan with pocket 2 (9 inside 4, members 21–23) reported as a poisoning attempt too. */
function scanWithAttempt(): ScanResult {
  const s = scan();
  s.pockets[2] = { ...s.pockets[2], attempt: true, attemptPValue: 0.001, sources: ['a.png', 'b.png', 'c.png'] };
  return s;
}

const refused = (s: ScanResult, plan: unknown) => {
  try { resolveRepairPlan(s, RepairPlanSchema.parse(plan)); } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message.split(/\.\s/).length, `one sentence: ${message}`).toBe(1);
    return message;
  }
  throw new Error(`the plan ${JSON.stringify(plan)} was accepted`);
};

describe('repair plan', () => {
  it('without a plan relabels every reported group whole, as before plans existed', () => {
    const r = resolveRepairPlan(scanWithAttempt(), undefined);
    expect([...r.relabel]).toEqual([...MEMBERS.map((m) => [m, 1]), [21, 4], [22, 4], [23, 4]]);
    expect(r.remove.size).toBe(0);
    expect(r.plan).toEqual({ pockets: [{ id: 0, action: 'relabel', exclude: [] }, { id: 2, action: 'relabel', exclude: [] }] });
    expect(r.pockets.map((p) => p.id)).toEqual([0, 2]);
  });

  it('leaves an excluded member out: it keeps its label and is neither relabelled nor removed', () => {
    const r = resolveRepairPlan(scan(), { pockets: [{ id: 0, action: 'relabel', exclude: [14] }] });
    expect([...r.relabel.keys()]).toEqual([5, 9, 20]);
    expect(r.relabel.has(14)).toBe(false);
    expect(r.remove.has(14)).toBe(false);
    expect(r.pockets[0].members).toEqual([5, 9, 20]);
    expect(r.plan.pockets).toEqual([{ id: 0, action: 'relabel', exclude: [14] }]);
  });

  it('removes the members of a group planned remove instead of relabelling them, and keeps their sources in step', () => {
    const r = resolveRepairPlan(scanWithAttempt(), { pockets: [{ id: 2, action: 'remove', exclude: [22] }] });
    expect([...r.remove].sort()).toEqual([21, 23]);
    expect([...r.relabel.keys()]).toEqual(MEMBERS);
    const attempt = r.pockets.find((p) => p.id === 2)!;
    expect(attempt.members).toEqual([21, 23]);
    expect(attempt.sources).toEqual(['a.png', 'c.png']);
    expect(r.plan.pockets).toEqual([{ id: 0, action: 'relabel', exclude: [] }, { id: 2, action: 'remove', exclude: [22] }]);
  });

  it('drops a group whose members are all left out from the hulls to close, but keeps it in the plan', () => {
    const r = resolveRepairPlan(scan(), { pockets: [{ id: 0, action: 'relabel', exclude: [20, 5, 14, 9] }] });
    expect(r.pockets).toEqual([]);
    expect(r.relabel.size).toBe(0);
    expect(r.plan.pockets).toEqual([{ id: 0, action: 'relabel', exclude: [5, 9, 14, 20] }]);
  });

  it('refuses a sample that is not a member of the group it is left out of', () => {
    expect(refused(scan(), { pockets: [{ id: 0, action: 'relabel', exclude: [11] }] })).toMatch(/sample 11 from group 0, but it is not a member of that group/);
  });

  it('refuses a group the scan does not list, or lists without reporting it', () => {
    expect(refused(scan(), { pockets: [{ id: 42, action: 'relabel', exclude: [] }] })).toMatch(/group 42, which the scan does not list \(its groups are 0, 1, 2, 3\)/);
    expect(refused(scan(), { pockets: [{ id: 1, action: 'remove', exclude: [] }] })).toMatch(/group 1, which the scan does not report/);
  });

  it('refuses a group named twice and a sample left out twice', () => {
    expect(refused(scan(), { pockets: [{ id: 0, action: 'relabel' }, { id: 0, action: 'remove' }] })).toMatch(/names group 0 twice/);
    expect(refused(scan(), { pockets: [{ id: 0, action: 'relabel', exclude: [9, 9] }] })).toMatch(/sample 9 from group 0 twice/);
  });

  it('refuses a sample given two fates by two groups it belongs to', () => {
    const s = scanWithAttempt();
    s.pockets[2] = { ...s.pockets[2], members: [5, 22, 23], sources: undefined };
    expect(refused(s, { pockets: [{ id: 2, action: 'remove', exclude: [] }] })).toMatch(/sample 5 relabelled to class 1 in group 0 but removed in group 2/);
  });

  it('the job and the schema refuse a plan of the wrong shape before the engine sees it', () => {
    const base = { data: 'mnist', model: '/m', scan: '/s.json', out: '/o' };
    expect(jobArgs.repair.safeParse({ ...base, plan: { pockets: [{ id: 0, action: 'delete', exclude: [] }] } }).success).toBe(false);
    expect(jobArgs.repair.safeParse({ ...base, plan: { pockets: [{ id: 0, action: 'relabel', exclude: [-1] }] } }).success).toBe(false);
    expect(jobArgs.repair.safeParse({ ...base, plan: { pockets: [{ id: 0.5, action: 'relabel' }] } }).success).toBe(false);
    expect(jobArgs.repair.safeParse({ ...base, plan: { pockets: [], extra: 1 } }).success).toBe(false);
    const ok = jobArgs.repair.safeParse({ ...base, plan: { pockets: [{ id: 0, action: 'remove' }] } });
    expect(ok.success && ok.data.plan).toEqual({ pockets: [{ id: 0, action: 'remove', exclude: [] }] });
  });
});
