// On real data (a seeded 2,000-digit MNIST subset, real training, wasm): `clearwb scan` exits
// 0 when it finds nothing, 3 when it suspects a backdoor and 4 when it finds a poisoning attempt
// the model did not learn, so it can gate a pipeline; its table says how much of it is shown,
// explains its columns and writes p-values as people read them; colour only on a terminal
// without NO_COLOR; `info` aligns long layer names; and `train --from --freeze-features`
// trains a fresh last layer on a saved model's frozen feature extractor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend/index.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { ANSI, clearwb, clearwbOnTerminal, hasScript } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'clearwb-verdicts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const subset = ['--limit', '2000'];
const poisoned = path.join(dir, 'poisoned');
const cleanModel = path.join(dir, 'clean-model');
const victim = path.join(dir, 'victim');

function ok(args: string[]) {
  const r = clearwb(args);
  expect(r.code, `clearwb ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

beforeAll(() => {
  // 40 label-flip copies of test digit 0 (a "1") labelled "7", added to 2,000 training digits.
  ok(['attack', '--data', 'mnist', ...subset, '--attack', 'label-flip', '--target', '0', '--attacker-class', '7', '--poisons', '40', '--out', poisoned, '--quiet']);
  ok(['train', '--data', 'mnist', ...subset, '--arch', 'mlp', '--epochs', '5', '--out', cleanModel, '--quiet']);
  ok(['train', '--data', `dir:${poisoned}`, '--arch', 'mlp', '--epochs', '5', '--out', victim, '--quiet']);
}, 300_000);

describe('scan exit statuses', () => {
  it('exits 0 on a clean model, with a table that says what it shows and what its columns mean', () => {
    const scanFile = path.join(dir, 'clean-scan.json');
    const r = clearwb(['scan', '--model', cleanModel, '--data', 'mnist', ...subset, '--out', scanFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^No backdoor found/);
    const scan = JSON.parse(readFileSync(scanFile, 'utf8')) as { pockets: unknown[]; verdict: { suspected: boolean; attempt: boolean } };
    expect(scan.verdict).toMatchObject({ suspected: false, attempt: false });
    expect(scan.pockets.length).toBeGreaterThan(5);
    expect(r.stdout).toContain(`Top 5 of ${scan.pockets.length} candidate groups (--json or ${scanFile} for all)`);
    // The timing line ends with the scan's memory peak, as the scan file records it.
    const peak = (scan as unknown as { timings: { peakRssMiB: number } }).timings.peakRssMiB;
    expect(r.stdout).toMatch(new RegExp(`^Scan took .*; backend \\w+; peak memory ${Math.round(peak)} MiB\\)\\.$`, 'm'));
    const rows = r.stdout.split('\n').filter((l) => /^ {2}\d+ +"/.test(l));
    expect(rows).toHaveLength(5);
    expect(r.stdout).toMatch(/^Columns: "A" inside "B" = .*members = .*score = .*p-value = .*attempt p = .*shell = .*learnt = /m);
    // p-values as formatPValue writes them: "0.123" or "< 0.001", never "1.0e+0".
    for (const row of rows) {
      const cells = row.trim().split(/ {2,}/);
      expect(cells[4]).toMatch(/^(0\.\d{3}|1\.000|< 0\.001)$/);
      expect(cells[5]).toMatch(/^(0\.\d{3}|1\.000|< 0\.001)$/);
    }
    expect(r.stdout).not.toMatch(/\de[+-]\d/);
    // Columns line up: every row's "members" ends where the header's does.
    const header = r.stdout.split('\n').find((l) => l.includes('members'))!;
    const end = header.indexOf('members') + 'members'.length;
    for (const row of rows) expect(row.slice(0, end)).toMatch(/\d$/);
  });

  it('exits 3 when it suspects a backdoor, with --json as without', () => {
    const r = clearwb(['scan', '--model', victim, '--data', `dir:${poisoned}`, '--json']);
    expect(r.code, r.stderr).toBe(3);
    const scan = JSON.parse(r.stdout) as { verdict: { suspected: boolean }; pockets: { confirmed: boolean; attackerClass: number; enclosingClass: number }[] };
    expect(scan.verdict.suspected).toBe(true);
    expect(scan.pockets.find((p) => p.confirmed)).toMatchObject({ attackerClass: 7, enclosingClass: 1 });
  });

  it('exits 4 when the data holds a poisoning attempt the model did not learn', () => {
    // The clean model never saw the copies: scanned with the poisoned data, they are an attempt.
    const r = clearwb(['scan', '--model', cleanModel, '--data', `dir:${poisoned}`]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/^Poisoning attempt found/);
    expect(r.stdout).toMatch(/^ {2}\d+ +"7" inside "1" .*ATTEMPT$/m);
  });

  it.runIf(hasScript)('colours the verdict on a terminal, and not at all with NO_COLOR, keeping the exit status', () => {
    const coloured = clearwbOnTerminal(['scan', '--model', victim, '--data', `dir:${poisoned}`]);
    expect(coloured.code).toBe(3);
    expect(coloured.output).toMatch(/\u001b\[31mBackdoor suspected/);
    const plain = clearwbOnTerminal(['scan', '--model', victim, '--data', `dir:${poisoned}`], { NO_COLOR: '1' });
    expect(plain.code).toBe(3);
    expect(plain.output).toMatch(/Backdoor suspected/);
    expect(plain.output).not.toMatch(ANSI);
  });
});

describe('info', () => {
  it('sizes its columns to the longest layer name', () => {
    // The same model with a hidden layer renamed to a long name (topology and weight names alike).
    const renamed = path.join(dir, 'long-names');
    cpSync(cleanModel, renamed, { recursive: true });
    const file = path.join(renamed, 'model.json');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('dense_1', 'a_hidden_layer_with_a_rather_long_name'));
    const r = clearwb(['info', '--model', renamed]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.find((l) => /\blayer +type +output shape +parameters$/.test(l))!;
    expect(header).toBeDefined();
    const rows = lines.slice(lines.indexOf(header) + 1).filter((l) => /^ {2}[ *] \S/.test(l));
    expect(rows.map((l) => l.slice(4).split(/ +/)[0])).toEqual(['flatten_Flatten1', 'a_hidden_layer_with_a_rather_long_name', 'features', 'logits']);
    for (const row of rows) {
      expect(/^ {2}[ *] \S+ +/.exec(row)![0].length, row).toBe(header.indexOf('type'));
      expect(row.length, row).toBe(header.length);
    }
  });
});

describe('train --from MODEL --freeze-features', () => {
  beforeAll(async () => { await initBackend('cpu'); });

  it('refuses --freeze-features without --from, and --arch with --from, before any job', () => {
    const alone = clearwb(['train', '--data', 'mnist', '--freeze-features', '--out', path.join(dir, 'x')]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/^Error: --freeze-features .*--from MODEL_DIR\.$/m);
    const both = clearwb(['train', '--data', 'mnist', '--from', cleanModel, '--arch', 'cnn', '--out', path.join(dir, 'x')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^Error: --arch and --from do not go together/m);
  });

  it('trains a fresh last layer and leaves the feature extractor exactly as it was', async () => {
    const head = path.join(dir, 'transfer-head');
    const r = clearwb(['train', '--from', cleanModel, '--freeze-features', '--data', 'mnist', '--limit', '1000', '--data-seed', '1', '--epochs', '5', '--out', head, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.from).toMatchObject({ model: cleanModel, featureLayer: 'features', featuresFrozen: true });
    expect(result.epochs).toHaveLength(5);
    expect(result.accuracy).toBeGreaterThan(0.8);

    const [before, after] = [await loadModel(cleanModel), await loadModel(head)];
    try {
      expect(after.metadata).toMatchObject({ featureLayer: 'features', architecture: 'mlp' });
      const weights = (m: typeof before, layer: string) => m.model.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));
      for (const layer of ['dense_1', 'features']) expect(weights(after, layer), layer).toEqual(weights(before, layer));
      expect(weights(after, 'logits')).not.toEqual(weights(before, 'logits'));
      // Saved as an ordinary model: nothing stays frozen for whoever trains it next.
      expect(after.model.layers.every((l) => l.trainable)).toBe(true);
    } finally {
      before.model.dispose(); after.model.dispose();
    }
  });

  it('without --freeze-features fine-tunes every layer from the saved weights', async () => {
    const tuned = path.join(dir, 'fine-tuned');
    const r = clearwb(['train', '--from', cleanModel, '--data', 'mnist', '--limit', '500', '--data-seed', '2', '--epochs', '1', '--out', tuned, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).from).toMatchObject({ featuresFrozen: false });
    const [before, after] = [await loadModel(cleanModel), await loadModel(tuned)];
    try {
      const kernel = (m: typeof before) => Array.from(m.model.getLayer('dense_1').getWeights()[0].dataSync());
      expect(kernel(after)).not.toEqual(kernel(before));
    } finally {
      before.model.dispose(); after.model.dispose();
    }
  });
});
