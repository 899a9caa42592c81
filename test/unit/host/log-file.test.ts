// The app's rotating log (host/log-file.ts): entries with time and level, errors with their
// stack traces, rotation by size keeping a fixed number of old files, the engine's stderr
// records turned back into readable entries, and a log that cannot be written never throws.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_LOG_PREFIX } from '../../../src-main/contract/log.js';
import { logEngineStderr, RotatingLog } from '../../../src-main/host/log-file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RotatingLog', () => {
  it('writes timed entries, and an error with its stack trace indented under it', () => {
    const log = new RotatingLog(path.join(dir, 'a', 'logs', 'app.log'));
    log.info('started');
    const err = new TypeError('x is not a function');
    log.error('Scanning failed', err);
    const text = readFileSync(log.file, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  started$/);
    expect(lines[1]).toMatch(/Z ERROR Scanning failed$/);
    expect(lines[2]).toBe('    TypeError: x is not a function');
    expect(lines.slice(3).every((l) => l.startsWith('        at '))).toBe(true);
    expect(lines.length).toBeGreaterThan(3);
  });

  it('rotates by size: the file becomes .1, .1 becomes .2, and only `keep` old files stay', () => {
    const log = new RotatingLog(path.join(dir, 'r.log'), { maxBytes: 200, keep: 2 });
    for (let i = 0; i < 12; i++) log.info(`entry ${i} ${'x'.repeat(40)}`);
    const read = (f: string) => readFileSync(f, 'utf8').trimEnd().split('\n').map((l) => Number(/entry (\d+)/.exec(l)![1]));
    const current = read(log.file); const one = read(`${log.file}.1`); const two = read(`${log.file}.2`);
    expect(existsSync(`${log.file}.3`)).toBe(false);
    // Newest last, each file under the limit, no entry lost between the kept files.
    expect([...two, ...one, ...current]).toEqual(Array.from({ length: two.length + one.length + current.length }, (_, k) => 12 - (two.length + one.length + current.length) + k));
    for (const f of [log.file, `${log.file}.1`, `${log.file}.2`]) expect(readFileSync(f).length).toBeLessThanOrEqual(200);
  });

  it('never throws when the log cannot be written', () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, '');
    const log = new RotatingLog(path.join(blocker, 'logs', 'app.log'));
    expect(() => { log.info('nowhere'); log.error('nowhere', new Error('e')); }).not.toThrow();
  });

  it('turns the engine\'s stderr records into error entries with the stack, other lines as they are', () => {
    const log = new RotatingLog(path.join(dir, 'engine.log'));
    const record = { job: 'scan', id: 'r1', message: 'Internal error: boom', stack: 'Error: boom\n    at scanJob (clear.ts:1:1)' };
    logEngineStderr(log, `${ENGINE_LOG_PREFIX}${JSON.stringify(record)}\nwasm: a warning\n`);
    const text = readFileSync(log.file, 'utf8');
    expect(text).toMatch(/ERROR engine: job scan \(r1\) failed: Internal error: boom\n {4}Error: boom\n {8}at scanJob/);
    expect(text).toMatch(/WARN  engine: wasm: a warning\n$/);
  });
});
