// The layer rule of the architecture is enforced by the linter, and the tree obeys it, also
// through chains of imports (a renderer file never reaches the engine through another module).
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const eslint = new ESLint({ cwd: process.cwd() });

async function lintAs(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rule', () => {
  it('refuses imports that go up a layer, saying what is allowed', async () => {
    expect(await lintAs('src-main/engine/clear/x.ts', "import '../../app/main.js';\n")).toEqual([expect.stringMatching(/Bad layering\. Allowed from here: engine modules/)]);
    expect(await lintAs('src-main/engine/x.ts', "import 'electron';\n")).toHaveLength(1);
    expect(await lintAs('src-main/cli/x.ts', "import '@tensorflow/tfjs-core';\n")).toEqual([expect.stringMatching(/tfjs runs only in the engine worker/)]);
    expect(await lintAs('src-renderer/lib/x.ts', "import '../../src-main/engine/jobs/clear.js';\n")).toHaveLength(1);
    expect(await lintAs('src-renderer/lib/x.ts', "import 'node:fs';\n")).toHaveLength(1);
    expect(await lintAs('src-main/contract/x.ts', "import '../engine/jobs.js';\n")).toHaveLength(1);
    expect(await lintAs('src-renderer/steps/X.svelte', '<script lang="ts">\n  import "../../src-main/engine/jobs/clear.js";\n</script>\n')).toHaveLength(1);
    expect(await lintAs('src-main/app/x.ts', "import '../serve/server.js';\n")).toHaveLength(1);
    expect(await lintAs('src-main/host/x.ts', "import '../engine/jobs/clear.js';\n")).toHaveLength(1);
  });

  it('allows the imports each layer is meant to make', async () => {
    expect(await lintAs('src-main/worker/x.ts', "import '../engine/jobs.js';\nimport '../contract/jobs.js';\n")).toEqual([]);
    expect(await lintAs('src-renderer/lib/x.ts', "import '../../src-main/contract/jobs.js';\n")).toEqual([]);
  });

  it('holds for every source file in the tree', async () => {
    const results = await eslint.lintFiles(['src-main/**/*.ts', 'src-renderer/**/*.ts', 'src-renderer/**/*.svelte']);
    const layering = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(layering).toEqual([]);
  }, 120_000);
});

/** Relative imports of every .ts and .svelte file under src-main and src-renderer, resolved to files. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|svelte)$/.test(e.name)) files.push(p);
    }
  };
  walk('src-main'); walk('src-renderer');
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const spec = m[1] ?? m[2];
      const base = path.join(path.dirname(f), spec);
      const candidate = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`].find((c) => existsSync(c) && !c.endsWith('.js'));
      if (candidate) targets.push(path.normalize(candidate));
    }
    graph.set(path.normalize(f), targets);
  }
  return graph;
}

/** The first chain of imports from `start` to a file matching `forbidden`, or null. */
function reach(graph: Map<string, string[]>, start: string, forbidden: RegExp): string[] | null {
  const seen = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const f = queue.shift()!;
    if (forbidden.test(f) && f !== start) {
      const chain = [f];
      for (let p = seen.get(f); p; p = seen.get(p)) chain.unshift(p);
      return chain;
    }
    for (const t of graph.get(f) ?? []) if (!seen.has(t)) { seen.set(t, f); queue.push(t); }
  }
  return null;
}

describe('layer rule through chains of imports', () => {
  const graph = importGraph();
  const rules: [RegExp, RegExp, string][] = [
    [/^src-renderer\//, /^src-main\/(engine|app|serve|cli|worker|host|project|files)\//, 'the renderer reaches only the contract'],
    [/^src-main\/files\//, /^src-main\/(?!files\/)/, 'the shared file-safety code imports nothing of the product'],
    [/^src-main\/(app|serve|cli|host|project|preload)\//, /^src-main\/engine\//, 'tfjs and the engine run only in the worker'],
    [/^src-main\/contract\//, /^src-main\/(?!contract\/)/, 'the contract imports nothing of the product but itself'],
    [/^src-main\/engine\//, /^src-main\/(app|serve|cli|worker|host|project|preload)\//, 'the engine imports nothing above it'],
  ];
  for (const [from, forbidden, why] of rules) {
    it(`${why}`, () => {
      const starts = [...graph.keys()].filter((f) => from.test(f));
      expect(starts.length).toBeGreaterThan(0);
      const chains = starts.map((f) => reach(graph, f, forbidden)).filter((c): c is string[] => c !== null).map((c) => c.join(' → '));
      expect(chains).toEqual([]);
    });
  }

  it('finds a chain when there is one (the check itself works)', () => {
    const g = new Map([['src-renderer/a.ts', ['src-main/contract/b.ts']], ['src-main/contract/b.ts', ['src-main/engine/c.ts']], ['src-main/engine/c.ts', []]]);
    expect(reach(g, 'src-renderer/a.ts', /^src-main\/engine\//)).toEqual(['src-renderer/a.ts', 'src-main/contract/b.ts', 'src-main/engine/c.ts']);
  });
});

describe('ARCHITECTURE.md', () => {
  it('names every source folder, and only folders that exist', () => {
    const doc = readFileSync('ARCHITECTURE.md', 'utf8');
    const top = readdirSync('src-main', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `src-main/${e.name}/`);
    const engine = readdirSync('src-main/engine', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${e.name}/`);
    for (const f of top) expect(doc, `${f} is described`).toContain(`\`${f}\``);
    for (const f of engine) expect(doc, `engine/${f} is described`).toContain(`\`${f}\``);
    const named = [...doc.matchAll(/`(src-main\/[a-z-]+\/)`/g)].map((m) => m[1]);
    for (const f of named) expect(existsSync(f), `${f} exists`).toBe(true);
    for (const m of doc.matchAll(/`((?:host|app|serve|cli|worker|engine\/[a-z]+)\/[a-z-]+\.ts)`/g)) {
      expect(existsSync(path.join('src-main', m[1])), `src-main/${m[1]} exists`).toBe(true);
    }
  });
});
