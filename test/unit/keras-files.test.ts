// Issue 11 (Keras in): Keras files as Keras itself lays them out, and hostile ones.
//
// There is no Python TensorFlow or Keras on this machine, so the fixtures are written here with
// h5wasm, following Keras's own saving code exactly: keras/src/legacy/saving/legacy_h5_format.py
// for the Keras 2 .h5 (root attributes model_config, keras_version and backend as h5py writes
// Python bytes, i.e. fixed-length byte strings; model_weights with layer_names, one group per
// layer with weight_names, an empty list written as an empty float64 array; datasets at
// "<layer>/<weight>:0" inside the layer's group) and keras/src/saving/saving_lib.py for the
// Keras 3 .keras (a stored zip of metadata.json, config.json in the module/class_name/config
// schema and model.weights.h5 with layers/<snake_case class>[_k]/vars/0..n). This file's writer
// shares no code with the engine's. The expected predictions come from the same models built
// directly with the tfjs layers API and the same weights.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { strToU8, zipSync } from 'fflate';
import * as H5 from 'h5wasm';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { resetLimits, setLimits } from '../../src-main/engine/limits.js';
import { UserError } from '../../src-main/engine/errors.js';
import { modelFingerprint } from '../../src-main/project/fingerprint.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu');
  await H5.ready;
  dir = mkdtempSync(path.join(os.tmpdir(), 'clear-keras-files-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => resetLimits());

// --- a writer of our own, following Keras's layouts -------------------------------------------

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}
function values(shape: number[], rnd: () => number, lo = -0.5, hi = 0.5): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rnd());
}

/** Python bytes → h5py fixed-length byte string (scalar) or array of them. */
function bytesAttr(obj: H5.Group, name: string, v: string | string[]): void {
  const list = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length === 0) { obj.create_attribute(name, new Float64Array(0), [0], '<d'); return; }
  const size = Math.max(1, ...list.map((s) => Buffer.byteLength(s)));
  obj.create_attribute(name, v, Array.isArray(v) ? [v.length] : [], `A${size}`);
}

function h5File(build: (f: H5.File) => void): Uint8Array {
  const name = `/fixture-${Math.random().toString(16).slice(2)}.h5`;
  const f = new H5.File(name, 'w');
  build(f);
  f.close();
  const bytes = new Uint8Array(H5.FS!.readFile(name));
  H5.FS!.unlink(name);
  return bytes;
}

type W = { name: string; shape: number[]; data: Float32Array };

/** legacy_h5_format.save_model_to_hdf5 + save_weights_to_hdf5_group. */
function keras2H5(modelConfig: unknown, layers: { name: string; weights: W[] }[]): Uint8Array {
  return h5File((f) => {
    bytesAttr(f, 'keras_version', '2.15.0');
    bytesAttr(f, 'backend', 'tensorflow');
    bytesAttr(f, 'model_config', JSON.stringify(modelConfig));
    const mw = f.create_group('model_weights');
    bytesAttr(mw, 'layer_names', layers.map((l) => l.name));
    bytesAttr(mw, 'backend', 'tensorflow');
    bytesAttr(mw, 'keras_version', '2.15.0');
    for (const l of [...layers].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const g = mw.create_group(l.name);
      bytesAttr(g, 'weight_names', l.weights.map((w) => w.name));
      for (const w of l.weights) {
        const parts = w.name.split('/');
        let at: H5.Group = g;
        for (const p of parts.slice(0, -1)) at = (at.get(p) as H5.Group | null) ?? at.create_group(p);
        at.create_dataset({ name: parts.at(-1)!, data: w.data, shape: w.shape, dtype: '<f4' });
      }
    }
  });
}

/** saving_lib._save_model_to_fileobj with H5IOStore: groups layers/<key>/vars for model.layers. */
function keras3Zip(config: unknown, layers: { key: string; weights: W[] }[]): Uint8Array {
  const weights = h5File((f) => {
    f.create_group('vars');
    const root = f.create_group('layers');
    for (const l of layers) {
      const vars = root.create_group(l.key).create_group('vars');
      l.weights.forEach((w, i) => vars.create_dataset({ name: String(i), data: w.data, shape: w.shape, dtype: '<f4' }));
    }
  });
  return zipSync({
    'metadata.json': [strToU8(JSON.stringify({ keras_version: '3.4.1', date_saved: '2024-07-01@12:00:00' })), { level: 0 }],
    'config.json': [strToU8(JSON.stringify(config)), { level: 0 }],
    'model.weights.h5': [weights, { level: 0 }],
  });
}

// --- the models ---------------------------------------------------------------------------------

const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
const zeros = { class_name: 'Zeros', config: {} };
const ones = { class_name: 'Ones', config: {} };

/** A Keras 2 Sequential: conv, batch norm (axis saved as [3], as tf.keras does), pool, flatten, dropout, dense. */
function keras2Sequential(rnd: () => number, extra: unknown[] = []) {
  const conv = { kernel: values([3, 3, 1, 4], rnd), bias: values([4], rnd) };
  const bn = { gamma: values([4], rnd, 0.5, 1.5), beta: values([4], rnd), mean: values([4], rnd), variance: values([4], rnd, 0.5, 2) };
  const dense = { kernel: values([36, 10], rnd), bias: values([10], rnd) };
  const config = {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        { class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 1], dtype: 'float32', sparse: false, ragged: false, name: 'conv2d_input' } },
        { class_name: 'Conv2D', config: { name: 'conv2d', trainable: true, dtype: 'float32', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'relu', use_bias: true, kernel_initializer: glorot, bias_initializer: zeros, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null } },
        { class_name: 'BatchNormalization', config: { name: 'batch_normalization', trainable: true, dtype: 'float32', axis: [3], momentum: 0.99, epsilon: 0.001, center: true, scale: true, beta_initializer: zeros, gamma_initializer: ones, moving_mean_initializer: zeros, moving_variance_initializer: ones, beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null } },
        { class_name: 'MaxPooling2D', config: { name: 'max_pooling2d', trainable: true, dtype: 'float32', pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' } },
        { class_name: 'Flatten', config: { name: 'flatten', trainable: true, dtype: 'float32', data_format: 'channels_last' } },
        ...extra,
        { class_name: 'Dropout', config: { name: 'dropout', trainable: true, dtype: 'float32', rate: 0.25, noise_shape: null, seed: null } },
        { class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: 10, activation: 'softmax', use_bias: true, kernel_initializer: glorot, bias_initializer: zeros, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null } },
      ],
    },
  };
  const layers = [
    { name: 'conv2d', weights: [{ name: 'conv2d/kernel:0', shape: [3, 3, 1, 4], data: conv.kernel }, { name: 'conv2d/bias:0', shape: [4], data: conv.bias }] },
    { name: 'batch_normalization', weights: [
      { name: 'batch_normalization/gamma:0', shape: [4], data: bn.gamma }, { name: 'batch_normalization/beta:0', shape: [4], data: bn.beta },
      { name: 'batch_normalization/moving_mean:0', shape: [4], data: bn.mean }, { name: 'batch_normalization/moving_variance:0', shape: [4], data: bn.variance }] },
    { name: 'max_pooling2d', weights: [] }, { name: 'flatten', weights: [] }, { name: 'dropout', weights: [] },
    { name: 'dense', weights: [{ name: 'dense/kernel:0', shape: [36, 10], data: dense.kernel }, { name: 'dense/bias:0', shape: [10], data: dense.bias }] },
  ];
  const expected = () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }));
    m.add(tfl.layers.batchNormalization({ epsilon: 0.001 }));
    m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tfl.layers.flatten());
    m.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
    m.layers[0].setWeights([tf.tensor(conv.kernel, [3, 3, 1, 4]), tf.tensor(conv.bias)]);
    m.layers[1].setWeights([tf.tensor(bn.gamma), tf.tensor(bn.beta), tf.tensor(bn.mean), tf.tensor(bn.variance)]);
    m.layers[4].setWeights([tf.tensor(dense.kernel, [36, 10]), tf.tensor(dense.bias)]);
    return m;
  };
  return { config, layers, expected };
}

const k3 = (cls: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ module: 'keras.layers', class_name: cls, config, registered_name: null, ...extra });
const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const k3init = (cls: string) => ({ module: 'keras.initializers', class_name: cls, config: cls === 'GlorotUniform' ? { seed: null } : {}, registered_name: null });
const tensor = (layer: string, shape: (number | null)[]) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [layer, 0, 0] } });
const call = (...args: unknown[]) => ({ args, kwargs: {} });

/** A Keras 3 functional model: Rescaling, an adapted Normalization, two conv branches, BN, ReLU, Add, Concatenate, GAP, Dense. */
function keras3Functional(rnd: () => number) {
  const norm = { mean: values([1], rnd, 0.2, 0.4), variance: values([1], rnd, 0.05, 0.1) };
  const ca = { kernel: values([3, 3, 1, 3], rnd), bias: values([3], rnd) };
  const cb = { kernel: values([1, 1, 1, 3], rnd), bias: values([3], rnd) };
  const bn = { gamma: values([3], rnd, 0.5, 1.5), beta: values([3], rnd), mean: values([3], rnd), variance: values([3], rnd, 0.5, 2) };
  const dense = { kernel: values([6, 4], rnd), bias: values([4], rnd) };
  const conv = (name: string, k: number) => ({ name, trainable: true, dtype: policy, filters: 3, kernel_size: [k, k], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'linear', use_bias: true, kernel_initializer: k3init('GlorotUniform'), bias_initializer: k3init('Zeros'), kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null });
  const s = [null, 6, 6];
  const config = {
    module: 'keras', class_name: 'Functional', registered_name: 'Functional',
    config: {
      name: 'functional', trainable: true,
      layers: [
        k3('InputLayer', { batch_shape: [null, 6, 6, 1], dtype: 'float32', sparse: false, name: 'input_layer' }, { name: 'input_layer', inbound_nodes: [] }),
        k3('Rescaling', { name: 'rescaling', trainable: true, dtype: policy, scale: 0.5, offset: 0.1 }, { name: 'rescaling', build_config: { input_shape: [null, 6, 6, 1] }, inbound_nodes: [call(tensor('input_layer', [...s, 1]))] }),
        k3('Normalization', { name: 'normalization', trainable: true, dtype: policy, axis: [-1], mean: null, variance: null, invert: false }, { name: 'normalization', build_config: { input_shape: [null, 6, 6, 1] }, inbound_nodes: [call(tensor('rescaling', [...s, 1]))] }),
        k3('Conv2D', conv('conv2d', 3), { name: 'conv2d', build_config: { input_shape: [null, 6, 6, 1] }, inbound_nodes: [call(tensor('normalization', [...s, 1]))] }),
        k3('BatchNormalization', { name: 'batch_normalization', trainable: true, dtype: policy, axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true, beta_initializer: k3init('Zeros'), gamma_initializer: k3init('Ones'), moving_mean_initializer: k3init('Zeros'), moving_variance_initializer: k3init('Ones'), beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null, synchronized: false }, { name: 'batch_normalization', inbound_nodes: [{ args: [tensor('conv2d', [...s, 3])], kwargs: { training: false } }] }),
        k3('ReLU', { name: 're_lu', trainable: true, dtype: policy, max_value: null, negative_slope: 0.0, threshold: 0.0 }, { name: 're_lu', inbound_nodes: [call(tensor('batch_normalization', [...s, 3]))] }),
        k3('Conv2D', conv('conv2d_1', 1), { name: 'conv2d_1', inbound_nodes: [call(tensor('normalization', [...s, 1]))] }),
        k3('Add', { name: 'add', trainable: true, dtype: policy }, { name: 'add', inbound_nodes: [call([tensor('re_lu', [...s, 3]), tensor('conv2d_1', [...s, 3])])] }),
        k3('Concatenate', { name: 'concatenate', trainable: true, dtype: policy, axis: -1 }, { name: 'concatenate', inbound_nodes: [call([tensor('add', [...s, 3]), tensor('conv2d_1', [...s, 3])])] }),
        k3('GlobalAveragePooling2D', { name: 'global_average_pooling2d', trainable: true, dtype: policy, data_format: 'channels_last', keepdims: false }, { name: 'global_average_pooling2d', inbound_nodes: [call(tensor('concatenate', [...s, 6]))] }),
        k3('Dense', { name: 'dense', trainable: true, dtype: policy, units: 4, activation: 'softmax', use_bias: true, kernel_initializer: k3init('GlorotUniform'), bias_initializer: k3init('Zeros'), kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null }, { name: 'dense', inbound_nodes: [call(tensor('global_average_pooling2d', [null, 6]))] }),
      ],
      input_layers: ['input_layer', 0, 0],
      output_layers: ['dense', 0, 0],
    },
    build_config: { input_shape: null },
    compile_config: null,
  };
  // Keras 3 functional model.layers includes the InputLayer; keys count per snake_case class.
  const layers = [
    { key: 'input_layer', weights: [] }, { key: 'rescaling', weights: [] },
    { key: 'normalization', weights: [{ name: 'mean', shape: [1], data: norm.mean }, { name: 'variance', shape: [1], data: norm.variance }, { name: 'count', shape: [], data: new Float32Array([100]) }] },
    { key: 'conv2d', weights: [{ name: 'k', shape: [3, 3, 1, 3], data: ca.kernel }, { name: 'b', shape: [3], data: ca.bias }] },
    { key: 'batch_normalization', weights: [{ name: 'g', shape: [3], data: bn.gamma }, { name: 'b', shape: [3], data: bn.beta }, { name: 'm', shape: [3], data: bn.mean }, { name: 'v', shape: [3], data: bn.variance }] },
    { key: 're_lu', weights: [] },
    { key: 'conv2d_1', weights: [{ name: 'k', shape: [1, 1, 1, 3], data: cb.kernel }, { name: 'b', shape: [3], data: cb.bias }] },
    { key: 'add', weights: [] }, { key: 'concatenate', weights: [] }, { key: 'global_average_pooling2d', weights: [] },
    { key: 'dense', weights: [{ name: 'k', shape: [6, 4], data: dense.kernel }, { name: 'b', shape: [4], data: dense.bias }] },
  ];
  const expected = () => {
    const sd = Math.sqrt(norm.variance[0]);
    const input = tfl.input({ shape: [6, 6, 1] });
    const r = tfl.layers.rescaling({ scale: 0.5, offset: 0.1 }).apply(input) as tfl.SymbolicTensor;
    const n = tfl.layers.rescaling({ scale: 1 / sd, offset: -norm.mean[0] / sd }).apply(r) as tfl.SymbolicTensor;
    const a = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' });
    const bnl = tfl.layers.batchNormalization({ epsilon: 0.001 });
    const b = tfl.layers.conv2d({ filters: 3, kernelSize: 1, padding: 'same' });
    const d = tfl.layers.dense({ units: 4, activation: 'softmax' });
    const ra = tfl.layers.reLU().apply(bnl.apply(a.apply(n))) as tfl.SymbolicTensor;
    const rb = b.apply(n) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([ra, rb]) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate().apply([sum, rb]) as tfl.SymbolicTensor;
    const out = d.apply(tfl.layers.globalAveragePooling2d({}).apply(cat)) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: out });
    a.setWeights([tf.tensor(ca.kernel, [3, 3, 1, 3]), tf.tensor(ca.bias)]);
    b.setWeights([tf.tensor(cb.kernel, [1, 1, 1, 3]), tf.tensor(cb.bias)]);
    bnl.setWeights([tf.tensor(bn.gamma), tf.tensor(bn.beta), tf.tensor(bn.mean), tf.tensor(bn.variance)]);
    d.setWeights([tf.tensor(dense.kernel, [6, 4]), tf.tensor(dense.bias)]);
    return m;
  };
  return { config, layers, expected };
}

async function samePredictions(file: string, expected: tfl.LayersModel, shape: number[]) {
  const loaded = await loadModel(file);
  const x = tf.randomUniform([16, ...shape], 0, 1, 'float32', 5);
  const want = (expected.predict(x) as tf.Tensor).dataSync();
  const got = (loaded.model.predict(x) as tf.Tensor).dataSync();
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
  return { loaded, maxDiff };
}

async function refusal(file: string): Promise<string> {
  try {
    await loadModel(file);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('Keras files laid out as Keras writes them', () => {
  it('reads a Keras 2 .h5 Sequential model (conv, batch norm with axis [3], pool, flatten, dropout, dense)', async () => {
    const m = keras2Sequential(seeded(1));
    const file = path.join(dir, 'k2.h5');
    writeFileSync(file, keras2H5(m.config, m.layers));
    const { loaded, maxDiff } = await samePredictions(file, m.expected(), [8, 8, 1]);
    expect(maxDiff).toBeLessThan(1e-6);
    expect(loaded.inputShape).toEqual([8, 8, 1]);
    expect(loaded.numClasses).toBe(10);
    expect(loaded.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The host checks a project's model without the engine, by the same rule.
    expect(await modelFingerprint(file)).toBe(loaded.fingerprint);
    expect(loaded.model.layers.map((l) => l.name)).toEqual(['conv2d', 'batch_normalization', 'max_pooling2d', 'flatten', 'dropout', 'dense']);
  });

  it('reads a Keras 3 .keras functional model with Rescaling, Normalization, BatchNormalization, ReLU, Add and Concatenate', async () => {
    const m = keras3Functional(seeded(2));
    const file = path.join(dir, 'k3.keras');
    writeFileSync(file, keras3Zip(m.config, m.layers));
    const { loaded, maxDiff } = await samePredictions(file, m.expected(), [6, 6, 1]);
    expect(maxDiff).toBeLessThan(1e-5);
    expect(loaded.inputShape).toEqual([6, 6, 1]);
    expect(loaded.numClasses).toBe(4);
  });
});

describe('Keras files that are refused, each in one sentence naming the file', () => {
  it('a Lambda layer', async () => {
    const lambda = { class_name: 'Lambda', config: { name: 'lam', trainable: true, dtype: 'float32', function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda', output_shape: null, arguments: {} } };
    const m = keras2Sequential(seeded(3), [lambda]);
    const file = path.join(dir, 'lambda.h5');
    writeFileSync(file, keras2H5(m.config, [...m.layers, { name: 'lam', weights: [] }]));
    expect(await refusal(file)).toBe(`The model file ${file} has layer "lam" (Lambda), whose Python code cannot run here (those are InputLayer, Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Dropout, BatchNormalization, Activation, ReLU, LeakyReLU, Softmax, Add, Concatenate, Rescaling, Normalization, ZeroPadding2D, Reshape).`);
  });

  it('a truncated file', async () => {
    const m = keras2Sequential(seeded(4));
    const bytes = keras2H5(m.config, m.layers);
    const file = path.join(dir, 'truncated.h5');
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(await refusal(file)).toBe(`The model file ${file} is not a readable HDF5 file (File has been truncated).`);
  });

  it('a weight dataset that declares ten billion values, refused before it is read', async () => {
    const m = keras2Sequential(seeded(5));
    const bytes = h5File((f) => {
      f.create_attribute('model_config', JSON.stringify(m.config), [], `A${JSON.stringify(m.config).length}`);
      const mw = f.create_group('model_weights');
      bytesAttr(mw, 'layer_names', ['dense']);
      const g = mw.create_group('dense');
      bytesAttr(g, 'weight_names', ['dense/kernel:0']);
      // Chunked and extended, never written: the file stays small, the declaration is 40 GB.
      const d = g.create_group('dense').create_dataset({ name: 'kernel:0', data: new Float32Array(4), shape: [2, 2], maxshape: [null, null], chunks: [2, 2], dtype: '<f4' });
      d.resize([100_000, 100_000]);
    });
    expect(bytes.length).toBeLessThan(100_000);
    const file = path.join(dir, 'huge.h5');
    writeFileSync(file, bytes);
    expect(await refusal(file)).toBe(`The model file ${file} declares 10000000000 or more weight values (the weight "dense/dense/kernel:0" has 10000000000), above the limit of 100000000 (modelParameters); if the file is genuine, raise it with CLEAR_LIMITS=modelParameters=N.`);
  });

  it('a zip bomb entry, refused by its declared size before it is inflated', async () => {
    const m = keras3Functional(seeded(6));
    const zip = zipSync({
      'config.json': strToU8(JSON.stringify(m.config)),
      'model.weights.h5': new Uint8Array(64 * 1024 * 1024), // 64 MB of zeros, deflated to about 64 KB
    });
    expect(zip.length).toBeLessThan(200_000);
    const file = path.join(dir, 'bomb.keras');
    writeFileSync(file, zip);
    setLimits({ fileBytes: 16 * 1024 * 1024 });
    expect(await refusal(file)).toBe(`The model file ${file} declares its entry "model.weights.h5" as 67108864 bytes once inflated, above the limit of 16777216 (fileBytes); if the file is genuine, raise it with CLEAR_LIMITS=fileBytes=N.`);
  });

  it('nothing is written next to a refused file', async () => {
    const before = readdirSync(dir).sort();
    await refusal(path.join(dir, 'bomb.keras')).catch(() => undefined);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
