/**
 * Spectral signatures (Tran, Li & Madry 2018, "Spectral Signatures in Backdoor Attacks").
 * Per class: centre the feature vectors, find the top right singular vector v of the centred
 * matrix, and score each sample by its squared projection ((x − μ)·v)². Poisons that share a
 * trigger shift the class along one direction, so they score highest; the paper removes the
 * 1.5·ε·n highest-scoring samples of every class (ε: an upper bound on the poisoned fraction)
 * and retrains.
 *
 * ε: the poisons are all in one (unknown) class, so if `expectedPoisons` is given, ε·n for a
 * class is that count, and each class loses its top ⌈1.5 · expectedPoisons⌉ samples. When it
 * is unknown we use ε = 5% of each class, the smallest poison rate the paper evaluates.
 *
 * The paper gives no model-level verdict. Ours: a planted group stretches its class along
 * one direction, so the class's top eigenvalue stands out from the second (the *spectral
 * gap* λ1/λ2). We compare log(λ1/λ2) across the classes of the same model with robust
 * (median/MAD) z-scores and flag the model when one class's z exceeds the normal quantile of
 * 1 − falseAlarm / classes (a Bonferroni bound over the classes) — a heuristic: the z-scores
 * are not exactly normal, and ten classes are few. Because a MAD over ten nearly equal gaps
 * can be tiny, the z-score alone would flag trivial differences (isotropic classes with
 * λ1/λ2 of 1.13 against a median of 1.05 scored z = 2.9), so the class's gap must also be at
 * least {@link SPECTRAL_MIN_GAP_FACTOR} times the median class's.
 */
import type { Detector, DetectorInput, DetectorResult } from '../types.js';
import type { JobContext } from '../../progress.js';
import { beginDetection, removeFlagged } from './common.js';
import { centredClasses, modifiedZScores, normalQuantile, topSingularVectors } from './numerics.js';
import { median } from '../../features/stats.js';
import { DEFAULT_FALSE_ALARM } from '../../../contract/results.js';

/** Tran et al. remove 1.5 × ε of each class. */
export const SPECTRAL_REMOVAL_FACTOR = 1.5;
/** ε when the expected number of poisons is unknown: the paper's smallest poison rate (5%). */
export const SPECTRAL_DEFAULT_EPSILON = 0.05;
/** A flagged class's λ1/λ2 must be at least this multiple of the median class's. */
export const SPECTRAL_MIN_GAP_FACTOR = 1.5;
/** Classes with fewer samples than this get no spectrum (too few for a direction to mean anything). */
const MIN_CLASS_SIZE = 3;

export interface SpectralClassInfo {
  classIndex: number;
  count: number;
  /** Top two eigenvalues of the class covariance. */
  lambda1: number;
  lambda2: number;
  /** Robust z-score of log(λ1/λ2) among the classes. */
  gapZ: number;
  removed: number;
  topScore: number;
}

export const spectralSignaturesDetector: Detector = {
  name: 'spectral',
  label: 'Spectral signatures (Tran et al. 2018)',

  async detect(input: DetectorInput, ctx: JobContext = {}): Promise<DetectorResult> {
    const { embedding, dataset } = input;
    const { dim, labels, classes, rng, sampleScores, flaggedSamples, seconds } = beginDetection(input);
    const falseAlarm = input.falseAlarm ?? DEFAULT_FALSE_ALARM;
    const perClass: SpectralClassInfo[] = [];

    const walk = centredClasses(embedding, labels, classes, MIN_CLASS_SIZE, { stage: 'spectral', classNames: dataset.classNames, ...ctx });
    for await (const { classIndex: c, rows, x } of walk) {
      const { vectors, eigenvalues } = topSingularVectors(x, rows.length, dim, 2, rng);
      const v = vectors[0];
      const scores = rows.map((_, r) => {
        let s = 0;
        for (let t = 0; t < dim; t++) s += x[r * dim + t] * v[t];
        return s * s;
      });
      const order = rows.map((_, r) => r).sort((a, b) => scores[b] - scores[a] || rows[a] - rows[b]);
      const removeCount = Math.min(rows.length, input.expectedPoisons && input.expectedPoisons > 0
        ? Math.ceil(SPECTRAL_REMOVAL_FACTOR * input.expectedPoisons)
        : Math.round(SPECTRAL_REMOVAL_FACTOR * SPECTRAL_DEFAULT_EPSILON * rows.length));
      // The per-sample score is the rank within the class (1 = highest), comparable across classes.
      order.forEach((r, rank) => { sampleScores[rows[r]] = rows.length > 1 ? 1 - rank / (rows.length - 1) : 0; });
      for (let q = 0; q < removeCount; q++) flaggedSamples.push(rows[order[q]]);
      perClass.push({
        classIndex: c, count: rows.length, lambda1: eigenvalues[0], lambda2: eigenvalues[1] ?? 0,
        gapZ: 0, removed: removeCount, topScore: scores[order[0]],
      });
    }

    const gaps = perClass.map((p) => Math.log(Math.max(p.lambda1, 1e-30) / Math.max(p.lambda2, 1e-30)));
    const z = modifiedZScores(gaps);
    perClass.forEach((p, i) => { p.gapZ = z[i]; });
    const threshold = perClass.length > 0 ? normalQuantile(1 - falseAlarm / perClass.length) : Infinity;
    const medianGap = median(gaps);
    const suspicious = (p: SpectralClassInfo, i: number): boolean =>
      p.gapZ > threshold && gaps[i] - medianGap >= Math.log(SPECTRAL_MIN_GAP_FACTOR);
    const worst = perClass.reduce<SpectralClassInfo | undefined>((a, p) => (!a || p.gapZ > a.gapZ ? p : a), undefined);
    const suspects = perClass.filter(suspicious);
    flaggedSamples.sort((a, b) => a - b);
    return {
      detector: 'spectral',
      // Fewer than three classes give no meaningful "typical" gap.
      flagged: perClass.length >= 3 && suspects.length > 0,
      flaggedSamples,
      sampleScores,
      summary: worst?.gapZ ?? 0,
      info: {
        epsilon: input.expectedPoisons && input.expectedPoisons > 0 ? 'from expectedPoisons' : SPECTRAL_DEFAULT_EPSILON,
        removalFactor: SPECTRAL_REMOVAL_FACTOR,
        zThreshold: threshold,
        falseAlarm,
        minGapFactor: SPECTRAL_MIN_GAP_FACTOR,
        medianGapRatio: Math.exp(medianGap),
        suspectClass: perClass.length >= 3 && suspects.length > 0 ? suspects.reduce((a, p) => (p.gapZ > a.gapZ ? p : a)).classIndex : null,
        perClass,
        classNames: dataset.classNames,
        summaryMeaning: 'largest robust z-score of a class spectral gap log(λ1/λ2)',
      },
      seconds: seconds(),
    };
  },

  /** The paper removes the top-scoring 1.5·ε of every class and retrains. */
  mitigation: removeFlagged,

  report(result: DetectorResult): string {
    const info = result.info as { zThreshold: number; suspectClass: number | null; perClass: SpectralClassInfo[]; classNames?: string[] };
    const name = (c: number): string => info.classNames?.[c] ?? String(c);
    const worst = [...info.perClass].sort((a, b) => b.gapZ - a.gapZ)[0];
    const lines = [
      `Spectral signatures: ${info.perClass.length} classes scored; ${result.flaggedSamples.length} top-scoring samples marked for removal (1.5 × ε per class).`,
    ];
    if (worst) {
      lines.push(`Most stretched class: ${name(worst.classIndex)} (λ1/λ2 = ${(worst.lambda1 / Math.max(worst.lambda2, 1e-30)).toFixed(2)}, robust z = ${worst.gapZ.toFixed(2)}; threshold ${info.zThreshold.toFixed(2)}).`);
    }
    lines.push(result.flagged && info.suspectClass !== null
      ? `Verdict: backdoor suspected in class ${name(info.suspectClass)}.`
      : 'Verdict: no class stands out.');
    return lines.join('\n');
  },
};
