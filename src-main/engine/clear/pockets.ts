/**
 * Pocket candidates: seeds, groups and the hull search.
 *
 * Input is the training set's feature vectors, labels, the model's predictions and the
 * neighbour graph built on the same features. Output is plain data: candidate pockets with
 * their tightness figures, and per-class / per-pair counts for the UI's charts. Nothing here
 * asks the model anything; the pocket test (step 5) and the calibrated score (step 6) take
 * these candidates further.
 *
 * 1. **Seeds.** Sample `i` (label `A`) walks its neighbour list, nearest first. The run of
 *    `A`-labelled neighbours met first (passing over at most `runGapTolerance` foreign ones),
 *    with `i`, is its *group*; the first `shellSize(group)` non-members of the walk are its
 *    *shell*. `i` is a seed when one other label `B` holds at least `minShellPurity` of it.
 * 2. **Growth.** From each seed group, the nearest `A`-labelled point outside the group is
 *    added while it sits inside the `B` shell (at most `runGapTolerance` foreign points are
 *    nearer the group) and the enlarged group's shell still has `B`-purity ≥
 *    `minShellPurity`; the first refusal ends the growth, since the points beyond it are
 *    farther still. This joins members whose own runs were cut short (by the target, or by
 *    neighbour order) into the pocket.
 * 3. **Pruning.** A member leaves the pocket when its own nearest non-members are not
 *    `B`-dominated: it belongs to the edge of another region, not to a pocket inside `B`.
 * 4. **Merging.** Grown groups that share members are one pocket (union–find).
 * 5. **Figures.** Shell, enclosing class, purity, contamination (non-`A` points within `ε`
 *    of the hull, by {@link ConvexHull}), diameter, mean inner distance, shell distance,
 *    tightness and the model's agreement with label `A` inside.
 *
 * Distances from a point to a *group* are taken from the neighbour graph: the smallest
 * distance to a member whose neighbour list holds the point. A point within the graph's K of
 * no member is not near the group in any sense the scan can use, so this loses nothing the
 * exact set distance would add, and keeps the whole search at O(members × K) per step.
 */
import { ConvexHull } from './hull.js';
import { neighbourRow, type NeighbourGraph } from '../features/knn.js';
import { median } from '../features/stats.js';

export interface CandidateSettings {
  /**
   * Least share of the one dominant foreign label `B` among a shell's points for a seed, a
   * growth step and a final candidate. 0.6 is a loose rule, from MNIST
   * scans: natural groups at class borders sit near it, planted pockets at 0.87–1.
   */
  minShellPurity: number;
  /** Fewest members a candidate pocket has: 2, since one mislabeled sample is no pocket. */
  minGroupSize: number;
  /**
   * Most members a group grows to (and a seed's run may hold). The attacker chooses the
   * group's size, so this is set well above any copy count that still leaves a pocket small
   * beside its enclosing class: 400, with the graph extended past K for the samples whose
   * runs need it (runs.ts).
   */
  maxGroupSize: number;
  /**
   * Shell points per group: a fixed count, or `'auto'` for
   * `clamp(shellSizeFactor × size, minShellSize, maxShellSize)`: twice the group, so a group
   * cannot be "enclosed" by fewer points than it has, within bounds that keep a singleton's
   * shell meaningful (10) and a large group's shell inside a K = 60 graph.
   */
  shellSize: number | 'auto';
  shellSizeFactor: number;
  minShellSize: number;
  maxShellSize: number;
  /**
   * `ε` of the contamination count, as a fraction of the enclosing class's typical neighbour
   * distance (see `scaleNeighbourRank`): a point of another label this close to the hull is
   * in the pocket for any practical purpose.
   */
  contaminationEps: number;
  /**
   * Rank of the neighbour whose distance measures a class's local scale: the typical
   * neighbour distance of class `c` is the median, over samples labelled `c`, of the distance
   * to their 10th nearest neighbour (the K-th when K < 10). Not the 1st: a single duplicate
   * makes that 0, and pockets are made of duplicates.
   */
  scaleNeighbourRank: number;
  /**
   * Foreign neighbours a seed's run, or a group's growth, may pass over before it ends: 1, because the attack's
   * target, when it is in the training set, sits inside the pocket by definition and is
   * usually every member's nearest neighbour. The passed-over points count in the shell and
   * show up as the pocket's contaminants.
   */
  runGapTolerance: number;
  /**
   * A large group may pass over more foreign points: `runGapFraction` of its size, when that
   * exceeds `runGapTolerance`. The outer copies of a planted group of a hundred interleave
   * with the enclosing class's samples (measured on MNIST: after the first 80 copies, runs of
   * 2–5 copies between single "1"s), and a fixed tolerance of one would cut the group there
   * and count the rest of it as its own shell.
   */
  runGapFraction: number;
  /**
   * Non-member neighbours read when deciding whether a member leaves the pocket; a member
   * with fewer than half of these outside the group (it is deep inside) stays.
   */
  memberCheckNeighbours: number;
  /**
   * Two samples of one label are near-duplicates when each lists the other and they are
   * closer than this fraction of their class's typical neighbour distance. Copies of one
   * image (label-flip poisons shifted by a pixel and noised) sit at 0.03–0.06 of it in
   * MNIST models; on 14 clean MNIST models no two samples of a label came closer than 0.12
   * in both directions, the closest natural pairs at 0.19–0.3.
   */
  duplicateRatio: number;
  /**
   * Least fragility (median member's ln(drift ÷ the model's 90th percentile drift)) of the
   * candidates step 4e joins: ln 2, the median member moving at least twice as far as nine in
   * ten samples. Crafted clean-label poisons split into fragments measured 0.75–2.2 on MNIST
   * models; natural candidates on 24 clean ones at most 0.42.
   */
  minJoinFragility: number;
  /**
   * Least share of other labels among a near-duplicate group's outside neighbours for it to
   * be a candidate (step 4d): copies planted where two classes meet have about half their
   * surroundings of each, so no 60%-pure shell; a group with none is inside its own class.
   */
  minDuplicateForeign: number;
}

export const DEFAULT_CANDIDATE_SETTINGS: Readonly<CandidateSettings> = Object.freeze({
  minShellPurity: 0.6,
  minGroupSize: 2,
  maxGroupSize: 400,
  shellSize: 'auto',
  shellSizeFactor: 2,
  minShellSize: 10,
  maxShellSize: 60,
  contaminationEps: 0.1,
  scaleNeighbourRank: 10,
  runGapTolerance: 1,
  runGapFraction: 0.1,
  memberCheckNeighbours: 10,
  minJoinFragility: Math.LN2,
  duplicateRatio: 0.12,
  minDuplicateForeign: 0.25,
});

export interface PocketCandidate {
  /** Training-set indices of the members, ascending. */
  members: number[];
  /** The members' label `A`. */
  attackerClass: number;
  /** The label `B` that dominates the shell. */
  enclosingClass: number;
  size: number;
  /** Share of `B` among the shell points. */
  shellPurity: number;
  /** The nearest points outside the group (graph distance to the nearest member), nearest first. */
  shell: number[];
  /** Number of training points not labelled `A` within `ε` of the hull. */
  contamination: number;
  /** Those points, ascending (a target sample in the training set would be among them). */
  contaminants: number[];
  /** `ε` used for the contamination count, in feature units. */
  contaminationEps: number;
  /** Largest distance between two members. */
  diameter: number;
  /** Mean distance over member pairs. */
  meanInnerDistance: number;
  /** Mean distance from the members' centroid to the shell points. */
  shellDistance: number;
  /** meanInnerDistance / typical neighbour distance of class `B`: ≈ 0 for near-duplicates, ≈ 1 for a loose group. */
  tightness: number;
  /** Share of the members the model predicts as `A`. */
  predictedAsAttacker: number;
  /** Seeds whose grown groups make up this candidate. */
  seeds: number;
  /** Members that came from a group of samples whose labels their neighbours outvote (step 4b). */
  disagreeing: number;
  /** Members added as pixel-space copies of the group's own (scan.ts, completeCopies); 0 or absent for the rest. */
  copiesFound?: number;
}

export interface ClassPocketStatistics {
  classIndex: number;
  /** Seeds labelled with this class (it is their attacker class). */
  seeds: number;
  /** Candidates with this attacker class. */
  candidates: number;
}

export interface PairPocketStatistics {
  attackerClass: number;
  enclosingClass: number;
  /** Seeds of `attackerClass` whose shell is dominated by `enclosingClass`. */
  seeds: number;
  candidates: number;
  /** Members summed over those candidates. */
  members: number;
}

export interface CandidateSearchResult {
  /** The settings actually used (defaults filled in). */
  settings: CandidateSettings;
  seedCount: number;
  /** Ordered by shell purity (descending), then tightness, then size (descending). */
  candidates: PocketCandidate[];
  /** One entry per class, `0 … numClasses − 1`. */
  classes: ClassPocketStatistics[];
  /** Ordered pairs with at least one seed or candidate, by attacker then enclosing class. */
  pairs: PairPocketStatistics[];
  /** Per class: median distance of its samples to their `scaleNeighbourRank`-th neighbour. */
  typicalNeighbourDistance: number[];
}

export interface CandidateSearchInput {
  /** `n × dim` row-major: the features the graph was built on. */
  features: Float32Array;
  n: number;
  dim: number;
  labels: Int32Array;
  predictions: Int32Array;
  graph: NeighbourGraph;
  /** Defaults to 1 + the largest label or prediction. */
  numClasses?: number;
  settings?: Partial<CandidateSettings>;
  /**
   * How fragile a group is: its median member's ln(squeezing drift ÷ the model's 90th
   * percentile drift) (squeeze.ts). With it, fragile candidates of one label in contact are
   * joined (step 4e).
   */
  fragility?: FragilityOracle;
}

export interface FragilityOracle {
  /** Measures every sample of `indices` at once (a batch), before `fragility` asks for them. */
  measure(indices: Iterable<number>): void;
  fragility(members: readonly number[]): number;
}

interface Seed {
  index: number;
  attackerClass: number;
  enclosingClass: number;
  purity: number;
  /** The seed and the run of same-label neighbours first met. */
  group: number[];
}

export function findPocketCandidates(input: CandidateSearchInput): CandidateSearchResult {
  const { features, n, dim, labels, predictions, graph } = input;
  const settings = resolveSettings(input.settings);
  checkInput(input);
  const numClasses = input.numClasses ?? 1 + Math.max(maxOf(labels), maxOf(predictions));
  if (maxOf(labels) >= numClasses) {
    throw new RangeError(`Pocket search: label ${maxOf(labels)} does not fit numClasses = ${numClasses}.`);
  }
  const typicalNeighbourDistance = classNeighbourScales(labels, graph, numClasses, settings.scaleNeighbourRank);

  const seeds = findSeeds(labels, graph, numClasses, settings);
  // Strongest seeds first: a later seed whose whole group is already covered adds nothing.
  seeds.sort((a, b) => b.purity - a.purity || b.group.length - a.group.length || a.index - b.index);

  const frontier = new GroupFrontier(graph);
  const union = new UnionFind(n);
  const covered = new Uint8Array(n);
  const seedOwner: number[] = []; // a member of the grown group of each seed that produced one
  for (const seed of seeds) {
    if (seed.group.every((i) => covered[i] === 1)) {
      seedOwner.push(seed.group[0]);
      continue;
    }
    const grown = growPocket(seed, frontier, labels, settings);
    const kept = pruneMembers(grown, seed.enclosingClass, labels, graph, settings);
    if (kept.length === 0) continue;
    for (const member of kept) {
      covered[member] = 1;
      union.join(kept[0], member);
    }
    seedOwner.push(kept[0]);
  }

  // Fragments of one planted group that grew apart (the search may split a large group of
  // copies) are in close mutual contact: a member of each lists the other among its nearest
  // `memberCheckNeighbours`. Such fragments are one group. (Mutual: a natural sample beside a
  // pocket may list the pocket's members, but they, crowded by each other, do not list it.)
  const contact = settings.memberCheckNeighbours;
  const lists = (i: number, j: number): boolean => {
    const { indices } = neighbourRow(graph, i);
    for (let c = 0; c < Math.min(contact, indices.length); c++) if (indices[c] === j) return true;
    return false;
  };
  for (let i = 0; i < n; i++) {
    if (covered[i] !== 1) continue;
    const { indices } = neighbourRow(graph, i);
    for (let c = 0; c < Math.min(contact, indices.length); c++) {
      const j = indices[c];
      if (covered[j] === 1 && labels[j] === labels[i] && lists(j, i)) union.join(i, j);
    }
  }
  const disagreeing = disagreementGroups(labels, graph, numClasses, settings);

  // Components of the grown groups; seeds are credited to the component they fed.
  const componentMembers = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (covered[i] !== 1) continue;
    const root = union.find(i);
    const list = componentMembers.get(root);
    if (list) list.push(i);
    else componentMembers.set(root, [i]);
  }
  const seedsPerComponent = new Map<number, number>();
  for (const owner of seedOwner) {
    if (covered[owner] !== 1) continue;
    const root = union.find(owner);
    seedsPerComponent.set(root, (seedsPerComponent.get(root) ?? 0) + 1);
  }

  const candidates: PocketCandidate[] = [];
  for (const [root, members] of componentMembers) {
    if (members.length < settings.minGroupSize) continue;
    const candidate = describePocket(members, {
      features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance,
      seeds: seedsPerComponent.get(root) ?? 0,
    });
    if (candidate && candidate.shellPurity >= settings.minShellPurity) candidates.push(candidate);
  }

  // Step 4b: coherent groups of samples whose label loses their neighbours' vote (Deep k-NN's
  // signal). Members already in a pocket candidate count toward it; the rest of a group, when
  // it still has `minGroupSize` members, is a candidate of its own whatever its shell's purity:
  // its members' neighbourhoods already outvote its label, one by one. (The rest is not merged
  // into the pocket: a loose ring of natural disagreements would widen a tight planted hull.)
  const inCandidate = new Map<number, PocketCandidate>();
  for (const candidate of candidates) for (const member of candidate.members) inCandidate.set(member, candidate);
  for (const group of disagreeing) {
    const rest = group.filter((i) => {
      const host = inCandidate.get(i);
      if (host) host.disagreeing++;
      return !host;
    });
    if (rest.length < settings.minGroupSize) continue;
    const candidate = describePocket(rest, { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: 0 });
    if (!candidate) continue;
    candidate.disagreeing = rest.length;
    candidates.push(candidate);
  }
  // Step 4c: isolated groups: samples of one label that are each other's nearest neighbours
  // and whose surroundings hold (almost) none of their label, whichever other labels those are.
  // Poisons crafted towards a target that sits where two classes meet form such a group: deep
  // inside foreign territory, but with no single enclosing class to seed them (step 1).
  for (const candidate of candidates) for (const member of candidate.members) inCandidate.set(member, candidate);
  for (const group of isolatedGroups(labels, graph, settings)) {
    if (group.some((i) => inCandidate.has(i))) continue;
    const candidate = describePocket(group, { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: 0 });
    if (!candidate) continue;
    candidates.push(candidate);
  }
  // Step 4d: near-duplicate groups, copies of one image with whatever shell: planted where two
  // classes meet, their surroundings hold both, so no seed's run and no 60%-pure shell gathers
  // them, and the search finds at most a fragment. A group that overlaps candidates takes them in.
  for (const candidate of candidates) for (const member of candidate.members) inCandidate.set(member, candidate);
  for (const group of nearDuplicateGroups(labels, graph, typicalNeighbourDistance, settings)) {
    if (group.every((i) => inCandidate.has(i))) continue;
    const hosts = new Set<PocketCandidate>();
    for (const i of group) { const host = inCandidate.get(i); if (host) hosts.add(host); }
    const members = [...new Set([...group, ...[...hosts].flatMap((h) => h.members)])];
    const candidate = describePocket(members, { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: [...hosts].reduce((sum, h) => sum + h.seeds, 0) });
    if (!candidate) continue;
    candidate.disagreeing = [...hosts].reduce((sum, h) => sum + h.disagreeing, 0);
    candidates.splice(0, candidates.length, ...candidates.filter((c) => !hosts.has(c)), candidate);
    for (const m of candidate.members) inCandidate.set(m, candidate);
  }
  const context = { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: 0 };
  const merged = mergeTouching([...candidates], context);
  candidates.splice(0, candidates.length, ...(input.fragility ? joinFragile(merged, input.fragility, graph, context) : merged));
  candidates.sort((a, b) =>
    b.shellPurity - a.shellPurity || a.tightness - b.tightness || b.size - a.size || a.members[0] - b.members[0]);

  const { classes, pairs } = tally(seeds, candidates, numClasses);
  return {
    settings,
    seedCount: seeds.length,
    candidates,
    classes,
    pairs,
    typicalNeighbourDistance: Array.from(typicalNeighbourDistance),
  };
}

/**
 * Candidates of the same attacker and enclosing class that touch, one holding a member of the
 * other's shell, are one group: the copies of a planted target fall into several tight
 * clusters (one per shift of the image) that sit in each other's shells. Touching groups are
 * joined and described again, until none touch.
 */
function mergeTouching(candidates: PocketCandidate[], context: DescribeContext): PocketCandidate[] {
  let current = candidates;
  for (let round = 0; round < 10; round++) {
    const owner = new Map<number, number>();
    current.forEach((c, k) => { for (const m of c.members) owner.set(m, k); });
    const union = new UnionFind(current.length);
    let joined = false;
    current.forEach((c, k) => {
      for (const j of c.shell) {
        const other = owner.get(j);
        if (other === undefined || other === k) continue;
        const o = current[other];
        if (o.attackerClass !== c.attackerClass || o.enclosingClass !== c.enclosingClass) continue;
        union.join(k, other);
        joined = true;
      }
    });
    if (!joined) return current;
    const groups = new Map<number, number[]>();
    current.forEach((_, k) => { const r = union.find(k); const list = groups.get(r); if (list) list.push(k); else groups.set(r, [k]); });
    const next: PocketCandidate[] = [];
    for (const ks of groups.values()) {
      if (ks.length === 1) { next.push(current[ks[0]]); continue; }
      const members = [...new Set(ks.flatMap((k) => current[k].members))];
      const described = describePocket(members, { ...context, seeds: ks.reduce((sum, k) => sum + current[k].seeds, 0) });
      if (!described) { for (const k of ks) next.push(current[k]); continue; }
      described.disagreeing = ks.reduce((sum, k) => sum + current[k].disagreeing, 0);
      next.push(described);
    }
    current = next;
  }
  return current;
}

/**
 * Step 4e: fragments of one crafted group. Clean-label poisons crafted towards one target
 * scatter into several candidates (each of a few poisons, in the shells of different classes
 * around the target), none large enough alone; their members all move far when squeezed.
 * Candidates of one label whose fragility is at least `minJoinFragility`, in contact (a
 * member of one lists a member of the other among its graph neighbours), are one group.
 */
function joinFragile(candidates: PocketCandidate[], fragility: FragilityOracle, graph: NeighbourGraph, context: DescribeContext): PocketCandidate[] {
  fragility.measure(candidates.flatMap((c) => c.members));
  const fragile = candidates.filter((c) => fragility.fragility(c.members) >= context.settings.minJoinFragility);
  if (fragile.length < 2) return candidates;
  const owner = new Map<number, number>();
  fragile.forEach((c, k) => { for (const m of c.members) owner.set(m, k); });
  const union = new UnionFind(fragile.length);
  fragile.forEach((c, k) => {
    for (const m of c.members) {
      const { indices } = neighbourRow(graph, m);
      for (let q = 0; q < indices.length; q++) {
        const other = owner.get(indices[q]);
        if (other !== undefined && other !== k && fragile[other].attackerClass === c.attackerClass) union.join(k, other);
      }
    }
  });
  const groups = new Map<number, number[]>();
  fragile.forEach((_, k) => { const r = union.find(k); const list = groups.get(r); if (list) list.push(k); else groups.set(r, [k]); });
  const replaced = new Set<PocketCandidate>();
  const joined: PocketCandidate[] = [];
  for (const ks of groups.values()) {
    if (ks.length < 2) continue;
    const parts = ks.map((k) => fragile[k]);
    const members = [...new Set(parts.flatMap((c) => c.members))];
    if (members.length > context.settings.maxGroupSize) continue;
    const described = describePocket(members, { ...context, seeds: parts.reduce((sum, c) => sum + c.seeds, 0) });
    if (!described) continue;
    described.disagreeing = parts.reduce((sum, c) => sum + c.disagreeing, 0);
    for (const c of parts) replaced.add(c);
    joined.push(described);
  }
  return [...candidates.filter((c) => !replaced.has(c)), ...joined];
}

/**
 * Step 4b: samples whose label loses the plurality vote of their `k` graph neighbours, in
 * groups: two such samples are linked when they share their label and their neighbours'
 * plurality label and one lists the other among its neighbours. Groups of at least
 * `minGroupSize` are returned. Natural disagreements (odd or mislabelled samples) are mostly
 * alone; poisons crafted toward one target are each other's neighbours.
 */
export function disagreementGroups(labels: Int32Array, graph: NeighbourGraph, numClasses: number, settings: Pick<CandidateSettings, 'minGroupSize'>): number[][] {
  const { n, k, indices } = graph;
  const plurality = new Int32Array(n).fill(-1);
  const votes = new Int32Array(numClasses);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    for (let c = 0; c < k; c++) votes[labels[indices[i * k + c]]]++;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
    if (votes[labels[i]] < votes[best]) plurality[i] = best;
  }
  const union = new UnionFind(n);
  for (let i = 0; i < n; i++) {
    if (plurality[i] < 0) continue;
    for (let c = 0; c < k; c++) {
      const j = indices[i * k + c];
      if (plurality[j] === plurality[i] && labels[j] === labels[i]) union.join(i, j);
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (plurality[i] < 0) continue;
    const root = union.find(i);
    const list = groups.get(root);
    if (list) list.push(i); else groups.set(root, [i]);
  }
  return [...groups.values()].filter((group) => group.length >= settings.minGroupSize);
}

/**
 * Step 4c: components of samples linked when they share a label and each lists the other
 * among its `memberCheckNeighbours` nearest, of `minGroupSize` to `maxGroupSize` members (and
 * at most half their class), whose members' other graph neighbours are, taken together, at
 * least `minShellPurity` of other labels. A class's own mass is one huge component and is left
 * out; what remains are tight same-label groups set inside other labels' territory.
 */
export function isolatedGroups(labels: Int32Array, graph: NeighbourGraph, settings: Pick<CandidateSettings, 'memberCheckNeighbours' | 'minGroupSize' | 'maxGroupSize' | 'minShellPurity'>): number[][] {
  const { k } = graph;
  const components = mutualSameLabelComponents(labels, graph, Math.min(settings.memberCheckNeighbours, k));
  return groupsAmongOthers(components, labels, graph, settings, settings.minShellPurity);
}

/**
 * The components of `minGroupSize` to `maxGroupSize` members, at most half their class, whose
 * members' nearest `k` neighbours outside the component are, taken together, at least
 * `minForeign` of other labels than theirs. A member's list is read past the component's own
 * members where the graph holds it longer (runs.ts): the copies of a group larger than `k`
 * list only each other among their first `k`, and what surrounds them lies beyond.
 */
function groupsAmongOthers(components: Iterable<number[]>, labels: Int32Array, graph: NeighbourGraph, settings: Pick<CandidateSettings, 'minGroupSize' | 'maxGroupSize'>, minForeign: number): number[][] {
  const { k } = graph;
  const withinHalf = withinHalfItsClass(labels);
  const groups: number[][] = [];
  for (const members of components) {
    if (members.length < settings.minGroupSize || members.length > settings.maxGroupSize || !withinHalf(members)) continue;
    const label = labels[members[0]];
    const inGroup = new Set(members);
    let outside = 0;
    let foreign = 0;
    for (const i of members) {
      const { indices: row } = neighbourRow(graph, i);
      let seen = 0;
      for (let c = 0; c < row.length && seen < k; c++) {
        const j = row[c];
        if (inGroup.has(j)) continue;
        seen++;
        outside++;
        if (labels[j] !== label) foreign++;
      }
    }
    if (outside > 0 && foreign / outside >= minForeign) groups.push(members);
  }
  return groups;
}

/** Most rounds of joining near-duplicate cores (each round at least halves the cores that still join). */
const MAX_CORE_ROUNDS = 16;

/**
 * Step 4d: groups of near-duplicates. Cores are the components of samples linked when they
 * share a label, each lists the other, and they are closer than `duplicateRatio` of their
 * class's typical neighbour distance; cores of one label join when a member of one lists a
 * member of the other among its `memberCheckNeighbours` nearest samples outside its own core
 * (copies shifted by different pixels form one core per shift, each other's next neighbours,
 * past the core's own members when a core is large). Groups of `minGroupSize` to
 * `maxGroupSize` members, at most half their class, whose members' other graph neighbours are at
 * least `minDuplicateForeign` of other labels, are returned.
 */
export function nearDuplicateGroups(labels: Int32Array, graph: NeighbourGraph, typicalNeighbourDistance: ArrayLike<number>, settings: Pick<CandidateSettings, 'duplicateRatio' | 'memberCheckNeighbours' | 'minGroupSize' | 'maxGroupSize' | 'minDuplicateForeign'>): number[][] {
  const { n, k, indices, distances } = graph;
  const lists = (i: number, j: number): boolean => {
    for (let c = 0; c < k; c++) if (indices[i * k + c] === j) return true;
    return false;
  };
  const union = new UnionFind(n);
  const linked = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const limit = settings.duplicateRatio * typicalNeighbourDistance[labels[i]];
    for (let c = 0; c < k && distances[i * k + c] < limit; c++) {
      const j = indices[i * k + c];
      if (j > i && labels[j] === labels[i] && lists(j, i)) { union.join(i, j); linked[i] = 1; linked[j] = 1; }
    }
  }
  // Cores join through each member's nearest samples outside its own core, round by round
  // until none joins: a core of more copies than `memberCheckNeighbours` lists only itself
  // first and its sibling cores next, and the joined cores list their further siblings.
  const depth = Math.min(settings.memberCheckNeighbours, k);
  const coreOf = new Int32Array(n);
  for (let round = 0, joined = true; joined && round < MAX_CORE_ROUNDS; round++) {
    joined = false;
    for (let i = 0; i < n; i++) if (linked[i]) coreOf[i] = union.find(i);
    for (let i = 0; i < n; i++) {
      if (!linked[i]) continue;
      const { indices: row } = neighbourRow(graph, i);
      let seen = 0;
      for (let c = 0; c < row.length && seen < depth; c++) {
        const j = row[c];
        if (linked[j] && coreOf[j] === coreOf[i]) continue;
        seen++;
        if (linked[j] && labels[j] === labels[i] && union.find(i) !== union.find(j)) { union.join(i, j); joined = true; }
      }
    }
  }
  const components = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (!linked[i]) continue;
    const root = union.find(i);
    const list = components.get(root);
    if (list) list.push(i); else components.set(root, [i]);
  }
  return groupsAmongOthers(components.values(), labels, graph, settings, settings.minDuplicateForeign);
}

/**
 * The components of samples linked when they share a label and each lists the other among its
 * `depth` nearest neighbours; with `rows`, only those samples, linked only to each other (in
 * the order of `rows`; otherwise every sample, in index order).
 */
function mutualSameLabelComponents(labels: Int32Array, graph: NeighbourGraph, depth: number, rows?: readonly number[]): number[][] {
  const { n, k, indices } = graph;
  let taken: Uint8Array | undefined;
  if (rows) { taken = new Uint8Array(n); for (const i of rows) taken[i] = 1; }
  const order = rows ?? Array.from({ length: n }, (_, i) => i);
  const union = new UnionFind(n);
  const lists = (i: number, j: number): boolean => {
    for (let c = 0; c < depth; c++) if (indices[i * k + c] === j) return true;
    return false;
  };
  for (const i of order) {
    for (let c = 0; c < depth; c++) {
      const j = indices[i * k + c];
      if (j > i && (!taken || taken[j]) && labels[j] === labels[i] && lists(j, i)) union.join(i, j);
    }
  }
  const components = new Map<number, number[]>();
  for (const i of order) {
    const root = union.find(i);
    const list = components.get(root);
    if (list) list.push(i); else components.set(root, [i]);
  }
  return [...components.values()];
}

/** Whether a group holds at most half of its label's samples: more is that class's own mass, not a pocket in another. */
function withinHalfItsClass(labels: Int32Array): (members: readonly number[]) => boolean {
  const classSize = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) classSize.set(labels[i], (classSize.get(labels[i]) ?? 0) + 1);
  return (members) => members.length <= classSize.get(labels[members[0]])! / 2;
}

/**
 * Border samples: those whose neighbour walk meets another label within their list, so that a
 * group formed around them has a shell to judge. Every candidate pocket is made of such
 * samples; the calibration's null groups are drawn around them ({@link nullGroups}).
 */
export function borderSamples(labels: Int32Array, graph: NeighbourGraph): number[] {
  const border: number[] = [];
  for (let i = 0; i < graph.n; i++) {
    const { indices } = neighbourRow(graph, i);
    for (let c = 0; c < indices.length; c++) {
      if (labels[indices[c]] !== labels[i]) {
        border.push(i);
        break;
      }
    }
  }
  return border;
}

export interface NullGroupDraw {
  /** Border samples the draws were made from. */
  population: number;
  /** One described group per draw (undefined where the group had no shell to judge). */
  groups: (PocketCandidate | undefined)[];
}

/**
 * Random groups of border samples, described exactly as candidates are (shell, enclosing
 * class, purity, contamination, tightness): draw `i` is border sample `centres[i]` and its
 * `sizes[i] − 1` nearest samples of the same label. They are what the calibration scores
 * through the same pipeline as the candidates, to learn what scores this model's own natural
 * groups reach (scan.ts).
 */
export function nullGroups(input: CandidateSearchInput, centres: readonly number[], sizes: readonly number[]): (PocketCandidate | undefined)[] {
  const { features, dim, labels, predictions, graph } = input;
  const settings = resolveSettings(input.settings);
  const numClasses = input.numClasses ?? 1 + Math.max(maxOf(labels), maxOf(predictions));
  const typicalNeighbourDistance = classNeighbourScales(labels, graph, numClasses, settings.scaleNeighbourRank);
  const frontier = new GroupFrontier(graph);
  return centres.map((centre, d) => {
    const { indices } = neighbourRow(graph, centre);
    const members = [centre];
    for (let c = 0; c < indices.length && members.length < sizes[d]; c++) if (labels[indices[c]] === labels[centre]) members.push(indices[c]);
    return describePocket(members, { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: 0 });
  });
}

/**
 * Groups given from outside the search (the crafted-samples test's, scan.ts), described exactly
 * as candidates are, so they are judged by the same evidence against the same null; undefined
 * for a group with no shell to judge by. Members must share one label.
 */
export function describeGroups(input: CandidateSearchInput, groups: readonly (readonly number[])[]): (PocketCandidate | undefined)[] {
  const { features, dim, labels, predictions, graph } = input;
  const settings = resolveSettings(input.settings);
  const numClasses = input.numClasses ?? 1 + Math.max(maxOf(labels), maxOf(predictions));
  const typicalNeighbourDistance = classNeighbourScales(labels, graph, numClasses, settings.scaleNeighbourRank);
  const frontier = new GroupFrontier(graph);
  return groups.map((members) => describePocket([...members], { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance, seeds: 0 }));
}

/**
 * The nearest `count` samples outside `members`, by graph distance to the nearest member
 * (ties by index): the shell as the search measures it, for a group given from outside (a
 * scan file's pocket, measured again before a repair).
 */
export function nearestOutsiders(members: readonly number[], graph: NeighbourGraph, count: number): number[] {
  const frontier = new GroupFrontier(graph);
  for (const member of new Set(members)) frontier.add(member);
  return frontier.sortedOutsiders().slice(0, count);
}

/** Foreign points a group of `size` members may pass over while it grows (see `runGapFraction`). */
export function gapTolerance(size: number, settings: Pick<CandidateSettings, 'runGapTolerance' | 'runGapFraction'>): number {
  return Math.max(settings.runGapTolerance, Math.floor(settings.runGapFraction * size));
}

/** The shell size for a group of `size` members under `settings`. */
export function shellSizeFor(size: number, settings: CandidateSettings): number {
  if (settings.shellSize !== 'auto') return settings.shellSize;
  return Math.min(settings.maxShellSize, Math.max(settings.minShellSize, Math.round(settings.shellSizeFactor * size)));
}

function resolveSettings(overrides: Partial<CandidateSettings> | undefined): CandidateSettings {
  const settings: CandidateSettings = { ...DEFAULT_CANDIDATE_SETTINGS };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (settings as unknown as Record<string, unknown>)[key] = value;
  }
  const { minShellPurity, minGroupSize, maxGroupSize, shellSize, minShellSize, maxShellSize } = settings;
  if (!(minShellPurity > 0 && minShellPurity <= 1)) {
    throw new RangeError(`Pocket search: minShellPurity must be in (0, 1], not ${minShellPurity}.`);
  }
  if (!Number.isInteger(minGroupSize) || minGroupSize < 1 || !Number.isInteger(maxGroupSize) || maxGroupSize < minGroupSize) {
    throw new RangeError(`Pocket search: need integers 1 ≤ minGroupSize ≤ maxGroupSize, not ${minGroupSize} and ${maxGroupSize}.`);
  }
  if (shellSize !== 'auto' && !(Number.isInteger(shellSize) && shellSize >= 1)) {
    throw new RangeError(`Pocket search: shellSize must be 'auto' or a positive integer, not ${shellSize}.`);
  }
  if (!Number.isInteger(minShellSize) || minShellSize < 1 || !Number.isInteger(maxShellSize) || maxShellSize < minShellSize) {
    throw new RangeError(`Pocket search: need integers 1 ≤ minShellSize ≤ maxShellSize, not ${minShellSize} and ${maxShellSize}.`);
  }
  if (!(settings.contaminationEps >= 0)) {
    throw new RangeError(`Pocket search: contaminationEps must be ≥ 0, not ${settings.contaminationEps}.`);
  }
  if (!Number.isInteger(settings.scaleNeighbourRank) || settings.scaleNeighbourRank < 1) {
    throw new RangeError(`Pocket search: scaleNeighbourRank must be a positive integer, not ${settings.scaleNeighbourRank}.`);
  }
  if (!Number.isInteger(settings.runGapTolerance) || settings.runGapTolerance < 0) {
    throw new RangeError(`Pocket search: runGapTolerance must be a non-negative integer, not ${settings.runGapTolerance}.`);
  }
  if (!(settings.runGapFraction >= 0 && settings.runGapFraction < 1)) {
    throw new RangeError(`Pocket search: runGapFraction must be in [0, 1), not ${settings.runGapFraction}.`);
  }
  if (!Number.isInteger(settings.memberCheckNeighbours) || settings.memberCheckNeighbours < 1) {
    throw new RangeError(`Pocket search: memberCheckNeighbours must be a positive integer, not ${settings.memberCheckNeighbours}.`);
  }
  if (!(settings.minJoinFragility >= 0)) {
    throw new RangeError(`Pocket search: minJoinFragility must be ≥ 0, not ${settings.minJoinFragility}.`);
  }
  if (!(settings.duplicateRatio >= 0)) {
    throw new RangeError(`Pocket search: duplicateRatio must be ≥ 0, not ${settings.duplicateRatio}.`);
  }
  if (!(settings.minDuplicateForeign >= 0 && settings.minDuplicateForeign <= 1)) {
    throw new RangeError(`Pocket search: minDuplicateForeign must be in [0, 1], not ${settings.minDuplicateForeign}.`);
  }
  return settings;
}

function checkInput(input: CandidateSearchInput): void {
  const { features, n, dim, labels, predictions, graph } = input;
  if (features.length !== n * dim) {
    throw new RangeError(`Pocket search: features hold ${features.length} values, not n × dim = ${n * dim}.`);
  }
  if (labels.length !== n || predictions.length !== n) {
    throw new RangeError(`Pocket search: ${labels.length} labels and ${predictions.length} predictions for ${n} samples.`);
  }
  if (graph.n !== n || graph.indices.length !== n * graph.k) {
    throw new RangeError(`Pocket search: the neighbour graph is for ${graph.n} samples, the features for ${n}.`);
  }
  for (let i = 0; i < n; i++) {
    if (!(labels[i] >= 0)) throw new RangeError(`Pocket search: label ${labels[i]} of sample ${i} is negative.`);
  }
}

function maxOf(values: Int32Array): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > largest) largest = values[i];
  return largest;
}

/** Per class, the median distance of its samples to their `rank`-th neighbour (see settings). */
export function classNeighbourScales(labels: Int32Array, graph: NeighbourGraph, numClasses: number, rank: number): Float64Array {
  const column = Math.min(rank, graph.k) - 1;
  const perClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < graph.n; i++) {
    const c = labels[i];
    if (c < numClasses) perClass[c].push(graph.distances[i * graph.k + column]);
  }
  // A class with no samples has no typical distance: 0.
  return Float64Array.from(perClass, (v) => (v.length ? median(v) : 0));
}

/**
 * Step 1: every sample whose walk meets a same-label run, then a shell dominated by one
 * other label. Up to `runGapTolerance` foreign neighbours inside the run do not end it; they
 * belong to the shell, which is the first `shellSize` non-members of the walk.
 */
function findSeeds(labels: Int32Array, graph: NeighbourGraph, numClasses: number, settings: CandidateSettings): Seed[] {
  const { n } = graph;
  const seeds: Seed[] = [];
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < n; i++) {
    const attackerClass = labels[i];
    const { indices } = neighbourRow(graph, i);
    const length = indices.length;
    const group = [i];
    let foreign = 0;
    let end = 0; // walk position where the run ended
    for (; end < length; end++) {
      if (labels[indices[end]] === attackerClass) group.push(indices[end]);
      else if (++foreign > gapTolerance(group.length, settings)) break;
    }
    // The whole list is (almost) label A: i is inside its own class (or its run was not
    // extended past the graph's K because it is longer than any pocket), there is no shell.
    if (end === length) continue;
    if (group.length > settings.maxGroupSize) continue;
    const wanted = shellSizeFor(group.length, settings);
    counts.fill(0);
    let shellCount = 0;
    const inGroup = group.length - 1; // neighbours of i that joined the group
    let joined = 0;
    for (let c = 0; c < length && shellCount < wanted; c++) {
      const j = indices[c];
      if (labels[j] === attackerClass && joined < inGroup) {
        joined++;
        continue;
      }
      counts[labels[j]]++;
      shellCount++;
    }
    // A shell cut short by the graph's K below the smallest shell is too little to judge.
    if (shellCount < Math.min(settings.minShellSize, wanted)) continue;
    const enclosingClass = dominantForeignLabel(counts, attackerClass);
    if (enclosingClass < 0) continue;
    const purity = counts[enclosingClass] / shellCount;
    if (purity < settings.minShellPurity) continue;
    seeds.push({ index: i, attackerClass, enclosingClass, purity, group });
  }
  return seeds;
}

/**
 * Groups larger than the graph's K, found without a larger K: the components of samples whose
 * walk did not finish inside their `k` neighbours (see {@link samplesWithUnfinishedRuns}),
 * linked when they are *mutual* neighbours with the same label, that hold at most `maxSize`
 * samples. A planted group of near-duplicate copies is one such component: each copy's `k`
 * nearest are other copies, so its links never leave the group, and samples around it that
 * list copies among their neighbours are not listed back. The interior of a class is one
 * component of thousands (or, in a small dataset, of more than half its class) and is left
 * out. Only these groups' members need their neighbour
 * lists extended (runs.ts), which keeps the extension's cost to the size of the groups.
 */
export function closedGroups(labels: Int32Array, graph: NeighbourGraph, unfinished: readonly number[], maxSize: number): number[][] {
  const withinHalf = withinHalfItsClass(labels);
  return mutualSameLabelComponents(labels, graph, graph.k, unfinished)
    .filter((members) => members.length >= 2 && members.length <= maxSize && withinHalf(members));
}

/**
 * Samples whose walk reaches the end of their `k` graph neighbours without leaving their
 * run: the ones whose neighbour list must be extended (runs.ts) before the search can tell
 * whether they sit in a group larger than `k` inside another class.
 */
export function samplesWithUnfinishedRuns(labels: Int32Array, graph: NeighbourGraph, settings: Pick<CandidateSettings, 'runGapTolerance' | 'runGapFraction'>): number[] {
  const { n, k, indices } = graph;
  const unfinished: number[] = [];
  for (let i = 0; i < n; i++) {
    let foreign = 0;
    let end = 0;
    for (; end < k; end++) if (labels[indices[i * k + end]] !== labels[i] && ++foreign > gapTolerance(1 + end - foreign, settings)) break;
    if (end === k) unfinished.push(i);
  }
  return unfinished;
}

/** The most frequent label other than `excluded` (lowest label on ties), or −1 when none occurs. */
function dominantForeignLabel(counts: Int32Array, excluded: number): number {
  let best = -1;
  for (let c = 0; c < counts.length; c++) {
    if (c === excluded || counts[c] === 0) continue;
    if (best < 0 || counts[c] > counts[best]) best = c;
  }
  return best;
}

/**
 * Step 2: grow the seed's group by its nearest `A`-labelled outsider while that point sits
 * inside the `B` shell — closer to the group than all but `runGapTolerance` of the foreign
 * outsiders, so the group's run continues — and the enlarged group's shell stays `B`-pure.
 * A looser reach (say, anywhere within the shell's radius) lets a pocket of near-duplicates
 * swallow every stray `A` sample of the surrounding region, which blurs exactly the
 * tightness that tells a planted pocket from a natural one.
 */
function growPocket(seed: Seed, frontier: GroupFrontier, labels: Int32Array, settings: CandidateSettings): number[] {
  const { attackerClass, enclosingClass } = seed;
  frontier.reset();
  for (const member of seed.group) frontier.add(member);
  while (frontier.size < settings.maxGroupSize) {
    const outside = frontier.sortedOutsiders();
    let next = -1;
    let foreign = 0;
    for (const j of outside) {
      if (labels[j] === attackerClass) {
        next = j;
        break;
      }
      if (++foreign > gapTolerance(frontier.size, settings)) break;
    }
    // No A-labelled point before the shell closes: the pocket ends here.
    if (next < 0) break;
    frontier.add(next, true);
    const grownOutside = frontier.sortedOutsiders();
    const grownShell = Math.min(shellSizeFor(frontier.size, settings), grownOutside.length);
    let enclosing = 0;
    for (let c = 0; c < grownShell; c++) if (labels[grownOutside[c]] === enclosingClass) enclosing++;
    if (grownShell === 0 || enclosing / grownShell < settings.minShellPurity) {
      frontier.undoLastAdd();
      break;
    }
  }
  return frontier.members.slice();
}

/**
 * Step 3: keep the members whose own nearest non-members are `B`-dominated (or who are too
 * deep inside the group to have enough non-member neighbours to say).
 */
function pruneMembers(
  members: number[],
  enclosingClass: number,
  labels: Int32Array,
  graph: NeighbourGraph,
  settings: CandidateSettings,
): number[] {
  const inGroup = new Set(members);
  const wanted = settings.memberCheckNeighbours;
  const enoughEvidence = Math.ceil(wanted / 2);
  return members.filter((member) => {
    const { indices } = neighbourRow(graph, member);
    let outside = 0;
    let enclosing = 0;
    for (let c = 0; c < indices.length && outside < wanted; c++) {
      const j = indices[c];
      if (inGroup.has(j)) continue;
      outside++;
      if (labels[j] === enclosingClass) enclosing++;
    }
    return outside < enoughEvidence || enclosing / outside >= settings.minShellPurity;
  });
}

interface DescribeContext {
  features: Float32Array;
  dim: number;
  labels: Int32Array;
  predictions: Int32Array;
  frontier: GroupFrontier;
  settings: CandidateSettings;
  typicalNeighbourDistance: Float64Array;
  seeds: number;
}

/** Step 5: the figures of one merged group, or undefined when it has no shell to judge by. */
function describePocket(unsortedMembers: number[], context: DescribeContext): PocketCandidate | undefined {
  const { features, dim, labels, predictions, frontier, settings, typicalNeighbourDistance } = context;
  const members = [...unsortedMembers].sort((a, b) => a - b);
  const size = members.length;
  const attackerClass = labels[members[0]];

  frontier.reset();
  for (const member of members) frontier.add(member);
  const outside = frontier.sortedOutsiders();
  const shell = outside.slice(0, Math.min(shellSizeFor(size, settings), outside.length));
  if (shell.length === 0) return undefined;
  const counts = new Int32Array(typicalNeighbourDistance.length);
  for (const j of shell) if (labels[j] < counts.length) counts[labels[j]]++;
  const enclosingClass = dominantForeignLabel(counts, attackerClass);
  if (enclosingClass < 0) return undefined;
  const shellPurity = counts[enclosingClass] / shell.length;

  const vertices = new Float32Array(size * dim);
  members.forEach((member, row) => vertices.set(features.subarray(member * dim, (member + 1) * dim), row * dim));
  const hull = new ConvexHull(vertices, size, dim);
  const { diameter, meanDistance: meanInnerDistance } = hull.vertexDistances();
  const scale = typicalNeighbourDistance[enclosingClass];
  const contaminationEps = settings.contaminationEps * scale;

  // Only points near some member can be near the hull in practice: the graph neighbourhood.
  const contaminants: number[] = [];
  for (const j of outside) {
    if (labels[j] === attackerClass) continue;
    if (hull.contains(features.subarray(j * dim, (j + 1) * dim), contaminationEps)) contaminants.push(j);
  }
  contaminants.sort((a, b) => a - b);

  let shellDistanceSum = 0;
  for (const j of shell) shellDistanceSum += hull.distanceToCentroid(features.subarray(j * dim, (j + 1) * dim));

  let agreeing = 0;
  for (const member of members) if (predictions[member] === attackerClass) agreeing++;

  return {
    members,
    attackerClass,
    enclosingClass,
    size,
    shellPurity,
    shell,
    contamination: contaminants.length,
    contaminants,
    contaminationEps,
    diameter,
    meanInnerDistance,
    shellDistance: shellDistanceSum / shell.length,
    // A class whose samples all coincide has scale 0; any spread is then as loose as it gets.
    tightness: scale > 0 ? meanInnerDistance / scale : meanInnerDistance > 0 ? Number.MAX_VALUE : 0,
    predictedAsAttacker: agreeing / size,
    seeds: context.seeds,
    disagreeing: 0,
  };
}

function tally(
  seeds: Seed[],
  candidates: PocketCandidate[],
  numClasses: number,
): { classes: ClassPocketStatistics[]; pairs: PairPocketStatistics[] } {
  const classes: ClassPocketStatistics[] = Array.from({ length: numClasses }, (_, classIndex) => ({
    classIndex, seeds: 0, candidates: 0,
  }));
  const pairs = new Map<number, PairPocketStatistics>();
  const pair = (attackerClass: number, enclosingClass: number): PairPocketStatistics => {
    const key = attackerClass * numClasses + enclosingClass;
    let entry = pairs.get(key);
    if (!entry) {
      entry = { attackerClass, enclosingClass, seeds: 0, candidates: 0, members: 0 };
      pairs.set(key, entry);
    }
    return entry;
  };
  for (const seed of seeds) {
    classes[seed.attackerClass].seeds++;
    pair(seed.attackerClass, seed.enclosingClass).seeds++;
  }
  for (const candidate of candidates) {
    classes[candidate.attackerClass].candidates++;
    const entry = pair(candidate.attackerClass, candidate.enclosingClass);
    entry.candidates++;
    entry.members += candidate.size;
  }
  const orderedPairs = [...pairs.entries()].sort((a, b) => a[0] - b[0]).map(([, entry]) => entry);
  return { classes, pairs: orderedPairs };
}

/**
 * A group under construction and the points around it: every non-member in a member's
 * neighbour list, with its graph distance to the nearest such member. Marks are generation
 * stamps over all `n` samples, so resetting between groups costs nothing.
 */
class GroupFrontier {
  readonly members: number[] = [];
  private readonly graph: NeighbourGraph;
  private readonly memberMark: Int32Array;
  private readonly seenMark: Int32Array;
  private readonly distanceToGroup: Float64Array;
  private seen: number[] = [];
  /** Starts above the marks' initial 0, so a new frontier is empty before any reset. */
  private generation = 1;
  /** What the last undoable `add` changed: the neighbours it first saw, and lowered distances. */
  private undo: { member: number; seenBefore: number; lowered: number[]; previous: number[] } | undefined;

  constructor(graph: NeighbourGraph) {
    this.graph = graph;
    this.memberMark = new Int32Array(graph.n);
    this.seenMark = new Int32Array(graph.n);
    this.distanceToGroup = new Float64Array(graph.n);
  }

  get size(): number {
    return this.members.length;
  }

  reset(): void {
    this.generation++;
    this.members.length = 0;
    this.seen = [];
    this.undo = undefined;
  }

  add(member: number, undoable = false): void {
    const { indices, distances } = neighbourRow(this.graph, member);
    const lowered: number[] = [];
    const previous: number[] = [];
    const seenBefore = this.seen.length;
    this.memberMark[member] = this.generation;
    this.members.push(member);
    for (let c = 0; c < indices.length; c++) {
      const j = indices[c];
      const distance = distances[c];
      if (this.seenMark[j] !== this.generation) {
        this.seenMark[j] = this.generation;
        this.distanceToGroup[j] = distance;
        this.seen.push(j);
      } else if (distance < this.distanceToGroup[j]) {
        if (undoable) {
          lowered.push(j);
          previous.push(this.distanceToGroup[j]);
        }
        this.distanceToGroup[j] = distance;
      }
    }
    this.undo = undoable ? { member, seenBefore, lowered, previous } : undefined;
  }

  undoLastAdd(): void {
    const undo = this.undo;
    if (!undo) throw new Error('GroupFrontier.undoLastAdd: the last add was not undoable.');
    this.members.pop();
    this.memberMark[undo.member] = 0;
    for (let c = this.seen.length - 1; c >= undo.seenBefore; c--) this.seenMark[this.seen[c]] = 0;
    this.seen.length = undo.seenBefore;
    undo.lowered.forEach((j, c) => { this.distanceToGroup[j] = undo.previous[c]; });
    this.undo = undefined;
  }

  /** Non-members near the group, nearest first (ties by index, for determinism). */
  sortedOutsiders(): number[] {
    const outside = this.seen.filter((j) => this.memberMark[j] !== this.generation);
    const distance = this.distanceToGroup;
    return outside.sort((a, b) => distance[a] - distance[b] || a - b);
  }
}

/** Disjoint sets over sample indices, with path halving and union by size. */
class UnionFind {
  private readonly parent: Int32Array;
  private readonly setSize: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.setSize = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(i: number): number {
    let node = i;
    while (this.parent[node] !== node) {
      this.parent[node] = this.parent[this.parent[node]];
      node = this.parent[node];
    }
    return node;
  }

  join(a: number, b: number): void {
    let rootA = this.find(a);
    let rootB = this.find(b);
    if (rootA === rootB) return;
    if (this.setSize[rootA] < this.setSize[rootB]) [rootA, rootB] = [rootB, rootA];
    this.parent[rootB] = rootA;
    this.setSize[rootA] += this.setSize[rootB];
  }
}
