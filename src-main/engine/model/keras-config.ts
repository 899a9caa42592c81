/**
 * Keras model configs to TensorFlow.js Layers topologies and back.
 *
 * Keras 2 (`model_config` of a legacy .h5) writes layers as `{class_name, config}` with
 * functional connections as `[[name, node, tensor, kwargs], ...]`; tfjs reads that schema. Keras
 * 3 (`config.json` of a .keras) wraps every object as `{module, class_name, config,
 * registered_name}`, writes an InputLayer's `batch_shape`, dtype policies as objects and each
 * functional call as `{args, kwargs}` holding `__keras_tensor__` objects with a
 * `keras_history`. Both are converted here to the Keras 2 schema tfjs reads, for the layers an
 * image classifier uses; anything else (a Lambda, a custom layer, a nested model, an option tfjs
 * does not have) is refused with one sentence naming the layer. What comes out is then sized by
 * topology.ts before tfjs builds anything, like any model.json.
 *
 * The way back (`toKeras3Config`) writes a tfjs topology in the Keras 3 schema, for a model
 * trained here and exported as .keras; a model read from a Keras file keeps its own config.
 */
import { UserError } from '../errors.js';
import { quoteName } from './files.js';

type Dict = { [key: string]: unknown };
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Layer classes read from a Keras file (Normalization becomes a frozen BatchNormalization). */
export const KERAS_LAYERS = [
  'InputLayer', 'Dense', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'AveragePooling2D',
  'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Dropout', 'BatchNormalization', 'Activation', 'ReLU',
  'LeakyReLU', 'Softmax', 'Add', 'Concatenate', 'Rescaling', 'Normalization', 'ZeroPadding2D', 'Reshape',
] as const;
const SUPPORTED = new Set<string>(KERAS_LAYERS);
const MODELS = new Set(['Sequential', 'Functional', 'Model']);

/** Activations tfjs computes as Keras does (Keras 3's hard_sigmoid differs from tfjs's, so it is not here). */
const ACTIVATIONS = new Map<string, string>([
  ['linear', 'linear'], ['relu', 'relu'], ['relu6', 'relu6'], ['sigmoid', 'sigmoid'], ['softmax', 'softmax'], ['tanh', 'tanh'],
  ['elu', 'elu'], ['selu', 'selu'], ['softplus', 'softplus'], ['softsign', 'softsign'], ['swish', 'swish'], ['silu', 'swish'],
  ['gelu', 'gelu'], ['mish', 'mish'],
]);
/** Initializers tfjs knows by these class names; any other is replaced (the file's weights replace it anyway). */
const INITIALIZERS = new Set(['Zeros', 'Ones', 'Constant', 'RandomNormal', 'RandomUniform', 'TruncatedNormal', 'VarianceScaling',
  'GlorotUniform', 'GlorotNormal', 'HeNormal', 'HeUniform', 'LecunNormal', 'LecunUniform', 'Orthogonal', 'Identity']);

/** Keras's naming.to_snake_case: how a .keras weights file names a layer's group (`conv2d`, `batch_normalization`). */
export function snakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The group of each layer in a .keras weights file: `layers/<snake class>[_k]` in the model's layer order. */
export function keras3LayerKeys(classNames: string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((c) => {
    const base = snakeCase(c);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  });
}

export interface ConvertedLayer {
  name: string;
  /** The class in the Keras file. */
  kerasClass: string;
  /** The class tfjs builds (differs for Normalization). */
  tfjsClass: string;
  /** Normalization: its mean and variance given in the config, when it holds them (else they are weights). */
  normalization?: { mean: number[] | null; variance: number[] | null; axis: number };
}

export interface ConvertedModel {
  /** The topology tfjs reads (Keras 2 schema, snake_case). */
  topology: Dict;
  /** Every layer, in the order Keras lists them in `model.layers`. */
  layers: ConvertedLayer[];
  kind: 'Sequential' | 'Functional';
}

class Converter {
  constructor(readonly shown: string) {}

  fail(what: string): UserError {
    return new UserError(`${this.shown} ${what}.`);
  }

  /** Strips Keras 3's `module`/`registered_name` wrappers and reads dtype policies and numpy arrays as values. */
  clean(v: unknown, depth = 0): unknown {
    if (depth > 32) throw this.fail('nests its model config too deeply to read');
    if (Array.isArray(v)) return v.map((x) => this.clean(x, depth + 1));
    if (!isDict(v)) return v;
    if (v.class_name === 'DTypePolicy' || v.class_name === 'FloatDTypePolicy') return 'float32';
    if (v.class_name === '__numpy__' && isDict(v.config)) return this.clean(v.config.value, depth + 1);
    if (v.class_name === '__tuple__' && isDict(v.config)) return this.clean(v.config.value, depth + 1);
    const out: Dict = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'compile_config' || k === 'shared_object_id') continue;
      out[k] = this.clean(x, depth + 1);
    }
    return out;
  }

  label(name: string, cls: string): string {
    return `layer ${quoteName(name)} (${cls})`;
  }

  activation(l: string, v: unknown): string {
    let name = v;
    if (isDict(v)) name = typeof v.config === 'string' ? v.config : v.class_name;
    if (name == null) return 'linear';
    if (typeof name !== 'string' || !ACTIVATIONS.has(name)) {
      throw this.fail(`gives ${l} the activation ${quoteName(String(typeof name === 'string' ? name : JSON.stringify(name)).slice(0, 60))}, which cannot run here (the activations read are ${[...ACTIVATIONS.keys()].join(', ')})`);
    }
    return ACTIVATIONS.get(name)!;
  }

  /** The config tfjs reads for one layer, or a refusal naming it. */
  layerConfig(entry: Dict, where: string): { name: string; cls: string; tfjsClass: string; cfg: Dict; layer: ConvertedLayer } {
    const cls = entry.class_name;
    const cfg0 = isDict(entry.config) ? (this.clean(entry.config) as Dict) : null;
    const name = typeof cfg0?.name === 'string' ? cfg0.name : typeof entry.name === 'string' ? entry.name : '?';
    if (typeof cls !== 'string' || !cfg0) throw this.fail(`has a layer entry in ${where} without class_name and config`);
    const l = this.label(name, cls);
    if (MODELS.has(cls)) throw this.fail(`nests a model, ${l}, inside ${where}, which is not read; save the model with its layers in one Sequential or functional model`);
    if (!SUPPORTED.has(cls)) {
      const why = cls === 'Lambda' ? 'whose Python code cannot run here' : 'which is not one of the layers that can run here';
      throw this.fail(`has ${l}, ${why} (those are ${KERAS_LAYERS.join(', ')})`);
    }
    const cfg: Dict = { ...cfg0, name, dtype: 'float32' };
    for (const k of Object.keys(cfg)) {
      if (k.endsWith('_initializer')) {
        const init = cfg[k];
        cfg[k] = isDict(init) && typeof init.class_name === 'string' && INITIALIZERS.has(init.class_name)
          ? { class_name: init.class_name, config: isDict(init.config) ? init.config : {} } : { class_name: 'Zeros', config: {} };
      } else if (k.endsWith('_regularizer')) {
        const r = cfg[k];
        const rc = isDict(r) && isDict(r.config) ? r.config : {};
        const l1 = typeof rc.l1 === 'number' ? rc.l1 : 0; const l2 = typeof rc.l2 === 'number' ? rc.l2 : 0;
        cfg[k] = isDict(r) && ['L1', 'L2', 'L1L2'].includes(String(r.class_name)) ? { class_name: 'L1L2', config: { l1, l2 } } : null;
      } else if (k.endsWith('_constraint')) {
        cfg[k] = null;
      }
    }
    if ('activation' in cfg) cfg.activation = this.activation(l, cfg.activation);
    for (const k of ['lora_rank', 'quantization_config']) {
      if (cfg[k] != null) throw this.fail(`gives ${l} a ${k}, which is not read here`);
      delete cfg[k];
    }
    let tfjsClass = cls;
    const layer: ConvertedLayer = { name, kerasClass: cls, tfjsClass };
    switch (cls) {
      case 'InputLayer': {
        const shape = cfg.batch_input_shape ?? cfg.batch_shape ?? (Array.isArray(cfg.input_shape) ? [null, ...cfg.input_shape] : null);
        if (!Array.isArray(shape)) throw this.fail(`gives ${l} no batch_shape`);
        if (cfg.sparse === true || cfg.ragged === true) throw this.fail(`gives ${l} sparse or ragged inputs, which an image classifier does not take`);
        return { name, cls, tfjsClass, cfg: { batch_input_shape: shape, dtype: 'float32', sparse: false, name }, layer };
      }
      case 'Conv2D': case 'SeparableConv2D': case 'DepthwiseConv2D':
        if (cfg.groups != null && cfg.groups !== 1) throw this.fail(`gives ${l} ${String(cfg.groups)} groups, which cannot run here (only 1)`);
        delete cfg.groups;
        break;
      case 'GlobalAveragePooling2D': case 'GlobalMaxPooling2D':
        if (cfg.keepdims === true) throw this.fail(`gives ${l} keepdims, which cannot run here`);
        delete cfg.keepdims;
        break;
      case 'BatchNormalization': {
        if (Array.isArray(cfg.axis)) {
          if (cfg.axis.length !== 1) throw this.fail(`gives ${l} the axes ${JSON.stringify(cfg.axis)}; one axis is read`);
          cfg.axis = cfg.axis[0];
        }
        if (cfg.renorm === true) throw this.fail(`gives ${l} batch renormalization, which cannot run here`);
        for (const k of ['renorm', 'renorm_clipping', 'renorm_momentum', 'synchronized', 'fused', 'virtual_batch_size', 'adjustment']) delete cfg[k];
        break;
      }
      case 'ReLU': {
        if ((cfg.negative_slope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) throw this.fail(`gives ${l} a negative slope or threshold, which cannot run here`);
        delete cfg.negative_slope; delete cfg.threshold;
        break;
      }
      case 'LeakyReLU': {
        const slope = cfg.negative_slope ?? cfg.alpha ?? 0.3;
        delete cfg.negative_slope;
        cfg.alpha = slope;
        break;
      }
      case 'Rescaling': {
        for (const k of ['scale', 'offset']) {
          let v = cfg[k];
          if (Array.isArray(v) && v.length === 1) v = v[0];
          if (v != null && typeof v !== 'number') throw this.fail(`gives ${l} a ${k} per channel, which cannot run here (one number is read)`);
          cfg[k] = v ?? (k === 'scale' ? 1 : 0);
        }
        break;
      }
      case 'Normalization': {
        if (cfg.invert === true) throw this.fail(`gives ${l} invert, which cannot run here`);
        let axis = cfg.axis;
        if (Array.isArray(axis)) {
          if (axis.length !== 1) throw this.fail(`gives ${l} the axes ${JSON.stringify(axis)}; one axis is read`);
          axis = axis[0];
        }
        if (axis !== -1 && axis !== null && axis !== undefined) throw this.fail(`normalises ${l} along axis ${JSON.stringify(axis)}; the last axis is read`);
        const list = (v: unknown, k: string): number[] | null => {
          if (v == null) return null;
          const flat = Array.isArray(v) ? v.flat(8) : [v];
          if (!flat.every((x) => typeof x === 'number' && Number.isFinite(x))) throw this.fail(`gives ${l} a ${k} that is not a list of numbers`);
          return flat as number[];
        };
        layer.normalization = { mean: list(cfg.mean, 'mean'), variance: list(cfg.variance, 'variance'), axis: -1 };
        // (x - mean) / max(sqrt(variance), 1e-7) as a frozen batch normalisation: gamma 1, beta 0.
        tfjsClass = 'BatchNormalization';
        layer.tfjsClass = tfjsClass;
        return {
          name, cls, tfjsClass, layer,
          cfg: { name, trainable: false, dtype: 'float32', axis: -1, momentum: 0.99, epsilon: 1e-14, center: true, scale: true },
        };
      }
      default: break;
    }
    return { name, cls, tfjsClass, cfg, layer };
  }

  /** A call's input references from a Keras 2 node (`[[name, node, tensor, kwargs], ...]`) or a Keras 3 one (`{args, kwargs}`). */
  nodeRefs(node: unknown, l: string): unknown[][] {
    const refs: unknown[][] = [];
    if (Array.isArray(node)) {
      for (const r of node) {
        if (!Array.isArray(r) || r.length < 3 || typeof r[0] !== 'string') throw this.fail(`gives ${l} an inbound connection that is not [layer, node, tensor]`);
        refs.push([r[0], r[1], r[2], {}]);
      }
      return refs;
    }
    if (!isDict(node)) throw this.fail(`gives ${l} an inbound node that is neither a list nor {args, kwargs}`);
    const walk = (v: unknown, depth: number): void => {
      if (depth > 8) throw this.fail(`nests the inputs of ${l} too deeply to read`);
      if (Array.isArray(v)) { for (const x of v) walk(x, depth + 1); return; }
      if (!isDict(v)) return;
      if (v.class_name === '__keras_tensor__') {
        const h = isDict(v.config) ? v.config.keras_history : undefined;
        if (!Array.isArray(h) || h.length !== 3 || typeof h[0] !== 'string') throw this.fail(`gives ${l} an input tensor without a keras_history`);
        refs.push([h[0], h[1], h[2], {}]);
        return;
      }
      for (const x of Object.values(v)) walk(x, depth + 1);
    };
    walk(node.args, 0);
    const before = refs.length;
    walk(node.kwargs, 0);
    if (refs.length !== before) throw this.fail(`passes a tensor to ${l} as a keyword argument, which is not read here`);
    return refs;
  }

  /** input_layers / output_layers: one leaf `[name, node, tensor]` or a list of them. */
  ends(v: unknown, key: string): unknown[][] {
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => Array.isArray(x) && x.length >= 3 && typeof x[0] === 'string')) return (v as unknown[][]).map((x) => x.slice(0, 3));
    throw this.fail(`has ${key} that are not a list of [layer, node, tensor]`);
  }
}

/**
 * Reads a Keras model config (Keras 2 `model_config` or Keras 3 `config.json`) as the tfjs
 * topology of the same model; refuses, naming `shown` and the layer, what cannot run here.
 */
export function kerasToTfjs(config: unknown, shown: string): ConvertedModel {
  const c = new Converter(shown);
  if (!isDict(config) || typeof config.class_name !== 'string' || !isDict(config.config)) {
    throw c.fail('has a model config without class_name and config');
  }
  const top = config.class_name;
  const body = config.config;
  const name = typeof body.name === 'string' ? body.name : 'model';
  if (top === 'Sequential') {
    if (!Array.isArray(body.layers) || body.layers.length === 0) throw c.fail('describes a Sequential model without layers');
    const out: Dict[] = [];
    const layers: ConvertedLayer[] = [];
    body.layers.forEach((entry, i) => {
      if (!isDict(entry)) throw c.fail('has a layer entry that is not an object');
      const r = c.layerConfig(entry, 'the model');
      if (r.cls === 'InputLayer' && i > 0) throw c.fail(`places ${c.label(r.name, r.cls)} after the first layer`);
      out.push({ class_name: r.tfjsClass, config: r.cfg });
      layers.push(r.layer);
    });
    // tfjs lists a Sequential's layers without an InputLayer and reads the input shape from the
    // first layer, as its own model.json does; Keras 3 may record it only as the model's build_config.
    let inputShape: unknown = null;
    if (out[0].class_name === 'InputLayer') {
      inputShape = (out.shift()!.config as Dict).batch_input_shape;
      if (!out.length) throw c.fail('describes a Sequential model with an input and no layers');
    }
    const first = out[0].config as Dict;
    if (first.batch_input_shape == null && first.input_shape == null) {
      inputShape ??= isDict(config.build_config) ? config.build_config.input_shape : undefined;
      if (!Array.isArray(inputShape)) throw c.fail('declares no input shape for its first layer');
      first.batch_input_shape = inputShape;
    }
    return { kind: 'Sequential', layers, topology: { class_name: 'Sequential', config: { name, layers: out } } };
  }
  if (top === 'Functional' || top === 'Model') {
    if (!Array.isArray(body.layers)) throw c.fail('describes a functional model without layers');
    const out: Dict[] = [];
    const layers: ConvertedLayer[] = [];
    for (const entry of body.layers) {
      if (!isDict(entry)) throw c.fail('has a layer entry that is not an object');
      const r = c.layerConfig(entry, 'the model');
      const l = c.label(r.name, r.cls);
      if (typeof entry.name === 'string' && entry.name !== r.name) throw c.fail(`names ${l} differently in its entry (${quoteName(entry.name)})`);
      const inbound = Array.isArray(entry.inbound_nodes) ? entry.inbound_nodes : [];
      const nodes = r.cls === 'InputLayer' ? [] : inbound.map((node) => c.nodeRefs(node, l));
      out.push({ class_name: r.tfjsClass, config: r.cfg, name: r.name, inbound_nodes: nodes });
      layers.push(r.layer);
    }
    return {
      kind: 'Functional', layers,
      topology: {
        class_name: 'Model',
        config: { name, layers: out, input_layers: c.ends(body.input_layers, 'input_layers'), output_layers: c.ends(body.output_layers, 'output_layers') },
      },
    };
  }
  throw c.fail(`holds a model of class ${quoteName(top)}, which is not a Sequential or functional model (a subclassed model's Python code cannot run here)`);
}

// --- tfjs → Keras 3 config.json -----------------------------------------------------------------

function keras3Object(module: string, v: unknown): unknown {
  if (!isDict(v) || typeof v.class_name !== 'string') return v ?? null;
  return { module, class_name: v.class_name, config: v.config ?? {}, registered_name: null };
}

function keras3LayerConfig(cls: string, cfg: Dict): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'batch_input_shape' || k === 'input_shape' || k === 'input_dim') continue;
    if (k.endsWith('_initializer')) out[k] = keras3Object('keras.initializers', v);
    else if (k.endsWith('_regularizer')) out[k] = keras3Object('keras.regularizers', v);
    else if (k.endsWith('_constraint')) out[k] = keras3Object('keras.constraints', v);
    else out[k] = v;
  }
  if (cls === 'LeakyReLU' && 'alpha' in out) { out.negative_slope = out.alpha; delete out.alpha; }
  return out;
}

/**
 * A tfjs topology (its `toJSON`, Keras 2 schema) in the Keras 3 schema of a `.keras` file's
 * config.json; `outputShape(name)` gives a layer's output shape (with the batch as null) for the
 * tensors a functional call records. Returns the config and the class of each layer in the
 * order a Keras 3 model lists them (`model.layers`), for the weight groups.
 */
export function toKeras3Config(topology: Dict, outputShape: (layer: string) => (number | null)[]): { config: Dict; layerOrder: { name: string; cls: string }[] } {
  const body = topology.config as Dict;
  const layersIn = (Array.isArray(body) ? body : body.layers) as Dict[];
  const name = (!Array.isArray(body) && typeof body.name === 'string') ? body.name : 'model';
  const wrap = (entry: Dict, extra: Dict = {}): Dict => {
    const cls = entry.class_name as string;
    const cfg = entry.config as Dict;
    if (cls === 'InputLayer') {
      return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: cfg.batch_input_shape, dtype: 'float32', sparse: false, name: cfg.name }, registered_name: null, ...extra };
    }
    return { module: 'keras.layers', class_name: cls, config: keras3LayerConfig(cls, cfg), registered_name: null, ...extra };
  };
  if (topology.class_name === 'Sequential') {
    const layers: Dict[] = [];
    const firstCfg = layersIn[0].config as Dict;
    let inputShape: unknown = null;
    if (layersIn[0].class_name !== 'InputLayer') {
      inputShape = firstCfg.batch_input_shape ?? (Array.isArray(firstCfg.input_shape) ? [null, ...firstCfg.input_shape] : null);
      layers.push({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: inputShape, dtype: 'float32', sparse: false, name: `${name}_input` }, registered_name: null });
    } else inputShape = (layersIn[0].config as Dict).batch_input_shape;
    for (const e of layersIn) layers.push(wrap(e));
    // Keras 3's Sequential lists its layers without the InputLayer.
    const order = layersIn.filter((e) => e.class_name !== 'InputLayer').map((e) => ({ name: (e.config as Dict).name as string, cls: e.class_name as string }));
    return {
      config: { module: 'keras', class_name: 'Sequential', config: { name, trainable: true, dtype: 'float32', layers }, registered_name: null, build_config: { input_shape: inputShape } },
      layerOrder: order,
    };
  }
  const tensor = (ref: unknown[]) => ({
    class_name: '__keras_tensor__',
    config: { shape: outputShape(String(ref[0])), dtype: 'float32', keras_history: [ref[0], ref[1], ref[2]] },
  });
  const layers = layersIn.map((e) => {
    const nodes = (Array.isArray(e.inbound_nodes) ? e.inbound_nodes : []) as unknown[][][];
    const inbound = nodes.map((node) => ({ args: [node.length === 1 ? tensor(node[0]) : node.map(tensor)], kwargs: {} }));
    return wrap(e, { name: (e.config as Dict).name ?? e.name, inbound_nodes: inbound });
  });
  const ends = (v: unknown) => (Array.isArray(v) ? (v as unknown[][]).map((r) => r.slice(0, 3)) : v);
  return {
    config: {
      module: 'keras', class_name: 'Functional',
      config: { name, trainable: true, layers, input_layers: ends(body.input_layers), output_layers: ends(body.output_layers) },
      registered_name: 'Functional',
    },
    layerOrder: layersIn.map((e) => ({ name: (e.config as Dict).name as string, cls: e.class_name as string })),
  };
}
