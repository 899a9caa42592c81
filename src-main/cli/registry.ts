/** Every `clearwb` command, in the order `clearwb --help` lists them. */
import type { Command } from './commands.js';
import { evalCommand, infoCommand, predictCommand, trainCommand } from './commands.js';
import { demoCommand } from './demo.js';
import { serveCommand } from './serve.js';
import { featuresCommand, repairCommand, scanCommand } from './clear-commands.js';
import { reportCommand } from './report.js';
import { attackCommand, benchCommand } from './bench.js';

export const commands: Command[] = [demoCommand, trainCommand, evalCommand, predictCommand, infoCommand, scanCommand, featuresCommand, repairCommand, reportCommand, attackCommand, benchCommand, serveCommand];
