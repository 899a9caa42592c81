/**
 * Neighbour lists past the graph's K for the few samples that need them: the per-group
 * neighbour expansion that keeps the pocket search independent of `--neighbours`.
 *
 * A sample inside a planted group of 40 near-duplicate copies has the other copies as its
 * nearest neighbours: with K = 40 its whole list is its own group, nothing in the graph says
 * what surrounds the group, and the attacker would evade the scan by adding copies. The
 * search finds such groups as closed components of mutual neighbours (pockets.ts,
 * `closedGroups`); their members get lists long enough to hold the largest group the search
 * considers and its shell. Samples deep inside their own class are not extended: they are not
 * in a pocket, and their lists would cost memory for nothing.
 *
 * The float32 ranking only *selects* neighbours, by the same blocked products and running
 * selection as the graph (knn.ts, `rankCandidates`): the kept distances are recomputed in
 * float64 from centred features and each row re-sorted.
 */
import { centreRows, exactRow, rankCandidates, rankingRows, type NeighbourGraph, type NeighbourRow } from '../features/knn.js';
import { closedGroups, DEFAULT_CANDIDATE_SETTINGS, samplesWithUnfinishedRuns, type CandidateSettings } from './pockets.js';

/**
 * The graph with extended rows for the members of every closed group of up to
 * `maxGroupSize` samples: long enough for the largest group, its shell and its members' own
 * checks. Run before the pocket search; a graph without such groups comes back unchanged.
 */
export async function extendGraphPastGroups(
  features: Float32Array,
  dim: number,
  labels: Int32Array,
  graph: NeighbourGraph,
  overrides: Partial<CandidateSettings> = {},
  signal?: AbortSignal,
): Promise<NeighbourGraph> {
  const settings = { ...DEFAULT_CANDIDATE_SETTINGS, ...overrides };
  const unfinished = samplesWithUnfinishedRuns(labels, graph, settings);
  const members = closedGroups(labels, graph, unfinished, settings.maxGroupSize).flat();
  if (members.length === 0) return graph;
  const length = settings.maxGroupSize + settings.maxShellSize + settings.memberCheckNeighbours;
  const extended = await extendNeighbourRows(features, graph.n, dim, members, length, signal);
  return { ...graph, extended };
}

/**
 * The `length` nearest neighbours (the sample itself excluded) of each of `samples`, over all
 * `n` rows of `features` (`n × dim`, the normalised features the graph was built on).
 */
export async function extendNeighbourRows(
  features: Float32Array,
  n: number,
  dim: number,
  samples: readonly number[],
  length: number,
  signal?: AbortSignal,
): Promise<Map<number, NeighbourRow>> {
  const rows = new Map<number, NeighbourRow>();
  const kept = Math.min(length, n - 1);
  if (samples.length === 0 || kept < 1) return rows;
  const centred = centreRows(features, n, dim);
  const { queryRows, referenceRows } = rankingRows(centred, n, dim, samples);
  const fetched = Math.min(n, kept + 1);
  const rowDistances = new Float64Array(fetched);
  const rowIndices = new Int32Array(fetched);
  await rankCandidates(queryRows, samples.length, referenceRows, n, dim + 1, fetched, (start, count, top) => {
    for (let r = 0; r < count; r++) {
      const i = samples[start + r];
      const filled = exactRow(centred, dim, i, top.row(r), kept, rowIndices, rowDistances);
      rows.set(i, { indices: rowIndices.slice(0, filled), distances: Float32Array.from(rowDistances.subarray(0, filled)) });
    }
  }, { signal });
  return rows;
}
