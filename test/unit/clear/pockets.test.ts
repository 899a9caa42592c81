import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { buildNeighbourGraph, type NeighbourGraph } from '../../../src-main/engine/features/knn.js';
import { extendGraphPastGroups } from '../../../src-main/engine/clear/runs.js';
import {
  closedGroups,
  DEFAULT_CANDIDATE_SETTINGS,
  describeGroups,
  findPocketCandidates,
  isolatedGroups,
  nearDuplicateGroups,
  samplesWithUnfinishedRuns,
  shellSizeFor,
  type CandidateSearchInput,
  type PocketCandidate,
} from '../../../src-main/engine/clear/pockets.js';
import { createRng } from '../../../src-main/engine/random.js';

const DIM = 16;
const PER_CLASS = 300;
const CLASSES = 3;
const POCKET_SIZE = 15;
/** Class means 8·e_c: blobs of radius ≈ √16 = 4 (σ = 1) about 11 apart. */
const MEAN_SEPARATION = 8;
/** Spread of the planted near-duplicates: 2% of the blobs' σ. */
const POCKET_SPREAD = 0.02;

interface PlantedDataset {
  features: Float32Array;
  n: number;
  labels: Int32Array;
  predictions: Int32Array;
  pocket: number[];
  looseGroup: number[];
  mislabeled: number[];
  target: number | undefined;
}

function distance(features: Float32Array, a: number, b: number): number {
  let s = 0;
  for (let t = 0; t < DIM; t++) s += (features[a * DIM + t] - features[b * DIM + t]) ** 2;
  return Math.sqrt(s);
}

/**
 * Three Gaussian classes in 16-D; 15 near-duplicates labelled 0 planted inside class 1 near a
 * target location; natural noise: 20 single mislabeled samples, and one loose group (a
 * class-1 sample and its 3 nearest class-1 neighbours, all relabeled 0). With
 * `targetInTraining`, the target itself is a class-1 training sample at the pocket's centre.
 */
function plantedDataset(seed: number, targetInTraining = false, pocketSize = POCKET_SIZE): PlantedDataset {
  const rng = createRng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  const trueClass: number[] = [];
  const add = (row: number[], label: number, truth: number): number => {
    rows.push(row);
    labels.push(label);
    trueClass.push(truth);
    return rows.length - 1;
  };
  for (let c = 0; c < CLASSES; c++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const row = Array.from({ length: DIM }, () => rng.normal());
      row[c] += MEAN_SEPARATION;
      add(row, c, c);
    }
  }
  const targetPoint = Array.from({ length: DIM }, () => 0.5 * rng.normal());
  targetPoint[1] += MEAN_SEPARATION;
  const pocket: number[] = [];
  for (let i = 0; i < pocketSize; i++) {
    pocket.push(add(targetPoint.map((x) => x + POCKET_SPREAD * rng.normal()), 0, 1));
  }
  const target = targetInTraining ? add(targetPoint, 1, 1) : undefined;
  const n = rows.length;
  const features = new Float32Array(n * DIM);
  rows.forEach((row, i) => features.set(row, i * DIM));

  // Loose natural group: a class-1 sample on the far side of its blob from the pocket, and its
  // 3 nearest class-1 samples. (Next to the pocket, the pocket's run would rightly take
  // them in: nothing but label-0 samples would lie between.)
  const classOne = Array.from({ length: PER_CLASS }, (_, i) => PER_CLASS + i);
  const anchor = classOne.reduce((far, i) => (distance(features, i, pocket[0]) > distance(features, far, pocket[0]) ? i : far));
  const nearest = classOne.filter((i) => i !== anchor)
    .sort((a, b) => distance(features, anchor, a) - distance(features, anchor, b));
  const looseGroup = [anchor, ...nearest.slice(0, 3)].sort((a, b) => a - b);
  for (const i of looseGroup) labels[i] = 0;

  // Single mislabeled samples of classes 0 and 2, away from everything planted.
  const mislabeled: number[] = [];
  while (mislabeled.length < 20) {
    const i = mislabeled.length % 2 === 0 ? rng.int(PER_CLASS) : 2 * PER_CLASS + rng.int(PER_CLASS);
    if (mislabeled.includes(i)) continue;
    mislabeled.push(i);
    labels[i] = labels[i] === 0 ? 2 : 0;
  }

  // The model fits the planted pocket (predicts its label) but not the natural noise.
  const predictions = Int32Array.from(trueClass);
  for (const i of pocket) predictions[i] = 0;
  return { features, n, labels: Int32Array.from(labels), predictions, pocket, looseGroup, mislabeled, target };
}

async function searchInput(data: PlantedDataset, k = 40): Promise<CandidateSearchInput & { graph: NeighbourGraph }> {
  const graph = await buildNeighbourGraph(data.features, data.n, DIM, k);
  return { features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph };
}

function findPlanted(candidates: PocketCandidate[], pocket: number[]): PocketCandidate | undefined {
  return candidates.find((c) => c.members.some((m) => pocket.includes(m)));
}

describe('findPocketCandidates', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('returns the planted pocket with exactly its members, tight and deep inside class 1', async () => {
    const data = plantedDataset(21);
    const result = findPocketCandidates(await searchInput(data));
    const planted = findPlanted(result.candidates, data.pocket);
    expect(planted).toBeDefined();
    if (!planted) return;
    expect(planted.members).toEqual([...data.pocket].sort((a, b) => a - b));
    expect(planted.attackerClass).toBe(0);
    expect(planted.enclosingClass).toBe(1);
    expect(planted.size).toBe(POCKET_SIZE);
    expect(planted.shellPurity).toBeGreaterThanOrEqual(0.95);
    expect(planted.shell.length).toBe(shellSizeFor(POCKET_SIZE, DEFAULT_CANDIDATE_SETTINGS));
    expect(planted.shell.every((j) => !planted.members.includes(j))).toBe(true);
    expect(planted.tightness).toBeLessThan(0.05);
    expect(planted.contamination).toBe(0);
    expect(planted.predictedAsAttacker).toBe(1);
    expect(planted.seeds).toBeGreaterThan(0);
    expect(planted.diameter).toBeGreaterThanOrEqual(planted.meanInnerDistance);
    // The shell is much farther from the pocket's centre than the members are from each other.
    expect(planted.shellDistance).toBeGreaterThan(10 * planted.diameter);
  });

  it('counts the planted members whose label their neighbours outvote, and keeps natural disagreements apart', async () => {
    const data = plantedDataset(27);
    const result = findPocketCandidates(await searchInput(data));
    const planted = findPlanted(result.candidates, data.pocket);
    // K = 40 neighbours of a 15-member pocket are mostly class 1: every member is outvoted.
    expect(planted?.disagreeing).toBe(POCKET_SIZE);
    const loose = result.candidates.find((c) => c.members.some((m) => data.looseGroup.includes(m)));
    expect(loose?.members.some((m) => data.pocket.includes(m))).toBe(false);
  });

  it('gives natural noise only smaller and looser candidates', async () => {
    const data = plantedDataset(22);
    const result = findPocketCandidates(await searchInput(data));
    const planted = findPlanted(result.candidates, data.pocket);
    expect(planted?.size).toBe(POCKET_SIZE);
    const natural = result.candidates.filter((c) => c !== planted);
    // The loose group is found, as a natural pocket should be.
    expect(natural.some((c) => c.members.every((m) => data.looseGroup.includes(m)) && c.size >= 2)).toBe(true);
    for (const candidate of natural) {
      expect(candidate.size).toBeLessThan(POCKET_SIZE);
      expect(candidate.tightness).toBeGreaterThan(5 * (planted?.tightness ?? 0));
      expect(candidate.members.some((m) => data.pocket.includes(m))).toBe(false);
    }
    // Single mislabeled samples are seeds, not candidates.
    const seeded = result.pairs.reduce((sum, pair) => sum + pair.seeds, 0);
    expect(seeded).toBe(result.seedCount);
    expect(result.seedCount).toBeGreaterThanOrEqual(POCKET_SIZE + 10);
    for (const i of data.mislabeled) {
      expect(result.candidates.some((c) => c.size === 1 && c.members[0] === i)).toBe(false);
    }
  });

  it('keeps the pocket whole when the target itself is a training sample inside it, and names it', async () => {
    const data = plantedDataset(23, true);
    const result = findPocketCandidates(await searchInput(data));
    const planted = findPlanted(result.candidates, data.pocket);
    expect(planted?.members).toEqual([...data.pocket].sort((a, b) => a - b));
    expect(planted?.enclosingClass).toBe(1);
    expect(planted?.contaminants).toEqual([data.target]);
    expect(planted?.contamination).toBe(1);
  });

  it('reports per-class and per-pair statistics that add up', async () => {
    const data = plantedDataset(24);
    const result = findPocketCandidates(await searchInput(data));
    expect(result.classes.map((c) => c.classIndex)).toEqual([0, 1, 2]);
    expect(result.classes.reduce((sum, c) => sum + c.seeds, 0)).toBe(result.seedCount);
    expect(result.classes.reduce((sum, c) => sum + c.candidates, 0)).toBe(result.candidates.length);
    const pair = result.pairs.find((p) => p.attackerClass === 0 && p.enclosingClass === 1);
    expect(pair?.candidates).toBeGreaterThanOrEqual(1);
    expect(pair?.members).toBeGreaterThanOrEqual(POCKET_SIZE);
    expect(pair?.seeds).toBeGreaterThanOrEqual(POCKET_SIZE);
    for (const p of result.pairs) expect(p.attackerClass).not.toBe(p.enclosingClass);
    const keys = result.pairs.map((p) => p.attackerClass * CLASSES + p.enclosingClass);
    expect([...keys].sort((a, b) => a - b)).toEqual(keys);
    expect(result.typicalNeighbourDistance).toHaveLength(CLASSES);
    expect(result.settings).toEqual({ ...DEFAULT_CANDIDATE_SETTINGS });
  });

  it('is deterministic and plain JSON data', async () => {
    const data = plantedDataset(25);
    const input = await searchInput(data);
    const first = findPocketCandidates(input);
    const second = findPocketCandidates(input);
    expect(second).toEqual(first);
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
  });

  it('applies settings: a purity above the pocket finds nothing, a small maxGroupSize caps growth', async () => {
    const data = plantedDataset(26);
    const input = await searchInput(data);
    const strict = findPocketCandidates({ ...input, settings: { minShellPurity: 1, minGroupSize: 16 } });
    // No pocket-shaped group passes; what is left comes wholly from disagreeing samples (the
    // pocket and the loose group, all labelled 0 and outvoted by class 1, linked as one).
    expect(strict.candidates.every((c) => c.disagreeing === c.size)).toBe(true);
    const capped = findPocketCandidates({ ...input, settings: { maxGroupSize: 8 } });
    for (const c of capped.candidates) expect(c.size).toBeLessThanOrEqual(8 * 2); // merged groups of ≤ 8
    expect(findPlanted(capped.candidates, data.pocket)?.size ?? 0).toBeLessThan(POCKET_SIZE + 1);
    expect(() => findPocketCandidates({ ...input, settings: { minShellPurity: 0 } })).toThrow(/minShellPurity/);
    expect(() => findPocketCandidates({ ...input, labels: input.labels.subarray(1) })).toThrow(/labels/);
  });
});

describe('groups given from outside the search (describeGroups)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('describes a given group as the search describes its candidates, and a group inside its own class as no pocket', async () => {
    const data = plantedDataset(21);
    const input = await searchInput(data);
    const found = findPlanted(findPocketCandidates(input).candidates, data.pocket)!;
    // Scattered members of class 0 inside class 0: hardly any foreign sample around them.
    const ownClass = Array.from({ length: 12 }, (_, k) => k * 20).filter((i) => data.labels[i] === 0);
    const [given, inOwnClass] = describeGroups(input, [data.pocket, ownClass]);
    expect(given).toBeDefined();
    for (const key of ['members', 'attackerClass', 'enclosingClass', 'shellPurity', 'shell', 'contamination', 'predictedAsAttacker', 'meanInnerDistance', 'shellDistance'] as const) {
      expect(given![key]).toEqual(found[key]);
    }
    expect(inOwnClass === undefined || inOwnClass.shellPurity < 0.2).toBe(true);
  });
});

describe('pockets larger than the neighbour count', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each([
    [15, 10],
    [40, 10],
    [120, 40],
  ])('finds a planted group of %i near-duplicates with K = %i only once the graph is extended past it', async (size, k) => {
    const data = plantedDataset(31, false, size);
    const input = await searchInput(data, k);
    // With K neighbours alone every member sees only other members: no shell, no candidate.
    const plain = findPocketCandidates(input);
    expect(findPlanted(plain.candidates, data.pocket)?.size ?? 0).toBeLessThan(size);
    // The members form closed groups of mutual neighbours (one or a few: a mutual-neighbour
    // graph may split a group, or leave a member alone), which hold most members and nothing else.
    const groups = closedGroups(data.labels, input.graph, samplesWithUnfinishedRuns(data.labels, input.graph, DEFAULT_CANDIDATE_SETTINGS), DEFAULT_CANDIDATE_SETTINGS.maxGroupSize);
    const planted = new Set(data.pocket);
    const holding = groups.filter((g) => g.some((i) => planted.has(i)));
    expect(holding.flat().every((i) => planted.has(i))).toBe(true);
    expect(holding.flat().length).toBeGreaterThanOrEqual(0.9 * size);
    const graph = await extendGraphPastGroups(data.features, DIM, data.labels, input.graph);
    expect(graph.extended?.size).toBeGreaterThanOrEqual(size);
    const extended = findPocketCandidates({ ...input, graph });
    const found = findPlanted(extended.candidates, data.pocket);
    expect(found?.members).toEqual([...data.pocket].sort((a, b) => a - b));
    expect(found?.enclosingClass).toBe(1);
    expect(found?.shellPurity).toBeGreaterThanOrEqual(0.95);
  });

  it('extends nothing on data without a planted group', async () => {
    const data = plantedDataset(32, false, 0);
    const input = await searchInput(data, 10);
    const graph = await extendGraphPastGroups(data.features, DIM, data.labels, input.graph);
    // Class interiors are components of hundreds; only small closed fragments (if any) are extended.
    expect(graph.extended?.size ?? 0).toBeLessThan(data.n / 20);
  });
});

describe('isolated groups where classes meet', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  /**
   * Poisons crafted towards a target where classes meet: 20 near-duplicates labelled 0 at the
   * point where four classes (1–4, each the sector where its coordinate is the largest of the
   * first four) meet, among 1,200 samples of those classes and 300 of class 0 far away. Their
   * shell is split between four classes, so no single class encloses them and no seed reaches
   * the purity rule; they are found as a group of mutual neighbours whose surroundings hold
   * none of their label.
   */
  function junctionPocket(seed: number) {
    const rng = createRng(seed);
    const size = 20;
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 1200; i++) {
      const row = Array.from({ length: DIM }, () => rng.normal());
      let best = 0;
      for (let c = 1; c < 4; c++) if (row[c] > row[best]) best = c;
      rows.push(row); labels.push(1 + best);
    }
    for (let i = 0; i < 300; i++) {
      const row = Array.from({ length: DIM }, () => rng.normal());
      row[DIM - 1] += 4 * MEAN_SEPARATION;
      rows.push(row); labels.push(0);
    }
    const pocket: number[] = [];
    for (let i = 0; i < size; i++) {
      pocket.push(rows.length);
      rows.push(Array.from({ length: DIM }, () => POCKET_SPREAD * rng.normal()));
      labels.push(0);
    }
    const n = rows.length;
    const features = new Float32Array(n * DIM);
    rows.forEach((row, i) => features.set(row, i * DIM));
    const predictions = Int32Array.from(labels);
    return { features, n, labels: Int32Array.from(labels), predictions, pocket };
  }

  it('finds the planted group with exactly its members, though no one class encloses it', async () => {
    const data = junctionPocket(41);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    const groups = isolatedGroups(data.labels, graph, DEFAULT_CANDIDATE_SETTINGS);
    expect(groups.find((g) => g.includes(data.pocket[0]))?.sort((a, b) => a - b)).toEqual(data.pocket);
    const result = findPocketCandidates({ features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph });
    const found = result.candidates.find((c) => c.members.includes(data.pocket[0]));
    expect(found?.members).toEqual(data.pocket);
    // Not from a seed: its shell is split between the classes it sits between.
    expect(found?.seeds).toBe(0);
    expect(found?.shellPurity).toBeLessThan(DEFAULT_CANDIDATE_SETTINGS.minShellPurity);
    // Set apart from its surroundings: members far closer to each other than to their shell.
    expect(found!.meanInnerDistance / found!.shellDistance).toBeLessThan(0.2);
  });

  it('finds only small groups of relabelled samples in clean blobs', async () => {
    const data = plantedDataset(42, false, 0);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    // Only relabelled samples sit among other labels: the loose natural group (4 class-1 samples
    // labelled 0) or two mislabelled samples that happen to be each other's neighbours.
    const groups = isolatedGroups(data.labels, graph, DEFAULT_CANDIDATE_SETTINGS);
    const relabelled = new Set([...data.looseGroup, ...data.mislabeled]);
    expect(groups.flat().every((i) => relabelled.has(i))).toBe(true);
    expect(groups.every((g) => g.length <= data.looseGroup.length)).toBe(true);
  });
});

/** The three Gaussian classes (means 8·e_c, σ = 1) as rows and labels, to plant groups among. */
function gaussianClasses(rng: ReturnType<typeof createRng>): { rows: number[][]; labels: number[] } {
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const row = Array.from({ length: DIM }, () => rng.normal());
      row[c] += MEAN_SEPARATION;
      rows.push(row); labels.push(c);
    }
  }
  return { rows, labels };
}

describe('near-duplicate groups (step 4d)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  /**
   * Classes 1 and 2 meet halfway between their means; 20 copies of one point there, labelled 1,
   * in 4 clusters of 5 (copies shifted by different pixels), each cluster 0.02 σ wide and the
   * clusters 0.15 σ apart: half their surroundings are 1s, half 2s. Optionally a cluster of 6
   * duplicates deep inside class 2, labelled 2 (natural duplicates, no pocket).
   */
  function borderCopies(seed: number, innerDuplicates: boolean, clusters = 4, perCluster = 5) {
    const rng = createRng(seed);
    const { rows, labels } = gaussianClasses(rng);
    const border = Array.from({ length: DIM }, (_, t) => (t === 1 || t === 2 ? MEAN_SEPARATION / 2 : 0));
    const copies: number[] = [];
    for (let cluster = 0; cluster < clusters; cluster++) {
      const centre = border.map((x) => x + 0.15 * rng.normal());
      for (let i = 0; i < perCluster; i++) {
        copies.push(rows.length);
        rows.push(centre.map((x) => x + POCKET_SPREAD * rng.normal()));
        labels.push(1);
      }
    }
    const duplicates: number[] = [];
    if (innerDuplicates) {
      const centre = rows[2 * PER_CLASS + 7];
      for (let i = 0; i < 6; i++) {
        duplicates.push(rows.length);
        rows.push(centre.map((x) => x + POCKET_SPREAD * rng.normal()));
        labels.push(2);
      }
    }
    const n = rows.length;
    const features = new Float32Array(n * DIM);
    rows.forEach((row, i) => features.set(row, i * DIM));
    return { features, n, labels: Int32Array.from(labels), predictions: Int32Array.from(labels), copies, duplicates };
  }

  it('gathers copies planted where two classes meet into one candidate, which the other steps do not', async () => {
    const data = borderCopies(5, false);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    const input = { features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph };
    const scales = findPocketCandidates(input).typicalNeighbourDistance;
    const groups = nearDuplicateGroups(data.labels, graph, scales, DEFAULT_CANDIDATE_SETTINGS);
    expect(groups.map((g) => [...g].sort((a, b) => a - b))).toEqual([data.copies]);

    const found = findPocketCandidates(input).candidates.find((c) => c.members.includes(data.copies[0]));
    expect(found?.members).toEqual(data.copies);
    expect(found?.enclosingClass).toBe(2);
    // Half their surroundings share their label: no 60%-pure shell.
    expect(found!.shellPurity).toBeLessThan(DEFAULT_CANDIDATE_SETTINGS.minShellPurity);
    // Without step 4d no candidate holds all the copies.
    const without = findPocketCandidates({ ...input, settings: { duplicateRatio: 0 } }).candidates;
    expect(without.some((c) => data.copies.every((i) => c.members.includes(i)))).toBe(false);
  });

  it('gathers 160 copies in 8 clusters of 20, more than K = 40 and than the member check, once the graph is extended past them', async () => {
    const data = borderCopies(7, false, 8, 20);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    const input = { features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph };
    const scales = findPocketCandidates(input).typicalNeighbourDistance;
    // Within K every copy lists only copies: nothing says what surrounds them.
    expect(nearDuplicateGroups(data.labels, graph, scales, DEFAULT_CANDIDATE_SETTINGS).some((g) => g.includes(data.copies[0]))).toBe(false);
    const extended = await extendGraphPastGroups(data.features, DIM, data.labels, graph);
    const groups = nearDuplicateGroups(data.labels, extended, scales, DEFAULT_CANDIDATE_SETTINGS);
    // One group: each cluster lists only itself among its ten nearest, its siblings after them.
    expect(groups.map((g) => [...g].sort((a, b) => a - b))).toEqual([data.copies]);
    const found = findPocketCandidates({ ...input, graph: extended }).candidates.find((c) => c.members.includes(data.copies[0]));
    expect(found?.members).toEqual(data.copies);
  });

  it('leaves out natural samples and duplicates inside their own class', async () => {
    const data = borderCopies(6, true);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    const scales = findPocketCandidates({ features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph }).typicalNeighbourDistance;
    const groups = nearDuplicateGroups(data.labels, graph, scales, DEFAULT_CANDIDATE_SETTINGS);
    expect(groups.map((g) => [...g].sort((a, b) => a - b))).toEqual([data.copies]);
    // The inner duplicates are near-duplicates too: only their surroundings keep them out.
    const anyShell = nearDuplicateGroups(data.labels, graph, scales, { ...DEFAULT_CANDIDATE_SETTINGS, minDuplicateForeign: 0 });
    expect(anyShell.some((g) => data.duplicates.every((i) => g.includes(i)))).toBe(true);
  });
});

describe('fragile fragments joined (step 4e)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  /**
   * Two loose clusters of 6 samples labelled 0 near where classes 1 and 2 meet, one on each
   * side of the border (poisons crafted towards one target, fallen into two fragments with
   * different enclosing classes). The fragility oracle (below) gives their members a high value and
   * every other sample 0: what squeezing measures on crafted and natural samples.
   */
  function fragments(seed: number) {
    const rng = createRng(seed);
    const { rows, labels } = gaussianClasses(rng);
    const planted: number[][] = [[], []];
    for (const [side, towards] of [[0, 1], [1, 2]] as const) {
      const centre = Array.from({ length: DIM }, (_, t) => (t === 1 || t === 2 ? MEAN_SEPARATION / 2 : 0));
      centre[towards] += 1.2;
      centre[3 - towards] -= 1.2;
      for (let i = 0; i < 6; i++) {
        planted[side].push(rows.length);
        rows.push(centre.map((x) => x + 0.3 * rng.normal()));
        labels.push(0);
      }
    }
    const n = rows.length;
    const features = new Float32Array(n * DIM);
    rows.forEach((row, i) => features.set(row, i * DIM));
    return { features, n, labels: Int32Array.from(labels), predictions: Int32Array.from(labels), planted };
  }

  function oracle(members: Set<number>, value: number) {
    const measured = new Set<number>();
    return {
      measure: (indices: Iterable<number>) => { for (const i of indices) measured.add(i); },
      fragility: (group: readonly number[]) => {
        if (group.some((i) => !measured.has(i))) throw new Error('fragility asked before it was measured');
        const values = group.map((i) => (members.has(i) ? value : 0)).sort((a, b) => a - b);
        return values[values.length >> 1];
      },
    };
  }

  it('joins fragile candidates of one label in contact, and only fragile ones', async () => {
    const data = fragments(8);
    const graph = await buildNeighbourGraph(data.features, data.n, DIM, 40);
    const input = { features: data.features, n: data.n, dim: DIM, labels: data.labels, predictions: data.predictions, graph };
    const all = [...data.planted[0], ...data.planted[1]].sort((a, b) => a - b);
    const holdsAll = (c: PocketCandidate) => all.every((i) => c.members.includes(i));
    // The premise: without squeezing the two fragments stay apart, enclosed by different classes.
    const apart = findPocketCandidates(input).candidates;
    const sides = data.planted.map((side) => apart.find((c) => c.members.includes(side[0])));
    expect(sides[0]?.enclosingClass).toBe(1);
    expect(sides[1]?.enclosingClass).toBe(2);
    expect(apart.some(holdsAll)).toBe(false);

    const joined = findPocketCandidates({ ...input, fragility: oracle(new Set(all), 1.5) }).candidates;
    expect(joined.filter((c) => c.members.some((i) => all.includes(i))).map((c) => c.members)).toEqual([all]);
    // Fragments that move no further than twice the 90th percentile stay apart.
    const weak = findPocketCandidates({ ...input, fragility: oracle(new Set(all), 0.5) }).candidates;
    expect(weak.some(holdsAll)).toBe(false);
  });
});
