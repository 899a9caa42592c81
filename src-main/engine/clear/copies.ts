/**
 * Copies of one image. A label-flip attacker adds several copies of the target, each shifted by
 * a pixel or two and lightly noised so that no two are identical files. In the model's feature
 * space such copies need not be near-duplicates (a convolutional network moves a digit's features
 * as far under a one-pixel shift as from one writer's digit to another's), but in pixel space,
 * once aligned, they are far closer to each other than to any image of another label around
 * them. Natural groups of border samples are different images: their members are about as close
 * to each other as to their other-label neighbours.
 *
 * For a group, each measured member's ratio is its aligned pixel distance to its nearest fellow
 * member over that to its nearest feature-space neighbours of another label (the surrounding
 * class); the group's ratio is the median. Only a ratio under COPIES_DISTINCT counts in the score
 * (score.ts), so a member's ratio is measured exactly below it and recorded as 1 (distinct) at or
 * above it, which lets a natural group's comparisons stop after a few rows; the group's median
 * is the same either way whenever it is under COPIES_DISTINCT. Measured on development scans of MNIST
 * cnns (bench/dev/trial-scan.ts, TRIAL_COPIES=other): five label-flip copies 0.09–0.15; natural
 * candidate groups of clean models 0.67 and above. The ratio compares the data with itself: a
 * dataset of many near-identical images has near-identical outside neighbours too.
 */
import type { NeighbourGraph } from '../features/knn.js';
import { gatherPixels, type Split } from '../data/dataset.js';
import { COPIES_DISTINCT } from './score.js';

/** Largest shift, in pixels along each axis, under which two images are compared. */
export const COPIES_MAX_SHIFT = 2;
/** Members a group's ratio is measured on (the first ones of an evenly spaced subsample). */
export const COPIES_MEMBERS = 16;
/** Fellow members each measured member is compared with. */
export const COPIES_PEERS = 32;
/** Nearest feature-space neighbours of another label each measured member is compared with. */
export const COPIES_OUTSIDE = 12;
/** Copy members a group's other copies are looked for with (copiesOutside). */
export const COPIES_SOURCES = 4;
/** Samples read at a time while looking for a group's other copies. */
const COPIES_BLOCK = 512;

/** The shifts up to `maxShift` along each axis, smallest first, so that a bound tightens early. */
function shiftOrder(maxShift: number): [number, number][] {
  const out: [number, number][] = [];
  for (let dy = -maxShift; dy <= maxShift; dy++) for (let dx = -maxShift; dx <= maxShift; dx++) out.push([dy, dx]);
  return out.sort((p, q) => Math.abs(p[0]) + Math.abs(p[1]) - Math.abs(q[0]) - Math.abs(q[1]));
}
const SHIFTS = new Map<number, [number, number][]>();

/**
 * What a comparison needs to know about `a` once, for callers that compare one image with many:
 * its summed squared pixels over every top-left rectangle ((H + 1) × (W + 1), for the part of `a`
 * a shift leaves uncovered), and its rows from the most ink to the least, the order in which a
 * bounded sum passes its bound soonest.
 */
export interface AlignedImage { prefix: Float64Array; rows: Int32Array }

export function alignedImage(a: Float32Array, h: number, w: number, c: number): AlignedImage {
  const prefix = new Float64Array((h + 1) * (w + 1));
  const energy = new Float64Array(h);
  for (let y = 0; y < h; y++) {
    let run = 0;
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) { const v = a[(y * w + x) * c + k]; run += v * v; }
      prefix[(y + 1) * (w + 1) + x + 1] = prefix[y * (w + 1) + x + 1] + run;
    }
    energy[y] = run;
  }
  const rows = Int32Array.from({ length: h }, (_, y) => y).sort((p, q) => energy[q] - energy[p]);
  return { prefix, rows };
}

/**
 * Squared L2 distance between images `a` and `b` (H×W×C, channels last) at the best of the
 * shifts of `b` up to `maxShift` pixels (pixels shifted in from outside count as 0). Stops a
 * shift's sum once it passes `bound` (the best so far), so the answer is exact only below it.
 */
export function alignedSquaredDistance(a: Float32Array, b: Float32Array, h: number, w: number, c: number, maxShift: number, bound = Infinity, prepared = alignedImage(a, h, w, c)): number {
  let shifts = SHIFTS.get(maxShift);
  if (!shifts) { shifts = shiftOrder(maxShift); SHIFTS.set(maxShift, shifts); }
  const rowWidth = w * c;
  const { prefix, rows } = prepared;
  const total = prefix[h * (w + 1) + w];
  const boxSum = (y0: number, y1: number, x0: number, x1: number) =>
    prefix[y1 * (w + 1) + x1] - prefix[y0 * (w + 1) + x1] - prefix[y1 * (w + 1) + x0] + prefix[y0 * (w + 1) + x0];
  let best = bound;
  for (const [dy, dx] of shifts) {
    // Where b, shifted, covers a: a's pixels elsewhere are compared with 0.
    const y0 = Math.max(0, -dy); const y1 = Math.min(h, h - dy);
    const x0 = Math.max(0, -dx); const x1 = Math.min(w, w - dx);
    let s = y1 > y0 && x1 > x0 ? total - boxSum(y0, y1, x0, x1) : total;
    const offset = (dy * w + dx) * c;
    for (let r = 0; r < h && s < best; r++) {
      const y = rows[r];
      if (y < y0 || y >= y1) continue;
      const end = y * rowWidth + x1 * c;
      for (let p = y * rowWidth + x0 * c; p < end; p++) { const d = a[p] - b[p + offset]; s += d * d; }
    }
    if (s < best) best = s;
  }
  return best;
}

/** The median of the measured members' ratios. */
function medianRatio(measured: readonly { ratio: number }[]): number {
  const ratios = measured.map((m) => m.ratio).sort((x, y) => x - y);
  return ratios[Math.floor(ratios.length / 2)];
}

/** Pixel values the images cached by a scan may hold (float32: 64 MB). */
const PIXEL_CACHE_VALUES = 16_000_000;

/** Measures how far groups of training samples are shifted copies of each other (see the module comment). */
export class PixelCopies {
  private readonly cache = new Map<number, Float32Array>();
  /** Each measured sample's squared aligned distance to its nearest other-label neighbours: the same in every group of its label. */
  private readonly outsideOf = new Map<number, number>();
  /** The ratios of the groups copiesOutside measured (the scan's candidates), by their members. */
  private readonly candidateRatios = new Map<string, number>();

  constructor(
    private readonly split: Pick<Split, 'images'>,
    private readonly shape: readonly [number, number, number],
    private readonly labels: Int32Array,
    private readonly graph: NeighbourGraph,
  ) {}

  private pixels(i: number): Float32Array {
    let v = this.cache.get(i);
    if (!v) {
      v = gatherPixels(this.split, this.shape, [i]);
      // Null groups draw from all over the border: keep the cache to about 64 MB of pixels.
      if (this.cache.size * v.length > PIXEL_CACHE_VALUES) this.cache.clear();
      this.cache.set(i, v);
    }
    return v;
  }

  /**
   * Each measured member's ratio (see the module comment) with what it was measured against: its
   * squared aligned distance to its nearest other-label neighbours (`outside`, 0 where none is at
   * hand). A ratio at or above COPIES_DISTINCT is recorded as 1.
   */
  private measure(members: readonly number[]): { member: number; ratio: number; outside: number }[] {
    const [h, w, c] = this.shape;
    const spaced = (list: readonly number[], n: number) => (list.length <= n ? list : Array.from({ length: n }, (_, k) => list[Math.floor((k * list.length) / n)]));
    const measured = spaced(members, COPIES_MEMBERS);
    const inGroup = new Set(members);
    // Where every member carries one label, no member is anyone's other-label neighbour, and a
    // sample's outside distance is the same in every such group (the null groups share many samples).
    const oneLabel = members.every((m) => this.labels[m] === this.labels[members[0]]);
    const g = this.graph;
    return measured.map((i) => {
      const own = this.pixels(i);
      const ownPrepared = alignedImage(own, h, w, c);
      const label = this.labels[i];
      let outside = oneLabel ? this.outsideOf.get(i) : undefined;
      if (outside === undefined) {
        outside = Infinity; let seen = 0;
        for (let r = 0; r < g.k && seen < COPIES_OUTSIDE; r++) {
          const j = g.indices[i * g.k + r];
          if (j === i || inGroup.has(j) || this.labels[j] === label) continue;
          seen++;
          outside = alignedSquaredDistance(own, this.pixels(j), h, w, c, COPIES_MAX_SHIFT, outside, ownPrepared);
        }
        if (!seen) outside = 0;
        if (oneLabel) this.outsideOf.set(i, outside);
      }
      if (!(outside > 0)) return { member: i, ratio: 1, outside: 0 };
      const peers = spaced(members.filter((m) => m !== i), COPIES_PEERS);
      // Only a fellow member nearer than COPIES_DISTINCT of the outside distance counts: the bound stops the rest early.
      const limit = outside * COPIES_DISTINCT * COPIES_DISTINCT;
      let inner = limit;
      for (const j of peers) inner = alignedSquaredDistance(own, this.pixels(j), h, w, c, COPIES_MAX_SHIFT, inner, ownPrepared);
      return { member: i, ratio: inner < limit ? Math.sqrt(inner / outside) : 1, outside };
    });
  }

  /** The group's median member ratio: under COPIES_DISTINCT for copies, else 1 (also for a single member, or where no neighbour of another label is at hand). */
  ratio(members: readonly number[]): number {
    if (members.length < 2) return 1;
    return this.candidateRatios.get(members.join(',')) ?? medianRatio(this.measure(members));
  }

  /**
   * The rest of a group of copies: training samples of the group's label, outside it, that are
   * copies of its members by the same measure (aligned nearer to a copy member than COPIES_DISTINCT
   * of that member's distance to the images of other labels around it), ascending. Empty unless
   * the group carries one label and its ratio is under COPIES_DISTINCT. The model's features need
   * not keep copies together (module comment), so the search may take only some of them into a
   * group; the rest are found here in pixel space, among every sample of the label, compared
   * with at most COPIES_SOURCES of the members.
   */
  copiesOutside(members: readonly number[]): number[] {
    if (members.length < 2) return [];
    const label = this.labels[members[0]];
    if (!members.every((m) => this.labels[m] === label)) return [];
    const measured = this.measure(members);
    const median = medianRatio(measured);
    // The scan judges the candidate next: its ratio is kept rather than measured again.
    this.candidateRatios.set(members.join(','), median);
    if (!(median < COPIES_DISTINCT)) return [];
    const [h, w, c] = this.shape;
    const sources = measured.filter((m) => m.ratio < COPIES_DISTINCT).slice(0, COPIES_SOURCES)
      .map((m) => ({ pixels: this.pixels(m.member), limit: m.outside * COPIES_DISTINCT * COPIES_DISTINCT }))
      .map((m) => ({ ...m, prepared: alignedImage(m.pixels, h, w, c) }));
    const inGroup = new Set(members);
    const candidates: number[] = [];
    for (let j = 0; j < this.labels.length; j++) if (this.labels[j] === label && !inGroup.has(j)) candidates.push(j);
    const size = h * w * c;
    const found: number[] = [];
    // The label's samples are read a block at a time (a lazily loaded file is read per block) and not cached.
    for (let start = 0; start < candidates.length; start += COPIES_BLOCK) {
      const block = candidates.slice(start, start + COPIES_BLOCK);
      const pixels = gatherPixels(this.split, this.shape, block);
      block.forEach((j, k) => {
        const b = pixels.subarray(k * size, (k + 1) * size);
        if (sources.some((s) => alignedSquaredDistance(s.pixels, b, h, w, c, COPIES_MAX_SHIFT, s.limit, s.prepared) < s.limit)) found.push(j);
      });
    }
    return found;
  }
}
