// The command line's conventions: it is `clearwb`; -h/--help on every command and -V/--version
// exit 0; a bad option value is a usage error (exit 2) naming the option and what it takes,
// checked against the contract's schemas before any worker starts; options go anywhere on the
// line; --quiet leaves results and errors only; colour only on a terminal and never with
// NO_COLOR; Ctrl+C cancels the job (one line, exit 130); demo --out refuses a non-empty folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobArgs } from '../../src-main/contract/jobs.js';
import { ANSI, clearwb, clearwbOnTerminal, hasScript, startInGroup } from './helpers.js';

const COMMANDS = ['demo', 'train', 'eval', 'predict', 'info', 'scan', 'features', 'repair', 'report', 'attack', 'bench', 'serve'];
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string>; scripts: Record<string, string> };
const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-conventions-'));
const model = path.join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  const r = clearwb(['train', '--data', 'mnist', '--limit', '300', '--arch', 'mlp', '--epochs', '1', '--out', model, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
});

describe('the command is clearwb', () => {
  it('is installed as clearwb, never as clear, and says so', () => {
    expect(pkg.bin).toEqual({ clearwb: 'bin/clearwb.js' });
    expect(existsSync('bin/clear.js')).toBe(false);
    expect(pkg.scripts.demo).toMatch(/node bin\/clearwb\.js demo$/);
    expect(pkg.scripts.bench).toMatch(/node bin\/clearwb\.js bench$/);
    const help = clearwb(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: clearwb <command> \[options\]/);
    expect(help.stdout).not.toMatch(/\bclear (<command>|demo|scan)/);
    // The README's commands name it the same way.
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.split('\n').slice(0, 6).join('\n')).toMatch(/npm ci && npm run demo/);
    expect(readme).toMatch(/npx clearwb <command> --help/);
    expect(readme).not.toMatch(/`clear (demo|train|eval|predict|info|scan|repair|attack|bench|serve)\b|bin\/clear\.js|npx clear /);
  });
});

describe('help and version', () => {
  it('lists every command, and -h or --help on each prints its own usage and exits 0', () => {
    const listed = [...clearwb(['--help']).stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
    expect(listed).toEqual(COMMANDS);
    for (const name of COMMANDS) {
      for (const flag of ['-h', '--help']) {
        const r = clearwb([name, flag]);
        expect(r.code, `${name} ${flag}: ${r.stderr}`).toBe(0);
        expect(r.stdout, `${name} ${flag}`).toMatch(new RegExp(`^Usage: clearwb ${name} `));
        expect(r.stdout).toMatch(/\nExit status:\n {2}0 /);
        expect(r.stderr).toBe('');
      }
    }
    // Before the command, and as `help COMMAND`, too.
    expect(clearwb(['-h', 'scan']).stdout).toMatch(/^Usage: clearwb scan /);
    expect(clearwb(['help', 'predict']).stdout).toMatch(/^Usage: clearwb predict /);
  });

  it('-V and --version print the version and exit 0, with or without a command', () => {
    for (const args of [['-V'], ['--version'], ['scan', '-V'], ['--version', 'info', '--model', 'nowhere']]) {
      const r = clearwb(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it("scan's help gives its exit statuses: 0 nothing found, 3 backdoor, 4 attempt, 1 failure, 2 usage", () => {
    const help = clearwb(['scan', '--help']).stdout;
    expect(help).toMatch(/^ {2}0 +no backdoor found$/m);
    expect(help).toMatch(/^ {2}3 +backdoor suspected/m);
    expect(help).toMatch(/^ {2}4 +poisoning attempt found/m);
    expect(help).toMatch(/^ {2}1 +failure/m);
    expect(help).toMatch(/^ {2}2 +usage error/m);
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toMatch(/^\| 0 \| no backdoor \|$/m);
    expect(readme).toMatch(/^\| 3 \| a backdoor is suspected/m);
    expect(readme).toMatch(/^\| 4 \| a poisoning attempt/m);
  });
});

describe('bad option values', () => {
  // A worker started with this setting stops at once, and the command exits 1 saying so: an
  // exit 2 naming the option under it shows that no worker was started.
  const noWorker = { CLEAR_LIMITS: 'no-such-limit' };

  it('a worker started under the test setting fails, so the checks below can tell', () => {
    const r = clearwb(['info', '--model', model], noWorker);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The engine stopped unexpectedly/);
  });

  const neighbours = jobArgs.scan.shape.neighbours.unwrap();
  const cases: [string[], RegExp][] = [
    [['predict', '--model', 'm', '--data', 'mnist', '--index', '-1'], /^Error: --index takes a whole number of at least 0, not "-1"\.$/m],
    [['predict', '--model', 'm', '--data', 'mnist', '--index=-1'], /^Error: --index takes a whole number of at least 0, not "-1"\.$/m],
    [['predict', '--model', 'm', '--data', 'mnist', '--index', 'three'], /^Error: --index takes a whole number of at least 0, not "three"\.$/m],
    [['eval', '--model', 'm', '--data', 'mnist', '--split', 'validation'], /^Error: --split takes train or test, not "validation"\.$/m],
    [['scan', '--model', 'm', '--data', 'mnist', '--false-alarm', '1.5'], /^Error: --false-alarm takes a number greater than 0 and less than 1, not "1\.5"\.$/m],
    // The range is the contract's, not a copy of it.
    [['scan', '--model', 'm', '--data', 'mnist', '--neighbours', '2'], new RegExp(`^Error: --neighbours takes a whole number from ${neighbours.minValue} to ${neighbours.maxValue}, not "2"\\.$`, 'm')],
    [['train', '--data', 'mnist', '--out', 'x', '--epochs', '0'], /^Error: --epochs takes a whole number from 1 to 1000, not "0"\.$/m],
    [['train', '--data', 'mnist', '--out', 'x', '--arch', 'resnet'], /^Error: --arch takes mlp or cnn, not "resnet"\.$/m],
    [['attack', '--data', 'mnist', '--attack', 'gradient', '--target', '0', '--attacker-class', '1', '--out', 'x'], /^Error: --attack takes one of label-flip, fc, cp or bp, not "gradient"\.$/m],
    [['bench', '--attacks', 'label-flip,zap'], /^Error: --attacks takes a comma list of items that are each one of label-flip, fc, cp or bp, not "zap"\.$/m],
    [['info', '--model', 'm', '--backend', 'gpu'], /^Error: --backend takes one of auto, tensorflow, wasm or cpu, not "gpu"\.$/m],
    [['--threads', '0', 'info', '--model', 'm'], /^Error: --threads takes a whole number from 1 to \d+, not "0"\.$/m],
    [['serve', '--port', '70000'], /^Error: --port takes a whole number from 0 to 65535, not "70000"\.$/m],
  ];

  it.each(cases)('clearwb %j exits 2 naming the option and what it takes, before any worker', (args, message) => {
    const r = clearwb(args, noWorker);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    const command = args.find((a) => COMMANDS.includes(a));
    expect(r.stderr).toMatch(new RegExp(`^Usage: clearwb ${command} `, 'm'));
    expect(r.stderr).toMatch(new RegExp(`Run \`clearwb ${command} --help\``));
    expect(r.stderr).not.toMatch(/Backend:|engine|job /);
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(3000);
  });

  it('returns within about a second (no worker, no data loaded)', () => {
    const r = clearwb(['predict', '--model', model, '--data', 'mnist', '--index', '-1']);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(1500);
  });
});

describe('options anywhere on the line', () => {
  it('takes global and command options before the command as after it', () => {
    const after = clearwb(['info', '--model', model, '--json']);
    expect(after.code, after.stderr).toBe(0);
    const before = clearwb(['--json', 'info', '--model', model]);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(after.stdout));
    const mixed = clearwb(['--backend', 'wasm', '--model', model, 'info', '--quiet', '--json']);
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(JSON.parse(mixed.stdout).fingerprint).toBe(JSON.parse(after.stdout).fingerprint);
    const evaluated = clearwb(['--data', 'mnist', '--limit', '300', 'eval', '--json', '--model', model]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).count).toBe(2000);
  });
});

describe('--quiet', () => {
  it('prints results and errors only: no backend line, no progress', () => {
    const loud = clearwb(['info', '--model', model]);
    expect(loud.stderr).toMatch(/^Backend: wasm/m);
    const quiet = clearwb(['info', '--model', model, '--quiet']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/Feature layer: features/);
    const training = clearwb(['--quiet', 'train', '--data', 'mnist', '--limit', '200', '--arch', 'mlp', '--epochs', '1', '--out', path.join(dir, 'quiet-model')]);
    expect(training.code, training.stderr).toBe(0);
    expect(training.stderr).toBe('');
    expect(training.stdout).toMatch(/Test accuracy/);
    const failing = clearwb(['eval', '--model', path.join(dir, 'nope'), '--data', 'mnist', '--quiet']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/^Error: The model folder .*nope does not exist\.\n$/);
  });
});

describe('colour', () => {
  const args = ['predict', '--model', 'm', '--data', 'mnist', '--index', '-1'];

  it('none when the output is not a terminal', () => {
    const r = clearwb(args);
    expect(r.stderr).toMatch(/^Error: --index/);
    expect(r.stderr).not.toMatch(ANSI);
  });

  it.runIf(hasScript)('on a terminal, unless NO_COLOR is set (to anything but "")', () => {
    const coloured = clearwbOnTerminal(args);
    expect(coloured.code).toBe(2);
    expect(coloured.output).toMatch(/Error:/);
    expect(coloured.output).toMatch(ANSI);
    const empty = clearwbOnTerminal(args, { NO_COLOR: '' });
    expect(empty.output).toMatch(ANSI);
    for (const value of ['1', 'true']) {
      const plain = clearwbOnTerminal(args, { NO_COLOR: value });
      expect(plain.code).toBe(2);
      expect(plain.output).toMatch(/Error: --index takes a whole number/);
      expect(plain.output).not.toMatch(ANSI);
    }
  });
});

describe('Ctrl+C', () => {
  it('cancels the job: one line "Cancelled.", exit 130, no engine restart, no output left behind', async () => {
    const out = path.join(dir, 'interrupted-model');
    const run = startInGroup(['train', '--data', 'mnist', '--arch', 'cnn', '--epochs', '20', '--out', out]);
    const deadline = Date.now() + 60_000;
    while (!/\btrain \d+%/.test(run.output().stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(run.output().stderr).toMatch(/\btrain \d+%/);
    // A terminal sends SIGINT to the whole foreground process group: the worker gets it too.
    process.kill(-run.child.pid!, 'SIGINT');
    const { code } = await run.exited;
    const { stderr } = run.output();
    expect(code, stderr).toBe(130);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe('Cancelled.');
    expect(stderr.match(/Cancelled/g)).toHaveLength(1);
    expect(stderr).not.toMatch(/Restarting|stopped unexpectedly|Error/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

describe('demo --out', () => {
  it('refuses a folder that is not empty, in one sentence naming it, and runs nothing', () => {
    const full = path.join(dir, 'full');
    mkdirSync(full);
    writeFileSync(path.join(full, 'keep.txt'), 'mine');
    const r = clearwb(['demo', '--out', full]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: The folder ${full} is not empty; give --out a new or empty folder so nothing in it is overwritten.\n`);
    expect(readFileSync(path.join(full, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
