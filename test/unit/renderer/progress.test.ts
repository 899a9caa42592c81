// The running task's progress line (src-renderer/lib/progress.ts) and which steps a running
// scan locks (src-renderer/lib/steps.ts): pure rules, checked without a page.
import { describe, expect, it } from 'vitest';
import { applyProgress, etaText, type TaskProgress } from '../../../src-renderer/lib/progress.js';
import { stepStatus } from '../../../src-renderer/lib/steps.js';
import { ProjectFile } from '../../../src-main/contract/project.js';
import { handMadeRepair, handMadeScan } from '../../e2e/fixtures.js';

const start: TaskProgress = { stage: 'starting', fraction: 0, stages: {} };

describe('a task\'s ETA', () => {
  it('is dropped when a later stage reports none (a repair read "ETA 0.0 s" at 13% from its finished fine-tuning)', () => {
    let task = applyProgress(start, { stage: 'repair', fraction: 1, metrics: { epoch: 2, epochs: 2, etaSeconds: 0 } });
    task = applyProgress(task, { stage: 'verify embed', fraction: 0.13, message: 'rescanning' });
    expect(task.metrics).toBeUndefined();
    expect(etaText(task)).toBeNull();
    expect(task.stages).toEqual({ repair: 1, 'verify embed': 0.13 });
  });

  it('is shown only once an estimate means something: past the first 5% of the stage, and not under a second', () => {
    expect(etaText({ stage: 'repair', fraction: 0.02, metrics: { etaSeconds: 40 } })).toBeNull();
    expect(etaText({ stage: 'repair', fraction: 0.96, metrics: { etaSeconds: 0.04 } })).toBeNull();
    expect(etaText({ stage: 'repair', fraction: 0.5, metrics: { etaSeconds: Number.NaN } })).toBeNull();
    expect(etaText({ stage: 'repair', fraction: 0.5, metrics: { etaSeconds: 12.3 } })).toBe('fine-tuning: about 12 s left');
    expect(etaText({ stage: 'train', fraction: 0.3, metrics: { etaSeconds: 75 } })).toBe('training: about 1 min 15 s left');
  });
});

describe('the steps while a new scan runs', () => {
  const scan = handMadeScan({
    dataset: { spec: 'mnist', fingerprint: 'a'.repeat(64), trainCount: 600 },
    model: { dir: '/m', fingerprint: 'c'.repeat(64) }, members: [1, 2, 3], attackerClass: 7, enclosingClass: 1,
  });
  const project = ProjectFile.parse({
    schema: 'clear-project/1', name: 'p', createdAt: 'now', updatedAt: 'now',
    dataset: { spec: 'mnist', name: 'MNIST', fingerprint: 'a'.repeat(64), classNames: scan.dataset.classNames, trainCount: 600, testCount: 100 },
    model: { dir: '/m', fingerprint: 'c'.repeat(64), origin: 'trained' },
    scan: { file: '/s.json', result: scan }, repair: { model: { dir: '/r', fingerprint: 'b'.repeat(64), origin: 'repaired' }, result: handMadeRepair(scan, '/r') },
  });

  it('lock Inspect and the steps after it, whose results the scan replaces, and say why', () => {
    for (const id of ['inspect', 'repair', 'verify', 'export'] as const) {
      expect(stepStatus(project, id).status).not.toBe('locked');
      expect(stepStatus(project, id, 'Scanning')).toEqual({ status: 'locked', why: 'A new scan is running; its results replace these when it finishes.' });
    }
    expect(stepStatus(project, 'scan', 'Scanning').status).toBe('done');
    expect(stepStatus(project, 'inspect', 'Training').status).toBe('done');
  });
});
