/**
 * Projects as both hosts keep them: a folder with project.json, written atomically, paths
 * inside it stored relative (the folder can move), recorded models checked on open, and
 * exports that never overwrite.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFingerprint } from '../../../src-main/project/fingerprint.js';
import { copyFolderNoOverwrite, writeFileAtomic } from '../../../src-main/project/files.js';
import { inspectPath } from '../../../src-main/project/paths.js';
import { RecentProjects } from '../../../src-main/project/recent.js';
import { ProjectStore } from '../../../src-main/project/store.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'clear-project-'));

function fakeModel(dir: string, weights = 'abcd'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }));
  writeFileSync(path.join(dir, 'weights.bin'), weights);
}

describe('project store', () => {
  const store = new ProjectStore();

  it('creates a project in a new folder and refuses a folder that holds other files', () => {
    const root = tmp();
    const opened = store.create(path.join(root, 'p1'));
    expect(opened.project).toMatchObject({ schema: 'clear-project/1', name: 'p1', step: 'load', dataset: null, model: null, exports: [] });
    expect(existsSync(path.join(root, 'p1', 'project.json'))).toBe(true);
    writeFileSync(path.join(root, 'other.txt'), 'x');
    expect(() => store.create(root)).toThrow(/already holds other files/);
    // Creating where a project exists opens it: nothing is reset.
    expect(store.create(path.join(root, 'p1')).project.createdAt).toBe(opened.project.createdAt);
  });

  it('saves and reopens everything, with paths inside the folder stored relative so it can move', () => {
    const root = tmp();
    const dir = path.join(root, 'p');
    const { project } = store.create(dir);
    const modelDir = path.join(dir, 'models', 'model-1');
    fakeModel(modelDir);
    const fingerprint = modelFingerprint(modelDir)!;
    store.save(dir, {
      ...project, step: 'inspect',
      dataset: { spec: `dir:${path.join(dir, 'data', 'poisoned-1')}`, name: 'poisoned', fingerprint: 'a'.repeat(64), classNames: ['0', '1'], trainCount: 10, testCount: 2 },
      model: { dir: modelDir, fingerprint, origin: 'trained', architecture: 'mlp' },
      scan: { file: path.join(dir, 'scans', 'scan-1.json'), result: { verdict: { suspected: true } } },
    });
    const stored = JSON.parse(readFileSync(path.join(dir, 'project.json'), 'utf8'));
    expect(stored.model.dir).toBe('models/model-1');
    expect(stored.dataset.spec).toBe('dir:data/poisoned-1');
    const moved = path.join(root, 'moved');
    renameSync(dir, moved);
    const reopened = store.open(moved);
    expect(reopened.project.step).toBe('inspect');
    expect(reopened.project.model?.dir).toBe(path.join(moved, 'models', 'model-1'));
    expect(reopened.project.dataset?.spec).toBe(`dir:${path.join(moved, 'data', 'poisoned-1')}`);
    expect(reopened.project.scan?.result).toEqual({ verdict: { suspected: true } });
    // The scan file was never written, so opening says so (and runs nothing).
    expect(reopened.warnings).toEqual([expect.stringMatching(/scan file .* is missing/)]);
  });

  it('warns when a recorded model changed or vanished', () => {
    const dir = tmp();
    const { project } = store.create(dir);
    const modelDir = path.join(dir, 'm');
    fakeModel(modelDir);
    store.save(dir, { ...project, model: { dir: modelDir, fingerprint: modelFingerprint(modelDir)!, origin: 'opened' } });
    expect(store.open(dir).warnings).toEqual([]);
    writeFileSync(path.join(modelDir, 'weights.bin'), 'changed');
    expect(store.open(dir).warnings[0]).toMatch(/changed since it was recorded/);
  });

  it('refuses a project file that is not one, with a sentence', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'project.json'), '{"schema":"something-else"}');
    expect(() => store.open(dir)).toThrow(/is not a CLEAR project file/);
    writeFileSync(path.join(dir, 'project.json'), '{');
    expect(() => store.open(dir)).toThrow(/not valid JSON/);
    expect(() => store.open(tmp())).toThrow(/has no project.json/);
  });

  it('allocates fresh output paths inside the project', () => {
    const dir = tmp();
    store.create(dir);
    const first = store.allocate(dir, 'model').path;
    expect(first).toBe(path.join(dir, 'models', 'model-1'));
    mkdirSync(first);
    expect(store.allocate(dir, 'model').path).toBe(path.join(dir, 'models', 'model-2'));
    expect(store.allocate(dir, 'scan').path).toBe(path.join(dir, 'scans', 'scan-1.json'));
    expect(existsSync(path.join(dir, 'scans'))).toBe(true);
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

  it('copies a model folder without ever overwriting', () => {
    const root = tmp();
    fakeModel(path.join(root, 'm'));
    expect(copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'out', 'copy')).sort()).toEqual(['model.json', 'weights.bin']);
    expect(modelFingerprint(path.join(root, 'out', 'copy'))).toBe(modelFingerprint(path.join(root, 'm')));
    expect(() => copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'out', 'copy'))).toThrow(/already holds files/);
    expect(() => copyFolderNoOverwrite(path.join(root, 'm'), path.join(root, 'm', 'inside'))).toThrow(/outside/);
    expect(readdirSync(path.join(root, 'out'))).toEqual(['copy']);
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
