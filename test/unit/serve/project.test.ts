/**
 * Projects as both hosts keep them: a folder with project.json, written atomically, paths
 * inside it stored relative (the folder can move), recorded models checked on open, and
 * exports that never overwrite. Model folders are read as hostile in the host too: weight
 * paths must stay inside the folder, FIFOs are refused at once, and nothing blocks.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFingerprint } from '../../../src-main/project/fingerprint.js';
import {
  PARTIAL_MARKER, ProjectError, STALE_PARTIAL_MS, copyFolderNoOverwrite, writeFileAtomic,
} from '../../../src-main/project/files.js';
import { inspectPath } from '../../../src-main/project/paths.js';
import { RecentProjects } from '../../../src-main/project/recent.js';
import { ProjectStore } from '../../../src-main/project/store.js';
import { createAppHandlers } from '../../../src-main/host/app-calls.js';
import { PathScope } from '../../../src-main/host/path-scope.js';
import { fingerprintModelDir } from '../../../src-main/engine/model/io.js';
import * as engineFiles from '../../../src-main/engine/model/files.js';
import { handMadeScan } from '../../e2e/fixtures.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'clear-project-'));

function fakeModel(dir: string, weights = 'abcd', paths: unknown[] = ['weights.bin']): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths, weights: [] }] }));
  writeFileSync(path.join(dir, 'weights.bin'), weights);
}

const fifo = (p: string) => execFileSync('mkfifo', [p]);

/**
 * Runs `f` and expects a ProjectError within a second (a host that blocked on a FIFO would
 * never get there: the timer racing it could not fire either), and returns its message.
 */
async function refusedQuickly(f: () => Promise<unknown>): Promise<string> {
  const start = performance.now();
  const err = await Promise.race([
    f().then(() => null, (e: unknown) => e),
    new Promise((resolve) => setTimeout(() => resolve(new Error('still running after 1 s')), 1000)),
  ]);
  const ms = performance.now() - start;
  expect(err, String(err)).toBeInstanceOf(ProjectError);
  expect(ms).toBeLessThan(1000);
  const message = (err as Error).message;
  expect(message.split(/\.\s/).length, `one sentence: ${message}`).toBe(1);
  return message;
}

const scan = handMadeScan({
  dataset: { spec: 'mnist', fingerprint: 'a'.repeat(64), trainCount: 10 },
  model: { dir: '/m', fingerprint: 'b'.repeat(64) },
  members: [1, 2], attackerClass: 7, enclosingClass: 1,
});

describe('project store', () => {
  const store = new ProjectStore();

  it('creates a project in a new folder and refuses a folder that holds other files', async () => {
    const root = tmp();
    const opened = await store.create(path.join(root, 'p1'));
    expect(opened.project).toMatchObject({ schema: 'clear-project/1', name: 'p1', step: 'load', dataset: null, model: null, exports: [] });
    expect(existsSync(path.join(root, 'p1', 'project.json'))).toBe(true);
    writeFileSync(path.join(root, 'other.txt'), 'x');
    await expect(store.create(root)).rejects.toThrow(/already holds other files/);
    // Creating where a project exists opens it: nothing is reset.
    expect((await store.create(path.join(root, 'p1'))).project.createdAt).toBe(opened.project.createdAt);
  });

  it('saves and reopens everything, with paths inside the folder stored relative so it can move', async () => {
    const root = tmp();
    const dir = path.join(root, 'p');
    const { project } = await store.create(dir);
    const modelDir = path.join(dir, 'models', 'model-1');
    fakeModel(modelDir);
    const fingerprint = (await modelFingerprint(modelDir))!;
    await store.save(dir, {
      ...project, step: 'inspect',
      dataset: { spec: `dir:${path.join(dir, 'data', 'poisoned-1')}`, name: 'poisoned', fingerprint: 'a'.repeat(64), classNames: ['0', '1'], trainCount: 10, testCount: 2 },
      model: { dir: modelDir, fingerprint, origin: 'trained', architecture: 'mlp' },
      scan: { file: path.join(dir, 'scans', 'scan-1.json'), result: scan },
      repairPlan: { scan: path.join(dir, 'scans', 'scan-1.json'), plan: { pockets: [{ id: 0, action: 'remove', exclude: [3] }] } },
      history: [
        { kind: 'scan', at: 'then', model: { dir: path.join(dir, 'models', 'model-0'), fingerprint }, data: { name: 'poisoned', fingerprint: 'a'.repeat(64) }, scan: path.join(dir, 'scans', 'scan-0.json'), summary: 'Backdoor suspected' },
        { kind: 'repair', at: 'then', model: { dir: path.join(dir, 'models', 'model-0'), fingerprint }, data: { name: 'poisoned', fingerprint: 'a'.repeat(64) }, scan: path.join(dir, 'scans', 'scan-0.json'),
          repaired: { dir: path.join(dir, 'models', 'repaired-1'), fingerprint }, summary: 'open pockets 1 → 0', plan: { pockets: [{ id: 0, action: 'relabel', exclude: [] }] } },
      ],
    });
    const stored = JSON.parse(readFileSync(path.join(dir, 'project.json'), 'utf8'));
    expect(stored.model.dir).toBe('models/model-1');
    // The history and the plan under review name their files relative too, so they move with the folder.
    expect(stored.history.map((h: { model: { dir: string }; scan: string; repaired?: { dir: string } }) => [h.model.dir, h.scan, h.repaired?.dir ?? null]))
      .toEqual([['models/model-0', 'scans/scan-0.json', null], ['models/model-0', 'scans/scan-0.json', 'models/repaired-1']]);
    expect(stored.repairPlan.scan).toBe('scans/scan-1.json');
    expect(stored.dataset.spec).toBe('dir:data/poisoned-1');
    expect(readdirSync(dir).sort()).toEqual(['models', 'project.json']);
    const moved = path.join(root, 'moved');
    renameSync(dir, moved);
    const reopened = await store.open(moved);
    expect(reopened.project.step).toBe('inspect');
    expect(reopened.project.model?.dir).toBe(path.join(moved, 'models', 'model-1'));
    expect(reopened.project.dataset?.spec).toBe(`dir:${path.join(moved, 'data', 'poisoned-1')}`);
    expect(reopened.project.scan?.result.pockets.map((p) => p.members)).toEqual(scan.pockets.map((p) => p.members));
    expect(reopened.project.history[1].repaired?.dir).toBe(path.join(moved, 'models', 'repaired-1'));
    expect(reopened.project.repairPlan).toEqual({ scan: path.join(moved, 'scans', 'scan-1.json'), plan: { pockets: [{ id: 0, action: 'remove', exclude: [3] }] } });
    // The scan file was never written, so opening says so (and runs nothing).
    expect(reopened.warnings).toEqual([expect.stringMatching(/scan file .* is missing/)]);
  });

  it('warns when a recorded model changed, vanished, or now names a weight file outside its folder', async () => {
    const dir = tmp();
    const { project } = await store.create(dir);
    const modelDir = path.join(dir, 'm');
    fakeModel(modelDir);
    await store.save(dir, { ...project, model: { dir: modelDir, fingerprint: (await modelFingerprint(modelDir))!, origin: 'opened' } });
    expect((await store.open(dir)).warnings).toEqual([]);
    writeFileSync(path.join(modelDir, 'weights.bin'), 'changed');
    expect((await store.open(dir)).warnings[0]).toMatch(/changed since it was recorded/);
    fakeModel(modelDir, 'abcd', ['../../etc/passwd']);
    expect((await store.open(dir)).warnings[0]).toMatch(/"\.\.\/\.\.\/etc\/passwd" listed in .* climbs out with "\.\."/);
  });

  it('refuses a project file that is not one, with a sentence, and a stored scan that is not a scan', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'project.json'), '{"schema":"something-else"}');
    await expect(store.open(dir)).rejects.toThrow(/is not a CLEAR project file \(schema: Invalid literal value/);
    writeFileSync(path.join(dir, 'project.json'), '{');
    await expect(store.open(dir)).rejects.toThrow(/not valid JSON/);
    await expect(store.open(tmp())).rejects.toThrow(/has no project.json/);
    const bad = { schema: 'clear-project/1', name: 'p', createdAt: 'x', updatedAt: 'x', scan: { file: '/s.json', result: { ...scan, pockets: [{ ...scan.pockets[0], members: [1.5] }] } } };
    writeFileSync(path.join(dir, 'project.json'), JSON.stringify(bad));
    await expect(store.open(dir)).rejects.toThrow(/\(scan\.result\.pockets\.0\.members\.0: Expected integer, received float, found 1\.5\)/);
  });

  it('refuses a project.json that is a FIFO at once, without blocking', async () => {
    const dir = tmp();
    fifo(path.join(dir, 'project.json'));
    expect(await refusedQuickly(() => store.open(dir))).toMatch(/project\.json is a FIFO \(named pipe\), not a regular file, so it is not read\.$/);
  });

  it('allocates fresh output paths inside the project, skipping names a job is writing', async () => {
    const dir = tmp();
    await store.create(dir);
    const first = (await store.allocate(dir, 'model')).path;
    expect(first).toBe(path.join(dir, 'models', 'model-1'));
    mkdirSync(first);
    // The engine writes model-2 into a hidden .model-2.partial-<hex> sibling until it is complete.
    mkdirSync(path.join(dir, 'models', '.model-2.partial-0123456789abcdef'));
    expect((await store.allocate(dir, 'model')).path).toBe(path.join(dir, 'models', 'model-3'));
    expect((await store.allocate(dir, 'scan')).path).toBe(path.join(dir, 'scans', 'scan-1.json'));
    expect(existsSync(path.join(dir, 'scans'))).toBe(true);
  });
});

describe('model fingerprints in the host', () => {
  it('are the engine\'s, for the same folder', async () => {
    const dir = path.join(tmp(), 'm');
    fakeModel(dir);
    expect(await modelFingerprint(dir)).toBe(fingerprintModelDir(dir));
    expect(await modelFingerprint(path.join(dir, 'missing'))).toBeNull();
  });

  it('refuse weight paths that climb out, are absolute, or lead out through a link, reading nothing outside', async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'secret.bin'), 'outside');
    const cases: [unknown, RegExp][] = [
      ['../secret.bin', /climbs out with "\.\."/],
      [path.join(root, 'secret.bin'), /is an absolute path, which leads outside the model folder/],
      ['C:\\secret.bin', /is an absolute path/],
      ['link.bin', /leads through a symbolic link outside the model folder/],
      [7, /is not a usable file name/],
    ];
    for (const [p, pattern] of cases) {
      const dir = path.join(root, `m${cases.findIndex((c) => c[0] === p)}`);
      fakeModel(dir, 'abcd', [p]);
      symlinkSync(path.join(root, 'secret.bin'), path.join(dir, 'link.bin'));
      expect(await refusedQuickly(() => modelFingerprint(dir))).toMatch(pattern);
    }
  });

  it('refuse a FIFO as a weight file or as model.json at once, without blocking the host', async () => {
    const root = tmp();
    const a = path.join(root, 'a');
    fakeModel(a, 'abcd', ['pipe.bin']);
    fifo(path.join(a, 'pipe.bin'));
    expect(await refusedQuickly(() => modelFingerprint(a))).toMatch(/"pipe\.bin" listed in .* is a FIFO \(named pipe\), not a regular file/);
    const b = path.join(root, 'b');
    mkdirSync(b);
    fifo(path.join(b, 'model.json'));
    expect(await refusedQuickly(() => modelFingerprint(b))).toMatch(/model\.json is a FIFO/);
    // A link inside the folder to a FIFO inside it is refused the same way.
    const c = path.join(root, 'c');
    fakeModel(c, 'abcd', ['via-link.bin']);
    fifo(path.join(c, 'pipe'));
    symlinkSync('pipe', path.join(c, 'via-link.bin'));
    expect(await refusedQuickly(() => modelFingerprint(c))).toMatch(/is a FIFO/);
  });
});

describe('files', () => {
  it('writes atomically: no temporary file is left behind', () => {
    const dir = tmp();
    writeFileAtomic(path.join(dir, 'a.json'), '1');
    writeFileAtomic(path.join(dir, 'a.json'), '2');
    expect(readFileSync(path.join(dir, 'a.json'), 'utf8')).toBe('2');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('marks and names its temporary folders as the engine does, so either side recognises the other\'s leftovers', () => {
    expect(PARTIAL_MARKER).toBe(engineFiles.PARTIAL_MARKER);
    expect(STALE_PARTIAL_MS).toBe(engineFiles.STALE_PARTIAL_MS);
  });

  it('copies a model folder without ever overwriting', async () => {
    const root = tmp();
    fakeModel(path.join(root, 'm'));
    expect((await copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'out', 'copy'))).sort()).toEqual(['model.json', 'weights.bin']);
    expect(await modelFingerprint(path.join(root, 'out', 'copy'))).toBe(await modelFingerprint(path.join(root, 'm')));
    await expect(copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'out', 'copy'))).rejects.toThrow(/already holds files/);
    await expect(copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'm', 'inside'))).rejects.toThrow(/outside/);
    expect(readdirSync(path.join(root, 'out'))).toEqual(['copy']);
    // An empty folder is filled (replaced by the finished copy), never emptied.
    mkdirSync(path.join(root, 'out', 'empty'));
    await copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'out', 'empty'));
    expect(readdirSync(path.join(root, 'out', 'empty')).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('never deletes what appears in the target folder while it copies', async () => {
    const root = tmp();
    fakeModel(path.join(root, 'm'));
    const target = path.join(root, 'out');
    mkdirSync(target);
    const err = await copyFolderNoOverwrite(path.join(root, 'm'), target, async () => {
      writeFileSync(path.join(target, 'theirs.txt'), 'written meanwhile');
    }).then(() => null, (e: unknown) => e);
    expect(String(err)).toMatch(/already holds files; choose a new folder/);
    expect(readdirSync(target)).toEqual(['theirs.txt']);
    expect(readdirSync(root).sort()).toEqual(['m', 'out']);
  });

  it('refuses to copy a folder holding a link out, a FIFO or a link to a folder, and leaves nothing behind', async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'secret.txt'), 'outside');
    const a = path.join(root, 'a'); fakeModel(a); symlinkSync(path.join(root, 'secret.txt'), path.join(a, 'notes.txt'));
    const b = path.join(root, 'b'); fakeModel(b); fifo(path.join(b, 'pipe'));
    const c = path.join(root, 'c'); fakeModel(c); mkdirSync(path.join(c, 'sub')); symlinkSync('sub', path.join(c, 'alias'));
    expect(await refusedQuickly(() => copyFolderNoOverwrite(a, path.join(root, 'out-a')))).toMatch(/"notes\.txt" of .* leads through a symbolic link outside the model folder/);
    expect(await refusedQuickly(() => copyFolderNoOverwrite(b, path.join(root, 'out-b')))).toMatch(/"pipe" of .* is a FIFO \(named pipe\), not a regular file, so the folder is not exported\.$/);
    expect(await refusedQuickly(() => copyFolderNoOverwrite(c, path.join(root, 'out-c')))).toMatch(/"alias" of .* is a folder, not a regular file/);
    expect(readdirSync(root).sort()).toEqual(['a', 'b', 'c', 'secret.txt']);
  });

  it('copies sub-folders and links that stay inside, and removes an old leftover copy of ours', async () => {
    const root = tmp();
    const m = path.join(root, 'm');
    fakeModel(m);
    mkdirSync(path.join(m, 'sub'));
    writeFileSync(path.join(m, 'sub', 'extra.bin'), 'e');
    symlinkSync('weights.bin', path.join(m, 'same.bin'));
    const leftover = path.join(root, '.copy.partial-0123456789abcdef');
    mkdirSync(leftover);
    writeFileSync(path.join(leftover, PARTIAL_MARKER), '');
    const old = Date.now() / 1000 - (STALE_PARTIAL_MS / 1000) * 2;
    utimesSync(path.join(leftover, PARTIAL_MARKER), old, old);
    utimesSync(leftover, old, old);
    const files = await copyFolderNoOverwrite(m, path.join(root, 'copy'));
    expect(files.sort()).toEqual(['model.json', 'same.bin', path.join('sub', 'extra.bin'), 'weights.bin']);
    expect(readFileSync(path.join(root, 'copy', 'same.bin'), 'utf8')).toBe('abcd');
    expect(readdirSync(root).sort()).toEqual(['copy', 'm']);
  });

  it('describes typed paths for the browser-mode path entry', () => {
    const root = tmp();
    fakeModel(path.join(root, 'model'));
    writeFileSync(path.join(root, 'z.csv'), '1,2');
    const info = inspectPath(root);
    expect(info).toMatchObject({ exists: true, kind: 'folder', entries: [{ name: 'model', kind: 'folder' }, { name: 'z.csv', kind: 'file' }] });
    expect(inspectPath(path.join(root, 'model')).holds).toBe('model');
    expect(inspectPath(path.join(root, 'new'))).toMatchObject({ exists: false, kind: null, parent: root });
  });

  it('keeps the recent projects newest first, without duplicates or vanished folders', () => {
    const root = tmp();
    const recent = new RecentProjects(path.join(root, 'cfg', 'recent.json'));
    expect(recent.list()).toEqual([]);
    const a = path.join(root, 'a'); const b = path.join(root, 'b');
    mkdirSync(a); mkdirSync(b);
    recent.add(a, 'a'); recent.add(b, 'b'); recent.add(a, 'a');
    expect(recent.list().map((r) => r.name)).toEqual(['a', 'b']);
    renameSync(b, path.join(root, 'gone'));
    expect(recent.list().map((r) => r.name)).toEqual(['a']);
  });
});

describe('the export.model app call', () => {
  const scope = new PathScope();
  const handlers = createAppHandlers({
    mode: 'browser', engine: { backend: async () => ({ backend: null }) } as never,
    recent: new RecentProjects(path.join(tmp(), 'recent.json')), scope,
  });
  // Each test's folder is one the user chose (host/path-scope.ts).
  const chosen = async () => { const dir = tmp(); await scope.grant(dir); return dir; };

  it('copies a model and reports the fingerprint it checked the copy against', async () => {
    const root = await chosen();
    fakeModel(path.join(root, 'm'));
    const result = await handlers['export.model']({ from: path.join(root, 'm'), to: path.join(root, 'out') });
    expect(result).toEqual({ dir: path.join(root, 'out'), files: ['model.json', 'weights.bin'], fingerprint: fingerprintModelDir(path.join(root, 'm')) });
  });

  it('refuses a model whose weight path leads out of its folder, copying nothing', async () => {
    const root = await chosen();
    writeFileSync(path.join(root, 'secret.bin'), 'outside');
    fakeModel(path.join(root, 'm'), 'abcd', ['../secret.bin']);
    expect(await refusedQuickly(async () => handlers['export.model']({ from: path.join(root, 'm'), to: path.join(root, 'out') })))
      .toMatch(/"\.\.\/secret\.bin" listed in .* climbs out with "\.\."/);
    expect(existsSync(path.join(root, 'out'))).toBe(false);
  });
});
