/** Where the main process finds its pieces, and the --project argument. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPaths, startupProjectArg } from '../../../src-main/app/paths.js';

describe('appPaths', () => {
  it('puts the worker, preload and renderer side by side in one folder, and the icon in assets/icons beside it', () => {
    const dir = path.dirname(appPaths.worker);
    expect(path.isAbsolute(dir)).toBe(true);
    expect(appPaths).toEqual({
      worker: path.join(dir, 'worker.js'), preload: path.join(dir, 'preload.cjs'), renderer: path.join(dir, 'renderer'),
      icon: path.join(dir, '..', 'assets', 'icons', '512x512.png'),
    });
  });
});

describe('startupProjectArg', () => {
  it.each([
    [['electron', '.', '--project', '/data/p1'], path.resolve('/data/p1')],
    [['electron', '.', '--project=/data/p2'], path.resolve('/data/p2')],
    [['electron', '.', '--project=rel/p3'], path.resolve('rel/p3')],
    [['electron', '.', '--project', 'a=b'], path.resolve('a=b')],
    [['electron', '.', '--project=a=b'], path.resolve('a=b')],
  ])('reads %j as %s', (argv, expected) => {
    expect(startupProjectArg(argv)).toBe(expected);
  });

  it.each([
    [['electron', '.']],
    [['electron', '.', '--project']],
    [['electron', '.', '--project=']],
    [['electron', '.', '--projects', '/x']],
  ])('gives nothing for %j', (argv) => {
    expect(startupProjectArg(argv)).toBeUndefined();
  });
});
