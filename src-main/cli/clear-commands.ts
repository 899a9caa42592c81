/** `clearwb scan` and `clearwb repair`. */
import type { Pocket, RepairResult, ScanResult } from '../contract/results.js';
import { dataArgs, dataOptions, type Command } from './commands.js';
import { formatSeconds } from './progress.js';
import { formatPValue } from '../contract/format.js';

function pct(x: number): string { return `${(x * 100).toFixed(2)}%`; }

export function describeScan(r: ScanResult, say: (s: string) => void, top = 5): void {
  const names = r.dataset.classNames;
  say(`${r.verdict.headline}: ${r.verdict.summary}`);
  const shown: Pocket[] = r.pockets.filter((p) => p.confirmed || p.attempt);
  const rest = r.pockets.filter((p) => !p.confirmed && !p.attempt).slice(0, Math.max(0, top - shown.length));
  if (shown.length + rest.length) {
    say(`Candidate groups (${shown.length + rest.length} of ${r.pockets.length} shown; p-values are family-wise, against ${r.calibration.nullGroups} random border groups of this model):`);
    say('  #   classes (A inside B)   members  score  p-value  attempt p  shell  learnt  status');
  }
  for (const p of [...shown, ...rest]) {
    const status = p.confirmed ? 'POCKET' : p.attempt ? 'ATTEMPT' : 'natural';
    say(`  ${String(p.id).padEnd(3)} ${`"${names[p.attackerClass]}" inside "${names[p.enclosingClass]}"`.padEnd(22)} ${String(p.members.length).padStart(7)}  ${p.score.toFixed(2).padStart(5)}  ${formatPValue(p.pValue).padStart(7)}  ${formatPValue(p.attemptPValue).padStart(9)}  ${p.tightness.shellPurity.toFixed(2).padStart(5)}  ${pct(p.learnt).padStart(6)}  ${status}`);
  }
  if (r.settings.reference) say(`Held-out support from the reference set ${r.settings.reference}.`);
  const t = r.timings;
  say(`Scan took ${formatSeconds(t.total)} (embed ${t.embed.toFixed(2)} s, neighbours ${t.neighbours.toFixed(2)} s, hulls ${t.hulls.toFixed(2)} s, pocket test ${t.pocketTest.toFixed(2)} s; backend ${r.backend}).`);
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'look for backdoor pockets in a model trained on a dataset',
  options: [
    { name: 'model', type: 'string', value: 'MODEL_DIR', help: 'model folder', required: true },
    ...dataOptions,
    { name: 'feature-layer', type: 'string', value: 'NAME', help: 'layer to split the model at (default: the input of the last Dense layer)' },
    { name: 'false-alarm', type: 'number', value: 'RATE', help: 'family-wise level at which a pocket is reported (default 0.01)' },
    { name: 'neighbours', type: 'int', value: 'K', help: 'neighbours per sample in the feature graph (default 40; pockets larger than K are still found)' },
    { name: 'reference', type: 'string', value: 'test|SPEC', help: 'trusted labelled samples held apart from training: "test" (the dataset\'s test split) or a data spec; used as held-out support (default: none)' },
    { name: 'out', type: 'string', value: 'SCAN.json', help: 'write the scan result here (a new file)' },
  ],
  async run(a, io) {
    const r = await io.run('scan', {
      ...dataArgs(a), model: a.model as string, featureLayer: a.featureLayer as string | undefined,
      falseAlarm: a.falseAlarm as number | undefined, neighbours: a.neighbours as number | undefined,
      reference: a.reference as string | undefined, out: a.out as string | undefined,
    });
    describeScan(r, io.say);
    if (a.out) io.say(`Scan written to ${a.out}.`);
    return r;
  },
};

export function describeRepair(r: RepairResult, classNames: string[], say: (s: string) => void): void {
  say(`Relabelled ${r.relabelled.length} training samples and fine-tuned in ${formatSeconds(r.seconds)}.`);
  for (const p of r.pockets) say(`  pocket ${p.id} ("${classNames[p.attackerClass]}" inside "${classNames[p.enclosingClass]}"): interior predicted as attacker ${pct(p.interiorBefore)} → ${pct(p.interiorAfter)}`);
  say(`Held-out accuracy: ${pct(r.before.accuracy)} → ${pct(r.after.accuracy)}.`);
  say(`Verdict: ${r.before.suspected ? 'suspected' : 'not suspected'} → ${r.after.suspected ? 'still suspected' : 'not suspected'} (rescan: ${r.rescan.verdict.headline.toLowerCase()}).`);
  if (r.target) say(`Target (test sample ${r.target.index}, true class "${classNames[r.target.trueClass]}"): predicted "${classNames[r.target.before]}" → "${classNames[r.target.after]}".`);
  say(`Repaired model written to ${r.model.out} (the original is unchanged).`);
}

export const repairCommand: Command = {
  name: 'repair',
  summary: 'fine-tune with corrected labels; write the repaired model to a new folder',
  options: [
    { name: 'model', type: 'string', value: 'MODEL_DIR', help: 'model folder (not modified)', required: true },
    ...dataOptions,
    { name: 'scan', type: 'string', value: 'SCAN.json', help: 'scan result from `clearwb scan`', required: true },
    { name: 'out', type: 'string', value: 'REPAIRED_DIR', help: 'new folder for the repaired model', required: true },
    { name: 'epochs', type: 'int', value: 'N', help: 'fine-tuning epochs (default 2)' },
    { name: 'learning-rate', type: 'number', value: 'LR', help: 'fine-tuning learning rate (default 0.0003)' },
    { name: 'seed', type: 'int', value: 'S', help: 'seed (default 0)' },
  ],
  async run(a, io) {
    const r = await io.run('repair', {
      ...dataArgs(a), model: a.model as string, scan: a.scan as string, out: a.out as string,
      epochs: a.epochs as number | undefined, learningRate: a.learningRate as number | undefined, seed: a.seed as number | undefined,
    });
    describeRepair(r, r.rescan.dataset.classNames, io.say);
    return r;
  },
};
