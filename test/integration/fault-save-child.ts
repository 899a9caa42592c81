/**
 * A process that does one save with the engine's own writers, for test/integration/faults.test.ts
 * to kill with SIGKILL at a random moment of it:
 *
 *   node fault-save-child.js model|dataset|json OUT
 *
 * model: an untrained cnn for the built-in digits (saveModel: a staged folder renamed into place);
 * dataset: 3,000 built-in digits as a dir: folder (saveDatasetDir: a staged folder);
 * json: a scan-sized JSON file (writeJsonFile: a hidden sibling hard-linked to its name).
 * Everything is prepared first; the line "saving" is written just before the save starts and
 * "saved MS" after it, so the parent can aim its kill at the save itself.
 */
import { writeSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { saveDatasetDir } from '../../src-main/engine/data/save.js';
import { writeJsonFile } from '../../src-main/engine/jobs/clear.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { saveModel } from '../../src-main/engine/model/io.js';

/** The JSON the json kind writes: rows the parent can check one by one, so a cut file shows. */
function jsonValue(): unknown {
  return { schema: 'fault-test/1', rows: Array.from({ length: 40_000 }, (_, i) => ({ index: i, value: (i * 7919) % 10007 })) };
}

const say = (line: string) => writeSync(1, `${line}\n`);

async function main(kind: string, out: string): Promise<void> {
  let save: () => Promise<unknown>;
  if (kind === 'model') {
    await initBackend('cpu');
    const model = buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    save = () => saveModel(model, out, { classNames: Array.from({ length: 10 }, (_, i) => String(i)) });
  } else if (kind === 'dataset') {
    const ds = await loadDataset('mnist', { limit: 3000 });
    save = () => saveDatasetDir(ds, out);
  } else if (kind === 'json') {
    const value = jsonValue();
    save = async () => writeJsonFile(out, value);
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  say('saving');
  const t0 = performance.now();
  await save();
  say(`saved ${Math.round(performance.now() - t0)}`);
}

main(process.argv[2] ?? '', process.argv[3] ?? '').then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
