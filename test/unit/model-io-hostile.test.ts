// Issue: hostile files. Model folders from an attacker: model.json names its weight files, and
// every name must stay inside the folder and be a regular file of exactly the declared size;
// the topology is sized against the limits before tfjs allocates anything; saving is atomic and
// never deletes a user's folder. Each case starts from a genuine model saved by the engine.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { buildArchitecture } from '../../src-main/engine/model/architectures.js';
import { fingerprintModelDir, loadModel, saveModel, writeFolderAtomically } from '../../src-main/engine/model/io.js';
import { PARTIAL_MARKER, STALE_PARTIAL_MS, removeStalePartials } from '../../src-main/engine/model/files.js';
import { sizeTopology } from '../../src-main/engine/model/topology.js';
import { UserError } from '../../src-main/engine/errors.js';
import { DEFAULT_LIMITS, resetLimits, setLimits } from '../../src-main/engine/limits.js';

let root: string;
let base: string;
let count = 0;

beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(path.join(os.tmpdir(), 'clear-model-hostile-'));
  base = path.join(root, 'base');
  const model = buildArchitecture('mlp', { inputShape: [8, 8, 1], numClasses: 3, seed: 1 });
  await saveModel(model, base, { classNames: ['a', 'b', 'c'] });
  model.dispose();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => resetLimits());

/** A fresh copy of the genuine model in its own folder (inside `root`), and its parsed model.json. */
function copyModel(): { dir: string; json: any } {
  const dir = path.join(root, `m${count++}`, 'model');
  mkdirSync(path.dirname(dir));
  cpSync(base, dir, { recursive: true });
  return { dir, json: JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) };
}

function writeJson(dir: string, json: unknown): void {
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
}

function setWeightPath(dir: string, json: any, p: string): void {
  json.weightsManifest[0].paths = [p];
  writeJson(dir, json);
}

/** Runs `load`, expects a UserError within `seconds`, and returns its message. */
async function refusal(load: () => unknown, seconds = 3): Promise<string> {
  const start = performance.now();
  let caught: unknown;
  try { await load(); } catch (err) { caught = err; }
  const elapsed = (performance.now() - start) / 1000;
  expect(caught, 'the load should have been refused').toBeInstanceOf(UserError);
  expect(elapsed).toBeLessThan(seconds);
  const message = (caught as Error).message;
  expect(message.split(/\.\s/).length, `one sentence: ${message}`).toBe(1);
  return message;
}

const hasMkfifo = (() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-mkfifo-probe-'));
  try { return spawnSync('mkfifo', [path.join(dir, 'p')]).status === 0; } catch { return false; } finally { rmSync(dir, { recursive: true, force: true }); }
})();

/**
 * Opens the FIFO for writing after `ms` from another process: if the loader ever blocked on
 * the FIFO, this unblocks it (so the test fails on its timing and message instead of hanging).
 */
function fifoWatchdog(fifo: string, ms: number) {
  const child = spawn(process.execPath, ['-e', `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(fifo)}, 'x'), ${ms})`], { stdio: 'ignore' });
  return () => { child.kill('SIGKILL'); };
}

describe('a genuine model', () => {
  it('still loads, with the fingerprint fingerprintModelDir gives, through a symbolic link that stays inside its folder', async () => {
    const { dir, json } = copyModel();
    const loaded = await loadModel(dir);
    expect(loaded.inputShape).toEqual([8, 8, 1]);
    expect(loaded.numClasses).toBe(3);
    expect(loaded.fingerprint).toBe(fingerprintModelDir(dir));
    loaded.model.dispose();
    mkdirSync(path.join(dir, 'data'));
    cpSync(path.join(dir, 'weights.bin'), path.join(dir, 'data', 'w.bin'));
    rmSync(path.join(dir, 'weights.bin'));
    symlinkSync(path.join('data', 'w.bin'), path.join(dir, 'weights.bin'));
    writeJson(dir, json);
    const again = await loadModel(dir);
    expect(again.numClasses).toBe(3);
    again.model.dispose();
  });

  it('is sized by the topology walk exactly as tfjs counts it, for every layer kind the walk knows', async () => {
    const input = tfl.input({ shape: [16, 16, 3], name: 'image' });
    let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    // (no depthMultiplier: tfjs 4.22 leaves it out of SeparableConv2D's saved config)
    x = tfl.layers.separableConv2d({ filters: 5, kernelSize: [3, 2] }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.zeroPadding2d({ padding: [[1, 2], [0, 3]] }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.cropping2D({ cropping: [[1, 0], [2, 1]] }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.upSampling2d({ size: [2, 3] }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as tfl.SymbolicTensor;
    const a = tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    const g = tfl.layers.globalAveragePooling2d({}).apply(a) as tfl.SymbolicTensor;
    const f = tfl.layers.flatten().apply(tfl.layers.permute({ dims: [2, 1, 3] }).apply(a) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const inner = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 7 }), tfl.layers.prelu()] });
    const nested = inner.apply(g) as tfl.SymbolicTensor;
    let y = tfl.layers.concatenate().apply([f, nested]) as tfl.SymbolicTensor;
    y = tfl.layers.dense({ units: 12, activation: 'relu' }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.layerNormalization().apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reshape({ targetShape: [3, 4] }).apply(y) as tfl.SymbolicTensor;
    const shared = tfl.layers.dense({ units: 4 });
    const s1 = shared.apply(y) as tfl.SymbolicTensor;
    const s2 = shared.apply(tfl.layers.dropout({ rate: 0.1 }).apply(y) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    let z = tfl.layers.add().apply([s1, s2]) as tfl.SymbolicTensor;
    z = tfl.layers.flatten().apply(z) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 5, activation: 'softmax' }).apply(z) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const dir = path.join(root, `functional-${count++}`);
    await saveModel(model, dir);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const size = sizeTopology(json.modelTopology, 'model.json');
    expect(size.parameters).toBe(model.countParams());
    expect(size.outputShapes).toEqual([[5]]);
    const base2 = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [5], units: 6 }), tfl.layers.dense({ units: 4 })] });
    const stacked = tfl.sequential({ layers: [base2, tfl.layers.dense({ units: 3 })] }); // a nested model as the first layer
    for (const m of [buildArchitecture('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }), buildArchitecture('mlp', { inputShape: [32, 32, 3], numClasses: 7, seed: 1 }), stacked]) {
      const topology = m.toJSON(null, false) as object;
      expect(sizeTopology(topology, 'model.json').parameters).toBe(m.countParams());
      m.dispose();
    }
    const loaded = await loadModel(dir);
    expect(loaded.numClasses).toBe(5);
    expect(loaded.inputShape).toEqual([16, 16, 3]);
    loaded.model.dispose(); model.dispose();
  });
});

describe('weight paths from a hostile model.json', () => {
  it('refuses a path that climbs out with "..", although the file there would fit', async () => {
    const { dir, json } = copyModel();
    mkdirSync(path.join(root, 'elsewhere'), { recursive: true });
    cpSync(path.join(dir, 'weights.bin'), path.join(root, 'elsewhere', 'stolen.bin'));
    const p = path.relative(dir, path.join(root, 'elsewhere', 'stolen.bin'));
    expect(p.startsWith('..')).toBe(true);
    setWeightPath(dir, json, p);
    const message = await refusal(() => loadModel(dir));
    expect(message).toContain(JSON.stringify(p));
    expect(message).toMatch(/climbs out with "\.\.".*outside the model folder/);
    expect(message).toContain(path.join(dir, 'model.json'));
    expect(await refusal(() => fingerprintModelDir(dir))).toMatch(/outside the model folder/);
  });

  it('refuses an absolute path without revealing the size or contents of the file it names', async () => {
    const { dir, json } = copyModel();
    const secret = path.join(root, 'secret.txt');
    writeFileSync(secret, 'TOPSECRET '.repeat(1234) + 'x'); // 12341 bytes
    const targets = [secret, ...(existsSync('/etc/passwd') ? ['/etc/passwd'] : [])];
    for (const target of targets) {
      setWeightPath(dir, json, target);
      const message = await refusal(() => loadModel(dir));
      expect(message).toContain(JSON.stringify(target));
      expect(message).toMatch(/is an absolute path, which leads outside the model folder/);
      expect(message).not.toContain(String(statSync(target).size));
      expect(message).not.toMatch(/TOPSECRET|root:/);
    }
  });

  it('refuses ../../dev/zero at once instead of reading without end', async () => {
    if (!existsSync('/dev/zero')) return;
    const { dir, json } = copyModel();
    const p = path.relative(dir, '/dev/zero');
    setWeightPath(dir, json, p);
    const before = process.memoryUsage().rss;
    const message = await refusal(() => loadModel(dir), 2);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 ** 2);
    expect(message).toContain(JSON.stringify(p));
    expect(message).toMatch(/outside the model folder/);
  });

  it.skipIf(!hasMkfifo)('refuses a FIFO as a weight file or as model.json without opening it (skipped where mkfifo is missing)', async () => {
    const { dir, json } = copyModel();
    const fifo = path.join(dir, 'pipe.bin');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    setWeightPath(dir, json, 'pipe.bin');
    let stop = fifoWatchdog(fifo, 6000);
    try {
      const message = await refusal(() => loadModel(dir), 3);
      expect(message).toMatch(/^The weight file "pipe\.bin" listed in .*model\.json is a FIFO \(named pipe\), not a regular file/);
    } finally { stop(); }

    const other = copyModel().dir;
    rmSync(path.join(other, 'model.json'));
    expect(spawnSync('mkfifo', [path.join(other, 'model.json')]).status).toBe(0);
    stop = fifoWatchdog(path.join(other, 'model.json'), 6000);
    try {
      const message = await refusal(() => loadModel(other), 3);
      expect(message).toMatch(/^The model file .*model\.json is a FIFO \(named pipe\), not a regular file/);
    } finally { stop(); }
  });

  it('refuses a folder as a weight file', async () => {
    const { dir, json } = copyModel();
    mkdirSync(path.join(dir, 'shard.bin'));
    setWeightPath(dir, json, 'shard.bin');
    expect(await refusal(() => loadModel(dir))).toMatch(/"shard\.bin" listed in .* is a folder, not a regular file/);
  });

  it('refuses a symbolic link that leads out of the folder, for model.json, a weight file and a sub-folder', async () => {
    const outside = path.join(root, `outside-${count++}`);
    mkdirSync(outside);
    const weights = copyModel();
    cpSync(path.join(weights.dir, 'weights.bin'), path.join(outside, 'weights.bin'));
    rmSync(path.join(weights.dir, 'weights.bin'));
    symlinkSync(path.join(outside, 'weights.bin'), path.join(weights.dir, 'weights.bin'));
    expect(await refusal(() => loadModel(weights.dir))).toMatch(/^The weight file "weights\.bin" listed in .*model\.json leads through a symbolic link outside the model folder/);

    const sub = copyModel();
    symlinkSync(outside, path.join(sub.dir, 'sub'));
    setWeightPath(sub.dir, sub.json, 'sub/weights.bin');
    expect(await refusal(() => loadModel(sub.dir))).toMatch(/"sub\/weights\.bin" .* leads through a symbolic link outside the model folder/);

    const mj = copyModel();
    cpSync(path.join(mj.dir, 'model.json'), path.join(outside, 'model.json'));
    rmSync(path.join(mj.dir, 'model.json'));
    symlinkSync(path.join(outside, 'model.json'), path.join(mj.dir, 'model.json'));
    expect(await refusal(() => loadModel(mj.dir))).toMatch(/^The model file .*model\.json leads through a symbolic link outside the model folder/);
    expect(await refusal(() => fingerprintModelDir(mj.dir))).toMatch(/outside the model folder/);

    const dangling = copyModel();
    rmSync(path.join(dangling.dir, 'weights.bin'));
    symlinkSync(path.join(outside, 'nothing-here.bin'), path.join(dangling.dir, 'weights.bin'));
    expect(await refusal(() => loadModel(dangling.dir))).toMatch(/"weights\.bin" .* symbolic link that leads outside the model folder .* or to nothing/);
  });
});

describe('sizes declared by a hostile model.json', () => {
  it('refuses a Dense layer of 1,000,000 units before tfjs allocates anything', async () => {
    const { dir, json } = copyModel();
    const features = json.modelTopology.config.layers.find((l: any) => l.config.name === 'features');
    features.config.units = 1_000_000;
    writeJson(dir, json);
    const rss = process.memoryUsage().rss;
    const tensorBytes = tf.memory().numBytes;
    const message = await refusal(() => loadModel(dir), 2);
    expect(message).toMatch(/model\.json declares \d+ parameters; its largest, layer "features" \(Dense\), has 257000000, above the limit of 100000000 \(modelParameters\)/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 ** 2);
    expect(tf.memory().numBytes).toBe(tensorBytes);
  });

  it('refuses a 2 KB model.json of one huge Dense layer on its topology, whatever its weight files', async () => {
    const dir = path.join(root, `tiny-${count++}`);
    mkdirSync(dir);
    writeJson(dir, {
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [
        { class_name: 'Dense', config: { units: 1_000_000, batch_input_shape: [null, 784], name: 'big' } },
      ] } },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'big/kernel', shape: [784, 1_000_000], dtype: 'float32' }] }],
    });
    expect(statSync(path.join(dir, 'model.json')).size).toBeLessThan(2500);
    const message = await refusal(() => loadModel(dir), 2);
    expect(message).toMatch(/declares 785000000 parameters; its largest, layer "big" \(Dense\).*modelParameters/);
  });

  it('refuses a layer output above layerUnits, a model above the layer and class limits, and an unknown layer class', async () => {
    const conv = path.join(root, `conv-${count++}`);
    mkdirSync(conv);
    writeJson(conv, {
      modelTopology: { class_name: 'Sequential', config: { layers: [
        { class_name: 'Conv2D', config: { filters: 4096, kernel_size: [1, 1], padding: 'same', batch_input_shape: [null, 512, 512, 3], name: 'wide' } },
      ] } },
      weightsManifest: [],
    });
    expect(await refusal(() => loadModel(conv))).toMatch(/model\.json declares layer "wide" \(Conv2D\) with 1073741824 output values per sample, above the limit of 4000000 \(layerUnits\)/);

    const { dir, json } = copyModel();
    setLimits({ layers: 3 });
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json declares at least 4 layers, above the limit of 3 \(layers\)/);
    resetLimits();
    setLimits({ classes: 2 });
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json declares 3 output classes, above the limit of 2 \(classes\)/);
    resetLimits();
    json.modelTopology.config.layers[0].class_name = 'TimeDistributed';
    writeJson(dir, json);
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json uses layer "flatten_\w*" \(TimeDistributed\), a layer class whose size cannot be checked before loading/);
  });

  it('refuses a dilated Conv2DTranspose, whose dilation TensorFlow.js would ignore', async () => {
    const dir = path.join(root, `transpose-${count++}`);
    mkdirSync(dir);
    const layer = (dilation: number) => ({ modelTopology: { class_name: 'Sequential', config: { layers: [
      { class_name: 'Conv2DTranspose', config: { filters: 2, kernel_size: [3, 3], padding: 'same', dilation_rate: [dilation, dilation], batch_input_shape: [null, 8, 8, 1], name: 'up' } },
    ] } }, weightsManifest: [] });
    writeJson(dir, layer(2));
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json gives layer "up" \(Conv2DTranspose\) a dilation of 2×2, which TensorFlow\.js's Conv2DTranspose ignores/);
    // Undilated, the same topology is sized (its weights are what is missing then).
    expect(sizeTopology(layer(1).modelTopology, 'model.json').parameters).toBe(3 * 3 * 1 * 2 + 2);
  });

  it('refuses a model.json above modelJsonBytes by its size, without reading it', async () => {
    const { dir } = copyModel();
    setLimits({ modelJsonBytes: 1000 });
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json is \d+ bytes, above the limit of 1000 \(modelJsonBytes\)/);
    resetLimits();
    const huge = copyModel().dir;
    truncateSync(path.join(huge, 'model.json'), DEFAULT_LIMITS.modelJsonBytes + 1); // sparse: no disk used
    const rss = process.memoryUsage().rss;
    expect(await refusal(() => loadModel(huge), 2)).toMatch(/model\.json is \d+ bytes, above the limit of \d+ \(modelJsonBytes\)/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * 1024 ** 2);
  });

  it('refuses a weight file larger than the manifest declares without reading it, and a truncated one', async () => {
    const { dir } = copyModel();
    const weights = path.join(dir, 'weights.bin');
    const declared = statSync(weights).size;
    truncateSync(weights, declared + 256 * 1024 ** 2); // sparse tail
    const rss = process.memoryUsage().rss;
    const message = await refusal(() => loadModel(dir), 2);
    expect(message).toMatch(new RegExp(`^The weight file "weights\\.bin" listed in .*model\\.json is ${declared + 256 * 1024 ** 2} bytes, which takes the weight files past the ${declared} bytes that model\\.json declares, so it is not read`));
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 ** 2);
    truncateSync(weights, declared - 4);
    expect(await refusal(() => loadModel(dir))).toMatch(/\("weights\.bin"\) hold \d+ bytes but its weightsManifest declares \d+; the files are truncated/);
  });

  it('refuses a manifest with an unusable shape or dtype', async () => {
    const { dir, json } = copyModel();
    json.weightsManifest[0].weights[0].shape = [-1, 256];
    writeJson(dir, json);
    expect(await refusal(() => loadModel(dir))).toMatch(/model\.json declares the weight "dense_1\/kernel" with an invalid shape/);
    json.weightsManifest[0].weights[0].shape = [64, 256];
    json.weightsManifest[0].weights[0].dtype = 'string';
    writeJson(dir, json);
    expect(await refusal(() => loadModel(dir))).toMatch(/declares the weight "dense_1\/kernel" with the dtype "string"/);
  });
});

describe('saving', () => {
  it('renames a finished folder into place, leaves no temporary folder, and refuses a folder that holds files', async () => {
    const parent = path.join(root, `save-${count++}`);
    mkdirSync(parent);
    const empty = path.join(parent, 'empty');
    mkdirSync(empty);
    writeFolderAtomically(empty, { 'a.txt': 'one' });
    writeFolderAtomically(path.join(parent, 'new'), { 'b.txt': 'two' });
    expect(readFileSync(path.join(empty, 'a.txt'), 'utf8')).toBe('one');
    expect(readdirSync(path.join(parent, 'new'))).toEqual(['b.txt']);
    expect(readdirSync(parent).sort()).toEqual(['empty', 'new']);
    expect(() => writeFolderAtomically(empty, { 'c.txt': 'three' })).toThrow(/already holds files/);
    expect(readdirSync(empty)).toEqual(['a.txt']);
    expect(() => writeFolderAtomically(path.join(parent, 'bad'), { '../escape.txt': 'x' })).toThrow(/not a plain file name/);
    expect(readdirSync(parent).sort()).toEqual(['empty', 'new']);
  });

  it('removes an old leftover of a crashed save only when it is one of ours', () => {
    const parent = path.join(root, `leftovers-${count++}`);
    mkdirSync(parent);
    const old = Date.now() / 1000 - (STALE_PARTIAL_MS / 1000) * 2;
    const make = (name: string, files: Record<string, string>, age: 'old' | 'new') => {
      const d = path.join(parent, name);
      mkdirSync(d);
      for (const [f, text] of Object.entries(files)) { writeFileSync(path.join(d, f), text); if (age === 'old') utimesSync(path.join(d, f), old, old); }
      if (age === 'old') utimesSync(d, old, old);
      return d;
    };
    const ours = make('.model.partial-0123456789abcdef', { [PARTIAL_MARKER]: '', 'weights.bin': 'w' }, 'old');
    const fresh = make('.model.partial-fedcba9876543210', { [PARTIAL_MARKER]: '', 'model.json': '{}' }, 'new');
    const noMarker = make('.model.partial-00000000000000aa', { 'notes.txt': 'mine' }, 'old');
    const otherName = make('model.partial-0123456789abcdef', { [PARTIAL_MARKER]: '' }, 'old');
    const otherTarget = make('.other.partial-0123456789abcdef', { [PARTIAL_MARKER]: '' }, 'old');
    const withSub = make('.model.partial-00000000000000bb', { [PARTIAL_MARKER]: '' }, 'old');
    mkdirSync(path.join(withSub, 'keep'));
    utimesSync(withSub, old, old);
    expect(removeStalePartials(parent, 'model')).toEqual([ours]);
    for (const kept of [fresh, noMarker, otherName, otherTarget, withSub]) expect(existsSync(kept)).toBe(true);
    expect(existsSync(ours)).toBe(false);
    // A save of `model` cleans up the same way.
    const ours2 = make('.model.partial-1111111111111111', { [PARTIAL_MARKER]: '' }, 'old');
    writeFolderAtomically(path.join(parent, 'model'), { 'x.txt': 'x' });
    expect(existsSync(ours2)).toBe(false);
    expect(existsSync(noMarker)).toBe(true);
  });
});
