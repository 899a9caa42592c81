/**
 * Budgets on what an input file may declare, checked before any memory is taken for it.
 *
 * An analyst opens files from a suspected attacker: a 1 KB header can declare ten million
 * labels, a model.json a Dense layer of a million units, a gzip file gigabytes of output. Every
 * reader compares the declared size with these limits first and refuses with a UserError that
 * names the file and the limit. The defaults fit a 16 GB workstation with room to spare; a user
 * with a larger dataset raises one with `CLEAR_LIMITS` in the environment (e.g.
 * `CLEAR_LIMITS=samples=2000000`), which the engine's worker applies with `setLimits` at start-up.
 */
import { UserError } from './errors.js';

export interface Limits {
  /** Samples in one dataset (train and test together). */
  samples: number;
  /** Classes a dataset or model may declare. */
  classes: number;
  /** Pixels of one image (height × width), before channels. */
  imagePixels: number;
  /** Values of one sample (height × width × channels, or CSV feature columns). */
  sampleValues: number;
  /** Values of one whole dataset (samples × values per sample, train and test together), each held as a 4-byte float. */
  datasetValues: number;
  /** Bytes a compressed file may expand to. */
  decompressedBytes: number;
  /** Bytes of one input file read into memory (a CSV, an IDX file, a weight file). */
  fileBytes: number;
  /** Files in one dataset folder or archive. */
  files: number;
  /** Parameters of one model (all weights together). */
  modelParameters: number;
  /** Units, filters or values of one layer's output, per sample. */
  layerUnits: number;
  /** Layers of one model. */
  layers: number;
  /** Bytes of one model.json (the topology and weight manifest, read whole and parsed). */
  modelJsonBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  samples: 1_000_000,
  classes: 1000,
  imagePixels: 1024 * 1024,
  sampleValues: 3 * 512 * 512,
  datasetValues: 1_000_000_000,
  decompressedBytes: 4 * 1024 ** 3,
  fileBytes: 4 * 1024 ** 3,
  files: 1_000_000,
  modelParameters: 100_000_000,
  layerUnits: 4_000_000,
  layers: 500,
  modelJsonBytes: 64 * 1024 * 1024,
});

let current: Limits = { ...DEFAULT_LIMITS };

export function limits(): Readonly<Limits> {
  return current;
}

/** Raises or lowers some limits; `setLimits({})` leaves them, `resetLimits()` restores defaults. */
export function setLimits(partial: Partial<Limits>): void {
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in DEFAULT_LIMITS)) throw new UserError(`Unknown limit "${k}"; the limits are ${Object.keys(DEFAULT_LIMITS).join(', ')}.`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new UserError(`The limit ${k} must be a positive number, not ${String(v)}.`);
  }
  current = { ...current, ...partial };
}

export function resetLimits(): void {
  current = { ...DEFAULT_LIMITS };
}

/** Parses `name=value,name=value` (as in CLEAR_LIMITS). */
export function parseLimits(spec: string): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)=([0-9.eE+]+)$/.exec(part);
    if (!m) throw new UserError(`"${part}" is not a limit setting; write name=value, e.g. samples=2000000.`);
    const name = m[1] as keyof Limits;
    if (!(name in DEFAULT_LIMITS)) throw new UserError(`Unknown limit "${name}"; the limits are ${Object.keys(DEFAULT_LIMITS).join(', ')}.`);
    out[name] = Number(m[2]);
  }
  return out;
}

/**
 * Refuses a declared size above its limit: `checkLimit('samples', 1e7, 'labels.idx',
 * 'declares 10000000 labels')` throws "labels.idx declares 10000000 labels, above the limit
 * of 1000000 samples (raise it with CLEAR_LIMITS=samples=N)."
 */
export function checkLimit(name: keyof Limits, declared: number, file: string, what: string): void {
  const limit = current[name];
  if (!Number.isFinite(declared) || declared > limit) {
    throw new UserError(`${file} ${what}, above the limit of ${limit} ${name === 'samples' ? 'samples' : `(${name})`}; if the file is genuine, raise it with CLEAR_LIMITS=${name}=N.`);
  }
}

/** Applies CLEAR_LIMITS from the environment once at start-up (CLI, worker, hosts). */
export function applyLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.CLEAR_LIMITS;
  if (spec) setLimits(parseLimits(spec));
}
