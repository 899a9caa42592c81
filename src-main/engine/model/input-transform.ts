/**
 * How a model expects its pixels, when not as the data readers give them (0–1): a model trained
 * on 0–255 values, or behind a normalisation its pipeline applies outside the model (PyTorch's
 * `transforms.Normalize`, a Keras generator's mean subtraction). The model is fed
 *
 *     (pixel × scale − mean[c]) / std[c]      for channel c (one mean and std for every channel, or one each)
 *
 * The data stays 0–1 everywhere else (thumbnails, squeezing, crafted attacks, the neighbour
 * graph's inputs are the model's own features): the transform is run as the model's first
 * operation, by having each layer that reads the model's input apply it first (as
 * gradients.ts has dilated convolutions run unfused). The model's topology and weights are
 * untouched, so a repaired model is written exactly as the pipeline expects it: without the
 * transform, which the pipeline applies itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { InputTransform } from '../../contract/results.js';
import { isIdentityTransform } from '../../contract/format.js';
import { UserError } from '../errors.js';

export type { InputTransform } from '../../contract/results.js';

export { describeInputTransform, isIdentityTransform, sameTransform } from '../../contract/format.js';

type Call = tfl.layers.Layer['call'];

/** The property by which a layer that reads the model's input carries its transform (read by backend/gradients.ts). */
export const INPUT_TRANSFORM = 'clearInputTransform';
interface InputTransformed { [INPUT_TRANSFORM]?: (t: tf.Tensor) => tf.Tensor }

/**
 * Has every layer of `model` that reads the model's input apply `t` to it first. `where` names
 * the model in the sentence that refuses a transform whose channel count does not match its
 * input. Does nothing for the identity.
 */
export function applyInputTransform(model: tfl.LayersModel, t: InputTransform | null | undefined, where: string): void {
  if (isIdentityTransform(t)) return;
  const channels = (model.inputs[0].shape.at(-1) ?? 1) as number;
  for (const [name, v] of [['mean', t!.mean], ['std', t!.std]] as const) {
    if (v.length !== 1 && v.length !== channels) {
      throw new UserError(`The input normalisation gives ${v.length} ${name} values, but the model ${where} takes images of ${channels} channel${channels === 1 ? '' : 's'}; give one value, or one per channel.`);
    }
  }
  // The model's input layers (a Sequential model lists them only once built, so they are found as its first layers' sources).
  const isInput = (l: tfl.layers.Layer) => l.getClassName() === 'InputLayer';
  const readers = model.layers.filter((l) => !isInput(l) && l.inboundNodes.some((n) => n.inboundLayers.some(isInput)));
  const scale = t!.scale;
  const mean = t!.mean; const std = t!.std;
  for (const layer of readers) {
    if (layer.inboundNodes.some((n) => n.inboundLayers.some((i) => !isInput(i)))) {
      throw new UserError(`The model ${where} has a layer "${layer.name}" that reads the model's input together with other tensors, so an input normalisation cannot be put in front of it.`);
    }
    if (Object.prototype.hasOwnProperty.call(layer, 'call')) continue; // already transformed
    const own = layer.call.bind(layer);
    const transform = (v: tf.Tensor) => tf.div(tf.sub(tf.mul(v, scale), tf.tensor1d(mean)), tf.tensor1d(std));
    const call: Call = (x, kwargs) => tf.tidy(() => own(Array.isArray(x) ? x.map(transform) : transform(x), kwargs));
    layer.call = call;
    // Whatever else stands in for this layer's forward pass while it trains (gradients.ts) applies it too.
    (layer as unknown as InputTransformed)[INPUT_TRANSFORM] = transform;
  }
}
