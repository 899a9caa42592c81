// Fuzzing what is read as evidence: scan JSON files as the repair job reads them (readScanFile,
// then assertScanFitsData against the dataset it would change), scan and repair results given
// as values (a job argument carried over IPC with structured cloning, so bigints, cycles and
// objects without a prototype can arrive), repair reports read from files, and project.json as
// the host opens it (ProjectStore.open, which also fingerprints the models it records) with the
// recent-projects list.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { assertScanFitsData, parseRepair, parseScan, readRepairFile, readScanFile } from '../../../src-main/engine/clear/evidence.js';
import type { Dataset } from '../../../src-main/engine/data/dataset.js';
import type { RepairResult, ScanResult } from '../../../src-main/engine/clear/types.js';
import { ProjectStore } from '../../../src-main/project/store.js';
import { RecentProjects } from '../../../src-main/project/recent.js';
import { handMadeRepair, handMadeScan } from '../../e2e/fixtures.js';
import { editJson, fuzz, jsonEditArb, mutatedJsonText, type JsonEdit } from './harness.js';

let root: string;
beforeAll(() => { root = mkdtempSync(path.join(os.tmpdir(), 'clear-fuzz-evidence-')); });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TRAIN = 600;
const scan = handMadeScan({
  dataset: { spec: 'idx:train-images,train-labels', fingerprint: 'f'.repeat(64), trainCount: TRAIN },
  model: { dir: '/models/m', fingerprint: 'e'.repeat(64) },
  members: [1, 2, 3], attackerClass: 7, enclosingClass: 1,
});
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const scanSeeds = [viaJson(scan), viaJson({ ...scan, pockets: [], verdict: { ...scan.verdict, suspected: false } })];
const repairSeed = viaJson(handMadeRepair(scan, '/models/r'));

/** The dataset a repair would change: ten classes, members of the seed's pocket labelled with its attacker class. */
const dataset: Dataset = (() => {
  const labels = Int32Array.from({ length: TRAIN }, (_, i) => i % 10);
  for (const p of scan.pockets) for (const m of p.members) labels[m] = p.attackerClass;
  const split = { images: new Float32Array(TRAIN), labels, count: TRAIN };
  return { spec: 'idx:train-images,train-labels', name: 'fuzz', shape: [1, 1, 1], classNames: Array.from({ length: 10 }, (_, i) => String(i)), train: split, test: { images: new Float32Array(0), labels: new Int32Array(0), count: 0 }, fingerprint: 'f'.repeat(64) };
})();

/** After an accepted repair check, every index the scan gives lies in the dataset and every class is one of its classes. */
function checkFits(result: unknown): void {
  const s = result as ScanResult;
  for (const p of s.pockets) {
    for (const i of [...p.members, ...p.shell, ...p.contaminants]) if (!(Number.isInteger(i) && i >= 0 && i < TRAIN)) throw new Error(`an accepted scan lists sample ${i}`);
    for (const c of [p.attackerClass, p.enclosingClass]) if (!(c >= 0 && c < 10)) throw new Error(`an accepted scan lists class ${c}`);
  }
}

/** What structured cloning can carry and JSON cannot: put at a field of an edited document. */
type Exotic = { pick: number; kind: 'bigint' | 'cycle' | 'nullproto' | 'undefined' | 'nan' | 'infinity' | 'date' | 'map' };
const exoticArb: fc.Arbitrary<Exotic> = fc.record({ pick: fc.nat(), kind: fc.constantFrom('bigint', 'cycle', 'nullproto', 'undefined', 'nan', 'infinity', 'date', 'map') });

function withExotic(doc: unknown, edits: JsonEdit[], exotic: Exotic | undefined): unknown {
  const copy = editJson(doc, edits);
  if (!exotic || copy === null || typeof copy !== 'object') return copy;
  const holders: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (v !== null && typeof v === 'object') { holders.push(v as Record<string, unknown>); for (const x of Object.values(v)) walk(x); }
  };
  walk(copy);
  const holder = holders[exotic.pick % holders.length];
  const keys = Object.keys(holder);
  const key = keys.length > 0 ? keys[exotic.pick % keys.length] : 'x';
  const values: Record<Exotic['kind'], () => unknown> = {
    bigint: () => 10n ** 30n, cycle: () => holder, nullproto: () => Object.create(null), undefined: () => undefined,
    nan: () => Number.NaN, infinity: () => Number.POSITIVE_INFINITY, date: () => new Date(0), map: () => new Map([[1, 2]]),
  };
  holder[key] = values[exotic.kind]();
  return copy;
}

describe('fuzz: evidence', () => {
  it('scan: a scan file read and checked as the repair job does', async () => {
    const dir = path.join(root, 'scan');
    mkdirSync(dir);
    const file = path.join(dir, 'scan.json');
    await fuzz({
      name: 'scan',
      arbitrary: mutatedJsonText(scanSeeds),
      run: (text) => {
        writeFileSync(file, text);
        const read = readScanFile(file);
        assertScanFitsData(read, dataset, `The scan ${file}`);
        return read;
      },
      check: checkFits,
      names: () => file,
      toBytes: (text) => text,
    });
  });

  it('scan-value: a scan given as a value, with what structured cloning can carry', async () => {
    await fuzz({
      name: 'scan-value',
      arbitrary: fc.tuple(fc.nat({ max: scanSeeds.length - 1 }), fc.array(jsonEditArb, { maxLength: 3 }), fc.option(exoticArb, { nil: undefined })),
      run: ([k, edits, exotic]) => {
        const read = parseScan(withExotic(scanSeeds[k], edits, exotic), 'The scan given');
        assertScanFitsData(read, dataset, 'The scan given');
        return read;
      },
      check: checkFits,
      names: () => 'The scan given',
      toBytes: ([k, edits, exotic]) => JSON.stringify({ seed: k, edits, exotic }),
    });
  });

  it('repair: repair reports read from files and given as values', async () => {
    const dir = path.join(root, 'repair');
    mkdirSync(dir);
    const file = path.join(dir, 'repair-report.json');
    await fuzz({
      name: 'repair',
      arbitrary: fc.oneof(
        mutatedJsonText([repairSeed]).map((text) => ({ text })),
        fc.tuple(fc.array(jsonEditArb, { maxLength: 3 }), fc.option(exoticArb, { nil: undefined })).map(([edits, exotic]) => ({ value: withExotic(repairSeed, edits, exotic) })),
      ),
      run: (input) => {
        if ('text' in input) { writeFileSync(file, input.text); return readRepairFile(file); }
        return parseRepair(input.value, 'The repair report given');
      },
      check: (r) => { for (const x of (r as RepairResult).relabelled) if (!(Number.isInteger(x.index) && x.index >= 0)) throw new Error(`an accepted report relabels ${x.index}`); },
      names: (input) => ('text' in input ? file : 'The repair report given'),
      toBytes: (input) => ('text' in input ? input.text : JSON.stringify(input.value, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
    });
  });
});

describe('fuzz: project files', () => {
  const project = {
    schema: 'clear-project/1', name: 'fuzz', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', step: 'repair',
    settings: { train: { arch: 'mlp', epochs: 2 }, scan: { falseAlarm: 0.05 }, repair: { seed: 1 } },
    dataset: { spec: 'idx:data/a,data/b', name: 'a', fingerprint: 'f'.repeat(64), classNames: ['0', '1'], trainCount: 600, testCount: 100 },
    attack: null,
    model: { dir: 'models/model-1', fingerprint: 'e'.repeat(64), origin: 'trained', architecture: 'mlp' },
    training: { arch: 'mlp', accuracy: 0.9, samplesPerSecond: 1000, trainSeconds: 2, backend: 'cpu', history: [{ epoch: 1, loss: 0.5, accuracy: 0.8 }] },
    scan: { file: 'scans/scan-1.json', result: viaJson(scan) },
    repair: { model: { dir: 'models/repaired-1', fingerprint: 'b'.repeat(64), origin: 'repaired' }, result: repairSeed },
    exports: [{ at: 'now', dir: '/tmp/export', files: ['model.json'] }],
  };

  it('project: project.json opened by the host', async () => {
    const dir = path.join(root, 'project');
    mkdirSync(path.join(dir, 'models', 'model-1'), { recursive: true });
    // A model folder the project records, whose model.json the host fingerprints on opening.
    writeFileSync(path.join(dir, 'models', 'model-1', 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }));
    writeFileSync(path.join(dir, 'models', 'model-1', 'weights.bin'), new Uint8Array(8));
    const store = new ProjectStore();
    await fuzz({
      name: 'project',
      arbitrary: mutatedJsonText([project, { schema: 'clear-project/1', name: 'p', createdAt: 'now', updatedAt: 'now' }]),
      run: (text) => {
        writeFileSync(path.join(dir, 'project.json'), text);
        return store.open(dir);
      },
      check: (r) => {
        const opened = r as Awaited<ReturnType<ProjectStore['open']>>;
        if (opened.project.schema !== 'clear-project/1') throw new Error('a project of another schema was opened');
        for (const w of opened.warnings) if (!/[.]$/.test(w) || /\n/.test(w)) throw new Error(`a warning that is not one sentence: ${w}`);
      },
      names: () => dir,
      toBytes: (text) => text,
    });
  });

  it('recent: the recent-projects list never stops the app', async () => {
    const file = path.join(root, 'recent.json');
    const recent = new RecentProjects(file);
    await fuzz({
      name: 'recent',
      arbitrary: mutatedJsonText([[{ dir: root, name: 'p', openedAt: 'now' }, { dir: '/nowhere', name: 'q', openedAt: 'then' }]]),
      run: (text) => { writeFileSync(file, text); return recent.list(); },
      check: (r) => { if (!Array.isArray(r)) throw new Error('the list is not a list'); },
      toBytes: (text) => text,
    });
  });
});
