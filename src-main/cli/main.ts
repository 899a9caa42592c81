/**
 * `clearwb`: the command line. Same jobs as the desktop app, run in the same engine worker.
 * Options go anywhere on the line; every value is checked against the contract before the
 * worker starts. Exit statuses: exit.ts (0 success, 1 failure, 2 usage error, 130 Ctrl+C, and
 * scan's 3 and 4).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyZodObject } from 'zod';
import { APP_VERSION } from '../contract/version.js';
import { BACKENDS } from '../contract/catalogue.js';
import { BackendChoice, jobArgs as jobSchemas, ThreadCount } from '../contract/jobs.js';
import { WARNING_STAGE } from '../contract/messages.js';
import { EngineHost, JobFailedError } from '../host/engine-host.js';
import { badValue, camel, formatOptions, optionLabel, parseOptions, splitCommandLine, UsageError, type OptionSpec } from './args.js';
import type { Command } from './commands.js';
import { COMMON_EXIT_STATUSES, EXIT, type ExitStatus } from './exit.js';
import { commands } from './registry.js';
import { createProgressPrinter } from './progress.js';
import { styleFor } from './style.js';

const globalOptions: OptionSpec[] = [
  { name: 'json', type: 'boolean', help: 'print one JSON object on stdout at the end' },
  { name: 'backend', type: 'string', value: BACKENDS.join('|'), schema: BackendChoice, help: 'compute backend (default auto: tensorflow, then wasm, then cpu)' },
  { name: 'threads', type: 'int', value: 'N', schema: ThreadCount, help: 'compute threads (default: all cores)' },
  { name: 'quiet', type: 'boolean', help: 'print results and errors only: no backend line, no progress' },
  { name: 'help', short: 'h', type: 'boolean', help: 'show the options and exit statuses (of the command, when one is given)' },
  { name: 'version', short: 'V', type: 'boolean', help: 'print the version' },
];

const allSpecs = [...globalOptions, ...commands.flatMap((c) => c.options)];
const valueOptions = new Set(allSpecs.filter((o) => o.type !== 'boolean').map((o) => o.name));
const shortNames = new Map(globalOptions.filter((o) => o.short).map((o) => [o.short!, o.name]));

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: clearwb <command> [options]',
    '',
    'CLEAR Workbench finds and removes sample-targeted backdoors from image classifiers.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options for every command (anywhere on the line):',
    formatOptions(globalOptions),
    '',
    'Run `clearwb <command> --help` for a command\'s options and exit statuses.',
  ].join('\n');
}

/** "clearwb predict --model MODEL_DIR --data SPEC --index I [options]". */
function synopsis(cmd: Command): string {
  const required = cmd.options.filter((o) => o.required).map((o) => optionLabel(o).trim());
  return ['clearwb', cmd.name, ...required, '[options]'].join(' ');
}

function exitStatuses(cmd: Command): ExitStatus[] {
  return [{ code: EXIT.ok, means: cmd.okMeans ?? 'success' }, ...(cmd.exitStatuses ?? []), ...COMMON_EXIT_STATUSES];
}

function commandUsage(cmd: Command): string {
  return [
    `Usage: ${synopsis(cmd)}`, '',
    `${cmd.summary[0].toUpperCase()}${cmd.summary.slice(1)}.`, '',
    'Options:', formatOptions(cmd.options), '',
    'Options for every command (anywhere on the line):', formatOptions(globalOptions), '',
    'Exit status:', ...exitStatuses(cmd).map((s) => `  ${String(s.code).padEnd(5)}${s.means}`),
  ].join('\n');
}

export function workerPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');
}

// A reader that stops early (`clearwb scan … | head`) closes the pipe: the rest of the output
// is dropped and the command still finishes, with its own exit status, instead of crashing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
}

const errStyle = styleFor(process.stderr);
const outStyle = styleFor(process.stdout);

function printUsageError(message: string, cmd?: Command): number {
  const hint = cmd
    ? `Usage: ${synopsis(cmd)}\nRun \`clearwb ${cmd.name} --help\` for its options.`
    : 'Run `clearwb --help` for the commands and their options.';
  process.stderr.write(`${errStyle.bold(errStyle.red('Error:'))} ${message}\n${hint}\n`);
  return EXIT.usage;
}

/** Thrown by io.run once Ctrl+C was pressed: no further job starts. */
class Interrupted extends Error {}

async function main(argv: string[]): Promise<number> {
  const line = splitCommandLine(argv, valueOptions, shortNames);
  if (line.flags.has('version')) { process.stdout.write(`${APP_VERSION}\n`); return EXIT.ok; }
  const helpFor = line.command === 'help' ? line.words[0] : line.flags.has('help') ? line.command : null;
  if (line.command === 'help' || line.flags.has('help')) {
    if (!helpFor) { process.stdout.write(`${usage()}\n`); return EXIT.ok; }
    const target = commands.find((c) => c.name === helpFor);
    if (!target) return printUsageError(`Unknown command "${helpFor}"; the commands are ${commands.map((c) => c.name).join(', ')}.`);
    process.stdout.write(`${commandUsage(target)}\n`);
    return EXIT.ok;
  }
  if (line.command === undefined) {
    process.stderr.write(`${usage()}\n`);
    return EXIT.usage;
  }
  const cmd = commands.find((c) => c.name === line.command);
  if (!cmd) return printUsageError(`Unknown command "${line.command}"; the commands are ${commands.map((c) => c.name).join(', ')}.`);
  let args;
  try {
    if (line.words.length) throw new UsageError(`Unexpected argument "${line.words[0]}".`);
    args = parseOptions(line.options, [...cmd.options, ...globalOptions].filter((o, i, all) => all.findIndex((x) => x.name === o.name) === i));
  } catch (err) {
    if (err instanceof UsageError) return printUsageError(err.message, cmd);
    throw err;
  }

  const json = Boolean(args.json);
  const quiet = Boolean(args.quiet);
  const progress = createProgressPrinter(process.stderr, quiet);
  const host = new EngineHost({
    workerPath: workerPath(),
    backend: args.backend as string | undefined,
    threads: args.threads as number | undefined,
  });
  // Ctrl+C cancels the running job (the worker ignores the terminal's SIGINT and stops at its
  // next check); a job that does not stop within a few seconds, or a second Ctrl+C, ends the worker.
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) { host.kill(); return; }
    interrupted = true;
    controller.abort();
    setTimeout(() => host.kill(), 5000).unref();
  };
  process.on('SIGINT', onSigint);
  let backendShown = false;
  try {
    const result = await cmd.run(args, {
      json,
      style: json ? styleFor({ isTTY: false }) : outStyle,
      say: (text) => { if (!json) process.stdout.write(text + '\n'); },
      backend: () => host.backend,
      run: async (job, jobArgs) => {
        if (interrupted) throw new Interrupted();
        // The same check the worker makes, made here first, so a bad value names its option and starts nothing.
        const schema = jobSchemas[job] as unknown as AnyZodObject;
        const checked = schema.safeParse(jobArgs);
        if (!checked.success) {
          const key = String(checked.error.issues[0].path[0] ?? '');
          const spec = cmd.options.find((o) => camel(o.name) === key);
          if (spec) throw badValue({ ...spec, schema: schema.shape[key] }, String((jobArgs as Record<string, unknown>)[key]));
          throw new Error(`Internal error: invalid arguments for job ${job} (${key}): ${checked.error.issues[0].message}.`);
        }
        const backend = await host.start();
        if (!backendShown) {
          backendShown = true;
          if (!json && !quiet) process.stderr.write(`Backend: ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})\n`);
          if (backend.warning) process.stderr.write(`${errStyle.yellow('Warning:')} ${backend.warning}\n`);
        }
        try {
          return await host.run(job, jobArgs, {
            onProgress: (e) => {
              // A warning is printed whatever --quiet or --json say: it changes what the result means.
              if (e.stage === WARNING_STAGE) { progress.done(); process.stderr.write(`${errStyle.yellow('Warning:')} ${e.message ?? ''}\n`); } else progress.update(e);
            },
            signal: controller.signal,
          });
        } finally { progress.done(); }
      },
    });
    if (json) process.stdout.write(JSON.stringify({ ...result, backend: (result as { backend?: string }).backend ?? host.backend?.name }) + '\n');
    return cmd.exitCode ? cmd.exitCode(result) : EXIT.ok;
  } catch (err) {
    progress.done();
    if (err instanceof UsageError) return printUsageError(err.message, cmd);
    if (interrupted || err instanceof Interrupted || (err instanceof JobFailedError && err.kind === 'cancelled')) {
      process.stderr.write('Cancelled.\n');
      if (json) process.stdout.write(JSON.stringify({ error: 'Cancelled.', kind: 'cancelled' }) + '\n');
      return EXIT.cancelled;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof JobFailedError && err.kind === 'internal' && process.env.CLEAR_DEBUG) console.error(err);
    process.stderr.write(`${errStyle.bold(errStyle.red('Error:'))} ${message}\n`);
    if (json) process.stdout.write(JSON.stringify({ error: message, kind: err instanceof JobFailedError ? err.kind : 'internal' }) + '\n');
    return EXIT.failure;
  } finally {
    process.off('SIGINT', onSigint);
    await host.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = EXIT.failure;
});
