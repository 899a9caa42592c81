// The layer rule of the architecture is enforced by the linter, and the tree obeys it.
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

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
  });

  it('allows the imports each layer is meant to make', async () => {
    expect(await lintAs('src-main/worker/x.ts', "import '../engine/jobs.js';\nimport '../contract/jobs.js';\n")).toEqual([]);
    expect(await lintAs('src-renderer/lib/x.ts', "import '../../src-main/contract/jobs.js';\n")).toEqual([]);
  });

  it('holds for every source file in the tree', async () => {
    const results = await eslint.lintFiles(['src-main/**/*.ts', 'src-renderer/**/*.ts']);
    const layering = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(layering).toEqual([]);
  }, 120_000);
});
