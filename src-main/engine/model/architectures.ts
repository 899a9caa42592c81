/**
 * Built-in architectures. Each names its feature layer `features` (the penultimate
 * activations, the input of the last Dense layer), which is where the scan splits the model
 * into feature extractor φ and head h by default.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';

export { ARCHITECTURES, type ArchitectureName };
import { ARCHITECTURES, type ArchitectureName } from '../../contract/catalogue.js';
export const FEATURE_LAYER_NAME = 'features';

export interface ArchitectureOptions {
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

/** Seeded initialisers so the same seed gives the same starting weights. */
function init(seed: number, salt: number) {
  return tfl.initializers.glorotUniform({ seed: seed * 1000 + salt });
}

function buildMlp({ inputShape, numClasses, seed }: ArchitectureOptions): tfl.Sequential {
  const model = tfl.sequential({ name: 'mlp' });
  model.add(tfl.layers.flatten({ inputShape }));
  model.add(tfl.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init(seed, 1), name: 'dense_1' }));
  model.add(tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(seed, 2), name: FEATURE_LAYER_NAME }));
  model.add(tfl.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: init(seed, 3), name: 'logits' }));
  return model;
}

function buildCnn({ inputShape, numClasses, seed }: ArchitectureOptions): tfl.Sequential {
  const model = tfl.sequential({ name: 'cnn' });
  model.add(tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(seed, 1), name: 'conv_1' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
  model.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(seed, 2), name: 'conv_2' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_2' }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(seed, 3), name: FEATURE_LAYER_NAME }));
  model.add(tfl.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: init(seed, 4), name: 'logits' }));
  return model;
}

export function buildArchitecture(name: string, options: ArchitectureOptions): tfl.Sequential {
  const [h, w, c] = options.inputShape;
  const supported = (h === 28 && w === 28 && c === 1) || (h === 32 && w === 32 && c === 3);
  if (name === 'cnn' && !supported) {
    throw new UserError(`The cnn architecture takes 28×28×1 or 32×32×3 images, but the dataset's images are ${h}×${w}×${c}; use --arch mlp.`);
  }
  if (name === 'mlp') return buildMlp(options);
  if (name === 'cnn') return buildCnn(options);
  throw new UserError(`Unknown architecture "${name}"; the built-in ones are ${ARCHITECTURES.join(', ')}.`);
}
