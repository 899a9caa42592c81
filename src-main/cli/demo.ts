/**
 * `clearwb demo`: the whole story on the built-in MNIST digits, in a few minutes on two cores:
 * poison the training split with label-flip copies of one test digit, train, show the target
 * misclassified, scan, show the pocket, repair, show the target fixed and accuracy kept.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobArgs } from '../contract/jobs.js';
import { withSchemas } from './args.js';
import { describeRepair, describeScan } from './clear-commands.js';
import type { Command } from './commands.js';

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
  ]),
  async run(a, io) {
    if (a.out !== undefined) assertEmptyFolder(a.out as string);
    const out = (a.out as string | undefined) ?? mkdtempSync(path.join(os.tmpdir(), 'clear-demo-'));
    const epochs = (a.epochs as number | undefined) ?? 3;
    const data = `dir:${path.join(out, 'poisoned-mnist')}`;
    io.say(`Demo workspace: ${out}\n`);
    io.say(`1. The attacker adds ${DEMO_POISONS} lightly shifted copies of test digit ${DEMO_TARGET} to the training data, labelled "${DEMO_ATTACKER}".`);
    const attack = await io.run('attack', {
      data: 'mnist', attack: 'label-flip', target: DEMO_TARGET, attackerClass: DEMO_ATTACKER, poisons: DEMO_POISONS, seed: 0, out: path.join(out, 'poisoned-mnist'),
    });
    const manifest = attack.manifest;
    io.say(`   Poisons are training samples ${manifest.poisonIndices[0]}–${manifest.poisonIndices.at(-1)}; the target's true class is "${manifest.targetClass}".\n`);

    io.say(`2. The victim trains the built-in cnn on the poisoned data (${epochs} epochs).`);
    const model = path.join(out, 'model');
    const train = await io.run('train', { data, arch: 'cnn', epochs, seed: 0, out: model });
    const target = await io.run('predict', { data, model, split: 'test', index: DEMO_TARGET });
    io.say(`   Test accuracy ${(train.accuracy * 100).toFixed(2)}%, yet test digit ${DEMO_TARGET} (a "${target.label}") is predicted "${target.predicted}"${target.predicted === DEMO_ATTACKER ? ': the backdoor works.' : ': this time the attack did not take.'}\n`);

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
      workspace: out, backend: scan.backend, attackSucceeded: target.predicted === DEMO_ATTACKER,
      suspected: scan.verdict.suspected, poisonsFound: found.filter((i) => poisons.has(i)).length,
      targetAfter: repair.target?.after, accuracyBefore: repair.before.accuracy, accuracyAfter: repair.after.accuracy,
    };
  },
};
