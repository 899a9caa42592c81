/**
 * TensorFlow.js Layers format on the file system (`model.json` + weight files), without
 * tfjs-node: tfjs-node's `file://` handler is only there when libtensorflow is, so the
 * engine reads and writes the files itself and hands tfjs in-memory artifacts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { FEATURE_LAYER_NAME } from './architectures.js';

/** What the product stores beside the topology (model.json → userDefinedMetadata.clear). */
export interface ModelMetadata {
  classNames?: string[];
  featureLayer?: string;
  architecture?: string;
  /** Fingerprint of the dataset the model was trained or repaired on. */
  trainedOn?: string;
  /** Set on repaired models: the fingerprint of the model they were repaired from. */
  repairedFrom?: string;
  createdAt?: string;
}

export interface LoadedModel {
  model: tfl.LayersModel;
  dir: string;
  metadata: ModelMetadata;
  /** SHA-256 over model.json and the weight files, in manifest order. */
  fingerprint: string;
  inputShape: [number, number, number];
  numClasses: number;
}

const MODEL_JSON = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

function modelShapes(model: tfl.LayersModel): { inputShape: [number, number, number]; numClasses: number } {
  const inShape = model.inputs[0].shape.slice(1);
  const outShape = model.outputs[0].shape;
  const numClasses = Number(outShape[outShape.length - 1]);
  let inputShape: [number, number, number];
  if (inShape.length === 3) inputShape = inShape.map(Number) as [number, number, number];
  else if (inShape.length === 1) inputShape = [1, 1, Number(inShape[0])];
  else if (inShape.length === 2) inputShape = [Number(inShape[0]), Number(inShape[1]), 1];
  else throw new UserError(`The model's input shape [${inShape.join(', ')}] is not an image or a feature vector.`);
  return { inputShape, numClasses };
}

/** Refuses to write into a folder that holds anything, so no user file is ever overwritten. */
export function assertWritableOutput(dir: string, what = 'output folder'): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`The ${what} ${dir} is a file, not a folder.`);
    if (readdirSync(dir).length > 0) {
      throw new UserError(`The ${what} ${dir} already holds files; choose a new folder so nothing there is overwritten.`);
    }
  }
}

/** Writes a folder's contents under a temporary name first, then renames it into place. */
export function writeFolderAtomically(dir: string, files: Record<string, Uint8Array | string>): void {
  assertWritableOutput(dir);
  const parent = path.dirname(path.resolve(dir));
  if (!existsSync(parent)) mkdirSync(parent, { recursive: true });
  const tmp = `${path.resolve(dir)}.partial-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(tmp, name), data);
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // empty, checked above
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function saveModel(model: tfl.LayersModel, dir: string, metadata: ModelMetadata = {}): Promise<string> {
  let files: Record<string, Uint8Array | string> = {};
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData instanceof ArrayBuffer
      ? new Uint8Array(artifacts.weightData)
      : new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer[]));
    const modelJson = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
      userDefinedMetadata: { clear: { ...metadata, createdAt: metadata.createdAt ?? new Date().toISOString() } },
    };
    files = { [MODEL_JSON]: JSON.stringify(modelJson), [WEIGHTS_FILE]: weightData };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  writeFolderAtomically(dir, files);
  return fingerprintModelDir(dir);
}

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: { clear?: ModelMetadata };
  format?: string;
}

function readModelJson(dir: string): { json: ModelJson; bytes: Buffer; file: string } {
  const file = path.join(dir, MODEL_JSON);
  if (!existsSync(dir)) throw new UserError(`The model folder ${dir} does not exist.`);
  if (!statSync(dir).isDirectory()) throw new UserError(`The model path ${dir} is a file; give the folder that holds model.json.`);
  if (!existsSync(file)) throw new UserError(`The model folder ${dir} has no model.json (a TensorFlow.js Layers model is expected).`);
  const bytes = readFileSync(file);
  let json: ModelJson;
  try { json = JSON.parse(bytes.toString('utf8')); } catch {
    throw new UserError(`The model file ${file} is not valid JSON.`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`The model file ${file} is not a TensorFlow.js Layers model (modelTopology or weightsManifest is missing).`);
  }
  return { json, bytes, file };
}

export function fingerprintModelDir(dir: string): string {
  const { json, bytes } = readModelJson(dir);
  const hash = createHash('sha256').update(bytes);
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const f = path.join(dir, p);
      if (existsSync(f)) hash.update(readFileSync(f));
    }
  }
  return hash.digest('hex');
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const { json, bytes, file } = readModelJson(dir);
  const hash = createHash('sha256').update(bytes);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const f = path.join(dir, p);
      if (!existsSync(f)) throw new UserError(`The model's weight file ${f} (listed in ${MODEL_JSON}) does not exist.`);
      const buf = readFileSync(f);
      hash.update(buf);
      buffers.push(buf);
    }
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const expected = weightSpecs.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1), 0);
  if (weightSpecs.every((w) => !w.quantization) && expected !== all.byteLength) {
    throw new UserError(`The model's weight files in ${dir} hold ${all.byteLength} bytes but model.json describes ${expected}; the files are truncated or do not belong together.`);
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }));
  } catch (err) {
    throw new UserError(`The model in ${file} could not be built: ${(err as Error).message.split('\n')[0]}.`);
  }
  const metadata = json.userDefinedMetadata?.clear ?? {};
  return { model, dir, metadata, fingerprint: hash.digest('hex'), ...modelShapes(model) };
}

/** Checks that a model can be used with a dataset; the message says which side to change. */
export function assertModelFitsData(
  loaded: Pick<LoadedModel, 'inputShape' | 'numClasses' | 'dir'>,
  data: { shape: [number, number, number]; classNames: string[]; spec: string },
): void {
  const a = loaded.inputShape; const b = data.shape;
  const sameSize = a[0] * a[1] * a[2] === b[0] * b[1] * b[2];
  if (!sameSize || (a[2] !== b[2] && a[0] !== 1)) {
    throw new UserError(`The model in ${loaded.dir} takes inputs of shape ${a.join('×')}, but the dataset ${data.spec} has samples of shape ${b.join('×')}.`);
  }
  if (loaded.numClasses !== data.classNames.length) {
    throw new UserError(`The model in ${loaded.dir} predicts ${loaded.numClasses} classes, but the dataset ${data.spec} has ${data.classNames.length}.`);
  }
}

export function defaultFeatureLayer(model: tfl.LayersModel, metadata: ModelMetadata = {}): string {
  if (metadata.featureLayer) return metadata.featureLayer;
  if (model.layers.some((l) => l.name === FEATURE_LAYER_NAME)) return FEATURE_LAYER_NAME;
  // The input of the last Dense layer: the output of the layer before it.
  const layers = model.layers;
  for (let i = layers.length - 1; i > 0; i--) {
    if (layers[i].getClassName() === 'Dense') return layers[i - 1].name;
  }
  throw new UserError('The model has no Dense layer, so the default feature layer (the input of the last Dense layer) does not exist; name one with --feature-layer.');
}
