// Outputs are whole or absent and never replace anything: JSON files are published with a
// hard link that fails on an existing name, staged folders remove only what they wrote, and
// leftovers of ours are removed when old while anything else with a similar name stays.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PARTIAL_MARKER, STALE_PARTIAL_MS, StagedFolder, removeStalePartials, writeNewFileAtomically,
} from '../../src-main/engine/model/files.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'clear-outputs-'));
const old = () => Date.now() / 1000 - (STALE_PARTIAL_MS / 1000) * 2;

describe('writeNewFileAtomically', () => {
  it('writes a new file whole and leaves nothing beside it', () => {
    const dir = tmp();
    writeNewFileAtomically(path.join(dir, 'sub', 'scan.json'), '{"a":1}');
    expect(readFileSync(path.join(dir, 'sub', 'scan.json'), 'utf8')).toBe('{"a":1}');
    expect(readdirSync(path.join(dir, 'sub'))).toEqual(['scan.json']);
  });

  it('refuses a name that exists, even as a dangling symbolic link, and leaves what is there', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'scan.json'), 'theirs');
    expect(() => writeNewFileAtomically(path.join(dir, 'scan.json'), 'ours')).toThrow(/scan\.json already exists; choose a new name/);
    expect(readFileSync(path.join(dir, 'scan.json'), 'utf8')).toBe('theirs');
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'link.json'));
    expect(() => writeNewFileAtomically(path.join(dir, 'link.json'), 'ours')).toThrow(/already exists/);
    expect(existsSync(path.join(dir, 'nowhere'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['link.json', 'scan.json']);
  });

  it('removes old leftovers of ours for the same name, and nothing else', () => {
    const dir = tmp();
    const make = (name: string, age: 'old' | 'new') => {
      const f = path.join(dir, name);
      writeFileSync(f, 'x');
      if (age === 'old') utimesSync(f, old(), old());
      return f;
    };
    const ours = make('.scan.json.partial-0123456789abcdef', 'old');
    const legacy = make('scan.json.partial-12345', 'old');
    const fresh = make('.scan.json.partial-fedcba9876543210', 'new');
    const freshLegacy = make('scan.json.partial-777', 'new');
    const notOurs = [make('scan.json.partial-abc', 'old'), make('.scan.json.partial-0123', 'old'), make('.other.json.partial-0123456789abcdef', 'old')];
    const folder = path.join(dir, 'scan.json.partial-999');
    mkdirSync(folder);
    utimesSync(folder, old(), old());
    const link = path.join(dir, '.scan.json.partial-00000000000000aa');
    symlinkSync(notOurs[0], link);
    writeNewFileAtomically(path.join(dir, 'scan.json'), '{}');
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(legacy)).toBe(false);
    for (const kept of [fresh, freshLegacy, ...notOurs, folder, link]) expect(existsSync(kept), kept).toBe(true);
  });
});

describe('StagedFolder', () => {
  it('shows nothing under its name until placed, then exactly the files written', () => {
    const dir = tmp();
    const target = path.join(dir, 'repaired');
    const staged = StagedFolder.open(target);
    staged.write('model.json', '{}');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(staged.path).sort()).toEqual([PARTIAL_MARKER, 'model.json']);
    staged.write('repair-report.json', '{}');
    staged.place();
    expect(readdirSync(target).sort()).toEqual(['model.json', 'repair-report.json']);
    expect(readdirSync(dir)).toEqual(['repaired']);
  });

  it('refuses to place over a folder that filled up meanwhile, and abandons only its own files', () => {
    const dir = tmp();
    const target = path.join(dir, 'repaired');
    const staged = StagedFolder.open(target);
    staged.write('model.json', '{}');
    mkdirSync(target);
    writeFileSync(path.join(target, 'theirs.txt'), 'keep');
    expect(() => staged.place()).toThrow(/already holds files; choose a new folder/);
    writeFileSync(path.join(staged.path, 'intruder.txt'), 'not ours');
    staged.abandon();
    expect(readFileSync(path.join(target, 'theirs.txt'), 'utf8')).toBe('keep');
    expect(readdirSync(staged.path)).toEqual(['intruder.txt']);
  });

  it('refuses names that are not plain file names', () => {
    const staged = StagedFolder.open(path.join(tmp(), 'out'));
    for (const bad of ['../x', 'a/b', PARTIAL_MARKER, '..']) expect(() => staged.write(bad, '')).toThrow(/not a plain file name/);
    staged.abandon();
    expect(existsSync(staged.path)).toBe(false);
  });
});

describe('removeStalePartials', () => {
  it('keeps a folder of ours that lost its marker (it may be placed any moment, or hold what is not ours)', () => {
    const dir = tmp();
    const leftover = path.join(dir, '.m.partial-0123456789abcdef');
    mkdirSync(leftover);
    writeFileSync(path.join(leftover, 'model.json'), '{}');
    utimesSync(path.join(leftover, 'model.json'), old(), old());
    utimesSync(leftover, old(), old());
    expect(removeStalePartials(dir, 'm')).toEqual([]);
    writeFileSync(path.join(leftover, PARTIAL_MARKER), '');
    utimesSync(path.join(leftover, PARTIAL_MARKER), old(), old());
    utimesSync(leftover, old(), old());
    expect(removeStalePartials(dir, 'm')).toEqual([leftover]);
  });
});
