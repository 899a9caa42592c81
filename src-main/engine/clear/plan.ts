/**
 * A repair plan checked against the scan it is for, and turned into what the repair does.
 *
 * The plan arrives shaped by the contract's schema (contract/evidence.ts, RepairPlanSchema);
 * here it must also fit the scan: every group it names is one the scan reports (a backdoor
 * pocket or a poisoning attempt), named once, and every sample it leaves out is a member of
 * that group. A reported group the plan does not name is relabelled whole, as a repair without
 * a plan does. A sample that belongs to two reported groups must get the same fate in both.
 * Errors are one sentence naming the plan's problem.
 */
import { UserError } from '../errors.js';
import type { Pocket, RepairAction, RepairPlan, ScanResult } from './types.js';

export interface ResolvedPlan {
  /** The plan with every reported group, in the scan's order, exclusions sorted. */
  plan: RepairPlan;
  /** The reported groups with only the members the repair acts on; groups left with none are dropped. */
  pockets: Pocket[];
  /** New labels: members of groups planned `relabel`. */
  relabel: Map<number, number>;
  /** Samples left out of the fine-tuning data: members of groups planned `remove`. */
  remove: Set<number>;
}

type Fate = { kind: RepairAction; to: number } | { kind: 'keep' };

const describeFate = (f: Fate) => f.kind === 'relabel' ? `relabelled to class ${f.to}` : f.kind === 'remove' ? 'removed' : 'left as it is';

export function resolveRepairPlan(scan: ScanResult, plan: RepairPlan | undefined, where = 'The repair plan'): ResolvedPlan {
  const refuse = (problem: string): never => { throw new UserError(`${where} ${problem}, so the repair was not started.`); };
  const reported = scan.pockets.filter((p) => p.confirmed || p.attempt);
  const byId = new Map(scan.pockets.map((p) => [p.id, p]));
  const asked = new Map<number, { action: RepairAction; exclude: Set<number> }>();
  for (const entry of plan?.pockets ?? []) {
    const pocket = byId.get(entry.id);
    if (!pocket) refuse(`names group ${entry.id}, which the scan does not list (its groups are ${scan.pockets.map((p) => p.id).join(', ') || 'none'})`);
    if (!pocket!.confirmed && !pocket!.attempt) refuse(`names group ${entry.id}, which the scan does not report (neither a backdoor pocket nor a poisoning attempt)`);
    if (asked.has(entry.id)) refuse(`names group ${entry.id} twice`);
    const members = new Set(pocket!.members);
    const exclude = new Set<number>();
    for (const i of entry.exclude) {
      if (!members.has(i)) refuse(`leaves out training sample ${i} from group ${entry.id}, but it is not a member of that group`);
      if (exclude.has(i)) refuse(`leaves out training sample ${i} from group ${entry.id} twice`);
      exclude.add(i);
    }
    asked.set(entry.id, { action: entry.action, exclude });
  }

  const fates = new Map<number, { fate: Fate; id: number }>();
  const relabel = new Map<number, number>();
  const remove = new Set<number>();
  const pockets: Pocket[] = [];
  const resolved: RepairPlan = { pockets: [] };
  for (const p of reported) {
    const { action, exclude } = asked.get(p.id) ?? { action: 'relabel' as const, exclude: new Set<number>() };
    resolved.pockets.push({ id: p.id, action, exclude: [...exclude].sort((a, b) => a - b) });
    for (const m of p.members) {
      const fate: Fate = exclude.has(m) ? { kind: 'keep' } : action === 'relabel' ? { kind: 'relabel', to: p.enclosingClass } : { kind: 'remove', to: -1 };
      const earlier = fates.get(m);
      if (earlier && describeFate(earlier.fate) !== describeFate(fate)) {
        refuse(`has training sample ${m} ${describeFate(earlier.fate)} in group ${earlier.id} but ${describeFate(fate)} in group ${p.id}`);
      }
      fates.set(m, { fate, id: p.id });
      if (fate.kind === 'relabel') relabel.set(m, fate.to);
      else if (fate.kind === 'remove') remove.add(m);
    }
    const kept = p.members.filter((m) => !exclude.has(m));
    if (kept.length) pockets.push({ ...p, members: kept, ...(p.sources ? { sources: p.sources.filter((_, k) => !exclude.has(p.members[k])) } : {}) });
  }
  return { plan: resolved, pockets, relabel, remove };
}
