/**
 * Keras models in and out: the legacy HDF5 `.h5` of Keras 2 (and Keras 3's `model.save("x.h5")`)
 * and the Keras 3 `.keras` archive.
 *
 * Layouts, as Keras writes them (keras/src/legacy/saving/legacy_h5_format.py and
 * keras/src/saving/saving_lib.py):
 * - `.h5`: root attributes `model_config` (the model's JSON), `keras_version`, `backend`; a group
 *   `model_weights` whose attribute `layer_names` lists every layer (fixed-length byte strings,
 *   split into `layer_names0`, `layer_names1`, ... when long), one group per layer whose
 *   attribute `weight_names` lists its weights in the order trainable then non-trainable, each a
 *   dataset at that path inside the layer's group (`dense/kernel:0`).
 * - `.keras`: a zip of `metadata.json`, `config.json` and `model.weights.h5`, in which the
 *   layers of `model.layers` (a Sequential's without its InputLayer) are the groups
 *   `layers/<snake_case class>[_k]/vars` holding datasets `0`, `1`, ... in the same weight order.
 *
 * The file may come from an attacker. It must be a regular file within the `fileBytes` limit;
 * a zip entry's declared size is checked against `decompressedBytes` before it is inflated
 * (into a buffer of exactly that size, so an entry that inflates further is cut, never grown);
 * config JSON within `modelJsonBytes`; the converted topology is sized by topology.ts before
 * tfjs builds anything; every weight dataset's declared shape × value size is counted against
 * `modelParameters` before it is read. The HDF5 library sees only these bytes (hdf5.ts).
 *
 * A model read from a Keras file is remembered with its file's structure, so `kerasFiles`
 * writes it back in the same format and layout with the model's current weights; a model
 * trained here is written in the layout above from its tfjs topology.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { strToU8, unzipSync, zipSync, type Unzipped } from 'fflate';
import type * as H5 from 'h5wasm';
import { UserError } from '../errors.js';
import { checkLimit } from '../limits.js';
import type { ModelMetadata } from '../../contract/results.js';
import { kindOf, quoteName } from '../../files/guard.js';
import { hdf5Reason, readHdf5, writeHdf5 } from './hdf5.js';
import { keras3LayerKeys, kerasToTfjs, toKeras3Config, type ConvertedLayer } from './keras-config.js';
import { sizeTopology } from './topology.js';

export type KerasFormat = 'h5' | 'keras';

/** The Keras format a model path names by its extension, or null for a Layers folder. */
export function kerasFormatOf(p: string): KerasFormat | null {
  const ext = path.extname(p).toLowerCase();
  return ext === '.h5' || ext === '.hdf5' ? 'h5' : ext === '.keras' ? 'keras' : null;
}

/** File name of the repaired model in its own format, inside the repaired model's folder. */
export function kerasFileName(format: KerasFormat): string {
  return format === 'h5' ? 'model.h5' : 'model.keras';
}

interface WeightValue { shape: number[]; data: Float32Array }

/** One weight group of the file: the layer it belongs to, where it lies, its datasets in weight order. */
interface WeightGroup { layer: string; path: string; names: string[]; values: WeightValue[] }

/** What is kept of a Keras file to write the model back in its own layout. */
interface KerasSource {
  format: KerasFormat;
  configText: string;
  metadataText: string | null;
  rootAttrs: Record<string, string>;
  weightsAttrs: Record<string, string>;
  layerNames: string[];
  groups: WeightGroup[];
  /** Layers whose tfjs weights are not the file's (a Normalization run as a batch normalisation): written back as read. */
  keepOriginal: Set<string>;
}

const sources = new WeakMap<tfl.LayersModel, KerasSource>();

/** The format a loaded model came in, if it came from a Keras file. */
export function kerasSourceFormat(model: tfl.LayersModel): KerasFormat | null {
  return sources.get(model)?.format ?? null;
}

// --- reading ----------------------------------------------------------------------------------

/** The file's bytes: a regular file (checked on its open descriptor) within the fileBytes limit. */
export function readModelFile(file: string): Buffer {
  let stat;
  try { stat = statSync(file); } catch {
    throw new UserError(`The model file ${file} does not exist.`);
  }
  if (!stat.isFile()) throw new UserError(`The model file ${file} is ${kindOf(stat)}, not a regular file, so it is not read.`);
  checkLimit('fileBytes', stat.size, `The model file ${file}`, `is ${stat.size} bytes`);
  const fd = openSync(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.size !== stat.size) throw new UserError(`The model file ${file} changed while it was opened; open it again.`);
    const buf = Buffer.allocUnsafe(now.size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    if (at !== buf.length) throw new UserError(`The model file ${file} changed while it was read; open it again.`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

const ZIP_ENTRIES = new Set(['config.json', 'metadata.json', 'model.weights.h5']);

/** The three entries of a .keras archive, each sized from its declaration before it is inflated. */
function unzipKeras(bytes: Uint8Array, shown: string): Unzipped {
  let entries = 0;
  let total = 0;
  const seen = new Set<string>();
  let out: Unzipped;
  try {
    out = unzipSync(bytes, {
      filter: (f) => {
        entries += 1;
        checkLimit('files', entries, shown, `holds ${entries} or more entries`);
        if (!ZIP_ENTRIES.has(f.name)) return false;
        if (seen.has(f.name)) throw new UserError(`${shown} holds two entries named ${quoteName(f.name)}, so which one Keras would read is unclear; it is not read.`);
        seen.add(f.name);
        const what = `declares its entry ${quoteName(f.name)} as ${f.originalSize} bytes once inflated`;
        if (f.name === 'model.weights.h5') checkLimit('fileBytes', f.originalSize, shown, what);
        else checkLimit('modelJsonBytes', f.originalSize, shown, what);
        total += f.originalSize;
        checkLimit('decompressedBytes', total, shown, `declares ${total} bytes or more once inflated`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${shown} is not a readable zip archive, as a .keras file is (${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 120)}).`);
  }
  for (const name of ['config.json', 'model.weights.h5']) {
    if (!out[name]) throw new UserError(`${shown} has no ${name}, which a Keras 3 .keras file holds.`);
  }
  return out;
}

function parseJson(text: string, shown: string, what: string): unknown {
  try { return JSON.parse(text); } catch {
    throw new UserError(`${shown} holds ${what} that is not valid JSON.`);
  }
}

/** A string attribute, sized before it is read; null when absent. */
function stringAttr(obj: H5.Group, name: string, shown: string): string | null {
  if (!Object.hasOwn(obj.attrs, name)) return null;
  const a = obj.attrs[name];
  const bytes = (a.metadata.size ?? 0) * (a.metadata.total_size ?? 1);
  checkLimit('modelJsonBytes', bytes, shown, `has an attribute ${quoteName(name)} of ${bytes} bytes`);
  const v = a.value;
  const s = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof s !== 'string') throw new UserError(`${shown} has an attribute ${quoteName(name)} at ${obj.path} that is not a string.`);
  return s;
}

/** A list-of-names attribute, or its chunks `name0`, `name1`, ... as Keras splits long ones. */
function namesAttr(obj: H5.Group, name: string, shown: string): string[] {
  const keys = Object.hasOwn(obj.attrs, name) ? [name] : [];
  if (!keys.length) for (let k = 0; Object.hasOwn(obj.attrs, `${name}${k}`); k++) keys.push(`${name}${k}`);
  const out: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const a = obj.attrs[key];
    bytes += (a.metadata.size ?? 0) * (a.metadata.total_size ?? 1);
    checkLimit('modelJsonBytes', bytes, shown, `has attributes ${quoteName(name)} of ${bytes} bytes`);
    const v = a.value;
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out.push(...(v as string[]));
    else if (!(ArrayBuffer.isView(v) && (v as unknown as { length: number }).length === 0)) {
      throw new UserError(`${shown} has an attribute ${quoteName(key)} at ${obj.path} that is not a list of names.`);
    }
  }
  return out;
}

function asGroup(e: unknown, lib: typeof H5, shown: string, where: string): H5.Group {
  if (!(e instanceof lib.Group)) throw new UserError(`${shown} has no group ${quoteName(where)}, where Keras keeps the weights.`);
  return e;
}

interface Budget { values: number }

/** One weight dataset: float32 or float64, its declared size counted against the limit before it is read. */
function readWeight(e: unknown, lib: typeof H5, shown: string, where: string, budget: Budget): WeightValue {
  if (!(e instanceof lib.Dataset)) throw new UserError(`${shown} lists a weight ${quoteName(where)} that is not a dataset in the file.`);
  const meta = e.metadata;
  const shape = (e.shape ?? []).map(Number);
  if (shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new UserError(`${shown} declares the weight ${quoteName(where)} with an invalid shape.`);
  const n = shape.reduce((a, b) => a * b, 1);
  budget.values += n;
  checkLimit('modelParameters', budget.values, shown, `declares ${budget.values} or more weight values (the weight ${quoteName(where)} has ${n})`);
  if (meta.type !== 1 || (meta.size !== 4 && meta.size !== 8)) {
    throw new UserError(`${shown} stores the weight ${quoteName(where)} as ${meta.type === 1 ? `${meta.size * 8}-bit floats` : 'something other than floats'}; 32- and 64-bit float weights are read.`);
  }
  const raw = e.value;
  const v = typeof raw === 'number' && n === 1 ? Float64Array.of(raw) : raw; // a scalar dataset reads as a number
  if (!(v instanceof Float32Array || v instanceof Float64Array) || v.length !== n) {
    throw new UserError(`${shown} holds the weight ${quoteName(where)} with ${ArrayBuffer.isView(v) ? (v as Float32Array).length : 0} values where its shape declares ${n}.`);
  }
  return { shape, data: v instanceof Float32Array ? new Float32Array(v) : Float32Array.from(v) };
}

function checkWeightName(name: string, shown: string): void {
  if (!name || name.startsWith('/') || name.includes('\0') || name.length > 1024) {
    throw new UserError(`${shown} lists a weight path ${quoteName(name)} that does not lie inside its layer's group.`);
  }
}

interface ReadKeras {
  config: unknown;
  metadata: ModelMetadata;
  source: Omit<KerasSource, 'groups' | 'keepOriginal'>;
  /** Weight groups by the layer names of the file's model_weights (h5) or by their key (keras). */
  readGroups: (lib: typeof H5, file: H5.File, order: ConvertedLayer[], budget: Budget) => WeightGroup[];
  weights: Uint8Array;
}

function metadataOf(v: unknown): ModelMetadata {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as ModelMetadata) : {};
}

function h5Groups(shown: string) {
  return (lib: typeof H5, file: H5.File, _order: ConvertedLayer[], budget: Budget): WeightGroup[] => {
    const mw = asGroup(file.get('model_weights'), lib, shown, 'model_weights');
    const names = namesAttr(mw, 'layer_names', shown);
    checkLimit('layers', names.length, shown, `lists ${names.length} layers`);
    return names.map((layer) => {
      checkWeightName(layer, shown);
      const g = asGroup(mw.get(layer), lib, shown, `model_weights/${layer}`);
      const weightNames = namesAttr(g, 'weight_names', shown);
      const values = weightNames.map((w) => { checkWeightName(w, shown); return readWeight(g.get(w), lib, shown, `${layer}/${w}`, budget); });
      return { layer, path: `model_weights/${layer}`, names: weightNames, values };
    });
  };
}

function kerasGroups(shown: string, kind: 'Sequential' | 'Functional') {
  return (lib: typeof H5, file: H5.File, order: ConvertedLayer[], budget: Budget): WeightGroup[] => {
    const listed = kind === 'Sequential' ? order.filter((l) => l.kerasClass !== 'InputLayer') : order;
    const keys = keras3LayerKeys(listed.map((l) => l.kerasClass));
    return listed.map((l, i) => {
      const where = `layers/${keys[i]}/vars`;
      const e = file.get(where);
      if (e === null) return { layer: l.name, path: where, names: [], values: [] };
      const g = asGroup(e, lib, shown, where);
      const names = g.keys();
      checkLimit('files', names.length, shown, `holds ${names.length} weights for one layer`);
      const sorted = names.map((n, k) => (String(k) === n ? n : null));
      const expected = names.map((_, k) => String(k)).sort();
      if ([...names].sort().join('/') !== expected.join('/') || sorted.length !== names.length) {
        throw new UserError(`${shown} holds weights for ${quoteName(l.name)} at ${where} that are not numbered 0 to ${names.length - 1}.`);
      }
      const ordered = names.map((_, k) => String(k));
      return { layer: l.name, path: where, names: ordered, values: ordered.map((n) => readWeight(g.get(n), lib, shown, `${where}/${n}`, budget)) };
    });
  };
}

async function readKerasFile(file: string): Promise<{ read: ReadKeras; bytes: Buffer; format: KerasFormat; shown: string }> {
  const format = kerasFormatOf(file)!;
  const shown = `The model file ${file}`;
  const bytes = readModelFile(file);
  if (format === 'h5') {
    const head = await readHdf5(bytes, shown, (f) => ({
      config: stringAttr(f, 'model_config', shown),
      keras_version: stringAttr(f, 'keras_version', shown),
      backend: stringAttr(f, 'backend', shown),
      clear: stringAttr(f, 'clear_metadata', shown),
    }));
    if (head.config === null) {
      throw new UserError(`${shown} holds no model_config, so it holds weights without the model; save the whole model with model.save("${path.basename(file)}").`);
    }
    const rootAttrs: Record<string, string> = {};
    if (head.keras_version !== null) rootAttrs.keras_version = head.keras_version;
    if (head.backend !== null) rootAttrs.backend = head.backend;
    return {
      bytes, format, shown,
      read: {
        config: parseJson(head.config, shown, 'a model_config'),
        metadata: head.clear ? metadataOf(parseJson(head.clear, shown, 'clear_metadata')) : {},
        source: { format, configText: head.config, metadataText: null, rootAttrs, weightsAttrs: rootAttrs, layerNames: [] },
        readGroups: h5Groups(shown), weights: bytes,
      },
    };
  }
  const zip = unzipKeras(bytes, shown);
  const configText = Buffer.from(zip['config.json']).toString('utf8');
  const metadataText = zip['metadata.json'] ? Buffer.from(zip['metadata.json']).toString('utf8') : null;
  const meta = metadataText ? parseJson(metadataText, shown, 'a metadata.json') : null;
  return {
    bytes, format, shown,
    read: {
      config: parseJson(configText, shown, 'a config.json'),
      metadata: metadataOf((meta as { clear?: unknown } | null)?.clear),
      source: { format, configText, metadataText, rootAttrs: {}, weightsAttrs: {}, layerNames: [] },
      readGroups: () => [], weights: zip['model.weights.h5'],
    },
  };
}

/** A Normalization layer's mean and variance as a frozen batch normalisation's four weights. */
function normalizationWeights(l: ConvertedLayer, group: WeightGroup | undefined, channels: number, shown: string): WeightValue[] {
  const mean = l.normalization!.mean ?? (group?.values[0] ? Array.from(group.values[0].data) : null);
  const variance = l.normalization!.variance ?? (group?.values[1] ? Array.from(group.values[1].data) : null);
  if (!mean || !variance) throw new UserError(`${shown} gives the Normalization layer ${quoteName(l.name)} no mean and variance.`);
  const spread = (v: number[], what: string) => {
    if (v.length === 1) return new Float32Array(channels).fill(v[0]);
    if (v.length !== channels) throw new UserError(`${shown} gives the Normalization layer ${quoteName(l.name)} a ${what} of ${v.length} values for ${channels} channels.`);
    return Float32Array.from(v);
  };
  const s = [channels];
  return [{ shape: s, data: new Float32Array(channels).fill(1) }, { shape: s, data: new Float32Array(channels) },
    { shape: s, data: spread(mean, 'mean') }, { shape: s, data: spread(variance, 'variance') }];
}

export interface LoadedKeras {
  model: tfl.LayersModel;
  metadata: ModelMetadata;
  fingerprint: string;
  format: KerasFormat;
}

/**
 * Reads a `.h5` or `.keras` model (see the file comment for what is checked and in what order)
 * and builds it in tfjs with the file's weights.
 */
export async function loadKerasModel(file: string): Promise<LoadedKeras> {
  const { read, bytes, format, shown } = await readKerasFile(file);
  const converted = kerasToTfjs(read.config, shown);
  sizeTopology(converted.topology, shown);
  const groupsOf = format === 'h5' ? read.readGroups : kerasGroups(shown, converted.kind);
  const budget: Budget = { values: 0 };
  const source: KerasSource = { ...read.source, groups: [], keepOriginal: new Set() };
  await readHdf5(read.weights, format === 'h5' ? shown : `${shown} (its model.weights.h5)`, (f, lib) => {
    source.groups = groupsOf(lib, f, converted.layers, budget);
    if (format === 'h5') {
      const mw = f.get('model_weights') as H5.Group;
      source.layerNames = source.groups.map((g) => g.layer);
      for (const k of ['backend', 'keras_version']) {
        const v = stringAttr(mw, k, shown);
        if (v !== null) source.weightsAttrs = { ...source.weightsAttrs, [k]: v };
      }
    }
  });
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({ modelTopology: converted.topology } as unknown as tf.io.ModelJSON);
  } catch (err) {
    const first = String((err as Error)?.message ?? err).split('\n')[0];
    throw new UserError(`The model in ${file} could not be built: ${first.length > 300 ? `${first.slice(0, 297)}...` : first}.`);
  }
  try {
    const byLayer = new Map(source.groups.map((g) => [g.layer, g]));
    const layerInfo = new Map(converted.layers.map((l) => [l.name, l]));
    for (const layer of model.layers) {
      const info = layerInfo.get(layer.name);
      const group = byLayer.get(layer.name);
      const expected = layer.weights.map((w) => w.shape);
      let values: WeightValue[];
      if (info?.normalization) {
        values = normalizationWeights(info, group, Number(expected[0]?.[0] ?? 0), shown);
        source.keepOriginal.add(layer.name);
      } else values = group?.values ?? [];
      const label = `layer ${quoteName(layer.name)} (${info?.kerasClass ?? layer.getClassName()})`;
      if (values.length !== expected.length) {
        throw new UserError(`${shown} holds ${values.length} weights for ${label}, which has ${expected.length}${expected.length ? ` (${layer.weights.map((w) => w.name.split('/').pop()).join(', ')})` : ''}.`);
      }
      values.forEach((v, k) => {
        if (v.shape.join('x') !== expected[k].join('x')) {
          throw new UserError(`${shown} holds weight ${k} of ${label} with shape [${v.shape.join(', ')}] where the layer needs [${expected[k].join(', ')}].`);
        }
      });
      if (values.length) {
        const tensors = values.map((v) => tf.tensor(v.data, v.shape, 'float32'));
        layer.setWeights(tensors);
        tf.dispose(tensors);
      }
    }
    for (const g of source.groups) {
      if (g.values.length && !model.layers.some((l) => l.name === g.layer)) {
        throw new UserError(`${shown} holds weights for a layer ${quoteName(g.layer)} that its model config does not have.`);
      }
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  // The file's weights are kept for the layers written back as read; the others are dropped here.
  for (const g of source.groups) if (!source.keepOriginal.has(g.layer)) g.values = g.values.map((v) => ({ shape: v.shape, data: new Float32Array(0) }));
  sources.set(model, source);
  return { model, metadata: read.metadata, fingerprint: createHash('sha256').update(bytes).digest('hex'), format };
}

// --- writing ----------------------------------------------------------------------------------

/** A fixed-length byte-string attribute, as h5py writes Python bytes and lists of bytes. */
function putStrings(obj: H5.Group, name: string, values: string[] | string): void {
  const list = Array.isArray(values) ? values : [values];
  if (Array.isArray(values) && values.length === 0) {
    obj.create_attribute(name, new Float64Array(0), [0], '<d'); // h5py writes an empty list as an empty float64 array
    return;
  }
  const size = Math.max(1, ...list.map((s) => Buffer.byteLength(s, 'utf8')));
  obj.create_attribute(name, Array.isArray(values) ? values : values, Array.isArray(values) ? [values.length] : [], `A${size}`);
}

function ensureGroup(root: H5.Group, lib: typeof H5, p: string): H5.Group {
  let g = root;
  for (const part of p.split('/').filter(Boolean)) {
    const next = g.get(part);
    g = next instanceof lib.Group ? next : g.create_group(part);
  }
  return g;
}

function putDataset(group: H5.Group, lib: typeof H5, name: string, v: WeightValue): void {
  const parts = name.split('/');
  const leaf = parts.pop()!;
  const g = parts.length ? ensureGroup(group, lib, parts.join('/')) : group;
  g.create_dataset({ name: leaf, data: v.data, shape: v.shape, dtype: '<f4' });
}

function layerValues(model: tfl.LayersModel, layer: string): WeightValue[] {
  return model.getLayer(layer).getWeights().map((t) => ({ shape: t.shape.slice(), data: new Float32Array(t.dataSync()) }));
}

/** The groups of a model trained here, in the layout of `format`, from its tfjs layers. */
function groupsFromTfjs(model: tfl.LayersModel, format: KerasFormat, order: { name: string; cls: string }[]): WeightGroup[] {
  if (format === 'h5') {
    return model.layers.map((l) => ({
      layer: l.name, path: `model_weights/${l.name}`,
      names: l.weights.map((w) => `${l.name}/${w.originalName.split('/').pop()}:0`), values: layerValues(model, l.name),
    }));
  }
  const keys = keras3LayerKeys(order.map((o) => o.cls));
  return order.map((o, i) => {
    const values = layerValues(model, o.name);
    return { layer: o.name, path: `layers/${keys[i]}/vars`, names: values.map((_, k) => String(k)), values };
  });
}

async function writeH5(source: KerasSource, model: tfl.LayersModel, metadata: ModelMetadata): Promise<Uint8Array> {
  return writeHdf5((f, lib) => {
    putStrings(f, 'model_config', source.configText);
    for (const [k, v] of Object.entries(source.rootAttrs)) putStrings(f, k, v);
    putStrings(f, 'clear_metadata', JSON.stringify(metadata));
    const mw = f.create_group('model_weights');
    putStrings(mw, 'layer_names', source.layerNames);
    for (const [k, v] of Object.entries(source.weightsAttrs)) putStrings(mw, k, v);
    // Keras creates the layer groups sorted by name, so no group name is a prefix of a later one.
    for (const g of [...source.groups].sort((a, b) => (a.layer < b.layer ? -1 : a.layer > b.layer ? 1 : 0))) {
      const group = mw.create_group(g.layer);
      putStrings(group, 'weight_names', g.names);
      const values = source.keepOriginal.has(g.layer) || !g.names.length ? g.values : layerValues(model, g.layer);
      g.names.forEach((n, k) => putDataset(group, lib, n, values[k]));
    }
  });
}

async function writeKerasZip(source: KerasSource, model: tfl.LayersModel, metadata: ModelMetadata): Promise<Uint8Array> {
  const weights = await writeHdf5((f, lib) => {
    f.create_group('vars');
    for (const g of source.groups) {
      const group = ensureGroup(f, lib, g.path);
      const values = source.keepOriginal.has(g.layer) || !g.names.length ? g.values : layerValues(model, g.layer);
      g.names.forEach((n, k) => putDataset(group, lib, n, values[k]));
    }
  });
  let meta: Record<string, unknown> = {};
  if (source.metadataText) { try { meta = JSON.parse(source.metadataText) as Record<string, unknown>; } catch { meta = {}; } }
  meta = { ...meta, clear: metadata };
  // Keras writes the entries stored, not deflated, in this order.
  return zipSync({
    'metadata.json': [strToU8(JSON.stringify(meta)), { level: 0 }],
    'config.json': [strToU8(source.configText), { level: 0 }],
    'model.weights.h5': [weights, { level: 0 }],
  });
}

/** A model trained here as the source of a Keras file: its tfjs topology in the format's schema. */
function sourceFromTfjs(model: tfl.LayersModel, format: KerasFormat): KerasSource {
  const json = model.toJSON(null, false) as unknown as { class_name: string; config: Record<string, unknown>; keras_version?: string; backend?: string };
  if (format === 'h5') {
    const rootAttrs = { keras_version: String(json.keras_version ?? `tfjs-layers ${tfl.version_layers}`), backend: String(json.backend ?? 'tensor_flow.js') };
    const groups = groupsFromTfjs(model, 'h5', []);
    return {
      format, configText: JSON.stringify({ class_name: json.class_name, config: json.config }), metadataText: null,
      rootAttrs, weightsAttrs: rootAttrs, layerNames: groups.map((g) => g.layer), groups, keepOriginal: new Set(),
    };
  }
  const shapeOf = (name: string) => {
    const s = model.getLayer(name).outputShape;
    return (Array.isArray(s[0]) || s[0] === undefined ? (s as number[][])[0] : s as number[]).map((d) => (d == null ? null : Number(d)));
  };
  const { config, layerOrder } = toKeras3Config(json as unknown as Record<string, unknown>, shapeOf);
  const groups = groupsFromTfjs(model, 'keras', layerOrder);
  // The layout of Keras 3's saving library; keras_version names the format the file follows.
  const metadataText = JSON.stringify({ keras_version: '3.0.0', date_saved: new Date().toISOString().slice(0, 19).replace('T', '@'), saved_by: `tfjs-layers ${tfl.version_layers}` });
  return { format, configText: JSON.stringify(config), metadataText, rootAttrs: {}, weightsAttrs: {}, layerNames: [], groups, keepOriginal: new Set() };
}

/**
 * The model as the bytes of a Keras file in `format`: a model read from a file of that format
 * keeps the file's config and layout with its current weights; any other is written from its
 * tfjs topology. Training state (optimizer, compile settings) is not written.
 */
export async function kerasBytes(model: tfl.LayersModel, format: KerasFormat, metadata: ModelMetadata = {}): Promise<Uint8Array> {
  const from = sources.get(model);
  const source = from && from.format === format ? from : sourceFromTfjs(model, format);
  try {
    return format === 'h5' ? await writeH5(source, model, metadata) : await writeKerasZip(source, model, metadata);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new Error(`Writing the model as a Keras ${format === 'h5' ? '.h5' : '.keras'} file failed: ${hdf5Reason(err)}`);
  }
}
