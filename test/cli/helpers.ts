// Running the built command line (dist/, so `npm run build` first) as a user would.
import { spawn, spawnSync } from 'node:child_process';

export const BIN = 'bin/clearwb.js';

export interface Run { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs `clearwb ARGS` with pipes (no terminal) on the wasm backend. */
export function clearwb(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const start = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - start };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Whether `script` (util-linux) is here to give a command a pseudo-terminal. */
export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Runs `clearwb ARGS` on a pseudo-terminal (util-linux `script`), as in an interactive shell:
 * stdout and stderr are both the terminal, so the output is the two together.
 */
export function clearwbOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; output: string } {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8', env: { ...process.env, CLEAR_BACKEND: 'wasm', TERM: 'xterm', ...env },
  });
  return { code: r.status, output: r.stdout };
}

/** Starts `clearwb ARGS` in its own process group, as a terminal's foreground job is. */
export function startInGroup(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { detached: true, env: { ...process.env, CLEAR_BACKEND: 'wasm', ...env } });
  let stdout = ''; let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

export const ANSI = /\u001b\[/;

/**
 * The Python that can import `modules` (test dependencies from Debian's packages, which .ci/run
 * installs): CLEAR_PYTHON when set, else `python3` on the PATH, else Debian's own interpreter
 * (a PATH may put another Python first). Throws, naming the package to install, when none can.
 */
export function pythonWith(modules: string[], debianPackage: string): string {
  const candidates = [process.env.CLEAR_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  const probes = candidates.map((p) => ({ p, r: spawnSync(p, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' }) }));
  const found = probes.find(({ r }) => r.status === 0);
  if (found) return found.p;
  const why = probes.map(({ p, r }) => `${p}: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`).join('; ');
  throw new Error(`Python with ${modules[0]} is needed for this test and is missing here (${why}): install it with apt-get install -y ${debianPackage}, as .ci/run does.`);
}
