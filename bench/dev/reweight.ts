// Development experiment: re-scores saved scans (written with CLEAR_STUDY_NULL_MEMBERS=1, so
// each null group carries its score parts and members) under other weights of the score's
// parts, and recomputes family-wise p-values against the re-scored null (leaving out, as the
// scan does, null draws that share members with candidates scoring at least as high).
//   node .reweight.mjs 'separation=1.5,depth=1' FILE.json...
// Prints, per scan, the smallest p-value over candidates holding no planted member (a false
// alarm where it is at or below the level) and the p-value of the best candidate holding planted
// members (the poisons, from the scan's manifest), before and after.
import { readFileSync } from 'node:fs';
import { familyPValue, fitNullTail } from '../../src-main/engine/clear/calibrate.js';
import { LEARNT_FLOOR } from '../../src-main/engine/clear/score.js';

const [weightArg, ...files] = process.argv.slice(2);
const weights: Record<string, number> = {};
for (const kv of weightArg.split(',').filter(Boolean)) { const [k, v] = kv.split('='); weights[k] = Number(v); }
const PARTS = ['depth', 'size', 'contamination', 'duplication', 'heldOut', 'separation'];
// The separation part's form: SEP_BASE is the weight the scan used, SEP_FROM the member count
// below which it is zero (the scan's form is √(n − 1): SEP_FROM = 1).
const sepBase = Number(process.env.SEP_BASE ?? 1); const sepFrom = Number(process.env.SEP_FROM ?? 1);
const separation = (parts: Record<string, number>) => {
  const n = Math.round(Math.exp((parts.size ?? 0) / 0.5));
  if (!parts.separation || n < 2) return 0;
  const logGap = parts.separation / sepBase / Math.sqrt(n - 1);
  return logGap * Math.sqrt(Math.max(0, n - sepFrom));
};
const structure = (parts: Record<string, number>) => PARTS.reduce((s, k) => s + (weights[k] ?? 1) * (k === 'separation' ? separation(parts) : (parts[k] ?? 0)), 0);
const learntTerm = (learnt: number) => (weights.learnt ?? 1) * Math.log(Math.max(LEARNT_FLOOR, learnt));

for (const file of files) {
  const d = JSON.parse(readFileSync(file, 'utf8'));
  const scan = d.scan; const cal = scan.calibration;
  const poison = new Set<number>(d.manifest?.poisonIndices ?? []);
  if (!cal.nullScores.length || !cal.nullScores[0].parts) { console.log(file, 'no null parts'); continue; }
  const nulls = cal.nullScores.map((g: any) => ({ members: g.members as number[], score: structure(g.parts) + learntTerm(g.learnt) }));
  const draws = cal.nullDraws as number;
  const pockets: { p: any; score: number; old: number; hit: number }[] = scan.pockets.map((p: any) => ({ p, score: structure(p.evidence) + learntTerm(p.learnt), old: p.pValue, hit: p.members.filter((m: number) => poison.has(m)).length }));
  const pOf = (i: number) => {
    const reach = new Set<number>();
    pockets.forEach((o: any) => { if (o.score >= pockets[i].score) for (const m of o.p.members) reach.add(m); });
    const kept = nulls.filter((g: any) => !g.members.some((m: number) => reach.has(m))).map((g: any) => g.score);
    // Draws that made no group count in the tail's share, as in the scan.
    const missing = Math.max(0, draws - nulls.length);
    return familyPValue(fitNullTail([...kept, ...Array(missing).fill(-Infinity)]), pockets[i].score, cal.family);
  };
  let natural = { p: 1, old: 1, n: 0 }; let planted = { p: 1, old: 1, n: 0, hit: 0 };
  pockets.forEach((o: any, i: number) => {
    const p = pOf(i);
    if (o.hit === 0 && p < natural.p) natural = { p, old: o.old, n: o.p.members.length };
    if (o.hit > 0 && p < planted.p) planted = { p, old: o.old, n: o.p.members.length, hit: o.hit };
  });
  const name = d.name ?? file;
  console.log(`${name.padEnd(40)} natural min p ${natural.p.toExponential(1)} (was ${natural.old.toExponential(1)}, n=${natural.n})` +
    (poison.size ? `  planted p ${planted.p.toExponential(1)} (was ${planted.old.toExponential(1)}, n=${planted.n}, hit ${planted.hit}/${poison.size})` : ''));
}
