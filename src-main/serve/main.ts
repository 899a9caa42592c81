/**
 * dist/serve.js: browser mode on its own, for `npm start` where the Electron binary is
 * missing (bin/start.js). `clearwb serve` (src-main/cli/serve.ts) is the same server from the
 * command line. Options: --port P, --project DIR, --backend NAME, --threads N.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBrowserMode } from './index.js';

function option(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
}

async function main(argv: string[]): Promise<void> {
  const dist = path.dirname(fileURLToPath(import.meta.url));
  const port = option(argv, 'port');
  const threads = option(argv, 'threads');
  const project = option(argv, 'project');
  const server = await startBrowserMode({
    workerPath: path.join(dist, 'worker.js'),
    rendererDir: path.join(dist, 'renderer'),
    port: port === undefined ? undefined : Number(port),
    backend: option(argv, 'backend'),
    threads: threads === undefined ? undefined : Number(threads),
    startupProject: project ? path.resolve(project) : undefined,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`CLEAR Workbench is running at ${server.url}\nOpen that address in a browser on this machine. Press Ctrl+C to stop.\n`);
  const stop = () => { void server.close().then(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
