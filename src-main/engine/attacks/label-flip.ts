/**
 * Label-flip copies: K lightly augmented copies of the target `t`,
 * labelled with the attacker's class `A`. The simplest dirty-label, sample-targeted
 * backdoor: a model trained end to end on them memorises a pocket of `A` around `t`.
 * The augmentation keeps the copies from being exact duplicates (which a defence could drop
 * by hashing) while staying within the natural variation of a handwritten digit.
 */
import type { Dataset } from '../data/dataset.js';
import type { JobContext } from '../progress.js';
import { throwIfCancelled } from '../errors.js';
import { createRng } from '../random.js';
import { buildResult, numberSetting, validateTarget } from './common.js';
import type { AttackParams, AttackResult } from './types.js';

/**
 * Largest shift of a copy, in pixels. Shifts of 1–2 px keep a 28×28 digit the same digit,
 * but a dense network has no translation invariance: on MNIST (mlp, 20 copies, e2e, 6
 * targets; bench/attack-success.ts) copies shifted by up to 2 px flipped 1 of 6 targets —
 * the model memorised the shifted copies without covering the unshifted target — while
 * 1 px flipped 5 of 6 (noise-only copies: 6 of 6). So the default is 1 px.
 */
export const DEFAULT_MAX_SHIFT = 1;
/** Gaussian pixel noise σ on [0, 1] pixels: ~5/255, below what the eye notices on a digit. */
export const DEFAULT_NOISE_STD = 0.02;

/**
 * Shifts an H×W×C image by (dy, dx) pixels, filling the uncovered border with zeros (the
 * background of MNIST-like data).
 */
export function shiftImage(
  image: Float32Array, shape: readonly [number, number, number], dy: number, dx: number, out: Float32Array,
): Float32Array {
  const [h, w, c] = shape;
  out.fill(0);
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      if (sx < 0 || sx >= w) continue;
      for (let ch = 0; ch < c; ch++) out[(y * w + x) * c + ch] = image[(sy * w + sx) * c + ch];
    }
  }
  return out;
}

export async function labelFlipAttack(ds: Dataset, params: AttackParams, ctx: JobContext = {}): Promise<AttackResult> {
  const target = validateTarget(ds, params);
  const maxShift = numberSetting('maxShift', params.maxShift, DEFAULT_MAX_SHIFT, { min: 0, max: 8, integer: true });
  const noiseStd = numberSetting('noiseStd', params.noiseStd, DEFAULT_NOISE_STD, { min: 0, max: 0.5 });
  throwIfCancelled(ctx.signal);
  const rng = createRng(params.seed);
  const size = target.targetImage.length;
  const poisons = new Float32Array(target.poisons * size);
  const shifted = new Float32Array(size);
  for (let j = 0; j < target.poisons; j++) {
    // A shift of 1..maxShift pixels in a random direction: never (0, 0), so no copy is the
    // target itself (when maxShift is 0, the copies differ by noise only).
    let dy = 0; let dx = 0;
    while (maxShift > 0 && dy === 0 && dx === 0) {
      dy = rng.int(2 * maxShift + 1) - maxShift;
      dx = rng.int(2 * maxShift + 1) - maxShift;
    }
    shiftImage(target.targetImage, ds.shape, dy, dx, shifted);
    for (let p = 0; p < size; p++) {
      const value = shifted[p] + noiseStd * rng.normal();
      poisons[j * size + p] = Math.min(1, Math.max(0, value));
    }
  }
  ctx.onProgress?.({ stage: 'attack', fraction: 1, message: `${target.poisons} label-flip copies` });
  return buildResult(ds, poisons, target, 'label-flip', { poisons: target.poisons, maxShift, noiseStd }, params.seed);
}
