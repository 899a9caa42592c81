/**
 * TensorFlow.js Layers format on the file system (`model.json` + weight files), without
 * tfjs-node: tfjs-node's `file://` handler is only there when libtensorflow is, so the
 * engine reads and writes the files itself and hands tfjs in-memory artifacts. The folder may
 * come from an attacker: files.ts checks every path it names, topology.ts sizes the model
 * before tfjs allocates anything.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { applyInputTransform, isIdentityTransform, type InputTransform } from './input-transform.js';
import { UserError } from '../errors.js';
import { FEATURE_LAYER_NAME } from './architectures.js';
import {
  locateModelJson, locateWeightFile, MODEL_JSON, openModelFolder, quoteName, readFolderFile, writeFolderAtomically,
  type FolderFile, type ModelFolder,
} from './files.js';
import { planManifest, sizeTopology, type ManifestPlan } from './topology.js';
import { kerasBytes, kerasFileName, kerasFormatOf, kerasSourceFormat, loadKerasModel, readModelFile } from './keras.js';
import { isOnnxModel, isOnnxPath, loadOnnxModel, ONNX_FILE, onnxBytes } from './onnx.js';

export { assertWritableOutput, StagedFolder, writeFolderAtomically } from './files.js';

/** What the product stores beside the topology (model.json → userDefinedMetadata.clear). */
export type { ModelMetadata } from '../../contract/results.js';
import type { ModelMetadata } from '../../contract/results.js';

export interface LoadedModel {
  model: tfl.LayersModel;
  /** The model path as given: a Layers folder, a Keras `.h5`/`.keras` file, or an ONNX file (or the folder a repair wrote it into). */
  dir: string;
  metadata: ModelMetadata;
  /** SHA-256 over model.json and the weight files, in manifest order. */
  fingerprint: string;
  inputShape: [number, number, number];
  numClasses: number;
  /** How the model is fed, when not the pixels as read (input-transform.ts); absent for the identity. */
  input?: InputTransform;
}

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

/**
 * The files of a model in the Layers format (model.json and one weight file), in memory; a
 * model read from a Keras file also in its own format (model.h5 or model.keras, keras.ts), so
 * a repaired or retrained model goes back to the pipeline it came from. A model read from an
 * ONNX file is written as that file alone (model.onnx, its head's weights replaced; onnx.ts): its
 * feature layers exist only there.
 */
export async function modelFiles(model: tfl.LayersModel, metadata: ModelMetadata = {}): Promise<Record<string, Uint8Array | string>> {
  if (isOnnxModel(model)) return { [ONNX_FILE]: onnxBytes(model) };
  let files: Record<string, Uint8Array | string> = {};
  const meta = { ...metadata, createdAt: metadata.createdAt ?? new Date().toISOString() };
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
      userDefinedMetadata: { clear: meta },
    };
    files = { [MODEL_JSON]: JSON.stringify(modelJson), [WEIGHTS_FILE]: weightData };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const format = kerasSourceFormat(model);
  if (format) files[kerasFileName(format)] = await kerasBytes(model, format, meta);
  return files;
}

export async function saveModel(model: tfl.LayersModel, dir: string, metadata: ModelMetadata = {}): Promise<string> {
  writeFolderAtomically(dir, await modelFiles(model, metadata));
  return fingerprintModelDir(dir);
}

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: unknown;
  userDefinedMetadata?: { clear?: ModelMetadata };
  format?: string;
}

interface ReadModelJson { folder: ModelFolder; json: ModelJson; bytes: Buffer; file: string }

/** model.json, checked (inside the folder, a regular file, within modelJsonBytes) before it is read. */
function readModelJson(dir: string): ReadModelJson {
  const folder = openModelFolder(dir);
  const located = locateModelJson(folder);
  const file = path.join(dir, MODEL_JSON);
  const bytes = readFolderFile(located, `The model file ${file}`);
  let json: ModelJson;
  try { json = JSON.parse(bytes.toString('utf8')); } catch {
    throw new UserError(`The model file ${file} is not valid JSON.`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`The model file ${file} is not a TensorFlow.js Layers model (modelTopology or weightsManifest is missing).`);
  }
  return { folder, json, bytes, file };
}

function describeWeightFile(name: string, file: string): string {
  return `The weight file ${quoteName(name)} listed in ${file}`;
}

/**
 * The weight files, located and sized with stat before any is read: together they must hold
 * exactly the bytes the manifest declares, and a file that takes the total past that is
 * refused unread.
 */
function locateWeights(read: ReadModelJson, plan: ManifestPlan): FolderFile[] {
  const found: FolderFile[] = [];
  let total = 0;
  for (const name of plan.paths) {
    const f = locateWeightFile(read.folder, name, read.file)!;
    total += f.stat.size;
    if (total > plan.bytes) {
      throw new UserError(`${describeWeightFile(f.name, read.file)} is ${f.stat.size} bytes, which takes the weight files past the ${plan.bytes} bytes that model.json declares, so it is not read.`);
    }
    found.push(f);
  }
  if (total !== plan.bytes) {
    const names = found.map((f) => quoteName(f.name)).join(', ') || 'none';
    throw new UserError(`The weight files listed in ${read.file} (${names}) hold ${total} bytes but its weightsManifest declares ${plan.bytes}; the files are truncated or do not belong together.`);
  }
  return found;
}

/**
 * The ONNX file of a folder a repair wrote for an ONNX model (model.onnx, a regular file, and no
 * model.json), or null for any other folder or path.
 */
export function onnxInFolder(dir: string): string | null {
  try {
    if (!statSync(dir).isDirectory()) return null;
    const real = realpathSync(dir);
    try { lstatSync(path.join(real, MODEL_JSON)); return null; } catch { /* no model.json: maybe ONNX */ }
    return lstatSync(path.join(real, ONNX_FILE)).isFile() ? path.join(dir, ONNX_FILE) : null;
  } catch { return null; }
}

/** SHA-256 over model.json and the weight files it lists, in manifest order (files that do not exist are skipped); of model.onnx for a repaired ONNX model's folder. */
export function fingerprintModelDir(dir: string): string {
  // A model file (Keras, ONNX) is fingerprinted by its bytes, as loadModel does; an ONNX folder by its model.onnx.
  const file = isKerasPath(dir) || isOnnxPath(dir) ? dir : onnxInFolder(dir);
  if (file) return createHash('sha256').update(readModelFile(file)).digest('hex');
  const read = readModelJson(dir);
  const hash = createHash('sha256').update(read.bytes);
  for (const group of read.json.weightsManifest as { paths?: unknown }[]) {
    for (const name of Array.isArray(group?.paths) ? group.paths : []) {
      const f = locateWeightFile(read.folder, name, read.file, true);
      if (f) hash.update(readFolderFile(f, describeWeightFile(f.name, read.file)));
    }
  }
  return hash.digest('hex');
}

/** A path that names a Keras file (.h5, .hdf5 or .keras) rather than a Layers folder (a folder with such a name is a folder). */
export function isKerasPath(p: string): boolean {
  if (!kerasFormatOf(p)) return false;
  try { return !statSync(p).isDirectory(); } catch { return true; }
}

/**
 * Loads a model that may come from an attacker: a Keras file (keras.ts), or a folder: model.json and every weight file are
 * checked to be regular files inside the folder, the topology is sized against the limits
 * before tfjs builds anything, and the weight files must hold exactly the declared bytes
 * (checked with stat) before any is read.
 */
/**
 * Reads a model (loadModelAsIs), and with `input` has it fed (pixel × scale − mean) / std
 * (input-transform.ts); the model's topology and weights stay as the file has them.
 */
export async function loadModel(dir: string, input?: InputTransform | null): Promise<LoadedModel> {
  const loaded = await loadModelAsIs(dir);
  if (isIdentityTransform(input)) return loaded;
  try {
    applyInputTransform(loaded.model, input, `in ${dir}`);
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
  return { ...loaded, input: input! };
}

async function loadModelAsIs(dir: string): Promise<LoadedModel> {
  const onnx = isOnnxPath(dir) ? dir : onnxInFolder(dir);
  if (onnx) {
    const o = await loadOnnxModel(onnx);
    try {
      return { model: o.model, dir, metadata: o.metadata, fingerprint: o.fingerprint, ...modelShapes(o.model) };
    } catch (err) {
      o.model.dispose();
      throw err;
    }
  }
  if (isKerasPath(dir)) {
    const k = await loadKerasModel(dir);
    try {
      return { model: k.model, dir, metadata: k.metadata, fingerprint: k.fingerprint, ...modelShapes(k.model) };
    } catch (err) {
      k.model.dispose();
      throw err;
    }
  }
  const read = readModelJson(dir);
  const { json, bytes, file } = read;
  sizeTopology(json.modelTopology, file);
  const plan = planManifest(json.weightsManifest, file);
  const located = locateWeights(read, plan);
  const hash = createHash('sha256').update(bytes);
  const all = Buffer.allocUnsafe(plan.bytes);
  let at = 0;
  for (const f of located) {
    const buf = readFolderFile(f, describeWeightFile(f.name, file));
    hash.update(buf);
    buf.copy(all, at);
    at += buf.byteLength;
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs: plan.weights as unknown as tf.io.WeightsManifestEntry[],
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }));
  } catch (err) {
    const first = String((err as Error)?.message ?? err).split('\n')[0];
    throw new UserError(`The model in ${file} could not be built: ${first.length > 300 ? `${first.slice(0, 297)}...` : first}.`);
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
