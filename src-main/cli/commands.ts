/** The `clearwb` commands: each parses its options, runs engine jobs through the worker, prints. */
import type { JobInput, JobName, JobResults } from '../contract/jobs.js';
import { DATA_SPEC_CHOICES } from '../contract/catalogue.js';
import type { OptionSpec, ParsedArgs } from './args.js';
import { formatSeconds } from './progress.js';

export interface CommandIO {
  run<N extends JobName>(job: N, args: JobInput<N>): Promise<JobResults[N]>;
  /** Human-readable output (suppressed with --json). */
  say(text: string): void;
  json: boolean;
  backend(): { name: string; threads: number; warning?: string } | undefined;
}

export interface Command {
  name: string;
  summary: string;
  options: OptionSpec[];
  /** Returns the JSON object printed with --json. */
  run(args: ParsedArgs, io: CommandIO): Promise<object>;
}

export const dataOptions: OptionSpec[] = [
  { name: 'data', type: 'string', value: 'SPEC', help: `dataset: ${DATA_SPEC_CHOICES}`, required: true },
  { name: 'limit', type: 'int', value: 'N', help: 'use a seeded subset of N training samples' },
  { name: 'data-seed', type: 'int', value: 'S', help: 'seed of the --limit subset (default 0)' },
];

export function dataArgs(a: ParsedArgs) {
  return { data: a.data as string, limit: a.limit as number | undefined, dataSeed: a.dataSeed as number | undefined };
}

function pct(x: number): string { return `${(x * 100).toFixed(2)}%`; }

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a built-in architecture on a dataset and save it',
  options: [
    ...dataOptions,
    { name: 'arch', type: 'string', value: 'mlp|cnn', help: 'architecture (default cnn)' },
    { name: 'epochs', type: 'int', value: 'N', help: 'epochs (default 3)' },
    { name: 'batch-size', type: 'int', value: 'N', help: 'batch size (default 64)' },
    { name: 'learning-rate', type: 'number', value: 'LR', help: 'Adam learning rate (default 0.001)' },
    { name: 'seed', type: 'int', value: 'S', help: 'seed for initial weights and batch order (default 0)' },
    { name: 'out', type: 'string', value: 'MODEL_DIR', help: 'new folder for the model (TensorFlow.js Layers format)', required: true },
  ],
  async run(a, io) {
    const r = await io.run('train', {
      ...dataArgs(a), arch: a.arch as 'mlp' | 'cnn' | undefined, epochs: a.epochs as number | undefined,
      batchSize: a.batchSize as number | undefined, learningRate: a.learningRate as number | undefined,
      seed: a.seed as number | undefined, out: a.out as string,
    });
    for (const e of r.epochs) io.say(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, accuracy ${pct(e.accuracy)}`);
    io.say(`Trained on ${r.trainCount} samples in ${formatSeconds(r.trainSeconds)} (${r.samplesPerSecond.toFixed(0)} samples/s, backend ${r.backend}).`);
    io.say(`Test accuracy: ${pct(r.accuracy)} on ${r.testCount} samples.`);
    io.say(`Saved to ${r.model} (fingerprint ${r.fingerprint.slice(0, 12)}…).`);
    return r;
  },
};

export const evalCommand: Command = {
  name: 'eval',
  summary: 'accuracy and per-class accuracy of a model on a split',
  options: [
    { name: 'model', type: 'string', value: 'MODEL_DIR', help: 'model folder', required: true },
    ...dataOptions,
    { name: 'split', type: 'string', value: 'train|test', help: 'split (default test)' },
  ],
  async run(a, io) {
    const r = await io.run('eval', { ...dataArgs(a), model: a.model as string, split: a.split as 'train' | 'test' | undefined });
    io.say(`Accuracy on the ${r.split} split: ${pct(r.accuracy)} (${r.count} samples, backend ${r.backend}).`);
    for (const c of r.perClass) io.say(`  class ${c.className.padEnd(8)} ${pct(c.accuracy).padStart(8)}  (${c.count})`);
    return r;
  },
};

export const predictCommand: Command = {
  name: 'predict',
  summary: "one sample's predicted class and probabilities",
  options: [
    { name: 'model', type: 'string', value: 'MODEL_DIR', help: 'model folder', required: true },
    ...dataOptions,
    { name: 'split', type: 'string', value: 'train|test', help: 'split (default test)' },
    { name: 'index', type: 'int', value: 'I', help: 'sample index in the split', required: true },
  ],
  async run(a, io) {
    const r = await io.run('predict', { ...dataArgs(a), model: a.model as string, split: a.split as 'train' | 'test' | undefined, index: a.index as number });
    io.say(`Sample ${r.index} of the ${r.split} split: label ${r.classNames[r.label]}, predicted ${r.classNames[r.predicted]} (p = ${r.probabilities[r.predicted].toFixed(4)}).`);
    const top = r.probabilities.map((p, c) => [p, c] as const).sort((x, y) => y[0] - x[0]).slice(0, 3);
    io.say(`Top classes: ${top.map(([p, c]) => `${r.classNames[c]} ${p.toFixed(4)}`).join(', ')}`);
    return r;
  },
};

export const infoCommand: Command = {
  name: 'info',
  summary: "a model's layers, feature layer, parameters and fingerprint",
  options: [{ name: 'model', type: 'string', value: 'MODEL_DIR', help: 'model folder', required: true }],
  async run(a, io) {
    const r = await io.run('info', { model: a.model as string });
    io.say(`Input ${r.inputShape.join('×')}, ${r.numClasses} classes, ${r.parameters.toLocaleString('en')} parameters.`);
    for (const l of r.layers) io.say(`  ${(l.name === r.featureLayer ? '* ' : '  ') + l.name.padEnd(14)} ${l.type.padEnd(14)} ${l.outputShape.padEnd(18)} ${l.parameters}`);
    io.say(`Feature layer: ${r.featureLayer} (marked *). Fingerprint ${r.fingerprint}. Backend ${r.backend}.`);
    return r;
  },
};
