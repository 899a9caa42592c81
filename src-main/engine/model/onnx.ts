/**
 * ONNX image classifiers (as PyTorch's `torch.onnx.export` writes them) in and out.
 *
 * What is read: the graph's one image input (N×C×H×W as PyTorch exports, N×H×W×C, or N×F), its
 * one output, and the last fully connected layer feeding that output (a Gemm, or a MatMul with
 * an optional Add of a bias, through an optional Softmax): that layer is the classifier head.
 * The model is built in tfjs as two layers, so the engine's split into feature extractor and head
 * (features/split.ts) applies unchanged:
 * - `onnx_features`: every node from the input to the head's input, run by tfjs ops (the
 *   operators in OPS below) with the file's initializers as frozen (non-trainable) weights;
 * - `onnx_head`: a Dense layer holding the head's weights (Gemm's transB, alpha and beta
 *   folded in), with a softmax, so the model's output is probabilities as the engine expects.
 * Training such a model trains the head only: a repair of an ONNX model is a head-only repair.
 *
 * Every model read is checked against ONNX Runtime (onnxruntime-web, its wasm build) on a
 * seeded probe batch: the graph runs there with the head's input added as an extra output,
 * and the features and outputs tfjs computes must match it, or the file is refused. So what
 * the scan sees is what ONNX Runtime computes.
 *
 * Writing back: the repaired head's weights replace the head's initializers in a copy of the
 * file's bytes (onnx-proto.ts, replaceInitializers); every other byte stays as it was.
 *
 * The file may come from an attacker: it must be a regular file within `fileBytes`; every
 * initializer's declared size is counted against `modelParameters` before it is read;
 * convolution and pooling attributes are bounded before any tensor is made; each feature
 * value's size per sample is checked against `layerUnits` on the probe run.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkLimit, limits } from '../limits.js';
import type { ModelMetadata } from '../../contract/results.js';
import { FLAT_ORDER_KEY, ONNX_FEATURES_LAYER } from '../../contract/format.js';
import { readModelFile } from './keras.js';
import {
  addGraphOutput, DataType, ProtoError, readOnnxModel, readTensorValues, replaceInitializers,
  type OnnxModel, type OnnxNode, type TensorRef,
} from './onnx-proto.js';

/** File name of a repaired ONNX model inside the repaired model's folder. */
export const ONNX_FILE = 'model.onnx';
export { ONNX_FEATURES_LAYER };
export const ONNX_HEAD_LAYER = 'onnx_head';

/** A path that names an ONNX file (a folder with such a name is a folder). */
export function isOnnxPath(p: string): boolean {
  if (path.extname(p).toLowerCase() !== '.onnx') return false;
  try { return !statSync(p).isDirectory(); } catch { return true; }
}

type Layout = 'NCHW' | 'NHWC' | 'flat';

export { FLAT_ORDER_KEY };
export type FlatOrder = 'CHW' | 'HWC';
/**
 * How a flat input takes an image of several channels: channels first (C×H×W) unless the file's
 * metadata says otherwise, since PyTorch keeps images N×C×H×W and `x.view(n, -1)` or `nn.Flatten`
 * of such a batch lays out all of the first channel, then the next. The data readers give
 * H×W×C, so the engine reorders before feeding it (train.ts, modelInput).
 */
export interface FlatInputOrder { order: FlatOrder; declared: boolean }

/** A value in the graph: a tensor (4-D ones in the file's own layout), or a small integer array (shapes). */
type Value = tf.Tensor | { ints: number[]; dims: number[] };
const isInts = (v: Value): v is { ints: number[]; dims: number[] } => !(v instanceof tf.Tensor);

interface HeadInfo {
  kind: 'gemm' | 'matmul';
  /** Initializer names of the weight matrix and the bias (absent when there is none). */
  weight: string;
  bias?: string;
  transB: boolean;
  alpha: number;
  beta: number;
  featureDim: number;
  numClasses: number;
  /** The tensor name at the head's input (the features). */
  features: string;
  softmax: boolean;
}

interface OnnxSource {
  file: string;
  bytes: Uint8Array;
  graph: OnnxModel;
  head: HeadInfo;
}

const sources = new WeakMap<tfl.LayersModel, OnnxSource>();

/** Whether a loaded model came from an ONNX file (its repair is head-only). */
export function isOnnxModel(model: tfl.LayersModel): boolean {
  return sources.has(model);
}

class OnnxError extends Error {}

// --- the feature graph in tfjs ----------------------------------------------------------------

interface FeatureGraph {
  nodes: OnnxNode[];
  input: string;
  layout: Layout;
  output: string;
  /** Float constants (initializers and Constant nodes) in the order of the layer's weights. */
  floatNames: string[];
  floatShapes: number[][];
  ints: Map<string, { ints: number[]; dims: number[] }>;
}

const attrInt = (n: OnnxNode, name: string, dflt: number) => n.attributes.get(name)?.i ?? dflt;
const attrInts = (n: OnnxNode, name: string, dflt: number[]) => { const a = n.attributes.get(name); return a && a.ints.length ? a.ints : dflt; };
const attrFloat = (n: OnnxNode, name: string, dflt: number) => n.attributes.get(name)?.f ?? dflt;
const describeNode = (n: OnnxNode) => `the ${n.opType} node${n.name ? ` "${n.name}"` : ''}`;

/** Bounds on convolution and pooling attributes, checked before any tensor is made. */
function checkWindow(n: OnnxNode, kernel: number[]): void {
  const strides = attrInts(n, 'strides', [1, 1]); const pads = attrInts(n, 'pads', [0, 0, 0, 0]); const dil = attrInts(n, 'dilations', [1, 1]);
  const autoPad = n.attributes.get('auto_pad')?.s ?? 'NOTSET';
  if (kernel.length !== 2) throw new OnnxError(`${describeNode(n)} is not two-dimensional (kernel ${kernel.join('×')})`);
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new OnnxError(`${describeNode(n)} uses auto_pad ${autoPad}, which is not read (explicit pads are)`);
  if (strides.length !== 2 || pads.length !== 4 || dil.length !== 2 || strides.some((s) => s < 1 || s > 64) || dil.some((d) => d < 1 || d > 64)
    || pads.some((p, k) => p < 0 || p > kernel[k % 2] * dil[k % 2]) || kernel.some((k) => k < 1 || k > 256)) {
    throw new OnnxError(`${describeNode(n)} has strides, pads, dilations or a kernel size out of range`);
  }
  if (attrInt(n, 'ceil_mode', 0) !== 0) throw new OnnxError(`${describeNode(n)} uses ceil_mode, which is not read`);
}

function toNhwc(x: tf.Tensor): tf.Tensor4D { return tf.transpose(x as tf.Tensor4D, [0, 2, 3, 1]); }
function toNchw(x: tf.Tensor): tf.Tensor4D { return tf.transpose(x as tf.Tensor4D, [0, 3, 1, 2]); }
function padSpatial(x: tf.Tensor4D, pads: number[], value = 0): tf.Tensor4D {
  if (pads.every((p) => p === 0)) return x;
  return tf.pad(x, [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]], value);
}

/** Operators the feature part may use, each over values in the file's layout. */
const OPS: Record<string, (n: OnnxNode, inp: (Value | undefined)[]) => Value[]> = {
  Identity: (_n, [x]) => [x!],
  Dropout: (_n, [x]) => [x!],
  Relu: (_n, [x]) => [tf.relu(x as tf.Tensor)],
  LeakyRelu: (n, [x]) => [tf.leakyRelu(x as tf.Tensor, attrFloat(n, 'alpha', 0.01))],
  Sigmoid: (_n, [x]) => [tf.sigmoid(x as tf.Tensor)],
  Tanh: (_n, [x]) => [tf.tanh(x as tf.Tensor)],
  Elu: (n, [x]) => { const a = attrFloat(n, 'alpha', 1); const t = x as tf.Tensor; return [tf.where(tf.greater(t, 0), t, tf.mul(a, tf.sub(tf.exp(t), 1)))]; },
  Clip: (n, [x, lo, hi]) => {
    const min = lo ? (lo as tf.Tensor).dataSync()[0] : attrFloat(n, 'min', -3.4e38);
    const max = hi ? (hi as tf.Tensor).dataSync()[0] : attrFloat(n, 'max', 3.4e38);
    return [tf.clipByValue(x as tf.Tensor, min, max)];
  },
  Add: (_n, [a, b]) => [tf.add(a as tf.Tensor, b as tf.Tensor)],
  Sub: (_n, [a, b]) => [tf.sub(a as tf.Tensor, b as tf.Tensor)],
  Mul: (_n, [a, b]) => [tf.mul(a as tf.Tensor, b as tf.Tensor)],
  Div: (_n, [a, b]) => [tf.div(a as tf.Tensor, b as tf.Tensor)],
  Conv: (n, [x, w, b]) => {
    const W = w as tf.Tensor4D; const [o, iPerGroup, kh, kw] = W.shape;
    const group = attrInt(n, 'group', 1);
    const strides = attrInts(n, 'strides', [1, 1]) as [number, number]; const dil = attrInts(n, 'dilations', [1, 1]) as [number, number];
    const xh = padSpatial(toNhwc(x as tf.Tensor), attrInts(n, 'pads', [0, 0, 0, 0]));
    let y: tf.Tensor4D;
    if (group === 1) y = tf.conv2d(xh, tf.transpose(W, [2, 3, 1, 0]) as tf.Tensor4D, strides, 'valid', 'NHWC', dil);
    else if (iPerGroup === 1 && group === xh.shape[3]) {
      const filter = tf.transpose(tf.reshape(W, [group, o / group, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(xh, filter, strides, 'valid', 'NHWC', dil);
    } else throw new OnnxError(`${describeNode(n)} is a grouped convolution (group ${group}), which is not read`);
    if (b) y = tf.add(y, b as tf.Tensor1D);
    return [toNchw(y)];
  },
  MaxPool: (n, [x]) => {
    const k = attrInts(n, 'kernel_shape', []) as [number, number];
    if (attrInts(n, 'dilations', [1, 1]).some((d) => d !== 1)) throw new OnnxError(`${describeNode(n)} is dilated, which is not read`);
    const xh = padSpatial(toNhwc(x as tf.Tensor), attrInts(n, 'pads', [0, 0, 0, 0]), -3.4e38);
    return [toNchw(tf.maxPool(xh, k, attrInts(n, 'strides', [1, 1]) as [number, number], 'valid'))];
  },
  AveragePool: (n, [x]) => {
    const k = attrInts(n, 'kernel_shape', []) as [number, number];
    const pads = attrInts(n, 'pads', [0, 0, 0, 0]);
    if (pads.some((p) => p !== 0) && attrInt(n, 'count_include_pad', 0) === 0) throw new OnnxError(`${describeNode(n)} averages over padding it does not count, which is not read`);
    const xh = padSpatial(toNhwc(x as tf.Tensor), pads);
    return [toNchw(tf.avgPool(xh, k, attrInts(n, 'strides', [1, 1]) as [number, number], 'valid'))];
  },
  GlobalAveragePool: (_n, [x]) => [tf.mean(x as tf.Tensor, [2, 3], true)],
  GlobalMaxPool: (_n, [x]) => [tf.max(x as tf.Tensor, [2, 3], true)],
  BatchNormalization: (n, [x, scale, bias, mean, variance]) => {
    const t = x as tf.Tensor; const c = t.shape[1]!;
    const shape = t.rank === 4 ? [1, c, 1, 1] : [1, c];
    const r = (v: Value | undefined) => tf.reshape(v as tf.Tensor, shape);
    const inv = tf.div(r(scale), tf.sqrt(tf.add(r(variance), attrFloat(n, 'epsilon', 1e-5))));
    return [tf.add(tf.mul(tf.sub(t, r(mean)), inv), r(bias))];
  },
  Flatten: (n, [x]) => {
    const t = x as tf.Tensor; let axis = attrInt(n, 'axis', 1); if (axis < 0) axis += t.rank;
    const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return [tf.reshape(t, [outer, t.size / Math.max(1, outer)])];
  },
  Reshape: (n, [x, s]) => {
    const t = x as tf.Tensor;
    if (!s || !isInts(s)) throw new OnnxError(`${describeNode(n)} takes a shape that is not a constant`);
    const shape = s.ints.map((d, k) => (d === 0 && attrInt(n, 'allowzero', 0) === 0 ? t.shape[k] : d));
    return [tf.reshape(t, shape)];
  },
  Transpose: (n, [x]) => [tf.transpose(x as tf.Tensor, n.attributes.get('perm')?.ints.length ? n.attributes.get('perm')!.ints : undefined)],
  MatMul: (n, [a, b]) => {
    const A = a as tf.Tensor; const B = b as tf.Tensor;
    if (A.rank !== 2 || B.rank !== 2) throw new OnnxError(`${describeNode(n)} multiplies tensors of rank ${A.rank} and ${B.rank}; only matrices are read`);
    return [tf.matMul(A as tf.Tensor2D, B as tf.Tensor2D)];
  },
  Gemm: (n, [a, b, c]) => {
    let y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, attrInt(n, 'transA', 0) === 1, attrInt(n, 'transB', 0) === 1) as tf.Tensor;
    const alpha = attrFloat(n, 'alpha', 1); const beta = attrFloat(n, 'beta', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c) y = tf.add(y, beta === 1 ? (c as tf.Tensor) : tf.mul(c as tf.Tensor, beta));
    return [y];
  },
  Concat: (n, inputs) => {
    const axis = attrInt(n, 'axis', 0);
    if (inputs.every((v) => v && isInts(v))) return [{ ints: inputs.flatMap((v) => (v as { ints: number[] }).ints), dims: [inputs.reduce((s, v) => s + (v as { ints: number[] }).ints.length, 0)] }];
    return [tf.concat(inputs as tf.Tensor[], axis)];
  },
  Shape: (_n, [x]) => { const s = isInts(x!) ? x.dims : (x as tf.Tensor).shape; return [{ ints: [...s], dims: [s.length] }]; },
  Gather: (n, [x, i]) => {
    if (x && isInts(x) && i && isInts(i) && x.dims.length === 1) {
      const idx = i.ints.map((k) => (k < 0 ? k + x.ints.length : k));
      return [{ ints: idx.map((k) => x.ints[k]), dims: i.dims }];
    }
    throw new OnnxError(`${describeNode(n)} gathers from a tensor, which is not read (only from shapes)`);
  },
  Unsqueeze: (n, [x, axesIn]) => {
    const axes = axesIn && isInts(axesIn) ? axesIn.ints : attrInts(n, 'axes', []);
    if (isInts(x!)) return [{ ints: x.ints, dims: x.dims.length === 0 ? [1] : [x.ints.length] }];
    let t = x as tf.Tensor;
    const rank = t.rank + axes.length;
    for (const a of [...axes].map((v) => (v < 0 ? v + rank : v)).sort((p, q) => p - q)) t = tf.expandDims(t, a);
    return [t];
  },
  Squeeze: (n, [x, axesIn]) => {
    const axes = axesIn && isInts(axesIn) ? axesIn.ints : attrInts(n, 'axes', []);
    const t = x as tf.Tensor;
    return [tf.squeeze(t, axes.length ? axes.map((a) => (a < 0 ? a + t.rank : a)) : undefined)];
  },
  Cast: (_n, [x]) => [isInts(x!) ? x : tf.cast(x as tf.Tensor, 'float32')],
};

function runFeatureGraph(g: FeatureGraph, floats: tf.Tensor[], x: tf.Tensor): tf.Tensor {
  const values = new Map<string, Value>();
  g.floatNames.forEach((name, k) => values.set(name, floats[k]));
  for (const [name, v] of g.ints) values.set(name, v);
  values.set(g.input, g.layout === 'NCHW' ? toNchw(x) : g.layout === 'flat' ? tf.reshape(x, [x.shape[0], -1]) : x);
  for (const n of g.nodes) {
    if (n.opType === 'Constant') continue;
    const inputs = n.inputs.map((name) => (name === '' ? undefined : values.get(name)));
    const out = OPS[n.opType](n, inputs);
    n.outputs.forEach((name, k) => { if (out[k] !== undefined) values.set(name, out[k]); });
  }
  const f = values.get(g.output);
  if (!f || isInts(f)) throw new OnnxError('the head\'s input is not a tensor');
  return f.rank === 2 ? f : tf.reshape(f, [f.shape[0], -1]);
}

/** The ONNX graph up to the head's input, as one tfjs layer with frozen weights. */
class OnnxFeatures extends tfl.layers.Layer {
  static className = 'OnnxFeatures';
  constructor(private readonly graph: FeatureGraph, private readonly featureDim: number, name: string, readonly flatOrder: FlatInputOrder | null) {
    super({ name, trainable: false });
  }
  override build(): void {
    this.graph.floatShapes.forEach((shape, k) => this.addWeight(`c${k}`, shape, 'float32', tfl.initializers.zeros(), undefined, false));
    this.built = true;
  }
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [s[0], this.featureDim];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => runFeatureGraph(this.graph, this.weights.map((w) => w.read()), x));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), onnx: 'the layers of an ONNX file, saved only as that file' };
  }
}

// --- reading ----------------------------------------------------------------------------------

function producers(g: OnnxModel): Map<string, OnnxNode> {
  const m = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

function consumers(g: OnnxModel, name: string): OnnxNode[] {
  return g.nodes.filter((n) => n.inputs.includes(name));
}

function findHead(g: OnnxModel, initializerUsers: (name: string) => number): HeadInfo {
  if (g.outputs.length !== 1) throw new OnnxError(`its graph has ${g.outputs.length} outputs; a classifier has one`);
  const by = producers(g);
  let node = by.get(g.outputs[0].name);
  let softmax = false;
  if (node && node.opType === 'Softmax') {
    const axis = attrInt(node, 'axis', -1);
    if (axis !== -1 && axis !== 1) throw new OnnxError(`its final Softmax runs over axis ${axis}, not the classes`);
    softmax = true; node = by.get(node.inputs[0]);
  }
  if (!node) throw new OnnxError('its output is not computed by any node');
  const init = (name: string | undefined) => (name ? g.initializers.get(name) : undefined);
  const matrix = (t: TensorRef | undefined, what: string) => {
    if (!t || t.dims.length !== 2) throw new OnnxError(`its last layer's ${what} is not a weight matrix stored in the file`);
    if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.DOUBLE) throw new OnnxError(`its last layer's ${what} is not stored as floats`);
    return t;
  };
  const sole = (name: string, what: string) => {
    if (initializerUsers(name) !== 1) throw new OnnxError(`its last layer's ${what} "${name}" is also used by other nodes, so it cannot be repaired alone`);
  };
  const lastLayer = `its last layer is ${describeNode(node)}, not a fully connected layer (Gemm, or MatMul with an optional Add), so it has no classifier head to read`;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) throw new OnnxError('its last layer (a Gemm) transposes its input, which is not read');
    const B = matrix(init(node.inputs[1]), 'weight');
    const transB = attrInt(node, 'transB', 0) === 1;
    const [numClasses, featureDim] = transB ? B.dims : [B.dims[1], B.dims[0]];
    const C = node.inputs[2] ? init(node.inputs[2]) : undefined;
    if (node.inputs[2] && (!C || C.count !== numClasses)) throw new OnnxError('its last layer\'s bias is not one value per class stored in the file');
    sole(B.name, 'weight'); if (C) sole(C.name, 'bias');
    const alpha = attrFloat(node, 'alpha', 1); const beta = attrFloat(node, 'beta', 1);
    if (alpha === 0 || (C && beta === 0)) throw new OnnxError('its last layer (a Gemm) has alpha or beta 0');
    return { kind: 'gemm', weight: B.name, bias: C?.name, transB, alpha, beta, featureDim, numClasses, features: node.inputs[0], softmax };
  }
  let bias: TensorRef | undefined;
  if (node.opType === 'Add') {
    const [a, b] = node.inputs;
    const mm = by.get(a)?.opType === 'MatMul' ? a : by.get(b)?.opType === 'MatMul' ? b : undefined;
    if (!mm) throw new OnnxError(lastLayer);
    bias = init(mm === a ? b : a);
    if (!bias || (bias.dataType !== DataType.FLOAT && bias.dataType !== DataType.DOUBLE)) throw new OnnxError('its last layer\'s bias is not stored in the file as floats');
    if (consumers(g, mm).length !== 1) throw new OnnxError('its last MatMul is read by other nodes too, so it cannot be repaired alone');
    node = by.get(mm)!;
  }
  if (node.opType !== 'MatMul') throw new OnnxError(lastLayer);
  const W = matrix(init(node.inputs[1]), 'weight');
  const [featureDim, numClasses] = W.dims;
  if (bias && (bias.count !== numClasses || bias.dims.length > 2 || (bias.dims.length === 2 && bias.dims[0] !== 1))) {
    throw new OnnxError('its last layer\'s bias is not one value per class');
  }
  sole(W.name, 'weight'); if (bias) sole(bias.name, 'bias');
  return { kind: 'matmul', weight: W.name, bias: bias?.name, transB: false, alpha: 1, beta: 1, featureDim, numClasses, features: node.inputs[0], softmax };
}

/** The nodes needed to compute `target` from the graph's input, in the file's (topological) order. */
function featureNodes(g: OnnxModel, target: string, input: string): OnnxNode[] {
  const by = producers(g);
  const needed = new Set<OnnxNode>();
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || name === input || name === '' || g.initializers.has(name)) continue;
    seen.add(name);
    const n = by.get(name);
    if (!n) throw new OnnxError(`the tensor "${name}" is used but never computed`);
    needed.add(n);
    stack.push(...n.inputs);
  }
  return g.nodes.filter((n) => needed.has(n));
}

function imageInput(g: OnnxModel): { name: string; layout: Layout; shape: [number, number, number] } {
  const inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
  if (inputs.length !== 1) throw new OnnxError(`its graph has ${inputs.length} inputs; an image classifier has one`);
  const i = inputs[0];
  if (i.elemType !== DataType.FLOAT) throw new OnnxError(`its input "${i.name}" is not of 32-bit floats (element type ${i.elemType})`);
  const s = i.shape ?? [];
  const fixed = s.slice(1);
  const bad = () => new OnnxError(`its input "${i.name}" has shape [${s.map((d) => d ?? '?').join(', ')}]; an image classifier's input is N×C×H×W, N×H×W×C or N×F with fixed sizes after the batch`);
  if (fixed.some((d) => d === null || d! < 1)) throw bad();
  const d = fixed as number[];
  // Checked before the probe batch (or anything else) is allocated for it.
  const values = d.reduce((a, b) => a * b, 1);
  checkLimit('sampleValues', values, 'it', `takes inputs of ${values} values each`);
  if (d.length === 3) checkLimit('imagePixels', values / Math.min(d[0], d[2]), 'it', `takes images of ${values / Math.min(d[0], d[2])} pixels`);
  if (d.length === 1) return { name: i.name, layout: 'flat', shape: [1, 1, d[0]] };
  if (d.length !== 3) throw bad();
  const channelish = (v: number) => v === 1 || v === 3;
  if (channelish(d[0])) return { name: i.name, layout: 'NCHW', shape: [d[1], d[2], d[0]] };
  if (channelish(d[2])) return { name: i.name, layout: 'NHWC', shape: [d[0], d[1], d[2]] };
  throw bad();
}

interface Parsed { graph: OnnxModel; head: HeadInfo; feature: FeatureGraph; inputShape: [number, number, number]; floats: Float32Array[]; flatOrder: FlatInputOrder | null }

/** The order a flat input takes an image in: the file's FLAT_ORDER_KEY entry, or channels first. */
function flatOrderOf(graph: OnnxModel): FlatInputOrder {
  const declared = graph.metadata.get(FLAT_ORDER_KEY);
  if (declared === undefined) return { order: 'CHW', declared: false };
  const order = declared.trim().toUpperCase();
  if (order !== 'CHW' && order !== 'HWC') {
    throw new OnnxError(`its metadata entry ${FLAT_ORDER_KEY} is "${declared.slice(0, 40)}", where CHW (channels first) or HWC (channels last) is read`);
  }
  return { order, declared: true };
}

function parseOnnx(bytes: Uint8Array): Parsed {
  const graph = readOnnxModel(bytes, { nodes: limits().layers * 4 });
  const ops = graph.opsets.get('') ?? graph.opsets.get('ai.onnx') ?? 0;
  if (ops < 7) throw new OnnxError(`it declares ONNX operator set ${ops}; sets 7 and later are read`);
  const users = new Map<string, number>();
  for (const n of graph.nodes) for (const name of n.inputs) users.set(name, (users.get(name) ?? 0) + 1);
  const head = findHead(graph, (name) => users.get(name) ?? 0);
  const input = imageInput(graph);
  const nodes = featureNodes(graph, head.features, input.name);
  // Nothing runs that the output does not need: a runtime would run it on the probe batch too.
  const used = featureNodes(graph, graph.outputs[0].name, input.name).length;
  if (used !== graph.nodes.length) throw new OnnxError(`${graph.nodes.length - used} of its ${graph.nodes.length} nodes do not lead to its output`);
  for (const n of nodes) {
    if (n.domain && n.domain !== 'ai.onnx') throw new OnnxError(`${describeNode(n)} belongs to the custom domain "${n.domain}", which is not read`);
    if (n.opType !== 'Constant' && !OPS[n.opType]) {
      throw new OnnxError(`${describeNode(n)} in its feature layers is an operator that is not read (those read are ${Object.keys(OPS).join(', ')} and Constant)`);
    }
    if (n.opType === 'Conv') checkWindow(n, graph.initializers.get(n.inputs[1])?.dims.slice(2) ?? []);
    if (n.opType === 'MaxPool' || n.opType === 'AveragePool') checkWindow(n, attrInts(n, 'kernel_shape', []));
    for (const a of n.attributes.values()) if (a.graph) throw new OnnxError(`${describeNode(n)} holds a subgraph, which is not read`);
  }
  // Constants the feature part reads: counted against the parameter budget before any is read.
  const constants: TensorRef[] = [];
  for (const n of nodes) {
    for (const name of n.inputs) { const t = graph.initializers.get(name); if (t && !constants.includes(t)) constants.push(t); }
    if (n.opType === 'Constant') {
      const t = n.attributes.get('value')?.t;
      if (!t) throw new OnnxError(`${describeNode(n)} holds no tensor value`);
      constants.push({ ...t, name: n.outputs[0] });
    }
  }
  let total = head.featureDim * head.numClasses + head.numClasses;
  for (const t of constants) total += t.count;
  checkLimit('modelParameters', total, 'it', `declares ${total} parameters`);
  const feature: FeatureGraph = { nodes, input: input.name, layout: input.layout, output: head.features, floatNames: [], floatShapes: [], ints: new Map() };
  const floats: Float32Array[] = [];
  for (const t of constants) {
    const v = readTensorValues(bytes, t);
    if (v instanceof Float32Array) { feature.floatNames.push(t.name); feature.floatShapes.push(t.dims); floats.push(v); }
    else feature.ints.set(t.name, { ints: v, dims: t.dims });
  }
  return { graph, head, feature, inputShape: input.shape, floats, flatOrder: input.layout === 'flat' ? flatOrderOf(graph) : null };
}

/** The Dense kernel ([features, classes]) and bias the head's initializers amount to. */
function headWeights(bytes: Uint8Array, p: Parsed): { kernel: Float32Array; bias: Float32Array } {
  const { head, graph } = p;
  const W = readTensorValues(bytes, graph.initializers.get(head.weight)!) as Float32Array;
  const kernel = new Float32Array(head.featureDim * head.numClasses);
  for (let i = 0; i < head.featureDim; i++) {
    for (let c = 0; c < head.numClasses; c++) kernel[i * head.numClasses + c] = head.alpha * (head.transB ? W[c * head.featureDim + i] : W[i * head.numClasses + c]);
  }
  const bias = new Float32Array(head.numClasses);
  if (head.bias) {
    const b = readTensorValues(bytes, graph.initializers.get(head.bias)!) as Float32Array;
    for (let c = 0; c < head.numClasses; c++) bias[c] = head.beta * b[c];
  }
  return { kernel, bias };
}

function buildModel(p: Parsed, bytes: Uint8Array): tfl.LayersModel {
  const { head, inputShape, feature } = p;
  const input = tfl.input({ shape: feature.layout === 'flat' ? [inputShape[2]] : inputShape, name: 'onnx_input' });
  const featLayer = new OnnxFeatures(feature, head.featureDim, ONNX_FEATURES_LAYER, p.flatOrder);
  const feats = featLayer.apply(input) as tfl.SymbolicTensor;
  const dense = tfl.layers.dense({ units: head.numClasses, activation: 'softmax', useBias: head.bias !== undefined, name: ONNX_HEAD_LAYER });
  const out = dense.apply(feats) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'onnx' });
  featLayer.setWeights(p.floats.map((v, k) => tf.tensor(v, feature.floatShapes[k])));
  const w = headWeights(bytes, p);
  dense.setWeights([tf.tensor2d(w.kernel, [head.featureDim, head.numClasses]), ...(head.bias ? [tf.tensor1d(w.bias)] : [])]);
  return model;
}

/** A seeded probe batch in the file's input layout and in the model's (NHWC). */
function probeBatch(shape: [number, number, number], layout: Layout, n = 4): { nhwc: Float32Array; file: Float32Array; fileDims: number[] } {
  const [h, w, c] = shape;
  const nhwc = new Float32Array(n * h * w * c);
  let s = 12345;
  for (let k = 0; k < nhwc.length; k++) { s = (s * 1103515245 + 12345) >>> 0; nhwc[k] = (s >>> 8) / 16777216; }
  if (layout !== 'NCHW') return { nhwc, file: nhwc, fileDims: layout === 'flat' ? [n, c] : [n, h, w, c] };
  const file = new Float32Array(nhwc.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    file[((b * c + ch) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + ch];
  }
  return { nhwc, file, fileDims: [n, c, h, w] };
}

type Ort = typeof import('onnxruntime-web');
let ortModule: Promise<Ort> | undefined;
async function ort(): Promise<Ort> {
  ortModule ??= import('onnxruntime-web').then((m) => {
    // One thread: the engine already runs in its own worker, and Node has no browser workers.
    m.env.wasm.numThreads = 1;
    m.env.logLevel = 'error';
    return m;
  });
  return ortModule;
}

/** The features (the head's input) and outputs ONNX Runtime computes for the file's own graph on a batch. */
export async function runOnnxRuntime(bytes: Uint8Array, features: string, input: { name: string; data: Float32Array; dims: number[] }): Promise<{ features: Float32Array; output: Float32Array }> {
  const rt = await ort();
  const graph = readOnnxModel(bytes, { nodes: limits().layers * 4 });
  const withFeatures = graph.outputs.some((o) => o.name === features) ? bytes : addGraphOutput(bytes, graph, features);
  const session = await rt.InferenceSession.create(withFeatures);
  try {
    const result = await session.run({ [input.name]: new rt.Tensor('float32', input.data, input.dims) });
    const f = result[features]; const o = result[graph.outputs[0].name];
    const out = { features: Float32Array.from(f.data as Float32Array), output: Float32Array.from(o.data as Float32Array) };
    for (const t of Object.values(result)) t.dispose();
    return out;
  } finally {
    await session.release();
  }
}

/** Checks the tfjs build against ONNX Runtime on a probe batch; throws OnnxError when they differ. */
async function checkAgainstRuntime(model: tfl.LayersModel, p: Parsed, bytes: Uint8Array): Promise<void> {
  const probe = probeBatch(p.inputShape, p.feature.layout);
  const n = probe.nhwc.length / (p.inputShape[0] * p.inputShape[1] * p.inputShape[2]);
  let rt;
  try {
    rt = await runOnnxRuntime(bytes, p.head.features, { name: p.feature.input, data: probe.file, dims: probe.fileDims });
  } catch (err) {
    throw new OnnxError(`ONNX Runtime cannot run it (${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 200)})`);
  }
  const [feats, logits] = tf.tidy(() => {
    const x = tf.tensor4d(probe.nhwc, [n, ...p.inputShape]);
    const featLayer = model.getLayer(ONNX_FEATURES_LAYER);
    const xin = p.feature.layout === 'flat' ? tf.reshape(x, [n, -1]) : x;
    const f = featLayer.apply(xin) as tf.Tensor2D;
    const dense = model.getLayer(ONNX_HEAD_LAYER) as tfl.layers.Layer;
    const [k, b] = dense.getWeights();
    let z = tf.matMul(f, k); if (b) z = tf.add(z, b);
    return [f, p.head.softmax ? tf.softmax(z) : z];
  });
  const f = feats.dataSync() as Float32Array; const o = logits.dataSync() as Float32Array;
  tf.dispose([feats, logits]);
  checkLimit('layerUnits', f.length / n, 'its feature layer', `has ${f.length / n} values per sample`);
  const differ = (a: Float32Array, b: Float32Array) => {
    if (a.length !== b.length) return Infinity;
    let scale = 1; let diff = 0;
    for (let k = 0; k < a.length; k++) { scale = Math.max(scale, Math.abs(b[k])); diff = Math.max(diff, Math.abs(a[k] - b[k])); }
    return diff / scale;
  };
  const df = differ(f, rt.features); const dout = differ(o, rt.output);
  if (!(df <= 1e-3 && dout <= 1e-3)) {
    throw new OnnxError(`its graph computes different values here than in ONNX Runtime (relative difference ${Number.isFinite(Math.max(df, dout)) ? Math.max(df, dout).toExponential(1) : 'in shape'} at the ${df > 1e-3 ? 'head\'s input' : 'output'}), so it is not read`);
  }
}

export interface LoadedOnnx { model: tfl.LayersModel; metadata: ModelMetadata; fingerprint: string }

function asUserError(file: string, err: unknown): unknown {
  if (err instanceof OnnxError) return new UserError(`The ONNX file ${file} cannot be read: ${err.message}.`);
  if (err instanceof ProtoError) return new UserError(`The ONNX file ${file} is not a valid ONNX model (truncated or corrupt: ${err.message}).`);
  if (err instanceof UserError && err.message.startsWith('it ')) return new UserError(`The ONNX file ${file} ${err.message.slice(3)}`);
  return err;
}

/** Reads an ONNX classifier (see the file comment) and builds it in tfjs with the file's weights. */
export async function loadOnnxModel(file: string): Promise<LoadedOnnx> {
  const bytes = new Uint8Array(readModelFile(file));
  let p: Parsed;
  try { p = parseOnnx(bytes); } catch (err) { throw asUserError(file, err); }
  let model: tfl.LayersModel;
  try { model = buildModel(p, bytes); } catch (err) {
    if (err instanceof OnnxError || err instanceof UserError) throw asUserError(file, err);
    throw new UserError(`The ONNX file ${file} cannot be built: ${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300)}.`);
  }
  try {
    await checkAgainstRuntime(model, p, bytes);
  } catch (err) {
    model.dispose();
    if (err instanceof OnnxError || err instanceof UserError) throw asUserError(file, err);
    throw new UserError(`The ONNX file ${file} cannot be run: ${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300)}.`);
  }
  sources.set(model, { file, bytes, graph: p.graph, head: p.head });
  const metadata: ModelMetadata = { featureLayer: ONNX_FEATURES_LAYER, ...(p.flatOrder ? { flatInputOrder: p.flatOrder } : {}) };
  return { model, metadata, fingerprint: createHash('sha256').update(bytes).digest('hex') };
}

/** The model's ONNX file with the head's initializers replaced by the model's current head weights. */
export function onnxBytes(model: tfl.LayersModel): Uint8Array {
  const src = sources.get(model);
  if (!src) throw new Error('The model did not come from an ONNX file.');
  const { head } = src;
  const [k, b] = model.getLayer(ONNX_HEAD_LAYER).getWeights();
  const kernel = k.dataSync() as Float32Array;
  const W = new Float32Array(head.featureDim * head.numClasses);
  for (let i = 0; i < head.featureDim; i++) {
    for (let c = 0; c < head.numClasses; c++) {
      W[head.transB ? c * head.featureDim + i : i * head.numClasses + c] = kernel[i * head.numClasses + c] / head.alpha;
    }
  }
  const replace = new Map([[head.weight, W]]);
  if (head.bias && b) replace.set(head.bias, Float32Array.from(b.dataSync() as Float32Array, (v) => v / head.beta));
  try {
    return replaceInitializers(src.bytes, src.graph, replace);
  } catch (err) {
    throw asUserError(src.file, err);
  }
}

/**
 * How a model (or the feature extractor split from it, which shares its layers) read from an ONNX
 * file with a flat input takes an image's values; null for any other model.
 */
export function onnxFlatInputOrder(model: tfl.LayersModel): FlatInputOrder | null {
  for (const layer of model.layers) if (layer instanceof OnnxFeatures && layer.flatOrder) return layer.flatOrder;
  return null;
}

/** The model's files in its own format: the ONNX file alone (its feature part exists only there). */
export function onnxSourceFile(model: tfl.LayersModel): string | null {
  return sources.get(model)?.file ?? null;
}
