// Development summary of a null-study folder (null-study.ts): how often clean models are
// reported at 1% and 5% (with 95% Clopper–Pearson intervals), and each planted group's p-value.
//   node .nullsum.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { clopperPearson } from '../../src-main/engine/bench/stats.js';
const dir = process.argv[2];
const clean: { name: string; p: number; attemptP: number }[] = [];
const planted: string[] = [];
for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
  const d = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  const v = d.scan.verdict;
  if (!d.manifest) { clean.push({ name: d.name, p: v.pValue, attemptP: v.attemptPValue }); continue; }
  const poisons = new Set<number>(d.manifest.poisonIndices);
  const best = d.scan.pockets.map((p: any) => ({ p, hits: p.members.filter((m: number) => poisons.has(m)).length })).sort((a: any, b: any) => b.hits - a.hits)[0];
  const took = d.targetPredicted === d.manifest.attackerClass;
  planted.push(`| ${d.name} | ${took ? 'yes' : 'no'} | ${best?.hits ?? 0}/${poisons.size} | ${best ? best.p.pValue.toExponential(1) : '–'} | ${best ? (best.p.confirmed ? 'backdoor' : best.p.attempt ? 'attempt' : 'not reported') : '–'} |`);
}
const row = (level: number) => {
  const k = clean.filter((c) => Math.min(c.p, c.attemptP) <= level).length;
  const ci = clopperPearson(k, clean.length)!;
  return `| ${level * 100}% | ${k} of ${clean.length} | ${(ci.lower * 100).toFixed(1)}–${(ci.upper * 100).toFixed(1)}% |`;
};
console.log('| level | clean models reported (either verdict) | 95% interval |\n| --- | --- | --- |');
console.log(row(0.01)); console.log(row(0.05));
console.log('\nclean models:', clean.map((c) => `${c.name} ${c.p.toFixed(3)}/${c.attemptP.toFixed(3)}`).join('; '));
console.log('\n| model | attack took | poisons in best group | p-value | verdict |\n| --- | --- | --- | --- | --- |');
for (const r of planted) console.log(r);
