/**
 * `clearwb demo`: the whole story on the built-in MNIST digits, in a few minutes on two cores:
 * poison the training split with label-flip copies of one test digit, train, show the target
 * misclassified (and read correctly by the same cnn trained without the poisons), scan, show the
 * pocket, repair, show the target fixed and accuracy kept.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobArgs } from '../contract/jobs.js';
import { withSchemas } from './args.js';
import { describeRepair, describeScan } from './clear-commands.js';
import type { Command } from './commands.js';
import type { AttackOutcome } from '../contract/results.js';

/** --out must be a new or empty folder: the demo writes several outputs into it and overwrites nothing. */
function assertEmptyFolder(dir: string): void {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a folder; give --out a new or empty folder.`);
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length) throw new Error(`The folder ${dir} is not empty; give --out a new or empty folder so nothing in it is overwritten.`);
}

/** What a simulated attack did, right after training on its poisoned data (the train job's attackOutcome). */
export function describeAttackOutcome(o: AttackOutcome, accuracy: number, classNames: string[], say: (s: string) => void): void {
  const name = (c: number) => `"${classNames[c] ?? c}"`;
  say(`Test accuracy ${(accuracy * 100).toFixed(2)}%.`);
  const target = `test digit ${o.targetIndex} (a ${name(o.targetClass)})`;
  if (o.before) {
    const by = o.before.by === 'clean-victim' ? 'The same model trained without the poisons' : `The model without the poisons (${o.before.model ?? 'given'})`;
    say(`${by} predicts ${target} as ${name(o.before.predicted)}.`);
  }
  say(`Trained with them, the new model predicts it as ${name(o.after)}${o.succeeded ? ': the backdoor works.' : ': this time the attack did not take.'}`);
  say(`It predicts ${o.fitted} of the ${o.poisons} poisons as ${name(o.attackerClass)}, the label the attacker gave them (the poisons it fitted).`);
}

/** Test digit 0 of the built-in split is a "1"; the attacker wants it read as "7". */
const DEMO_TARGET = 0;
const DEMO_ATTACKER = 7;
const DEMO_POISONS = 20;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the whole story on built-in MNIST: poison, train, scan, repair (no files needed)',
  options: withSchemas(jobArgs.train.shape, [
    { name: 'out', type: 'string', value: 'DIR', help: 'a new or empty folder for the demo\'s data, models and reports (default: a new temporary folder)' },
    { name: 'epochs', type: 'int', value: 'N', help: 'training epochs (default 3)' },
    { name: 'limit', type: 'int', value: 'N', help: 'use a seeded subset of N of the 8,000 training digits (default all)' },
  ]),
  async run(a, io) {
    if (a.out !== undefined) assertEmptyFolder(a.out as string);
    const out = (a.out as string | undefined) ?? mkdtempSync(path.join(os.tmpdir(), 'clear-demo-'));
    const epochs = (a.epochs as number | undefined) ?? 3;
    const data = `dir:${path.join(out, 'poisoned-mnist')}`;
    io.say(`Demo workspace: ${out}\n`);
    io.say(`1. The attacker adds ${DEMO_POISONS} lightly shifted copies of test digit ${DEMO_TARGET} to the training data, labelled "${DEMO_ATTACKER}".`);
    const limit = a.limit === undefined ? {} : { limit: a.limit as number };
    const attack = await io.run('attack', {
      data: 'mnist', ...limit, attack: 'label-flip', target: DEMO_TARGET, attackerClass: DEMO_ATTACKER, poisons: DEMO_POISONS, seed: 0, out: path.join(out, 'poisoned-mnist'),
    });
    const manifest = attack.manifest;
    io.say(`   Poisons are training samples ${manifest.poisonIndices[0]}–${manifest.poisonIndices.at(-1)}; the target's true class is "${manifest.targetClass}".\n`);

    io.say(`2. The victim trains the built-in cnn on the poisoned data (${epochs} epochs); for comparison, the same cnn is trained on the data without the poisons.`);
    const model = path.join(out, 'model');
    const train = await io.run('train', { data, arch: 'cnn', epochs, seed: 0, out: model, cleanVictim: true });
    const outcome = train.attackOutcome;
    if (!outcome) throw new Error(`Internal error: training on ${data} reported no attack outcome, though the attack wrote its manifest there.`);
    describeAttackOutcome(outcome, train.accuracy, train.perClass.map((c) => c.className), (s) => io.say(`   ${s}`));
    io.say('');

    io.say('3. CLEAR scans the model for pockets.');
    const scanFile = path.join(out, 'scan.json');
    const scan = await io.run('scan', { data, model, out: scanFile });
    describeScan(scan, (s) => io.say(`   ${s}`), { top: 4, more: `all in ${scanFile}`, style: io.style });
    const poisons = new Set(manifest.poisonIndices);
    const found = [...new Set(scan.pockets.filter((p) => p.confirmed).flatMap((p) => p.members))];
    io.say(`   The pockets hold ${found.filter((i) => poisons.has(i)).length} of the ${poisons.size} poisons and ${found.filter((i) => !poisons.has(i)).length} other samples.\n`);

    io.say('4. CLEAR repairs: relabel the pocket to its enclosing class and fine-tune.');
    const repair = await io.run('repair', { data, model, scan: scanFile, out: path.join(out, 'repaired-model'), seed: 0 });
    describeRepair(repair, scan.dataset.classNames, (s) => io.say(`   ${s}`));
    io.say(`\nRepair took ${(repair.seconds / train.trainSeconds * 100).toFixed(0)}% of the training time. Files are in ${out}.`);
    return {
      workspace: out, backend: scan.backend, attackSucceeded: outcome.succeeded,
      attackOutcome: outcome,
      suspected: scan.verdict.suspected, poisonsFound: found.filter((i) => poisons.has(i)).length,
      targetAfter: repair.target?.after, accuracyBefore: repair.before.accuracy, accuracyAfter: repair.after.accuracy,
    };
  },
};
