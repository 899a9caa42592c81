/**
 * Splits a Layers model M into a feature extractor φ (input → feature layer) and a head h
 * (feature layer → output), so that M = h ∘ φ. The default feature layer is the input of
 * the last Dense layer (the penultimate activations).
 *
 * Both parts share M's layer objects, so their weights are M's weights: training the head
 * trains M.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { defaultFeatureLayer, type ModelMetadata } from '../model/io.js';

export interface SplitModel {
  featureLayer: string;
  featureDim: number;
  extractor: tfl.LayersModel;
  head: tfl.LayersModel;
}

type AnyLayer = tfl.layers.Layer;

/** The layer that produces the model's output (Sequential models loaded from disk lack `outputLayers`). */
function outputLayerName(model: tfl.LayersModel): string {
  return model.outputs[0].sourceLayer?.name ?? model.layers[model.layers.length - 1].name;
}

/** The layers after `start` on the single path to the output, in order; throws if it branches. */
function headChain(model: tfl.LayersModel, start: AnyLayer): AnyLayer[] {
  const chain: AnyLayer[] = [];
  // Compare by name: a Sequential model loaded from disk keeps its output layer objects on
  // an inner model, so identity comparison fails there.
  const outputName = outputLayerName(model);
  let current = start;
  for (let guard = 0; guard < model.layers.length && current.name !== outputName; guard++) {
    const next = model.layers.filter((l) => l !== current && l.inboundNodes.some((node) =>
      node.inboundLayers.includes(current)));
    if (next.length !== 1) {
      throw new UserError(`The model cannot be split at layer "${start.name}": the layers after it branch (${next.length} layers read "${current.name}"); choose a later feature layer.`);
    }
    const layer = next[0];
    if (layer.inboundNodes.some((node) => node.inboundLayers.length !== 1)) {
      throw new UserError(`The model cannot be split at layer "${start.name}": layer "${layer.name}" after it merges several inputs; choose a later feature layer.`);
    }
    chain.push(layer);
    current = layer;
  }
  if (current.name !== outputName) throw new UserError(`The model cannot be split at layer "${start.name}": no single path from it to the output.`);
  return chain;
}

export function splitModel(model: tfl.LayersModel, featureLayerName?: string, metadata: ModelMetadata = {}): SplitModel {
  if (model.outputs.length !== 1 || model.inputs.length !== 1) {
    throw new UserError('Only models with one input and one output can be scanned.');
  }
  const name = featureLayerName ?? defaultFeatureLayer(model, metadata);
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) {
    throw new UserError(`The model has no layer named "${name}"; its layers are ${model.layers.map((l) => l.name).join(', ')}.`);
  }
  if (layer.name === outputLayerName(model)) {
    throw new UserError(`The layer "${name}" is the model's output layer, so there is no head after it; choose an earlier feature layer.`);
  }
  const shape = layer.outputShape as (number | null)[];
  if (!Array.isArray(shape) || shape.length !== 2 || typeof shape[1] !== 'number') {
    throw new UserError(`The layer "${name}" outputs shape ${JSON.stringify(shape)}; the feature layer must output a flat vector (e.g. a Dense or Flatten layer).`);
  }
  const featureDim = shape[1];
  const chain = headChain(model, layer);
  const extractor = tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor, name: 'phi' });
  const headInput = tfl.input({ shape: [featureDim], name: 'features_in' });
  let x: tfl.SymbolicTensor = headInput;
  for (const l of chain) x = l.apply(x) as tfl.SymbolicTensor;
  const head = tfl.model({ inputs: headInput, outputs: x, name: 'head' });
  return { featureLayer: name, featureDim, extractor, head };
}

/**
 * Frees a model that has been split. The part-models hold counted references to M's layers,
 * and the counts of a Sequential model loaded from disk live on its inner model, so neither
 * `M.dispose()` nor disposing the parts reliably reaches zero; the weights are freed directly.
 */
export function disposeSplitModel(model: tfl.LayersModel): void {
  const weights = model.weights;
  try { model.dispose(); } catch { /* layers already released */ }
  for (const w of weights) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const value = (w as any).val as { isDisposed: boolean; dispose(): void } | undefined;
    if (value && !value.isDisposed) value.dispose();
  }
}
