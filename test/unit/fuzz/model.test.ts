// Fuzzing the readers of model folders: the topology and weight-manifest checks that run before
// tfjs builds anything (sizeTopology, planManifest), loadModel on a whole folder (model.json
// edited field by field or broken as text, weights.bin mutated), and the fingerprints the engine
// and the host compute from a folder. Seeds are models the engine itself saved: a Sequential MLP,
// a Sequential CNN and a functional model with Add and Concatenate. Limits are set small so a
// model.json declaring too much is refused before anything is built.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { buildArchitecture } from '../../../src-main/engine/model/architectures.js';
import { fingerprintModelDir, loadModel, modelFiles, type LoadedModel } from '../../../src-main/engine/model/io.js';
import { planManifest, sizeTopology, type TopologySize } from '../../../src-main/engine/model/topology.js';
import { limits, resetLimits, setLimits } from '../../../src-main/engine/limits.js';
import { modelFingerprint } from '../../../src-main/project/fingerprint.js';
import { editJson, fuzz, jsonEditArb, mutatedBytes, mutatedJsonText, type JsonEdit } from './harness.js';

let root: string;
interface Seed { json: Record<string, unknown>; weights: Uint8Array }
let seeds: Seed[] = [];

const FUZZ_LIMITS = { modelParameters: 500_000, layerUnits: 100_000, layers: 40, classes: 50, modelJsonBytes: 1 << 20, fileBytes: 4 << 20, files: 20 };

async function seedOf(model: tfl.LayersModel): Promise<Seed> {
  const files = await modelFiles(model, { classNames: ['a', 'b', 'c'] });
  model.dispose();
  return { json: JSON.parse(files['model.json'] as string), weights: files['weights.bin'] as Uint8Array };
}

function functionalModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [6] });
  const a = tfl.layers.dense({ units: 4, activation: 'relu', name: 'a' }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 4, name: 'b' }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'cat' }).apply([sum, a]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(cat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

beforeAll(async () => {
  await initBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'clear-fuzz-model-'));
  seeds = [
    await seedOf(buildArchitecture('mlp', { inputShape: [4, 4, 1], numClasses: 3, seed: 1 })),
    await seedOf(buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 3, seed: 2 })),
    await seedOf(functionalModel()),
  ];
  setLimits(FUZZ_LIMITS);
});
afterAll(() => {
  resetLimits();
  rmSync(root, { recursive: true, force: true });
});

/** A model.json as the fuzz writes it: a seed's document with field edits, or its text mutated. */
interface FolderInput { seed: number; json: { edits: JsonEdit[] } | { text: string | Uint8Array }; weights: Uint8Array | undefined; extraPath: string | undefined }

function folderInput(): fc.Arbitrary<FolderInput> {
  return fc.record({
    seed: fc.nat({ max: seeds.length - 1 }),
    json: fc.oneof(
      { weight: 5, arbitrary: fc.record({ edits: fc.array(jsonEditArb, { maxLength: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ text: mutatedJsonText(seeds.map((s) => s.json)) }) },
    ),
    weights: fc.option(mutatedBytes(seeds.map((s) => s.weights), 3), { nil: undefined, freq: 2 }),
    // A weight path that leaves the folder, is absent, or names model.json or the folder itself.
    extraPath: fc.option(fc.constantFrom('../weights.bin', '/etc/hostname', 'missing.bin', 'model.json', '.', 'sub/../weights.bin', 'weights.bin\u0000x', ''), { nil: undefined, freq: 6 }),
  });
}

function writeFolder(dir: string, input: FolderInput): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const seed = seeds[input.seed];
  let text: string | Uint8Array;
  if ('edits' in input.json) {
    const json = editJson(seed.json, input.json.edits) as { weightsManifest?: { paths?: unknown[] }[] };
    if (input.extraPath !== undefined && Array.isArray(json?.weightsManifest) && Array.isArray(json.weightsManifest[0]?.paths)) json.weightsManifest[0].paths.push(input.extraPath);
    text = JSON.stringify(json);
  } else {
    text = input.json.text;
  }
  writeFileSync(path.join(dir, 'model.json'), text);
  writeFileSync(path.join(dir, 'weights.bin'), input.weights ?? seed.weights);
}

const folderBytes = (input: FolderInput) => ('edits' in input.json ? JSON.stringify(editJson(seeds[input.seed].json, input.json.edits)) : input.json.text);

describe('fuzz: model files', () => {
  it('topology: sizeTopology and planManifest on edited model.json documents', async () => {
    await fuzz({
      name: 'topology',
      numRuns: 2000,
      arbitrary: fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(jsonEditArb, { minLength: 1, maxLength: 4 })),
      run: ([k, edits]) => {
        const json = editJson(seeds[k].json, edits) as { modelTopology?: unknown; weightsManifest?: unknown };
        return { size: sizeTopology(json?.modelTopology, 'model.json'), plan: planManifest(json?.weightsManifest, 'model.json') };
      },
      check: (r) => {
        const { size, plan } = r as { size: TopologySize; plan: ReturnType<typeof planManifest> };
        const L = limits();
        if (size.layers > L.layers || size.parameters > L.modelParameters || plan.values > L.modelParameters) throw new Error('a topology above the limits was accepted');
        if (!Number.isSafeInteger(plan.bytes) || plan.bytes < 0) throw new Error(`the manifest was sized at ${plan.bytes} bytes`);
      },
      names: () => 'model.json',
      toBytes: ([k, edits]) => JSON.stringify(editJson(seeds[k].json, edits)),
    });
  });

  it('model: loadModel on a model folder with an edited or broken model.json and mutated weights', async () => {
    const dir = path.join(root, 'load', 'model');
    await fuzz({
      name: 'model',
      arbitrary: folderInput(),
      run: async (input) => {
        writeFolder(dir, input);
        const loaded = await loadModel(dir);
        const summary = { params: loaded.model.countParams(), classes: loaded.numClasses, input: loaded.inputShape, fingerprint: loaded.fingerprint };
        loaded.model.dispose();
        return summary;
      },
      check: (r) => {
        const s = r as Pick<LoadedModel, 'fingerprint'> & { params: number; classes: number; input: number[] };
        const L = limits();
        if (s.params > L.modelParameters) throw new Error(`a model of ${s.params} parameters was built`);
        if (!(s.classes >= 1 && s.classes <= L.classes)) throw new Error(`a model of ${s.classes} classes was built`);
        if (!s.input.every((d) => Number.isSafeInteger(d) && d > 0)) throw new Error(`a model with the input shape ${s.input.join('×')} was built`);
        if (!/^[0-9a-f]{64}$/.test(s.fingerprint)) throw new Error('a model without a fingerprint was loaded');
      },
      names: () => dir,
      toBytes: folderBytes,
    });
  });

  it('fingerprint: the engine\'s and the host\'s fingerprint of a model folder agree or refuse', async () => {
    const dir = path.join(root, 'fingerprint', 'model');
    await fuzz({
      name: 'model-fingerprint',
      arbitrary: folderInput(),
      run: async (input) => {
        writeFolder(dir, input);
        // The host's answer: a fingerprint, null (no readable model.json), or a ProjectError.
        const host = await modelFingerprint(dir).then((f) => ({ f }), (e: unknown) => ({ e }));
        if ('e' in host) throw host.e;
        const engine = fingerprintModelDir(dir);
        if (host.f !== null && host.f !== engine) throw new Error(`the host's fingerprint ${host.f} differs from the engine's ${engine}`);
        return engine;
      },
      names: () => dir,
      toBytes: folderBytes,
    });
  });
});
