/**
 * Gradients the engine registers over tfjs-core's own.
 *
 * tfjs-core's gradient of DepthwiseConv2dNative refuses dilations above 1 before any kernel
 * runs, so a model with a dilated DepthwiseConv2D or SeparableConv2D (common in Keras image
 * classifiers) could be scanned but not repaired. The wasm backend's depthwise gradient
 * kernels (wasm-kernels.ts) honour dilations, so on wasm the gradient here asks them for it;
 * every undilated case still goes through tfjs-core's gradient unchanged. The cpu backend's
 * kernels step the filter by 1 whatever the dilation, and tfjs-node's are not checked here, so
 * on those a dilated depthwise convolution is refused with a sentence that says so, as before.
 */
import {
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  engine,
  getBackend,
  getGradient,
  registerGradient,
  type DepthwiseConv2dNativeAttrs,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
} from '@tensorflow/tfjs-core';

/** Backends whose depthwise gradient kernels honour dilations. */
const DILATION_AWARE = new Set(['wasm']);

const pair = (v: number | [number, number] | undefined): [number, number] =>
  v == null ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

let registered = false;

/** Registers the gradient above in place of tfjs-core's (which it keeps for undilated cases). Idempotent. */
export function registerEngineGradients(): void {
  if (registered) return;
  const stock = getGradient(DepthwiseConv2dNative);
  if (!stock) throw new Error('tfjs-core registers no gradient for DepthwiseConv2dNative; import @tensorflow/tfjs-core first');
  const config: GradConfig = {
    kernelName: DepthwiseConv2dNative,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const a = attrs as unknown as DepthwiseConv2dNativeAttrs;
      const dilations = pair(a.dilations);
      if (dilations[0] === 1 && dilations[1] === 1) return stock.gradFunc(dy, saved, attrs);
      const backend = getBackend();
      if (!DILATION_AWARE.has(backend)) {
        throw new Error(`Training through a depthwise convolution with dilation ${dilations.join('×')} needs the wasm backend; the ${backend} backend's gradient kernels do not honour dilations.`);
      }
      const strides = pair(a.strides);
      if (strides[0] !== 1 || strides[1] !== 1) {
        throw new Error(`A depthwise convolution cannot have both strides (${strides.join('×')}) and dilations (${dilations.join('×')}) above 1.`);
      }
      const [x, filter] = saved;
      const common = { strides, pad: a.pad, dilations, dimRoundingMode: a.dimRoundingMode };
      return {
        x: () => engine().runKernel(DepthwiseConv2dNativeBackpropInput, { dy: dy as Tensor, filter }, { ...common, inputShape: x.shape } as unknown as NamedAttrMap) as Tensor,
        filter: () => engine().runKernel(DepthwiseConv2dNativeBackpropFilter, { x, dy: dy as Tensor }, { ...common, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor,
      };
    },
  };
  registerGradient(config);
  registered = true;
}
