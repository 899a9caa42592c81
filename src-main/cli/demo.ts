/** `clear demo`: the whole story on the built-in MNIST digits. */
import type { Command } from './commands.js';
import { trainCommand } from './commands.js';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train the built-in CNN on MNIST and report (no files needed)',
  options: [
    { name: 'out', type: 'string', value: 'DIR', help: 'folder for the demo\'s models and reports (default: a new temporary folder)' },
  ],
  async run(a, io) {
    const out = (a.out as string | undefined) ?? mkdtempSync(path.join(os.tmpdir(), 'clear-demo-'));
    io.say(`Demo workspace: ${out}`);
    return trainCommand.run({ data: 'mnist', arch: 'cnn', epochs: 2, out: path.join(out, 'model') }, io);
  },
};
