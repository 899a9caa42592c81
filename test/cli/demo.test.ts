// `clearwb demo` on a seeded 2,000-digit subset (real attack, training and scan, wasm): right
// after training it says what the attack did, the target's prediction by the same cnn trained
// without the poisons and by the poisoned model, and how many poisons the model fitted; the
// poisoned model's prediction it prints is the one `clearwb predict` gives for the model it saved.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, clearwb } from './helpers.js';

// The demo runs for a minute or more: spawned without blocking, so the test runner stays responsive.
function clearwbAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CLEAR_BACKEND: 'wasm' } });
  let stdout = ''; let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clearwb demo', () => {
  it('prints the attack outcome after training, matching the saved model', async () => {
    const out = path.join(dir, 'demo');
    const r = await clearwbAsync(['demo', '--limit', '2000', '--epochs', '2', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const step2 = r.stdout.slice(r.stdout.indexOf('2. '), r.stdout.indexOf('3. '));
    expect(step2).toMatch(/^ {3}Test accuracy \d+\.\d\d%\.$/m);
    expect(step2).toMatch(/^ {3}The same model trained without the poisons predicts test digit 0 \(a "1"\) as "\d"\.$/m);
    const after = /^ {3}Trained with them, the new model predicts it as "(\d)": (the backdoor works|this time the attack did not take)\.$/m.exec(step2);
    expect(after, step2).not.toBeNull();
    expect(after![2] === 'the backdoor works').toBe(after![1] === '7');
    const fitted = /^ {3}It predicts (\d+) of the 20 poisons as "7", the label the attacker gave them/m.exec(step2);
    expect(fitted, step2).not.toBeNull();
    expect(Number(fitted![1])).toBeLessThanOrEqual(20);
    const p = clearwb(['predict', '--model', path.join(out, 'model'), '--data', `dir:${path.join(out, 'poisoned-mnist')}`, '--split', 'test', '--index', '0', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(String(JSON.parse(p.stdout).predicted)).toBe(after![1]);
  }, 400_000);
});
