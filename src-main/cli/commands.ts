/** The `clearwb` commands: each parses its options, runs engine jobs through the worker, prints. */
import { DataArgs, jobArgs, TRAIN_DEFAULTS, TRANSFER_HEAD_DEFAULTS, type JobInput, type JobName, type JobResults } from '../contract/jobs.js';
import { ARCHITECTURES, DATA_SPEC_CHOICES, type ArchitectureName } from '../contract/catalogue.js';
import { FLAT_ORDER_KEY, parseInputTransform } from '../contract/format.js';
import type { InputTransform } from '../contract/results.js';
import { UsageError, withSchemas, type OptionSpec, type ParsedArgs } from './args.js';
import type { ExitStatus } from './exit.js';
import { formatSeconds } from './progress.js';
import type { Style } from './style.js';
import { formatTable } from './table.js';

export interface CommandIO {
  /** Runs a job in the engine worker (started on first use); its arguments are checked against the contract first. */
  run<N extends JobName>(job: N, args: JobInput<N>): Promise<JobResults[N]>;
  /** Human-readable output (suppressed with --json). */
  say(text: string): void;
  json: boolean;
  /** Colour for what `say` prints (plain unless stdout is a terminal and NO_COLOR is unset). */
  style: Style;
  backend(): { name: string; threads: number; warning?: string } | undefined;
}

export interface Command {
  name: string;
  summary: string;
  options: OptionSpec[];
  /** Exit statuses of a successful run besides 0, best first (scan's verdicts). */
  exitStatuses?: ExitStatus[];
  /** What 0 means for this command, when it means more than "done". */
  okMeans?: string;
  /** The exit status of a run that finished (0 unless the command says otherwise). */
  exitCode?(result: object): number;
  /** Returns the JSON object printed with --json. */
  run(args: ParsedArgs, io: CommandIO): Promise<object>;
}

/** The model folder a command reads (never modified by any command). */
/** What reading an ONNX file means for a repair (README, "ONNX models"). */
export const ONNX_HEAD_ONLY = 'Read from an ONNX file: its layers up to the last fully connected one run as the file\'s own graph (checked against ONNX Runtime) and are never changed; a repair retrains the classifier head only and writes model.onnx with the new head, which moves the last layer\'s decision boundary but leaves whatever earlier layers learnt in the features.';

/** How an ONNX model with a flat input takes a colour image (engine/model/onnx.ts), as `info` states it. */
export function flatInputOrderLine(flat: { order: 'CHW' | 'HWC'; declared: boolean }): string {
  if (flat.order === 'HWC') return `Input order: a colour image is fed to the flat input pixel by pixel with its channels together (H×W×C, channels last), as the file's metadata entry ${FLAT_ORDER_KEY} says.`;
  return `Input order: a colour image is fed to the flat input channels first (C×H×W, as PyTorch flattens an N×C×H×W batch), ${flat.declared ? `as the file's metadata entry ${FLAT_ORDER_KEY} says` : `as assumed for ONNX files; the metadata entry ${FLAT_ORDER_KEY} = HWC in the file makes it channels last`}.`;
}

export const modelOption = (help = 'model folder, or a Keras .h5/.keras or ONNX .onnx file'): OptionSpec => ({ name: 'model', type: 'string', value: 'MODEL_DIR', help, required: true });
/** Which split of the dataset a command reads. */
export const splitOption: OptionSpec = { name: 'split', type: 'string', value: 'train|test', help: 'split (default test)' };

export const dataOptions: OptionSpec[] = withSchemas(DataArgs.shape, [
  { name: 'data', type: 'string', value: 'SPEC', help: `dataset: ${DATA_SPEC_CHOICES}`, required: true },
  { name: 'limit', type: 'int', value: 'N', help: 'use a seeded subset of N training samples' },
  { name: 'data-seed', type: 'int', value: 'S', help: 'seed of the --limit subset (default 0)' },
]);

/** How the model expects its pixels, when not 0–1 as the readers give them (engine/model/input-transform.ts). */
export const inputOptions: OptionSpec[] = [
  { name: 'input-scale', type: 'number', value: 'N', help: 'the model was trained on pixels × N: 255 for 0–255 values (default 1: 0–1, as the data readers give them)' },
  { name: 'input-normalize', type: 'string', value: 'MEAN:STD', help: 'the model was trained on (pixels × scale − MEAN) / STD, a normalisation its pipeline applies outside the model; one value or one per channel, e.g. 0.1307:0.3081 or 0.485,0.456,0.406:0.229,0.224,0.225' },
];

/** The --input-scale and --input-normalize options as a job's `input` (none when neither is given). */
export function inputArgs(a: ParsedArgs): { input?: InputTransform } {
  let input: InputTransform | undefined;
  try {
    input = parseInputTransform(a.inputScale as number | undefined, a.inputNormalize as string | undefined, { scale: '--input-scale', normalize: '--input-normalize' });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return input ? { input } : {};
}

export function dataArgs(a: ParsedArgs) {
  return { data: a.data as string, limit: a.limit as number | undefined, dataSeed: a.dataSeed as number | undefined };
}

function pct(x: number): string { return `${(x * 100).toFixed(2)}%`; }

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a built-in architecture on a dataset and save it, or a new last layer on a saved model\'s frozen features',
  options: withSchemas(jobArgs.train.shape, [
    ...dataOptions,
    { name: 'arch', type: 'string', value: ARCHITECTURES.join('|'), help: 'architecture (default cnn; not with --from)' },
    { name: 'from', type: 'string', value: 'MODEL_DIR', help: 'start from this saved model\'s weights instead (its architecture; not modified)' },
    ...inputOptions.map((o) => ({ ...o, help: `with --from: ${o.help}` })),
    { name: 'freeze-features', type: 'boolean', help: `with --from: keep its layers up to the feature layer fixed and train a fresh last layer on them (transfer learning; defaults then ${TRANSFER_HEAD_DEFAULTS.epochs} epochs, batch size ${TRANSFER_HEAD_DEFAULTS.batchSize}, learning rate ${TRANSFER_HEAD_DEFAULTS.learningRate})` },
    { name: 'epochs', type: 'int', value: 'N', help: `epochs (default ${TRAIN_DEFAULTS.epochs})` },
    { name: 'batch-size', type: 'int', value: 'N', help: `batch size (default ${TRAIN_DEFAULTS.batchSize})` },
    { name: 'learning-rate', type: 'number', value: 'LR', help: `Adam learning rate (default ${TRAIN_DEFAULTS.learningRate})` },
    { name: 'seed', type: 'int', value: 'S', help: 'seed for initial weights and batch order (default 0)' },
    { name: 'out', type: 'string', value: 'MODEL_DIR', help: 'new folder for the model (TensorFlow.js Layers format)', required: true },
  ]),
  async run(a, io) {
    if (a.freezeFeatures && !a.from) throw new UsageError('--freeze-features freezes the features of a saved model: give it with --from MODEL_DIR.');
    if (a.from && a.arch !== undefined) throw new UsageError('--arch and --from do not go together: a model trained --from keeps that model\'s architecture.');
    if (!a.from && (a.inputScale !== undefined || a.inputNormalize !== undefined)) throw new UsageError('--input-scale and --input-normalize say how a saved model is fed: give it with --from MODEL_DIR (a model trained here takes the pixels as read).');
    const r = await io.run('train', {
      ...dataArgs(a), ...inputArgs(a), arch: a.arch as ArchitectureName | undefined, from: a.from as string | undefined,
      freezeFeatures: a.freezeFeatures as boolean | undefined, epochs: a.epochs as number | undefined,
      batchSize: a.batchSize as number | undefined, learningRate: a.learningRate as number | undefined,
      seed: a.seed as number | undefined, out: a.out as string,
    });
    if (r.from) {
      io.say(r.from.featuresFrozen
        ? `A fresh last layer on the frozen features of ${r.from.model} (its layers up to "${r.from.featureLayer}" kept as they were):`
        : `${r.from.model} (${r.architecture}) fine-tuned from its weights:`);
    }
    for (const e of r.epochs) {
      const validation = e.valLoss !== undefined && e.valAccuracy !== undefined ? `; validation loss ${e.valLoss.toFixed(4)}, accuracy ${pct(e.valAccuracy)}` : '';
      io.say(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, accuracy ${pct(e.accuracy)}${validation}`);
    }
    if (r.validation) io.say(`Validation: ${r.validation.count} held-out ${r.validation.split} samples, measured after every epoch.`);
    io.say(`Trained on ${r.trainCount} samples in ${formatSeconds(r.trainSeconds)} (${r.samplesPerSecond.toFixed(0)} samples/s, backend ${r.backend}).`);
    io.say(`Test accuracy: ${pct(r.accuracy)} on ${r.testCount} samples.`);
    io.say(`Saved to ${r.model} (fingerprint ${r.fingerprint.slice(0, 12)}…).`);
    return r;
  },
};

export const evalCommand: Command = {
  name: 'eval',
  summary: 'accuracy and per-class accuracy of a model on a split',
  options: withSchemas(jobArgs.eval.shape, [
    modelOption(),
    ...inputOptions,
    ...dataOptions,
    splitOption,
  ]),
  async run(a, io) {
    const r = await io.run('eval', { ...dataArgs(a), ...inputArgs(a), model: a.model as string, split: a.split as 'train' | 'test' | undefined });
    io.say(`Accuracy on the ${r.split} split: ${pct(r.accuracy)} (${r.count} samples, backend ${r.backend}).`);
    for (const note of r.notes) io.say(note);
    const rows = [['class', 'accuracy', 'samples'], ...r.perClass.map((c) => [c.className, pct(c.accuracy), String(c.count)])];
    for (const line of formatTable(rows, ['left', 'right', 'right'])) io.say(line);
    io.say('Confusion matrix (rows: true class; columns: predicted class):');
    const names = r.dataset.classNames;
    const matrix = [['', ...names], ...r.confusion.map((row, t) => [names[t], ...row.map(String)])];
    for (const line of formatTable(matrix, ['left', ...names.map(() => 'right' as const)])) io.say(line);
    if (r.modelClassNames) io.say(`The model names its classes ${r.modelClassNames.map((n) => `"${n}"`).join(', ')}.`);
    // The warnings themselves went to stderr as the job found them (main.ts), so a pipeline's log keeps them.
    if (r.warnings.length) io.say(`${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'} above: check the class order and the pixel scaling before scanning this pair.`);
    return r;
  },
};

export const predictCommand: Command = {
  name: 'predict',
  summary: "one sample's predicted class and probabilities",
  options: withSchemas(jobArgs.predict.shape, [
    modelOption(),
    ...inputOptions,
    ...dataOptions,
    splitOption,
    { name: 'index', type: 'int', value: 'I', help: 'sample index in the split, from 0', required: true },
  ]),
  async run(a, io) {
    const r = await io.run('predict', { ...dataArgs(a), ...inputArgs(a), model: a.model as string, split: a.split as 'train' | 'test' | undefined, index: a.index as number });
    io.say(`Sample ${r.index} of the ${r.split} split: label ${r.classNames[r.label]}, predicted ${r.classNames[r.predicted]} (p = ${r.probabilities[r.predicted].toFixed(4)}).`);
    const top = r.probabilities.map((p, c) => [p, c] as const).sort((x, y) => y[0] - x[0]).slice(0, 3);
    io.say(`Top classes: ${top.map(([p, c]) => `${r.classNames[c]} ${p.toFixed(4)}`).join(', ')}`);
    return r;
  },
};

export const infoCommand: Command = {
  name: 'info',
  summary: "a model's layers, feature layer, parameters and fingerprint",
  options: withSchemas(jobArgs.info.shape, [modelOption()]),
  async run(a, io) {
    const r = await io.run('info', { model: a.model as string });
    io.say(`Input ${r.inputShape.join('×')}, ${r.numClasses} classes, ${r.parameters.toLocaleString('en')} parameters.`);
    const rows = [
      ['  layer', 'type', 'output shape', 'parameters'],
      ...r.layers.map((l) => [`${l.name === r.featureLayer ? '* ' : '  '}${l.name}`, l.type, l.outputShape, l.parameters.toLocaleString('en')]),
    ];
    for (const line of formatTable(rows, ['left', 'left', 'left', 'right'])) io.say(line);
    io.say(`Feature layer: ${r.featureLayer} (marked *). Fingerprint ${r.fingerprint}. Backend ${r.backend}.`);
    io.say('Input scaling: the data readers give pixel values from 0 to 1 and the model gets them as they are; for a model trained on 0-255 pixels or on normalised ones, give --input-scale and --input-normalize to eval, scan and the other commands that feed it data.');
    const keras = /\.(h5|hdf5|keras)$/i.exec(r.model);
    if (keras) io.say(`Read from a Keras .${keras[1].toLowerCase()} file; a repair writes the repaired model back in this format (${keras[1].toLowerCase() === 'keras' ? 'model.keras' : 'model.h5'}) beside its TensorFlow.js files.`);
    if (r.layers.some((l) => l.type === 'OnnxFeatures')) io.say(ONNX_HEAD_ONLY);
    const flat = r.metadata.flatInputOrder;
    if (flat) io.say(flatInputOrderLine(flat));
    return r;
  },
};
