/**
 * Sizes a model from its model.json before tfjs builds anything.
 *
 * A 2 KB model.json can declare a Dense layer of a million units, and tfjs would allocate its
 * weights (gigabytes) before noticing anything. So the topology is walked here first, the way
 * tfjs will read it (its own snake_case → camelCase conversion, its defaults), computing every
 * layer's output shape and parameter count, and compared with the limits of engine/limits.ts:
 * `layers`, `layerUnits` (each layer's output values per sample), `modelParameters` and
 * `classes`. A layer class this walk does not know is refused, since its size cannot be
 * checked. The weight manifest is checked the same way: its declared values against
 * `modelParameters`, and its declared bytes are what the weight files must hold exactly.
 */
import { UserError } from '../errors.js';
import { checkLimit, limits } from '../limits.js';
import { quoteName } from './files.js';

/** A tensor shape without the batch dimension. */
type Shape = number[];
type Dict = { [key: string]: unknown };

export interface TopologySize {
  layers: number;
  parameters: number;
  outputShapes: Shape[];
  /** The layer with the most parameters. */
  largest: { name: string; className: string; parameters: number } | null;
}

const MAX_DEPTH = 64;
const MAX_RANK = 8;
const MAX_NESTING = 8;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// --- tfjs's reading of a config (utils/serialization_utils.ts, convertPythonicToTs) ----------

function toCamelCase(id: string): string {
  if (id.length <= 1 || !id.includes('_')) return id;
  return id.replace(/[_]+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

function toTs(value: unknown, file: string, key?: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new UserError(`${file} nests its topology more than ${MAX_DEPTH} levels deep, which no layer config needs.`);
  if (value === null) return null;
  if (typeof value === 'string') return toCamelCase(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    return value.map((item, i) => ((key === 'inboundNodes' || key === 'outputLayers' || key === 'inputLayers') && i === 0 && typeof item === 'string'
      ? item : toTs(item, file, key, depth + 1)));
  }
  if (isDict(value)) {
    const out: Dict = Object.create(null) as Dict;
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (k === 'name' && typeof v === 'string') out[k] = v;
      else { const tk = toCamelCase(k); out[tk] = toTs(v, file, tk, depth + 1); }
    }
    return out;
  }
  return undefined;
}

// --- the walk -----------------------------------------------------------------------------------

interface Ctx {
  file: string;
  layers: number;
  parameters: number;
  /** Layer entries already counted against `layers` (a shared layer or nested model counts once). */
  seen: Set<object>;
  /** Parameters counted per layer entry in the current model: a shared layer counts its largest call. */
  counted: Map<object, number>;
  /** Layer calls walked in all, nested models' calls included, against a multiple of `layers`. */
  calls: number;
  nesting: number;
  largest: TopologySize['largest'];
}

interface LayerInfo { name: string; className: string; cfg: Dict; label: string }

function fail(ctx: Ctx, what: string): UserError {
  return new UserError(`${ctx.file} ${what}.`);
}

function shown(v: unknown): string {
  let s: string;
  try { s = JSON.stringify(v) ?? String(v); } catch { s = String(v); }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function int(ctx: Ctx, l: LayerInfo, key: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw fail(ctx, `gives ${l.label} an invalid ${key} (${shown(v)})`);
  return v;
}

function pair(ctx: Ctx, l: LayerInfo, key: string, fallback: [number, number], min = 1): [number, number] {
  const v = l.cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') { const n = int(ctx, l, key, v, min); return [n, n]; }
  if (Array.isArray(v) && v.length === 2) return [int(ctx, l, key, v[0], min), int(ctx, l, key, v[1], min)];
  throw fail(ctx, `gives ${l.label} an invalid ${key} (${shown(v)})`);
}

function product(s: Shape): number {
  return s.reduce((a, b) => a * b, 1);
}

function checkShape(ctx: Ctx, l: LayerInfo, s: Shape): Shape {
  if (s.length > MAX_RANK) throw fail(ctx, `declares ${l.label} with an output of rank ${s.length}`);
  for (const d of s) {
    if (!Number.isSafeInteger(d) || d < 1) throw fail(ctx, `declares ${l.label} with an output of shape [${s.join(', ')}], which has no values`);
  }
  const values = product(s);
  checkLimit('layerUnits', values, ctx.file, `declares ${l.label} with ${values} output values per sample`);
  return s;
}

/** A model input's shape: known sizes, within the layerUnits limit like any layer output. */
function checkInput(ctx: Ctx, l: LayerInfo, s: Shape): Shape {
  const values = product(s);
  checkLimit('layerUnits', values, ctx.file, `declares an input of ${values} values per sample for ${l.label}`);
  return s;
}

/** A declared input shape, with or without its batch dimension; every size must be known. */
function declaredShape(ctx: Ctx, l: LayerInfo, v: unknown, withBatch: boolean, key: string): Shape {
  if (!Array.isArray(v) || v.length > MAX_RANK + 1 || v.length < (withBatch ? 2 : 1)) throw fail(ctx, `gives ${l.label} an invalid ${key} (${shown(v)})`);
  const dims = withBatch ? v.slice(1) : v;
  if (dims.some((d) => d === null)) throw fail(ctx, `gives ${l.label} an input of unknown size (${shown(v)}), so its memory cannot be checked before loading`);
  return dims.map((d) => int(ctx, l, key, d));
}

/** The input shape a first layer declares, as tfjs reads it (batchInputShape before inputShape). */
function ownInputShape(ctx: Ctx, l: LayerInfo): Shape | null {
  if (l.cfg.batchInputShape != null) return declaredShape(ctx, l, l.cfg.batchInputShape, true, 'batch_input_shape');
  if (l.cfg.inputShape != null) return declaredShape(ctx, l, l.cfg.inputShape, false, 'input_shape');
  if (l.className === 'Dense' && l.cfg.inputDim != null) return [int(ctx, l, 'input_dim', l.cfg.inputDim)];
  return null;
}

function one(ctx: Ctx, l: LayerInfo, inputs: Shape[]): Shape {
  if (inputs.length !== 1) throw fail(ctx, `connects ${inputs.length} inputs to ${l.label}, which takes one`);
  return inputs[0];
}

function image(ctx: Ctx, l: LayerInfo, s: Shape): { h: number; w: number; c: number; make: (h: number, w: number, c: number) => Shape } {
  if (s.length !== 3) throw fail(ctx, `gives ${l.label} an input of shape [${s.join(', ')}]; it takes height, width and channels`);
  const df = l.cfg.dataFormat ?? 'channelsLast';
  if (df === 'channelsFirst') return { c: s[0], h: s[1], w: s[2], make: (h, w, c) => [c, h, w] };
  if (df !== 'channelsLast') throw fail(ctx, `gives ${l.label} an invalid data_format (${shown(df)})`);
  return { h: s[0], w: s[1], c: s[2], make: (h, w, c) => [h, w, c] };
}

function paddingMode(ctx: Ctx, l: LayerInfo): string {
  const p = l.cfg.padding ?? 'valid';
  if (p !== 'valid' && p !== 'same' && p !== 'causal') throw fail(ctx, `gives ${l.label} an invalid padding (${shown(p)})`);
  return p;
}

/** tfjs's convOutputLength (utils/conv_utils.ts). */
function convLength(ctx: Ctx, l: LayerInfo, len: number, k: number, pad: string, stride: number, dilation = 1): number {
  const dk = k + (k - 1) * (dilation - 1);
  const out = pad === 'valid' ? len - dk + 1 : len;
  const n = Math.floor((out + stride - 1) / stride);
  if (n < 1) throw fail(ctx, `declares ${l.label} with a kernel or pool larger than its input`);
  return n;
}

function bias(l: LayerInfo, n: number): number {
  return l.cfg.useBias === false ? 0 : n;
}

type Handler = (ctx: Ctx, l: LayerInfo, inputs: Shape[]) => { outputs: Shape[]; params: number };

const same: Handler = (ctx, l, inputs) => ({ outputs: [one(ctx, l, inputs)], params: 0 });

function conv(kind: 'conv' | 'depthwise' | 'separable' | 'transpose'): Handler {
  return (ctx, l, inputs) => {
    const im = image(ctx, l, one(ctx, l, inputs));
    const [kh, kw] = pair(ctx, l, 'kernelSize', [0, 0]);
    if (kh === 0) throw fail(ctx, `gives ${l.label} no kernel_size`);
    const [sh, sw] = pair(ctx, l, 'strides', [1, 1]);
    const [dh, dw] = pair(ctx, l, 'dilationRate', [1, 1]);
    // TensorFlow.js's Conv2DTranspose reads no dilation: it would compute another function than the file's.
    if (kind === 'transpose' && (dh !== 1 || dw !== 1)) throw fail(ctx, `gives ${l.label} a dilation of ${dh}×${dw}, which TensorFlow.js's Conv2DTranspose ignores, so the model would not compute what it computes in Keras`);
    const pad = paddingMode(ctx, l);
    const dm = kind === 'depthwise' || kind === 'separable' ? (l.cfg.depthMultiplier == null ? 1 : int(ctx, l, 'depth_multiplier', l.cfg.depthMultiplier)) : 1;
    const filters = kind === 'depthwise' ? im.c * dm : int(ctx, l, 'filters', l.cfg.filters);
    let params: number;
    if (kind === 'conv' || kind === 'transpose') params = kh * kw * im.c * filters + bias(l, filters);
    else if (kind === 'depthwise') params = kh * kw * im.c * dm + bias(l, filters);
    else params = kh * kw * im.c * dm + im.c * dm * filters + bias(l, filters);
    let h: number; let w: number;
    if (kind === 'transpose') {
      h = im.h * sh + (pad === 'valid' ? Math.max(kh - sh, 0) : 0);
      w = im.w * sw + (pad === 'valid' ? Math.max(kw - sw, 0) : 0);
    } else {
      h = convLength(ctx, l, im.h, kh, pad, sh, dh);
      w = convLength(ctx, l, im.w, kw, pad, sw, dw);
    }
    return { outputs: [im.make(h, w, filters)], params };
  };
}

const pool: Handler = (ctx, l, inputs) => {
  const im = image(ctx, l, one(ctx, l, inputs));
  const [ph, pw] = pair(ctx, l, 'poolSize', [2, 2]);
  const [sh, sw] = pair(ctx, l, 'strides', [ph, pw]);
  const pad = paddingMode(ctx, l);
  return { outputs: [im.make(convLength(ctx, l, im.h, ph, pad, sh), convLength(ctx, l, im.w, pw, pad, sw), im.c)], params: 0 };
};

const globalPool: Handler = (ctx, l, inputs) => ({ outputs: [[image(ctx, l, one(ctx, l, inputs)).c]], params: 0 });

/** The size along a normalisation or concatenation axis (Keras counts the batch as axis 0). */
function axisIndex(ctx: Ctx, l: LayerInfo, s: Shape, v: unknown): number {
  const axis = v == null ? -1 : int(ctx, l, 'axis', v, -MAX_RANK - 1);
  const i = axis < 0 ? s.length + axis : axis - 1;
  if (i < 0 || i >= s.length) throw fail(ctx, `gives ${l.label} the axis ${axis}, which its input of rank ${s.length + 1} does not have`);
  return i;
}

function paddingPairs(ctx: Ctx, l: LayerInfo, key: string, fallback: number): [[number, number], [number, number]] {
  const v = l.cfg[key];
  if (v == null) return [[fallback, fallback], [fallback, fallback]];
  if (typeof v === 'number') { const n = int(ctx, l, key, v, 0); return [[n, n], [n, n]]; }
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) {
    const a = int(ctx, l, key, v[0], 0); const b = int(ctx, l, key, v[1], 0);
    return [[a, a], [b, b]];
  }
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Array.isArray(x) && x.length === 2)) {
    const [[t, b], [le, r]] = v as unknown[][];
    return [[int(ctx, l, key, t, 0), int(ctx, l, key, b, 0)], [int(ctx, l, key, le, 0), int(ctx, l, key, r, 0)]];
  }
  throw fail(ctx, `gives ${l.label} an invalid ${key} (${shown(v)})`);
}

function merge(ctx: Ctx, l: LayerInfo, inputs: Shape[]): Shape {
  if (inputs.length < 1) throw fail(ctx, `connects no inputs to ${l.label}`);
  const rank = Math.max(...inputs.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) out.push(Math.max(...inputs.map((s) => s[s.length - rank + i] ?? 1)));
  return out;
}

const HANDLERS = new Map<string, Handler>([
  ['Dense', (ctx, l, inputs) => {
    const s = one(ctx, l, inputs);
    const units = int(ctx, l, 'units', l.cfg.units);
    return { outputs: [[...s.slice(0, -1), units]], params: s[s.length - 1] * units + bias(l, units) };
  }],
  ['Conv2D', conv('conv')],
  ['Conv2DTranspose', conv('transpose')],
  ['DepthwiseConv2D', conv('depthwise')],
  ['SeparableConv2D', conv('separable')],
  ['MaxPooling2D', pool],
  ['AveragePooling2D', pool],
  ['GlobalAveragePooling2D', globalPool],
  ['GlobalMaxPooling2D', globalPool],
  ['Flatten', (ctx, l, inputs) => ({ outputs: [[product(one(ctx, l, inputs))]], params: 0 })],
  ...['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'Activation', 'ReLU', 'LeakyReLU',
    'ELU', 'ThresholdedReLU', 'Softmax', 'Masking', 'Rescaling'].map((c): [string, Handler] => [c, same]),
  // At most one parameter per input value (fewer when axes are shared).
  ['PReLU', (ctx, l, inputs) => { const s = one(ctx, l, inputs); return { outputs: [s], params: product(s) }; }],
  ['BatchNormalization', (ctx, l, inputs) => {
    const s = one(ctx, l, inputs);
    return { outputs: [s], params: 4 * s[axisIndex(ctx, l, s, l.cfg.axis)] };
  }],
  ['LayerNormalization', (ctx, l, inputs) => {
    const s = one(ctx, l, inputs);
    const axes = Array.isArray(l.cfg.axis) ? l.cfg.axis : [l.cfg.axis];
    return { outputs: [s], params: 2 * axes.reduce((a: number, ax) => a * s[axisIndex(ctx, l, s, ax)], 1) };
  }],
  ['Reshape', (ctx, l, inputs) => {
    const s = one(ctx, l, inputs);
    const t = l.cfg.targetShape;
    if (!Array.isArray(t) || t.length === 0 || t.length > MAX_RANK) throw fail(ctx, `gives ${l.label} an invalid target_shape (${shown(t)})`);
    const dims = t.map((d) => int(ctx, l, 'target_shape', d, -1));
    const unknown = dims.filter((d) => d === -1).length;
    const known = product(dims.filter((d) => d !== -1));
    if (unknown > 1 || dims.includes(0) || (unknown === 0 && known !== product(s)) || (unknown === 1 && product(s) % known !== 0)) {
      throw fail(ctx, `gives ${l.label} a target_shape ${shown(t)} that does not hold its input of shape [${s.join(', ')}]`);
    }
    return { outputs: [dims.map((d) => (d === -1 ? product(s) / known : d))], params: 0 };
  }],
  ['Permute', (ctx, l, inputs) => {
    const s = one(ctx, l, inputs);
    const dims = l.cfg.dims;
    if (!Array.isArray(dims) || dims.length !== s.length || [...dims].sort((a, b) => Number(a) - Number(b)).some((d, i) => d !== i + 1)) {
      throw fail(ctx, `gives ${l.label} invalid dims (${shown(dims)})`);
    }
    return { outputs: [dims.map((d: number) => s[d - 1])], params: 0 };
  }],
  ['ZeroPadding2D', (ctx, l, inputs) => {
    const im = image(ctx, l, one(ctx, l, inputs));
    const [[t, b], [le, r]] = paddingPairs(ctx, l, 'padding', 1);
    return { outputs: [im.make(im.h + t + b, im.w + le + r, im.c)], params: 0 };
  }],
  ['Cropping2D', (ctx, l, inputs) => {
    const im = image(ctx, l, one(ctx, l, inputs));
    const [[t, b], [le, r]] = paddingPairs(ctx, l, 'cropping', 0);
    return { outputs: [im.make(im.h - t - b, im.w - le - r, im.c)], params: 0 };
  }],
  ['UpSampling2D', (ctx, l, inputs) => {
    const im = image(ctx, l, one(ctx, l, inputs));
    const [sh, sw] = pair(ctx, l, 'size', [2, 2]);
    return { outputs: [im.make(im.h * sh, im.w * sw, im.c)], params: 0 };
  }],
  ...['Add', 'Multiply', 'Average', 'Maximum', 'Minimum'].map((c): [string, Handler] => [c, (ctx, l, inputs) => ({ outputs: [merge(ctx, l, inputs)], params: 0 })]),
  ['Concatenate', (ctx, l, inputs) => {
    if (inputs.length < 1) throw fail(ctx, `connects no inputs to ${l.label}`);
    const rank = inputs[0].length;
    if (inputs.some((s) => s.length !== rank)) throw fail(ctx, `connects inputs of different ranks to ${l.label}`);
    const i = axisIndex(ctx, l, inputs[0], l.cfg.axis);
    const out = inputs[0].map((_, j) => (j === i ? inputs.reduce((a, s) => a + s[j], 0) : Math.max(...inputs.map((s) => s[j]))));
    return { outputs: [out], params: 0 };
  }],
]);

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

function layerInfo(ctx: Ctx, entry: unknown, where: string): { info: LayerInfo; entry: Dict } {
  if (!isDict(entry) || typeof entry.className !== 'string' || !(isDict(entry.config) || Array.isArray(entry.config))) {
    throw fail(ctx, `has a layer entry in ${where} that is not a {class_name, config} object`);
  }
  const cfg = (isDict(entry.config) ? entry.config : {}) as Dict;
  const name = typeof cfg.name === 'string' ? cfg.name : typeof entry.name === 'string' ? entry.name : '?';
  return { info: { name, className: entry.className, cfg, label: `layer ${quoteName(name)} (${quoteName(entry.className).slice(1, -1)})` }, entry };
}

function countLayer(ctx: Ctx, entry: object): void {
  if (ctx.seen.has(entry)) return;
  ctx.seen.add(entry);
  ctx.layers += 1;
  checkLimit('layers', ctx.layers, ctx.file, `declares at least ${ctx.layers} layers`);
}

/**
 * Applies one layer (or nested model) to its inputs; a layer called more than once counts its
 * largest call. Only a nested model may be applied to no inputs (null): it then uses its own.
 */
function applyLayer(ctx: Ctx, entry: unknown, inputs: Shape[] | null, where: string): Shape[] {
  const { info: l } = layerInfo(ctx, entry, where);
  const key = entry as object;
  countLayer(ctx, key);
  ctx.calls += 1;
  const maxCalls = 10 * limits().layers;
  if (ctx.calls > maxCalls) throw fail(ctx, `calls its layers and nested models more than ${maxCalls} times in all, too many to check before loading`);
  let outputs: Shape[];
  let params: number;
  if (MODEL_CLASSES.has(l.className)) {
    if (ctx.nesting >= MAX_NESTING) throw fail(ctx, `nests models more than ${MAX_NESTING} deep`);
    const outer = { parameters: ctx.parameters, counted: ctx.counted };
    ctx.nesting += 1; ctx.parameters = 0; ctx.counted = new Map();
    try {
      outputs = walkModel(ctx, entry as Dict, inputs, l.label);
      params = ctx.parameters;
    } finally {
      ctx.nesting -= 1; ctx.parameters = outer.parameters; ctx.counted = outer.counted;
    }
  } else {
    const handler = HANDLERS.get(l.className);
    if (!inputs) throw fail(ctx, `declares no input shape for ${l.label}, the first layer of ${where}`);
    if (!handler) {
      throw fail(ctx, `uses ${l.label}, a layer class whose size cannot be checked before loading (the checked classes are ${[...HANDLERS.keys(), ...MODEL_CLASSES].join(', ')})`);
    }
    ({ outputs, params } = handler(ctx, l, inputs));
    for (const s of outputs) checkShape(ctx, l, s);
    if (!ctx.largest || params > ctx.largest.parameters) ctx.largest = { name: l.name, className: l.className, parameters: params };
  }
  const before = ctx.counted.get(key) ?? 0;
  if (params > before) { ctx.parameters += params - before; ctx.counted.set(key, params); }
  return outputs;
}

function walkSequential(ctx: Ctx, config: unknown, inputs: Shape[] | null, label: string): Shape[] {
  const layers = Array.isArray(config) ? config : isDict(config) ? config.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) throw fail(ctx, `gives ${label} no layers`);
  let shapes: Shape[];
  let start = 0;
  const first = layerInfo(ctx, layers[0], label).info;
  if (first.className === 'InputLayer') {
    start = 1;
    countLayer(ctx, layers[0] as object);
    const own = ownInputShape(ctx, first);
    if (!inputs && !own) throw fail(ctx, `gives ${first.label} no batch_input_shape`);
    shapes = inputs ?? [checkInput(ctx, first, own!)];
  } else {
    const own = ownInputShape(ctx, first);
    if (inputs) shapes = inputs;
    else if (own) shapes = [checkInput(ctx, first, own)];
    else if (MODEL_CLASSES.has(first.className)) { shapes = applyLayer(ctx, layers[0], null, label); start = 1; }
    else throw fail(ctx, `declares no input shape for ${first.label}, the first layer of ${label}`);
  }
  for (let i = start; i < layers.length; i++) {
    if (isDict(layers[i]) && (layers[i] as Dict).className === 'InputLayer') throw fail(ctx, `places an InputLayer after the first layer of ${label}`);
    shapes = applyLayer(ctx, layers[i], shapes, label);
  }
  return shapes;
}

type Ref = { layer: string; node: number; tensor: number };

function refOf(ctx: Ctx, v: unknown, label: string): Ref {
  if (Array.isArray(v) && v.length >= 3 && typeof v[0] === 'string' && Number.isSafeInteger(v[1]) && Number.isSafeInteger(v[2]) && v[1] >= 0 && v[2] >= 0) {
    return { layer: v[0], node: v[1], tensor: v[2] };
  }
  throw fail(ctx, `has a connection in ${label} that is not [layer name, node index, tensor index] (${shown(v)})`);
}

/** A functional model's graph, walked in dependency order (Kahn's algorithm: each call once). */
function walkFunctional(ctx: Ctx, config: unknown, inputs: Shape[] | null, label: string): Shape[] {
  if (!isDict(config) || !Array.isArray(config.layers) || !Array.isArray(config.inputLayers) || !Array.isArray(config.outputLayers)) {
    throw fail(ctx, `gives ${label} no layers, input_layers or output_layers`);
  }
  const entries = config.layers;
  const inputRefs = config.inputLayers.map((r) => refOf(ctx, r, label));
  const outputRefs = config.outputLayers.map((r) => refOf(ctx, r, label));
  if (inputs && inputs.length !== inputRefs.length) throw fail(ctx, `connects ${inputs.length} inputs to ${label}, which takes ${inputRefs.length}`);
  const byName = new Map<string, number>();
  const infos = entries.map((e, i) => {
    const { info } = layerInfo(ctx, e, label);
    // tfjs finds a layer by its entry's name and files its pending calls under its config's name:
    // both must be there and agree, or its build waits for a layer it never finds, for ever.
    const name = (e as Dict).name;
    if (typeof name !== 'string' || name !== info.cfg.name) {
      throw fail(ctx, `gives ${info.label} in ${label} ${typeof name === 'string' ? `the name ${quoteName(name)} but the config name ${shown(info.cfg.name)}` : 'no name'}; a layer of a functional model has the same name in both`);
    }
    if (byName.has(name)) throw fail(ctx, `names two layers ${quoteName(name)} in ${label}`);
    byName.set(name, i);
    return { ...info, name };
  });
  // Every call (node) of every layer, and the calls each one waits for.
  const nodeIndex = new Map<string, number>();
  const nodes: { layer: number; call: number; refs: Ref[] }[] = [];
  const key = (layer: string, call: number) => `${layer}\u0000${call}`;
  entries.forEach((e, i) => {
    if (infos[i].className === 'InputLayer') {
      nodeIndex.set(key(infos[i].name, 0), nodes.length);
      nodes.push({ layer: i, call: 0, refs: [] });
      return;
    }
    const inbound = (e as Dict).inboundNodes;
    if (!Array.isArray(inbound)) throw fail(ctx, `gives ${infos[i].label} no inbound_nodes`);
    inbound.forEach((node, call) => {
      if (!Array.isArray(node)) throw fail(ctx, `gives ${infos[i].label} an inbound node that is not a list`);
      // tfjs numbers a nested model's calls from 1: its call 0 is the one inside it.
      nodeIndex.set(key(infos[i].name, call + (MODEL_CLASSES.has(infos[i].className) ? 1 : 0)), nodes.length);
      nodes.push({ layer: i, call, refs: node.map((r) => refOf(ctx, r, label)) });
    });
  });
  checkLimit('layers', nodes.length, ctx.file, `declares ${nodes.length} layer calls in ${label}`);
  buildsInTfjsOrder(ctx, entries, infos, label);
  const waiting = nodes.map(() => 0);
  const dependents: number[][] = nodes.map(() => []);
  const find = (r: Ref): number => {
    const n = nodeIndex.get(key(r.layer, r.node));
    if (n === undefined) throw fail(ctx, `connects ${label} to call ${r.node} of a layer ${quoteName(r.layer)} that it does not define`);
    return n;
  };
  nodes.forEach((node, i) => {
    for (const r of node.refs) { dependents[find(r)].push(i); waiting[i] += 1; }
  });
  const outputs: (Shape[] | undefined)[] = nodes.map(() => undefined);
  const tensorOf = (r: Ref): Shape => {
    const s = outputs[find(r)]?.[r.tensor];
    if (!s) throw fail(ctx, `connects ${label} to output ${r.tensor} of ${quoteName(r.layer)}, which it does not have`);
    return s;
  };
  const queue = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
  let done = 0;
  while (queue.length > 0) {
    const i = queue.pop()!;
    const node = nodes[i]; const l = infos[node.layer];
    if (l.className === 'InputLayer') {
      const k = inputRefs.findIndex((r) => r.layer === l.name);
      if (inputs && k >= 0) outputs[i] = [inputs[k]];
      else {
        const own = ownInputShape(ctx, l);
        if (!own) throw fail(ctx, `gives ${l.label} no batch_input_shape`);
        outputs[i] = [checkInput(ctx, l, own)];
      }
      countLayer(ctx, entries[node.layer] as object);
    } else {
      outputs[i] = applyLayer(ctx, entries[node.layer], node.refs.map(tensorOf), label);
    }
    done += 1;
    for (const d of dependents[i]) { waiting[d] -= 1; if (waiting[d] === 0) queue.push(d); }
  }
  if (done < nodes.length) throw fail(ctx, `connects the layers of ${label} in a cycle`);
  for (const r of inputRefs) tensorOf(r);
  return outputRefs.map(tensorOf);
}

/**
 * Replays the order in which tfjs makes a functional model's layer calls (Container.fromConfig):
 * it passes over the layers again and again, making each pending call whose inputs exist, where
 * a reference [layer, k, t] counts as existing once that layer has made more than k calls,
 * whichever they were. A pass that makes no call would repeat for ever, and tfjs would spin
 * without end (a layer called twice, its calls listed so that one waits for the other's
 * result), so such a graph is refused here, before tfjs sees it.
 */
function buildsInTfjsOrder(ctx: Ctx, entries: unknown[], infos: LayerInfo[], label: string): void {
  const calls = new Map<string, number>();
  const pending = new Map<string, Ref[][]>();
  entries.forEach((e, i) => {
    const own = infos[i].className === 'InputLayer' || MODEL_CLASSES.has(infos[i].className) ? 1 : 0;
    calls.set(infos[i].name, own);
    const inbound = (e as Dict).inboundNodes;
    if (!Array.isArray(inbound)) return; // an InputLayer without inbound_nodes (any other layer has them, checked before)
    const nodes = inbound.map((node) => {
      if (!Array.isArray(node)) throw fail(ctx, `gives ${infos[i].label} an inbound node that is not a list`);
      return node.map((r) => refOf(ctx, r, label));
    });
    if (nodes.length > 0) pending.set(infos[i].name, nodes);
  });
  while (pending.size > 0) {
    let made = false;
    for (const { name } of infos) {
      const waiting = pending.get(name);
      if (!waiting) continue;
      pending.delete(name);
      const still: Ref[][] = [];
      for (const node of waiting) {
        if (node.every((r) => (calls.get(r.layer) ?? 0) > r.node)) { calls.set(name, calls.get(name)! + 1); made = true; } else still.push(node);
      }
      if (still.length > 0) pending.set(name, still);
    }
    if (!made) {
      const [stuck] = pending.keys();
      throw fail(ctx, `connects the layers of ${label} so that tfjs can never make the calls of ${quoteName(stuck)} (each waits for a call that is made only after it), so the model cannot be built`);
    }
  }
}

function walkModel(ctx: Ctx, entry: Dict, inputs: Shape[] | null, label: string): Shape[] {
  if (entry.className === 'Sequential') return walkSequential(ctx, entry.config, inputs, label);
  if (entry.className === 'Model' || entry.className === 'Functional') return walkFunctional(ctx, entry.config, inputs, label);
  throw fail(ctx, `describes a ${quoteName(String(entry.className))} rather than a Sequential or functional model`);
}

/**
 * Walks a model.json topology as tfjs will read it and refuses it, with a UserError naming
 * `file`, when a layer's output, the parameter count, the layer count or the class count is
 * above its limit, or when it holds something whose size cannot be checked.
 */
export function sizeTopology(topology: unknown, file: string): TopologySize {
  let top = topology;
  if (isDict(top) && top.model_config != null) top = top.model_config;
  const ts = toTs(top, file);
  const ctx: Ctx = { file, layers: 0, parameters: 0, seen: new Set(), counted: new Map(), calls: 0, nesting: 0, largest: null };
  if (!isDict(ts) || typeof ts.className !== 'string') throw fail(ctx, 'has a modelTopology without class_name and config');
  const outputShapes = walkModel(ctx, ts, null, 'the model');
  checkLimit('layers', ctx.layers, file, `declares ${ctx.layers} layers`);
  const largest = ctx.largest ? `; its largest, layer ${quoteName(ctx.largest.name)} (${ctx.largest.className}), has ${ctx.largest.parameters}` : '';
  checkLimit('modelParameters', ctx.parameters, file, `declares ${ctx.parameters} parameters${largest}`);
  if (outputShapes.length === 0) throw fail(ctx, 'declares a model without outputs');
  const out = outputShapes[0];
  checkLimit('classes', out[out.length - 1], file, `declares ${out[out.length - 1]} output classes`);
  return { layers: ctx.layers, parameters: ctx.parameters, outputShapes, largest: ctx.largest };
}

// --- the weight manifest --------------------------------------------------------------------

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'complex64';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ManifestPlan {
  /** Weight file paths exactly as model.json writes them, in manifest order. */
  paths: unknown[];
  weights: WeightEntry[];
  values: number;
  bytes: number;
}

/** Checks the manifest's shape: every entry sized, values within modelParameters, files within `files`. */
export function planManifest(manifest: unknown, file: string): ManifestPlan {
  const bad = (what: string) => new UserError(`${file} ${what}.`);
  if (!Array.isArray(manifest)) throw bad('has no weightsManifest list');
  const paths: unknown[] = [];
  const weights: WeightEntry[] = [];
  let values = 0; let bytes = 0;
  for (const group of manifest) {
    if (!isDict(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw bad('has a weightsManifest group without paths and weights lists');
    checkLimit('files', paths.length + group.paths.length, file, `lists ${paths.length + group.paths.length} weight files`);
    paths.push(...group.paths);
    for (const w of group.weights) {
      if (!isDict(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw bad('has a weightsManifest entry without name, shape and dtype');
      }
      const label = `the weight ${quoteName(w.name)}`;
      if (w.shape.length > MAX_RANK || !w.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
        throw bad(`declares ${label} with an invalid shape (${shown(w.shape)})`);
      }
      if (!Object.hasOwn(DTYPE_BYTES, w.dtype)) throw bad(`declares ${label} with the dtype ${quoteName(w.dtype)}, which a Layers model's weights do not have`);
      let per = DTYPE_BYTES[w.dtype];
      if (w.quantization != null) {
        const q = w.quantization;
        if (!isDict(q) || typeof q.dtype !== 'string' || !Object.hasOwn(QUANTIZED_BYTES, q.dtype)) throw bad(`declares ${label} with an unknown quantization`);
        per = QUANTIZED_BYTES[q.dtype];
      }
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      values += n; bytes += n * per;
      checkLimit('modelParameters', values, file, `declares ${values} or more weight values in its weightsManifest`);
      weights.push(w as unknown as WeightEntry);
    }
  }
  return { paths, weights, values, bytes };
}
