/**
 * Engine jobs the desktop app's views need beyond the command line's: a dataset preview, the
 * thumbnails of chosen samples, and a 2-D view of one pocket (the exported report is
 * jobs/report.ts's). Registered in jobs/index.ts through
 * `uiHandlers`; arguments are validated against contract/jobs.ts before they get here.
 *
 * The 2-D projection is for *display only*: the scan measures hulls in the full feature
 * space; a flat picture of a 128-d hull can overlap points that
 * are well outside it, and the view says so.
 */
import type { JobArgs } from '../../contract/jobs.js';
import { PNG } from 'pngjs';
import type { Dataset, Split } from '../data/dataset.js';
import { sampleSize, sampleSource } from '../data/dataset.js';
import { normaliseFeatures, type FeatureNormalisation } from '../features/knn.js';
import { embedSplit } from '../features/embed.js';
import { splitModel } from '../features/split.js';
import type { Pocket, ScanResult } from '../clear/types.js';
import { parseScan, readScanFile } from '../clear/evidence.js';
import { getDataset } from './datasets.js';
import { assertModelFitsData, loadModel } from '../model/io.js';
import type { JobContext } from '../progress.js';
import { throwIfCancelled, UserError } from '../errors.js';

// ---------------------------------------------------------------------------------------
// Thumbnails

/** One sample as a base64 PNG (`data:` URL), or null for feature-vector data (no image). */
export function samplePng(split: Pick<Split, 'images'>, shape: readonly [number, number, number], index: number): string | null {
  const [h, w, c] = shape;
  if (h === 1) return null;
  const size = sampleSize(shape);
  const pixels = split.images.subarray(index * size, (index + 1) * size);
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++) {
    const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));
    const r = byte(pixels[p * c]);
    png.data[p * 4] = r;
    png.data[p * 4 + 1] = c >= 3 ? byte(pixels[p * c + 1]) : r;
    png.data[p * 4 + 2] = c >= 3 ? byte(pixels[p * c + 2]) : r;
    png.data[p * 4 + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------
// datasetPreview

const PREVIEW_TARGETS = 12;

export async function datasetPreviewJob(args: JobArgs<'datasetPreview'>, ctx: JobContext = {}) {
  const ds = await getDataset(args);
  throwIfCancelled(ctx.signal);
  const classes = ds.classNames.length;
  const count = (labels: Int32Array) => {
    const out = new Array<number>(classes).fill(0);
    for (const l of labels) out[l]++;
    return out;
  };
  // The first few training samples of each class, in index order (stable across opens).
  const samples: { classIndex: number; index: number; png: string | null }[] = [];
  const taken = new Array<number>(classes).fill(0);
  for (let i = 0; i < ds.train.count && samples.length < classes * args.samplesPerClass; i++) {
    const label = ds.train.labels[i];
    if (taken[label] >= args.samplesPerClass) continue;
    taken[label]++;
    samples.push({ classIndex: label, index: i, png: samplePng(ds.train, ds.shape, i) });
  }
  samples.sort((a, b) => a.classIndex - b.classIndex || a.index - b.index);
  // The first test samples: candidate targets for a simulated attack (targets come from the test split).
  const targets = Array.from({ length: Math.min(PREVIEW_TARGETS, ds.test.count) }, (_, i) => ({
    index: i, label: ds.test.labels[i], png: samplePng(ds.test, ds.shape, i),
  }));
  return {
    spec: ds.spec, name: ds.name, shape: ds.shape, classNames: ds.classNames, fingerprint: ds.fingerprint,
    ...(ds.description ? { description: ds.description } : {}),
    trainCount: ds.train.count, testCount: ds.test.count,
    counts: { train: count(ds.train.labels), test: count(ds.test.labels) },
    samples, targets,
  };
}

// ---------------------------------------------------------------------------------------
// sampleImages

export async function sampleImagesJob(args: JobArgs<'sampleImages'>, ctx: JobContext = {}) {
  const ds = await getDataset(args);
  throwIfCancelled(ctx.signal);
  const split = ds[args.split];
  const outside = args.indices.find((i) => i >= split.count);
  if (outside !== undefined) throw new UserError(`Sample ${outside} is outside the ${args.split} split of ${ds.spec}, which holds ${split.count} samples (0–${split.count - 1}).`);
  return {
    split: args.split, fingerprint: ds.fingerprint,
    samples: args.indices.map((index) => ({
      index, label: split.labels[index], png: samplePng(split, ds.shape, index),
      source: sampleSource(split, index) ?? null,
    })),
  };
}

// ---------------------------------------------------------------------------------------
// pocketView

/** A scan given as a file path or as the result itself, checked against the contract's schema either way. */
function readScan(value: string | Record<string, unknown>): ScanResult {
  return typeof value === 'string' ? readScanFile(value) : parseScan(value);
}

/** Normalised training features, kept for the last few (model, data, layer): the user clicks through pockets. */
const featureCache = new Map<string, { features: Float32Array; n: number; dim: number; predictions: Int32Array }>();
const FEATURE_CACHE_SIZE = 2;

async function trainFeatures(modelDir: string, input: InputTransform | undefined, ds: Dataset, featureLayer: string | undefined,
  normalisation: FeatureNormalisation, ctx: JobContext) {
  const loaded = await loadModel(modelDir, input);
  try {
    assertModelFitsData(loaded, ds);
    const key = JSON.stringify([loaded.fingerprint, input ?? null, ds.fingerprint, featureLayer ?? null, normalisation]);
    const hit = featureCache.get(key);
    if (hit) return hit;
    const parts = splitModel(loaded.model, featureLayer, loaded.metadata);
    const emb = await embedSplit(parts, ds.train, ds.shape, ctx);
    const entry = { features: normaliseFeatures(emb.features, emb.n, emb.dim, normalisation), n: emb.n, dim: emb.dim, predictions: emb.predictions };
    featureCache.set(key, entry);
    while (featureCache.size > FEATURE_CACHE_SIZE) featureCache.delete(featureCache.keys().next().value as string);
    return entry;
  } finally {
    loaded.model.dispose();
  }
}

function squaredDistance(a: Float32Array, i: number, j: number, dim: number): number {
  let sum = 0;
  for (let t = 0; t < dim; t++) { const d = a[i * dim + t] - a[j * dim + t]; sum += d * d; }
  return sum;
}

/**
 * The top two principal axes of the rows `rows` of `x` (n × dim), by power iteration with
 * deflation on XᵀX applied implicitly (never a dim × dim matrix), centred on the rows' mean.
 */
export function principalPlane(x: Float32Array, dim: number, rows: number[], iterations = 60) {
  const mean = new Float64Array(dim);
  for (const r of rows) for (let t = 0; t < dim; t++) mean[t] += x[r * dim + t] / rows.length;
  const centred = rows.map((r) => Float64Array.from({ length: dim }, (_, t) => x[r * dim + t] - mean[t]));
  const total = centred.reduce((s, v) => s + v.reduce((a, b) => a + b * b, 0), 0) || 1;
  const axes: Float64Array[] = [];
  const variances: number[] = [];
  for (let k = 0; k < 2; k++) {
    // A fixed, data-independent start keeps the picture the same every time it is drawn.
    let v = Float64Array.from({ length: dim }, (_, t) => Math.sin(t + 1 + k * 7.3));
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      for (const a of axes) { const d = dot(v, a); for (let t = 0; t < dim; t++) v[t] -= d * a[t]; }
      const next = new Float64Array(dim);
      for (const row of centred) { const d = dot(row, v); for (let t = 0; t < dim; t++) next[t] += d * row[t]; }
      lambda = Math.sqrt(dot(next, next));
      if (lambda === 0) break;
      v = next.map((value) => value / lambda);
    }
    axes.push(v);
    variances.push(lambda / total);
  }
  const project = (r: number): [number, number] => {
    let px = 0; let py = 0;
    for (let t = 0; t < dim; t++) { const c = x[r * dim + t] - mean[t]; px += c * axes[0][t]; py += c * axes[1][t]; }
    return [px, py];
  };
  return { project, explained: variances };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t] * b[t];
  return s;
}

/** Convex hull of 2-D points (Andrew's monotone chain), counter-clockwise, no repeated end point. */
export function hull2d(points: [number, number][]): [number, number][] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

export type { PointRole } from '../../contract/results.js';
import type { InputTransform, PointRole } from '../../contract/results.js';

export async function pocketViewJob(args: JobArgs<'pocketView'>, ctx: JobContext = {}) {
  const scan = readScan(args.scan);
  const pocket: Pocket | undefined = scan.pockets.find((p) => p.id === args.pocketId);
  if (!pocket) throw new UserError(`The scan has no pocket ${args.pocketId}; its pockets are ${scan.pockets.map((p) => p.id).join(', ') || 'none'}.`);
  const ds = await getDataset(args);
  if (scan.dataset.fingerprint && scan.dataset.fingerprint !== ds.fingerprint) {
    throw new UserError(`The scan was made on other data than ${ds.spec} (the fingerprints differ), so its sample indices do not apply; open the dataset the scan used.`);
  }
  const layer = scan.settings?.featureLayer ?? scan.model.featureLayer;
  const { features, n, dim, predictions } = await trainFeatures(args.model, scan.model.input, ds, layer, scan.settings?.normalisation ?? 'l2', ctx);
  throwIfCancelled(ctx.signal);

  const members = pocket.members.filter((m) => m >= 0 && m < n);
  const isMember = new Uint8Array(n);
  for (const m of members) isMember[m] = 1;
  // Every other sample's distance to the nearest member: the pocket's neighbourhood.
  const nearest = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    if (isMember[i]) continue;
    for (const m of members) nearest[i] = Math.min(nearest[i], squaredDistance(features, i, m, dim));
  }
  // The shell is the one the scan judged the group by (pocket.shell), not recomputed here, so
  // the picture shows exactly the samples the verdict rests on; the nearby points are the next
  // nearest others, for context.
  const shell = pocket.shell.filter((i) => i >= 0 && i < n && !isMember[i]);
  const inShell = new Set(shell);
  const others = Array.from({ length: n }, (_, i) => i).filter((i) => !isMember[i] && !inShell.has(i)).sort((a, b) => nearest[a] - nearest[b]);
  const around = others.slice(0, args.nearby);
  const chosen: { index: number; role: PointRole }[] = [
    ...members.map((index) => ({ index, role: 'member' as const })),
    ...shell.map((index) => ({ index, role: 'shell' as const })),
    ...around.map((index) => ({ index, role: 'nearby' as const })),
  ];
  const plane = principalPlane(features, dim, chosen.map((c) => c.index));
  const points = chosen.map(({ index, role }) => {
    const [x, y] = plane.project(index);
    return { index, role, x, y, label: ds.train.labels[index], predicted: predictions[index] };
  });
  const hull = hull2d(points.filter((p) => p.role === 'member').map((p) => [p.x, p.y]));

  // Each member beside its nearest neighbour of the enclosing class, in the full feature space.
  const pairs = members.slice(0, args.pairs).map((m) => {
    let best = -1; let bestDistance = Infinity;
    for (let i = 0; i < n; i++) {
      if (isMember[i] || ds.train.labels[i] !== pocket.enclosingClass) continue;
      const d = squaredDistance(features, i, m, dim);
      if (d < bestDistance) { bestDistance = d; best = i; }
    }
    return {
      member: { index: m, label: ds.train.labels[m], predicted: predictions[m], png: samplePng(ds.train, ds.shape, m) },
      neighbour: best < 0 ? null : {
        index: best, label: ds.train.labels[best], predicted: predictions[best],
        png: samplePng(ds.train, ds.shape, best), distance: Math.sqrt(bestDistance),
      },
    };
  });
  return {
    pocketId: pocket.id, attackerClass: pocket.attackerClass, enclosingClass: pocket.enclosingClass,
    classNames: ds.classNames, featureLayer: layer, explainedVariance: plane.explained,
    points, hull, pairs,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const uiHandlers: Record<string, (args: any, ctx: JobContext) => Promise<unknown>> = {
  datasetPreview: datasetPreviewJob,
  sampleImages: sampleImagesJob,
  pocketView: pocketViewJob,
};
