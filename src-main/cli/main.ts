/**
 * `clearwb`: the command line. Same jobs as the desktop app, run in the same engine worker.
 * Exit codes: 0 success, 1 failure, 2 usage error (usage printed).
 */
import path from 'node:path';
import { APP_VERSION } from '../contract/version.js';
import { fileURLToPath } from 'node:url';
import { EngineHost, JobFailedError } from '../host/engine-host.js';
import { formatOptions, parseOptions, UsageError, type OptionSpec } from './args.js';
import { commands } from './registry.js';
import { createProgressPrinter } from './progress.js';

const globalOptions: OptionSpec[] = [
  { name: 'json', type: 'boolean', help: 'print one JSON object on stdout at the end' },
  { name: 'backend', type: 'string', value: 'auto|tensorflow|wasm|cpu', help: 'compute backend (default auto: tensorflow, then wasm, then cpu)' },
  { name: 'threads', type: 'int', value: 'N', help: 'compute threads (default: all cores)' },
  { name: 'quiet', type: 'boolean', help: 'no progress output' },
  { name: 'help', type: 'boolean', help: 'show help' },
];

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
    'Options for every command:',
    formatOptions(globalOptions),
    '',
    'Run `clearwb <command> --help` for a command\'s options.',
  ].join('\n');
}

function commandUsage(name: string): string {
  const cmd = commands.find((c) => c.name === name)!;
  return [`Usage: clearwb ${name} [options]`, '', `${cmd.summary[0].toUpperCase()}${cmd.summary.slice(1)}.`, '', 'Options:', formatOptions(cmd.options), '', formatOptions(globalOptions)].join('\n');
}

export function workerPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') { process.stdout.write(`${APP_VERSION}\n`); return 0; }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}\n`);
    return 2;
  }
  let args;
  try {
    args = parseOptions(rest, [...cmd.options, ...globalOptions].filter((o, i, all) => all.findIndex((x) => x.name === o.name) === i)
      .map((o) => (rest.includes('--help') ? { ...o, required: false } : o)));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${commandUsage(name)}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) { process.stdout.write(commandUsage(name) + '\n'); return 0; }

  const json = Boolean(args.json);
  const progress = createProgressPrinter(process.stderr, Boolean(args.quiet));
  const host = new EngineHost({
    workerPath: workerPath(),
    backend: args.backend as string | undefined,
    threads: args.threads as number | undefined,
  });
  const controller = new AbortController();
  const onSigint = () => { controller.abort(); process.stderr.write('\nCancelling…\n'); };
  process.once('SIGINT', onSigint);
  let backendShown = false;
  try {
    const result = await cmd.run(args, {
      json,
      say: (text) => { if (!json) process.stdout.write(text + '\n'); },
      backend: () => host.backend,
      run: async (job, jobArgs) => {
        const backend = await host.start();
        if (!backendShown && !json) {
          backendShown = true;
          process.stderr.write(`Backend: ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})\n`);
          if (backend.warning) process.stderr.write(`Warning: ${backend.warning}\n`);
        } else if (!backendShown && backend.warning) { backendShown = true; process.stderr.write(`Warning: ${backend.warning}\n`); }
        try {
          return await host.run(job, jobArgs, { onProgress: (e) => progress.update(e), signal: controller.signal });
        } finally { progress.done(); }
      },
    });
    if (json) process.stdout.write(JSON.stringify({ ...result, backend: (result as { backend?: string }).backend ?? host.backend?.name }) + '\n');
    return 0;
  } catch (err) {
    progress.done();
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${commandUsage(name)}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof JobFailedError && err.kind === 'internal' && process.env.CLEAR_DEBUG) console.error(err);
    process.stderr.write(`Error: ${message}\n`);
    if (json) process.stdout.write(JSON.stringify({ error: message, kind: err instanceof JobFailedError ? err.kind : 'internal' }) + '\n');
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    await host.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
