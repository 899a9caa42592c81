/**
 * The statistics the defence benchmark reports (README, "The benchmarks"): exact binomial
 * (Clopper–Pearson) intervals on every rate, the exact McNemar test between two defences on
 * the same trials, and ROC curves with their area, written as SVG.
 */

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms): about 15 significant digits. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** P(X ≤ k) for X ~ Binomial(n, p), summed exactly term by term. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  let sum = 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  for (let i = 0; i <= k; i++) sum += Math.exp(logChoose(n, i) + i * lp + (n - i) * lq);
  return Math.min(1, sum);
}

/** The p in [0, 1] where the decreasing function f crosses `target`, by bisection. */
function solveDecreasing(f: (p: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 200 && hi - lo > 1e-14; it++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > target) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Interval {
  lower: number;
  upper: number;
}

/**
 * The Clopper–Pearson ("exact") interval for a binomial proportion k / n at the given
 * confidence: the lower end is the p at which P(X ≥ k) = α/2, the upper end the p at which
 * P(X ≤ k) = α/2 (0 and 1 at the edges). Null when n is 0.
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): Interval | null {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`clopperPearson needs whole numbers 0 ≤ k ≤ n, not k = ${k}, n = ${n}.`);
  }
  if (n === 0) return null;
  const alpha = 1 - confidence;
  // P(X ≥ k; p) = 1 − P(X ≤ k − 1; p) rises with p; P(X ≤ k; p) falls with p.
  const lower = k === 0 ? 0 : solveDecreasing((p) => binomialCdf(k - 1, n, p), 1 - alpha / 2);
  const upper = k === n ? 1 : solveDecreasing((p) => binomialCdf(k, n, p), alpha / 2);
  return { lower, upper };
}

/** A rate with its count and exact 95% interval; rate and interval are null when n is 0. */
export interface Rate {
  k: number;
  n: number;
  rate: number | null;
  ci: Interval | null;
}

export function rateOf(k: number, n: number): Rate {
  return { k, n, rate: n ? k / n : null, ci: clopperPearson(k, n) };
}

export interface McNemar {
  /** Trials where only the first defence said yes. */
  firstOnly: number;
  /** Trials where only the second defence said yes. */
  secondOnly: number;
  /** Exact two-sided p-value: 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), capped at 1. */
  pValue: number;
}

/** The exact McNemar test on paired yes/no outcomes (only the discordant pairs count). */
export function mcnemarExact(first: boolean[], second: boolean[]): McNemar {
  if (first.length !== second.length) throw new RangeError('mcnemarExact needs two outcome lists of the same trials.');
  let b = 0;
  let c = 0;
  first.forEach((x, i) => { if (x && !second[i]) b++; else if (!x && second[i]) c++; });
  return { firstOnly: b, secondOnly: c, pValue: mcnemarPValue(b, c) };
}

export function mcnemarPValue(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5));
}

export interface RocPoint {
  /** False-positive rate: clean models scoring at or above the threshold. */
  fpr: number;
  /** True-positive rate: attacked models scoring at or above the threshold. */
  tpr: number;
}

/**
 * The ROC curve of `positive` against `negative` scores: one point per distinct score used
 * as a threshold ("flag when score ≥ threshold"), from (0, 0) to (1, 1). Tied scores move
 * both rates at once, so the trapezoid area equals the Mann–Whitney AUC with ties counted half.
 */
export function rocCurve(positive: number[], negative: number[]): RocPoint[] {
  if (!positive.length || !negative.length) return [];
  const thresholds = [...new Set([...positive, ...negative])].sort((a, b) => b - a);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  for (const t of thresholds) {
    points.push({
      fpr: negative.filter((s) => s >= t).length / negative.length,
      tpr: positive.filter((s) => s >= t).length / positive.length,
    });
  }
  return points;
}

/** Area under an ROC curve by the trapezoid rule; null for an empty curve. */
export function rocArea(points: RocPoint[]): number | null {
  if (points.length < 2) return null;
  let area = 0;
  for (let i = 1; i < points.length; i++) area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  return area;
}

export interface RocSeries {
  name: string;
  points: RocPoint[];
  auc: number | null;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A self-contained SVG of several ROC curves on one plot (false-positive rate across, true-
 * positive rate up, the chance diagonal dashed), with a legend giving each curve's AUC.
 * Series without points (no attacked or no clean models) are listed as "no curve".
 */
export function rocSvg(title: string, series: RocSeries[], note = ''): string {
  const W = 640; const H = 420; const left = 60; const top = 40; const size = 320;
  const x = (v: number) => (left + v * size).toFixed(1);
  const y = (v: number) => (top + (1 - v) * size).toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#444"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#aaa" stroke-dasharray="4 4"/>`,
  ];
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${x(v)}" y="${top + size + 16}" text-anchor="middle">${v}</text>`);
    parts.push(`<text x="${left - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${v}</text>`);
  }
  parts.push(`<text x="${left + size / 2}" y="${top + size + 34}" text-anchor="middle">false-positive rate (clean models flagged)</text>`);
  parts.push(`<text transform="translate(16 ${top + size / 2}) rotate(-90)" text-anchor="middle">true-positive rate (successful attacks flagged)</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (s.points.length) {
      const path = s.points.map((p) => `${x(p.fpr)},${y(p.tpr)}`).join(' ');
      parts.push(`<polyline data-defence="${escapeXml(s.name)}" fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    }
    const ly = top + 8 + i * 18;
    parts.push(`<line x1="${left + size + 14}" y1="${ly}" x2="${left + size + 34}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    const label = `${s.name}: ${s.auc === null ? 'no curve' : `AUC ${s.auc.toFixed(2)}`}`;
    parts.push(`<text x="${left + size + 40}" y="${ly + 4}">${escapeXml(label)}</text>`);
  });
  if (note) parts.push(`<text x="${left}" y="${H - 12}" font-size="11" fill="#555">${escapeXml(note)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
