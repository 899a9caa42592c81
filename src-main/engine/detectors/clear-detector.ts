/**
 * CLEAR behind the common detector interface (detectors/types.ts). A shared neighbour graph
 * must have been built on L2-normalised features (the scan's default normalisation).
 */
import type { Dataset } from '../data/dataset.js';
import type { LoadedModel } from '../model/io.js';
import { scanModel, type ScanPreparation } from '../clear/scan.js';
import { normaliseFeatures } from '../features/knn.js';
import type { ScanResult } from '../clear/types.js';
import type { Correction, HullGroup } from '../clear/finetune.js';
import type { Detector, DetectorInput, DetectorResult, Mitigation } from './types.js';

export const clearDetector: Detector = {
  name: 'clear',
  label: 'CLEAR (pocket hulls)',
  async detect(input: DetectorInput, ctx = {}): Promise<DetectorResult> {
    const start = performance.now();
    const loaded = { model: input.model, dir: '(in memory)', metadata: {}, fingerprint: 'in-memory', inputShape: input.dataset.shape, numClasses: input.dataset.classNames.length } as LoadedModel;
    const preparation: ScanPreparation | undefined = input.graph
      ? { parts: input.parts, embedding: input.embedding, normalised: normaliseFeatures(input.embedding.features, input.embedding.n, input.embedding.dim, 'l2'), graph: input.graph, timings: { embed: 0, neighbours: 0 } }
      : undefined;
    const reference = input.reference ? { name: 'benchmark reference set', split: input.reference } : undefined;
    const scan = await scanModel(loaded, input.dataset as Dataset, { ...(input.falseAlarm !== undefined ? { falseAlarm: input.falseAlarm } : {}), seed: input.seed ?? 0 }, { ...ctx, preparation, ...(reference ? { reference } : {}) });
    return fromScan(scan, input.dataset.train.count, (performance.now() - start) / 1000);
  },
  mitigation(result): Mitigation {
    const labels = (result.info.relabel as [number, number][]) ?? [];
    const hulls = result.info.hulls as Correction['hulls'] | undefined;
    return { kind: 'relabel', labels: labels.map(([index, label]) => ({ index, label })), ...(hulls ? { hulls } : {}) };
  },
  report(result): string {
    return String(result.info.summary ?? '');
  },
};

export function fromScan(scan: ScanResult, trainCount: number, seconds: number): DetectorResult {
  const scores = new Float32Array(trainCount);
  const relabel: [number, number][] = [];
  const groups: HullGroup[] = [];
  for (const p of scan.pockets) {
    const s = 1 - p.pValue;
    for (const m of p.members) scores[m] = Math.max(scores[m], s);
    if (p.confirmed || p.attempt) {
      for (const m of p.members) relabel.push([m, p.enclosingClass]);
      groups.push({ members: p.members, label: p.enclosingClass });
    }
  }
  // The repair the product runs (clear/repair.ts): relabel, fine-tune, then close these hulls.
  const hulls: Correction['hulls'] = { featureLayer: scan.settings.featureLayer, groups };
  return {
    detector: 'clear',
    flagged: scan.verdict.suspected,
    attempt: scan.verdict.attempt,
    flaggedSamples: relabel.map(([i]) => i),
    sampleScores: scores,
    summary: -Math.log10(Math.max(scan.verdict.pValue, 1e-300)),
    info: {
      summary: `${scan.verdict.headline}: ${scan.verdict.summary}`, pValue: scan.verdict.pValue, attemptPValue: scan.verdict.attemptPValue,
      pockets: scan.pockets.filter((p) => p.confirmed).length, attempts: scan.pockets.filter((p) => p.attempt).length,
      relabel, hulls, falseAlarm: scan.verdict.falseAlarm,
    },
    seconds,
  };
}
