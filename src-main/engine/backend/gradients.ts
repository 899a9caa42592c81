/**
 * Gradients the engine registers over tfjs-core's own.
 *
 * tfjs-core's gradients of DepthwiseConv2dNative and Conv2D refuse dilations above 1 before
 * any kernel runs, so a model with a dilated DepthwiseConv2D, SeparableConv2D or Conv2D
 * (common in Keras image classifiers) could be scanned but not repaired. Every undilated case
 * still goes through tfjs-core's gradient unchanged.
 *
 * - DepthwiseConv2dNative: the wasm backend's depthwise gradient kernels (wasm-kernels.ts)
 *   honour dilations, so on wasm the gradient asks them for it. The cpu backend's kernels step
 *   the filter by 1 whatever the dilation, and tfjs-node's are not checked here, so on those a
 *   dilated depthwise convolution is refused with a sentence that says so, as before.
 * - Conv2D: both gradients are forward convolutions (dilated or strided; checked on wasm and cpu):
 *   dx = the convolution of dy, padded by (K−1)·d − pad before and H + pad − OH after, with the
 *   filter rotated 180° and its channels swapped, at the forward dilation; dW = the convolution
 *   of xᵀ ([CI, H, W, N], padded as the forward pass pads x) with dyᵀ ([OH, OW, N, CO]) as the
 *   filter, at a stride of the forward dilation, transposed back.
 * - A Conv2D layer whose activation tfjs-layers does not fuse as relu or elu (a linear one, as
 *   in Keras's Conv2D → BatchNormalization → Activation blocks, or tanh, sigmoid…) runs, even in
 *   training, through tfjs-core's fused convolution, whose gradient is its own closure (not in
 *   the registry) and refuses dilations. `unfuseDilatedConv2Ds` has such layers run as a plain
 *   convolution, bias and activation while a model trains: the same function, whose gradients
 *   are the ones above.
 */
// tfjs-layers registers every stock gradient when it loads (its Node build carries its own
// copies): loading it first means the registrations below come after, and stand.
import '@tensorflow/tfjs-layers';
import type { LayersModel, layers as tflLayers } from '@tensorflow/tfjs-layers';
import { INPUT_TRANSFORM } from '../model/input-transform.js';
import {
  add,
  backend_util,
  conv2d,
  Conv2D,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  engine,
  getBackend,
  getGradient,
  pad as padTensor,
  registerGradient,
  reverse,
  slice,
  tidy,
  transpose,
  type Conv2DAttrs,
  type DepthwiseConv2dNativeAttrs,
  type NamedAttrMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';

/** Backends whose depthwise gradient kernels honour dilations. */
const DILATION_AWARE = new Set(['wasm']);

/** Whether a dilated depthwise (or separable) convolution can be trained on `backend`. */
export function trainsDilatedDepthwise(backend: string): boolean {
  return DILATION_AWARE.has(backend);
}

const pair = (v: number | [number, number] | undefined): [number, number] =>
  v == null ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

type Gradients = Record<string, () => Tensor>;

/**
 * Registers a gradient for `kernelName` that leaves undilated cases to tfjs-core's own and
 * hands dilated ones (with strides of 1, as the forward ops require) to `dilated`.
 */
function overrideDilated(kernelName: string, dilated: (dy: Tensor4D, x: Tensor4D, filter: Tensor4D, attrs: DepthwiseConv2dNativeAttrs & Conv2DAttrs, dilations: [number, number]) => Gradients): void {
  const stock = getGradient(kernelName);
  if (!stock) throw new Error(`tfjs-core registers no gradient for ${kernelName}; load @tensorflow/tfjs-layers first`);
  registerGradient({
    kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const a = attrs as unknown as DepthwiseConv2dNativeAttrs & Conv2DAttrs;
      const dilations = pair(a.dilations);
      if (dilations[0] === 1 && dilations[1] === 1) return stock.gradFunc(dy, saved, attrs);
      const strides = pair(a.strides);
      if (strides[0] !== 1 || strides[1] !== 1) {
        throw new Error(`A convolution cannot have both strides (${strides.join('×')}) and dilations (${dilations.join('×')}) above 1.`);
      }
      const [x, filter] = saved as Tensor4D[];
      return dilated(dy as Tensor4D, x, filter, a, dilations);
    },
  });
}

let registered = false;

/** Registers the gradients above in place of tfjs-core's (which they keep for undilated cases). Idempotent. */
export function registerEngineGradients(): void {
  if (registered) return;
  overrideDilated(DepthwiseConv2dNative, (dy, x, filter, a, dilations) => {
    const backend = getBackend();
    if (!trainsDilatedDepthwise(backend)) {
      throw new Error(`Training through a depthwise convolution with dilation ${dilations.join('×')} needs the wasm backend; the ${backend} backend's gradient kernels do not honour dilations.`);
    }
    const common = { strides: [1, 1], pad: a.pad, dilations, dimRoundingMode: a.dimRoundingMode };
    return {
      x: () => engine().runKernel(DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...common, inputShape: x.shape } as unknown as NamedAttrMap) as Tensor,
      filter: () => engine().runKernel(DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...common, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor,
    };
  });
  overrideDilated(Conv2D, (dy, x, filter, a, dilations) => {
    if (a.dataFormat === 'NCHW') throw new Error('Training through a dilated convolution needs channels-last (NHWC) data.');
    return dilatedConv2DGradients(x, filter, dy, a, dilations);
  });
  registered = true;
}

/** `t` padded (positive) or cropped (negative) by the given rows and columns on each side. */
function padOrCrop(t: Tensor4D, top: number, bottom: number, left: number, right: number): Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropped = top < 0 || bottom < 0 || left < 0 || right < 0
    ? slice(t, [0, Math.max(0, -top), Math.max(0, -left), 0], [n, h - Math.max(0, -top) - Math.max(0, -bottom), w - Math.max(0, -left) - Math.max(0, -right), c])
    : t;
  if (top <= 0 && bottom <= 0 && left <= 0 && right <= 0) return cropped;
  return padTensor(cropped, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
}

/** The input and filter gradients of a stride-1 convolution at `dilations`, from forward convolutions (see the file's comment). */
function dilatedConv2DGradients(x: Tensor4D, filter: Tensor4D, dy: Tensor4D, a: Conv2DAttrs, dilations: [number, number]): Gradients {
  const info = backend_util.computeConv2DInfo(x.shape, filter.shape, [1, 1], dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const [dh, dw] = dilations;
  const { top, left } = info.padInfo;
  return {
    x: () => {
      const lead = [(kh - 1) * dh - top, (kw - 1) * dw - left];
      const padded = padOrCrop(dy, lead[0], h + top - oh, lead[1], w + left - ow);
      const rotated = transpose(reverse(filter, [0, 1]), [0, 1, 3, 2]);
      return conv2d(padded, rotated, 1, 'valid', 'NHWC', dilations);
    },
    filter: () => {
      const padded = padOrCrop(x, top, (kh - 1) * dh + oh - h - top, left, (kw - 1) * dw + ow - w - left);
      const product = conv2d(transpose(padded, [3, 1, 2, 0]), transpose(dy, [1, 2, 0, 3]), dilations, 'valid');
      return transpose(product, [1, 2, 0, 3]);
    },
  };
}

/** The parts of a tfjs-layers convolution layer its forward pass reads (protected in its typings). */
interface ConvLayerInternals {
  rank: number;
  kernel: { read(): Tensor };
  bias: { read(): Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number | number[];
  activation: { apply(t: Tensor): Tensor } | null;
}

type Call = tflLayers.Layer['call'];

/**
 * Has every dilated 2-D Conv2D layer of `model` (nested models included) compute a plain
 * convolution, then its bias, then its activation, in place of tfjs-layers' fused convolution,
 * whose gradient refuses dilations (see the file's comment). The outputs are the same; only the
 * gradient's path changes. Returns the function that puts the layers' own forward pass back.
 */
export function unfuseDilatedConv2Ds(model: LayersModel): () => void {
  const restore: (() => void)[] = [];
  const visit = (layers: readonly tflLayers.Layer[]): void => {
    for (const layer of layers) {
      const nested = (layer as unknown as { layers?: tflLayers.Layer[] }).layers;
      if (nested) visit(nested);
      if (layer.getClassName() !== 'Conv2D') continue;
      const c = layer as unknown as ConvLayerInternals;
      const dilations = pair(c.dilationRate as number | [number, number]);
      if (c.rank !== 2 || (dilations[0] === 1 && dilations[1] === 1)) continue;
      const own = Object.prototype.hasOwnProperty.call(layer, 'call') ? layer.call : undefined;
      // A layer that reads the model's input may carry the model's input transform (model/input-transform.ts): it comes first.
      const fed = (layer as unknown as { [INPUT_TRANSFORM]?: (t: Tensor) => Tensor })[INPUT_TRANSFORM];
      const call: Call = (inputs) => tidy(() => {
        const given = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
        const input = (fed ? fed(given) : given) as Tensor4D;
        const first = c.dataFormat === 'channelsFirst';
        let y: Tensor = conv2d(first ? transpose(input, [0, 2, 3, 1]) : input, c.kernel.read() as Tensor4D,
          pair(c.strides as [number, number]), c.padding === 'same' ? 'same' : 'valid', 'NHWC', dilations);
        if (c.bias) y = add(y, c.bias.read());
        if (first) y = transpose(y, [0, 3, 1, 2]);
        return c.activation ? c.activation.apply(y) : y;
      });
      layer.call = call;
      restore.push(() => {
        if (own) layer.call = own;
        else delete (layer as unknown as { call?: Call }).call;
      });
    }
  };
  visit(model.layers);
  return () => { for (const r of restore.reverse()) r(); };
}
