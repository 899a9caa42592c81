/** `clearwb attack` (craft poisons into a new dataset) and `clearwb bench`. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UsageError, withSchemas, type ParsedArgs } from './args.js';
import { dataOptions, inputArgs, inputOptions, type Command } from './commands.js';
import { formatSeconds } from './progress.js';
import { BENCH_SCHEMA, PERF_SCHEMA, type BenchSummary, type PerfSummary } from '../contract/results.js';
import { BackendChoice, jobArgs } from '../contract/jobs.js';
import { ATTACK_NAMES, BACKENDS, type ArchitectureName, type AttackName, type AttackVariant, type Scenario } from '../contract/catalogue.js';

/** "3, 17, 40 and 5 more": a short list of indices for a message. */
function summariseIndices(indices: number[]): string {
  const shown = indices.slice(0, 3).join(', ');
  return indices.length > 3 ? `${shown} and ${indices.length - 3} more` : shown;
}

function optionalDataArgs(a: ParsedArgs) {
  return { data: (a.data as string | undefined) ?? 'mnist', limit: a.limit as number | undefined, dataSeed: a.dataSeed as number | undefined };
}

export const attackCommand: Command = {
  name: 'attack',
  summary: 'craft sample-targeted poisons and write a poisoned dataset with its manifest',
  options: withSchemas(jobArgs.attack.shape, [
    ...dataOptions,
    { name: 'attack', type: 'string', value: ATTACK_NAMES.join('|'), help: 'the attack', required: true },
    { name: 'target', type: 'int', value: 'I', help: 'index of the target sample in the test split', required: true },
    { name: 'attacker-class', type: 'int', value: 'A', help: 'class the target should be classified as', required: true },
    { name: 'poisons', type: 'int', value: 'K', help: 'number of poisons (default 20 for label-flip, 25 for fc, cp, bp)' },
    { name: 'epsilon', type: 'number', value: 'E', help: 'cp, bp: L∞ budget per poison, pixels in [0, 1] (default 8/255); fc, cp, bp poisons replace bases drawn at random from the attacker class' },
    { name: 'seed', type: 'int', value: 'S', help: 'seed (default 0)' },
    { name: 'feature-model', type: 'string', value: 'MODEL', help: 'fc, cp, bp: the feature extractor to attack, a model folder or Keras/ONNX file (default: train a clean cnn here)' },
    ...inputOptions.map((o) => ({ ...o, help: `with --feature-model: ${o.help}` })),
    { name: 'out', type: 'string', value: 'DATA_DIR', help: 'new folder for the poisoned dataset (load it as dir:DATA_DIR)', required: true },
  ]),
  async run(a, io) {
    const attack = a.attack as AttackName;
    const r = await io.run('attack', {
      data: a.data as string, limit: a.limit as number | undefined, dataSeed: a.dataSeed as number | undefined,
      attack, target: a.target as number, attackerClass: a.attackerClass as number,
      poisons: a.poisons as number | undefined, epsilon: a.epsilon as number | undefined, seed: a.seed as number | undefined,
      featureModel: a.featureModel as string | undefined, ...inputArgs(a), out: a.out as string,
    });
    const m = r.manifest;
    io.say(`${r.label}: ${m.poisonIndices.length} poisons for test sample ${m.targetIndex} (class ${m.targetClass} → ${m.attackerClass}), crafted in ${formatSeconds(r.seconds)}.`);
    const where = m.baseIndices?.length && m.baseIndices.every((b, j) => b === m.poisonIndices[j])
      ? `Poisons replace their bases, training samples ${summariseIndices(m.poisonIndices)}, of ${r.trainCount}.`
      : `Poisons are training samples ${m.poisonIndices[0]}–${m.poisonIndices.at(-1)} of ${r.trainCount}.`;
    io.say(`${where}${m.featureModel ? ` Feature model: ${m.featureModel}.` : ''}`);
    io.say(`Wrote ${r.out} with manifest.json; use it as --data ${r.data} (designed for the ${r.scenario} scenario).`);
    return io.json ? m : r;
  },
};

/** The bench job answers a --perf run with a perf result and any other run with a defence result. */
function expectSchema<T extends BenchSummary | PerfSummary>(r: BenchSummary | PerfSummary, schema: T['schema']): T {
  if (r.schema !== schema) throw new Error(`The bench returned a ${r.schema} result where ${schema} was expected.`);
  return r as T;
}

function repoRoot(): string {
  // dist/cli.js → repo root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

function runChild(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, cwd: repoRoot() }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function torchPeer(io: Parameters<Command['run']>[1], threads: number): Promise<Record<string, unknown> | undefined> {
  const script = path.join(repoRoot(), 'bench', 'peers', 'torch_cnn.py');
  if (!existsSync(script)) return undefined;
  // CLEAR_PYTHON names the interpreter that has torch (Debian's python3-torch is installed for
  // the system python, which may not be the first python3 on PATH).
  const python = process.env.CLEAR_PYTHON || 'python3';
  const probe = await runChild(python, ['-c', 'import torch'], 60_000);
  if (!probe.ok) { io.say(`PyTorch peer skipped: ${python} has no torch (set CLEAR_PYTHON to one that has).`); return { skipped: `${python} has no torch` }; }
  const r = await runChild(python, [script, String(threads), '64', '30'], 600_000);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try { return JSON.parse(line) as Record<string, unknown>; } catch { io.say(`PyTorch peer failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`); return { failed: true }; }
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'defence benchmark (attacks × defences, with clean models for false alarms), or speed benchmark with --perf',
  options: withSchemas(jobArgs.bench.shape, [
    { ...dataOptions[0], required: false, help: `${dataOptions[0].help} (default mnist)` },
    ...dataOptions.slice(1),
    { name: 'attacks', type: 'string', list: true, value: 'LIST', help: `comma list of ${ATTACK_NAMES.join(', ')} (default label-flip)` },
    { name: 'defences', type: 'string', list: true, value: 'LIST', help: 'comma list of registered defences, and clear+ref with --reference (default all, clear+ref too when there is a reference set)' },
    { name: 'trials', type: 'int', value: 'N', help: 'trials per case: per attack, poison count and variant (default 2)' },
    { name: 'clean-trials', type: 'int', value: 'N', help: 'clean trials per scenario (default 1)' },
    { name: 'seed', type: 'int', value: 'S', help: 'seed (default 0)' },
    { name: 'arch', type: 'string', list: true, value: 'mlp|cnn|mlp,cnn', help: 'victim architecture in every scenario (default: cnn end to end, mlp in transfer); mlp,cnn runs every case and the clean trials on both' },
    { name: 'scenario', type: 'string', value: 'e2e|transfer', help: 'victim training for every attack (default: label-flip e2e, fc/cp/bp transfer)' },
    { name: 'poisons', type: 'int', list: true, value: 'K[,K…]', help: 'poisons per target (default 20 for label-flip, 25 for fc, cp, bp); a list such as 5,10,20,40,80,160 runs every attack once per count' },
    { name: 'epsilon', type: 'number', value: 'E', help: 'cp, bp: L∞ budget on [0, 1] pixels (default 8/255, the papers\')' },
    { name: 'variants', type: 'string', list: true, value: 'LIST', help: 'named attack variants run beside the published settings: strong, nearest (fc, cp, bp: nearest-feature bases, and for strong larger budgets), augmented, two-targets (label-flip)' },
    { name: 'variants-only', type: 'boolean', help: 'run the --variants cases alone, without the published settings (to extend a variant\'s trials with --resume)' },
    { name: 'reference', type: 'int', value: 'N', help: 'a trusted reference set of N test samples (apart from targets and accuracy) given to every defence; CLEAR is reported with it (clear+ref) and without it' },
    { name: 'clean-seeds', type: 'int', value: 'N', help: 'N further clean victims (other seeds) per successful attack, to report detection apart for the attacks whose target they all get right (default 0; added to a finished run with --resume)' },
    { name: 'epochs', type: 'int', value: 'N', help: 'victim training epochs (default: the scenario default)' },
    { name: 'full', type: 'boolean', help: 'the full preset: all four attacks unless --attacks says otherwise, at least 20 trials per case and 20 clean trials per scenario' },
    { name: 'resume', type: 'boolean', help: 'continue the run in --out (its checkpoint, or a finished bench.json to extend), reusing the trials it finished' },
    { name: 'perf', type: 'boolean', help: 'speed benchmark instead: throughput, scan stages, repair time, memory' },
    { name: 'batches', type: 'int', value: 'N', help: '--perf: training batches measured per architecture (default 100)' },
    { name: 'scaling', type: 'boolean', help: '--perf: also the scaling table, the neighbours stage alone on random vectors at 8k, 30k, 60k (exact), 250k and 1M samples (approximate, with the recall against exact rows; sizes estimated past 20 minutes are skipped)' },
    { name: 'scaling-sizes', type: 'int', list: true, value: 'N[,N…]', help: '--perf: the scaling table alone, at these sample counts (no training, scan or repair)' },
    { name: 'neighbour-graph', type: 'string', value: 'auto|exact|approximate', help: '--perf: neighbour graph of the scan and the scaling table (default auto: approximate above 100,000 samples)' },
    { name: 'scaling-data', type: 'string', value: 'random|clustered', help: '--perf: features of the scaling table: random unit vectors (default, no neighbourhood structure) or clustered ones (500 centres with 16-d spread, like a trained model\'s)' },
    { name: 'perf-backends', type: 'string', list: true, schema: z.array(BackendChoice), value: 'LIST', help: `--perf: also measure these backends in child processes (any of ${BACKENDS.filter((b) => b !== 'auto').join(', ')})` },
    { name: 'out', type: 'string', value: 'DIR', help: 'folder for bench.json, bench.md, trials.jsonl (every finished trial, kept) and one ROC plot per case (roc-CASE.svg); perf.json, perf.md with --perf' },
  ]),
  async run(a, io) {
    const argv = process.argv.slice(2);
    const data = optionalDataArgs(a);
    const archs = a.arch ? [...new Set(a.arch as ArchitectureName[])] : undefined;
    if (archs && archs.length > 1 && a.perf) throw new UsageError('--perf measures both architectures already; give --arch one of mlp or cnn, or leave it out.');
    const arch = archs?.length === 1 ? archs[0] : undefined;
    if (a.perf) {
      const r = await io.run('bench', {
        ...data, perf: true, batches: a.batches as number | undefined, scaling: a.scaling as boolean | undefined, seed: a.seed as number | undefined,
        scalingSizes: a.scalingSizes as number[] | undefined, neighbourGraph: a.neighbourGraph as 'auto' | 'exact' | 'approximate' | undefined,
        scalingData: a.scalingData as 'random' | 'clustered' | undefined,
        arch: arch as ArchitectureName | undefined, argv, out: a.out as string | undefined,
      }).then((x) => expectSchema<PerfSummary>(x, PERF_SCHEMA));
      io.say(r.markdown);
      const others: PerfSummary[] = [];
      const wanted = ((a.perfBackends as string[] | undefined) ?? []).filter((b) => b !== r.backend.name);
      for (const backend of wanted) {
        const childArgs = [path.join(repoRoot(), 'bin', 'clearwb.js'), 'bench', '--perf', '--backend', backend, '--json', '--data', data.data,
          ...(data.limit !== undefined ? ['--limit', String(data.limit)] : []), ...(a.batches !== undefined ? ['--batches', String(a.batches)] : [])];
        const c = await runChild(process.execPath, childArgs, 600_000);
        try {
          // The child's --json output: a perf result, or { error } when it failed.
          const child = JSON.parse(c.stdout.trim().split('\n').at(-1) ?? '') as PerfSummary & { error?: string };
          if (child.error) throw new Error(child.error);
          if (child.backend.name !== backend) { io.say(`Backend ${backend} did not load (got ${child.backend.name}).`); continue; }
          others.push(child);
          io.say(`\nBackend ${backend} (child process):\n${child.markdown}`);
        } catch (err) {
          io.say(`Backend ${backend}: not measured (${err instanceof Error ? err.message : 'no result'}).`);
        }
      }
      const cnn = r.training.find((t) => t.arch === 'cnn');
      const peer = cnn ? await torchPeer(io, r.backend.threads) : undefined;
      if (peer && typeof peer.samplesPerSecond === 'number' && cnn) {
        io.say(`PyTorch CPU cnn (batch ${String(peer.batchSize)}, ${String(peer.threads)} threads): ${peer.samplesPerSecond.toFixed(1)} samples/s; ${r.backend.name} is ${(cnn.samplesPerSecond / peer.samplesPerSecond).toFixed(2)}× of it.`);
      }
      return { ...r, otherBackends: others, ...(peer ? { torchPeer: peer } : {}) };
    }
    const attacks = a.attacks as AttackName[] | undefined;
    const scenario = a.scenario as Scenario | undefined;
    const poisons = a.poisons as number[] | undefined;
    const variants = a.variants as AttackVariant[] | undefined;
    const r = await io.run('bench', {
      ...data, attacks, defences: a.defences as string[] | undefined, trials: a.trials as number | undefined, cleanTrials: a.cleanTrials as number | undefined,
      seed: a.seed as number | undefined, arch: (archs && archs.length > 1 ? archs : arch) as ArchitectureName | ArchitectureName[] | undefined,
      scenario,
      poisons: poisons && poisons.length === 1 ? poisons[0] : poisons, variants, variantsOnly: a.variantsOnly as boolean | undefined, reference: a.reference as number | undefined,
      epsilon: a.epsilon as number | undefined, epochs: a.epochs as number | undefined, cleanSeeds: a.cleanSeeds as number | undefined,
      full: a.full as boolean | undefined, resume: a.resume as boolean | undefined, argv, out: a.out as string | undefined,
    }).then((x) => expectSchema<BenchSummary>(x, BENCH_SCHEMA));
    io.say(r.markdown);
    io.say(`\n${r.settings.trials} trial(s) per case and ${r.settings.cleanTrials} clean trial(s) per scenario in ${formatSeconds(r.seconds)} on ${r.backend.name} (${r.backend.threads} threads).${a.out ? ` Wrote ${path.join(a.out as string, 'bench.json')}, bench.md, trials.jsonl and the ROC plots.` : ''}`);
    return r;
  },
};
