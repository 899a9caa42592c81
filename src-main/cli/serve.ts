/**
 * `clearwb serve`: browser mode. The desktop app's renderer and engine, served on 127.0.0.1
 * with a random access token, for machines without the Electron binary (and for anyone who
 * prefers a browser tab). Runs until interrupted.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startBrowserMode } from '../serve/index.js';
import type { Command } from './commands.js';

/** dist/cli.js sits beside dist/worker.js and dist/renderer/. */
function distDir(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'open the workbench in a browser (serves it on 127.0.0.1 with an access token)',
  options: [
    { name: 'port', type: 'int', value: 'P', schema: z.number().int().min(0).max(65535), help: 'port on 127.0.0.1 (default: a free one)' },
    { name: 'project', type: 'string', value: 'DIR', help: 'open this project folder at start' },
  ],
  async run(a, io) {
    const port = a.port as number | undefined;
    const server = await startBrowserMode({
      workerPath: path.join(distDir(), 'worker.js'),
      rendererDir: path.join(distDir(), 'renderer'),
      port,
      backend: a.backend as string | undefined,
      threads: a.threads as number | undefined,
      startupProject: a.project ? path.resolve(a.project as string) : undefined,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    // The URL goes to stdout even with --json: it is what the user (or a test) needs first.
    process.stdout.write(`CLEAR Workbench is running at ${server.url}\n`);
    io.say('Open that address in a browser on this machine. Press Ctrl+C to stop.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return { url: server.url, port: server.port };
  },
};
