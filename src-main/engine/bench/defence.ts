/**
 * The defence benchmark (README, "The benchmarks"). One attack trial: draw a target from the
 * test split (apart from the reference set), train a clean feature extractor of its own when
 * the scenario or the attack needs one, craft the poisons, train the victim on the poisoned
 * set and, with the same seed, a counterfactual victim on the same data without the poisons;
 * the attack *succeeded* only where the clean victim classifies the target correctly and the
 * poisoned one predicts the attacker's class. Every defence runs on the poisoned victim; every
 * attempt is reported, successful or not. Clean trials train their own model (feature
 * extractor included) and measure false alarms.
 *
 * Verdicts: CLEAR gives its own (it calibrates against each model's natural pockets). The
 * baselines' papers give none, so each baseline is judged by one rule family: its model-level
 * score above a threshold calibrated on clean models that are never scored — the counterfactual
 * clean victims of the attack trials in the same scenario ({@link calibrate}).
 *
 * Repair, in successful attack trials where the defence's counted verdict flagged the model, is
 * each defence's own: CLEAR relabels its pockets' members and fine-tunes (clear/finetune.ts),
 * in the trial; a baseline removes what it found and retrains (the head on the frozen extractor
 * in transfer, the whole model from scratch end to end), after all trials, once the calibrated
 * thresholds are known ({@link repairFlagged}).
 *
 * With `cleanSeeds` R, each successful attack also gets R further clean victims with other
 * seeds ({@link checkCleanSeeds}), after all trials, and detection is reported apart for the
 * attacks whose target they all classify correctly (the attack holds across seeds) and the
 * others, whose "success" owes something to the counterfactual's seed.
 *
 * Conventions: `precision` is |found ∩ poisons| / |found| and is 0 when nothing was found;
 * `recall` is |found ∩ poisons| / |poisons|. Both are null in clean trials (no poisons).
 * `scanSeconds` = the shared embedding + neighbour graph (built once per model at the largest
 * K any defence needs, as a deployment of any one defence would also pay) + the defence's own
 * detect time.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { BENCH_SCHEMA } from '../../contract/results.js';
import { cloneModel, trainVictim } from '../attacks/index.js';
import { PUBLISHED_SETTINGS } from '../attacks/presets.js';
import { backendInfo, backendName } from '../backend/index.js';
import { fineTune } from '../clear/finetune.js';
import { prepareScan } from '../clear/scan.js';
import { selectSamples, type Dataset } from '../data/dataset.js';
import type { DetectorInput } from '../detectors/types.js';
import { evaluateSplit } from '../model/train.js';
import { throwIfCancelled, type JobContext } from '../progress.js';
import { benchPlan, isClearVariant, resolveDefences, splitTestForBench, trialSeedOf } from './plan.js';
import { applyVerdicts, benchMarkdown, calibrate, compareDefences, falseAlarmLevels, rocPlots, summarise, summariseCases, summariseSeedChecks } from './summary.js';
import { checkCleanSeeds, neighboursFor, precisionRecall, repairFlagged, setupTrial, truncateGraph } from './trial.js';
import { type AttackSettingsReport, type BenchCase, type BenchOptions, type BenchResult, CALIBRATION_LEVEL, type CleanGroup, type DefenceRecord, type TrialRecord } from './types.js';

export * from './types.js';
export * from './plan.js';
export * from './trial.js';
export * from './summary.js';

export async function benchDefences(ds: Dataset, options: BenchOptions = {}, ctx: JobContext = {}): Promise<BenchResult> {
  const started = performance.now();
  const { full, attacks, cases, trials, cleanTrials, scenarios, cleanGroups, cleanKey } = benchPlan(options);
  const referenceSize = options.reference ?? 0;
  const defences = resolveDefences(options.defences, referenceSize);
  const seed = options.seed ?? 0;
  const roles = splitTestForBench(ds.test, referenceSize, seed);
  const referenceSplit = roles.reference.length ? selectSamples(ds.test, ds.shape, roles.reference) : undefined;
  const wanted = defences.map((d) => d.name);
  const calibrated = wanted.filter((n) => !isClearVariant(n) && n !== 'none');
  const seedKey = (benchCase: BenchCase | null, group: CleanGroup) => benchCase?.id ?? cleanKey(group);
  const reusable = (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number): TrialRecord | undefined =>
    options.previous?.find((r) => r.kind === kind && r.case === (benchCase?.id ?? null) && r.scenario === group.scenario && r.arch === group.arch
      && r.trial === t && r.seed === trialSeedOf(seed, kind, seedKey(benchCase, group), t) && wanted.every((n) => r.defences.some((d) => d.defence === n))
      && calibrated.every((n) => kind === 'clean' || n in r.calibrationScores));

  const totalUnits = cases.length * trials + cleanGroups.length * cleanTrials;
  let doneUnits = 0;
  let reusedUnits = 0;
  const progress = (message: string) => {
    const elapsed = (performance.now() - started) / 1000;
    const ran = doneUnits - reusedUnits;
    const eta = ran ? (elapsed / ran) * (totalUnits - doneUnits) : NaN;
    ctx.onProgress?.({
      stage: 'bench', fraction: doneUnits / totalUnits, message,
      metrics: { done: doneUnits, total: totalUnits, elapsedSeconds: elapsed, ...(Number.isFinite(eta) ? { etaSeconds: eta } : {}) },
    });
  };
  /** The steps after the trials report as stages of their own, each from 0 to 100%. */
  const afterTrials = (stage: string, message: string) => (i: number, n: number) =>
    ctx.onProgress?.({ stage, fraction: i / n, message: `${message}: trial ${i + 1} of ${n}` });
  const inner: JobContext = { signal: ctx.signal };

  /** Scores the baselines on a model nobody else scores (a counterfactual clean victim). */
  const calibrationScores = async (model: tfl.LayersModel, data: Dataset, trialSeed: number): Promise<Record<string, number>> => {
    const scores: Record<string, number> = {};
    const runs = defences.filter((d) => calibrated.includes(d.name));
    if (!runs.length) return scores;
    const k = Math.max(1, ...runs.map((d) => neighboursFor(d.name, data.train.count)));
    const prep = await prepareScan({ model, metadata: {} }, data, { neighbours: k, normalisation: 'l2' }, inner);
    for (const d of runs) {
      const r = await d.detect({
        model, parts: prep.parts, dataset: data, embedding: prep.embedding, graph: prep.graph, seed: trialSeed,
        ...(referenceSplit ? { reference: referenceSplit } : {}),
      }, inner);
      scores[d.name] = Number.isFinite(r.summary) ? r.summary : 0;
    }
    return scores;
  };

  const runTrial = async (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number): Promise<TrialRecord> => {
    throwIfCancelled(ctx.signal);
    const { scenario, arch: victimArch } = group;
    const trialSeed = trialSeedOf(seed, kind, seedKey(benchCase, group), t);
    const attack = benchCase?.attack ?? null;
    const record: TrialRecord = {
      kind, case: benchCase?.id ?? null, attack, variant: benchCase?.variant ?? null, scenario, arch: victimArch, trial: t, seed: trialSeed,
      targetIndex: null, targetClass: null, attackerClass: null, targets: [], poisonIndices: [], baseIndices: [], attackSettings: null,
      cleanVictimCorrect: null, targetFlipped: false, attackSucceeded: false, targetBefore: null, cleanAccBefore: 0, cleanVictimAcc: null,
      calibrationScores: {}, featureChecksum: null, trainSeconds: 0, cleanVictimSeconds: 0, featureSeconds: 0, craftSeconds: 0, prepareSeconds: 0, defences: [],
    };
    const disposers: (() => void)[] = [];
    try {
      const setup = await setupTrial(ds, { seed, arch: victimArch, pool: roles.pool, epsilon: options.epsilon, cleanEpochs: options.cleanEpochs }, benchCase, scenario, trialSeed, t, inner);
      const { feature, data, manifests } = setup;
      if (feature) disposers.push(() => feature.model.dispose());
      Object.assign(record, { featureSeconds: setup.featureSeconds, featureChecksum: setup.featureChecksum, craftSeconds: setup.craftSeconds });
      if (manifests.length) {
        const m0 = manifests[0];
        Object.assign(record, {
          targetIndex: m0.targetIndex, targetClass: m0.targetClass, attackerClass: m0.attackerClass,
          poisonIndices: manifests.flatMap((m) => m.poisonIndices), baseIndices: manifests.flatMap((m) => m.baseIndices ?? []),
          attackSettings: m0.settings,
        });
      }
      const targetIdx = manifests.map((m) => m.targetIndex);
      const exclude = [...roles.reference, ...targetIdx];
      const victimOptions = {
        arch: victimArch, seed: trialSeed, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        ...(feature ? { frozenFeatureModel: feature } : {}),
      };
      const train = (trainData: Dataset) => trainVictim(trainData, scenario, victimOptions, inner);
      /** Accuracy on the accuracy split, and the targets' predictions, from one pass over the test split. */
      const evaluate = async (model: tfl.LayersModel) => {
        const e = await evaluateSplit(model, ds.test, ds.shape, ds.classNames, { signal: ctx.signal, exclude });
        return { accuracy: e.accuracy, targets: targetIdx.map((i) => e.predicted[i]) };
      };

      const t1 = performance.now();
      const victim = await train(data);
      disposers.push(() => victim.model.dispose());
      record.trainSeconds = (performance.now() - t1) / 1000;
      const before = await evaluate(victim.model);
      record.cleanAccBefore = before.accuracy;

      if (manifests.length) {
        // The counterfactual: the same training without the poisons, same seed.
        const tc = performance.now();
        const cleanVictim = await train(ds);
        record.cleanVictimSeconds = (performance.now() - tc) / 1000;
        try {
          const cleanEval = await evaluate(cleanVictim.model);
          record.cleanVictimAcc = cleanEval.accuracy;
          record.targets = manifests.map((m, j) => ({
            targetIndex: m.targetIndex, targetClass: m.targetClass, cleanPredicted: cleanEval.targets[j], poisonedPredicted: before.targets[j],
          }));
          record.cleanVictimCorrect = record.targets.every((x) => x.cleanPredicted === x.targetClass);
          record.targetFlipped = record.targets.every((x) => x.poisonedPredicted === record.attackerClass);
          record.attackSucceeded = record.cleanVictimCorrect && record.targetFlipped;
          record.targetBefore = before.targets[0];
          record.calibrationScores = await calibrationScores(cleanVictim.model, ds, trialSeed);
        } finally {
          cleanVictim.model.dispose();
        }
      }

      const n = data.train.count;
      const k = Math.max(1, ...defences.map((d) => neighboursFor(d.name, n)));
      const tp = performance.now();
      const prep = await prepareScan({ model: victim.model, metadata: {} }, data, { neighbours: k, normalisation: 'l2' }, inner);
      record.prepareSeconds = (performance.now() - tp) / 1000;
      for (const d of defences) {
        throwIfCancelled(ctx.signal);
        const td = performance.now();
        const need = neighboursFor(d.name, n);
        const givenReference = Boolean(referenceSplit) && d.name !== 'clear';
        const input: DetectorInput = {
          model: victim.model, parts: prep.parts, dataset: data, embedding: prep.embedding, seed: trialSeed,
          ...(need > 0 ? { graph: truncateGraph(prep.graph, need) } : {}),
          ...(givenReference ? { reference: referenceSplit } : {}),
        };
        const r = await d.detect(input, inner);
        const scanSeconds = record.prepareSeconds + (performance.now() - td) / 1000;
        const found = [...r.flaggedSamples];
        const m = d.mitigation(r);
        const kindOfRepair: DefenceRecord['mitigation'] = d.name === 'none' ? 'none' : m.kind === 'relabel' ? 'relabel-finetune' : 'remove-retrain';
        let targetAfter = record.targetBefore;
        let otherTargetsAfter = before.targets.slice(1);
        let cleanAccAfter = record.cleanAccBefore;
        let repairSeconds = 0;
        let repaired = false;
        const hasWork = m.kind === 'relabel' ? m.labels.length > 0 : m.indices.length > 0;
        // Repairs matter only where the attack succeeded and the counted verdict flagged. A
        // defence judged by its own verdict repairs now; a calibrated one (remove, then retrain)
        // once the run's thresholds are known ({@link repairFlagged}).
        if (record.attackSucceeded && hasWork && m.kind === 'relabel' && r.flagged && !calibrated.includes(d.name)) {
          const tr = performance.now();
          const repairedModel = await cloneModel(victim.model);
          try {
            await fineTune(repairedModel, data, { relabel: new Map(m.labels.map((l) => [l.index, l.label] as [number, number])), ...(m.hulls ? { hulls: m.hulls } : {}) }, { seed: trialSeed, ...options.fineTune }, inner);
            repairSeconds = (performance.now() - tr) / 1000;
            repaired = true;
            const after = await evaluate(repairedModel);
            cleanAccAfter = after.accuracy;
            targetAfter = after.targets[0];
            otherTargetsAfter = after.targets.slice(1);
          } finally { repairedModel.dispose(); }
        }
        const pr = precisionRecall(found, record.poisonIndices);
        record.defences.push({
          defence: d.name, flagged: r.flagged, verdictRule: calibrated.includes(d.name) ? 'calibrated' : 'own', ownFlagged: r.flagged,
          attempt: typeof r.attempt === 'boolean' ? r.attempt : null,
          found, precision: pr.precision, recall: pr.recall,
          targetBefore: record.targetBefore, targetAfter, otherTargetsAfter, cleanAccBefore: record.cleanAccBefore, cleanAccAfter,
          scanSeconds, repairSeconds, trainSeconds: record.trainSeconds, repaired,
          mitigation: kindOfRepair, summaryScore: Number.isFinite(r.summary) ? r.summary : 0,
          falseAlarm: typeof r.info.falseAlarm === 'number' ? r.info.falseAlarm : null,
          reference: givenReference,
        });
      }
    } finally {
      // The split models share their model's layers: disposing the model frees them all.
      for (const dispose of disposers.reverse()) dispose();
    }
    doneUnits++;
    return record;
  };

  const records: TrialRecord[] = [];
  const step = async (kind: 'attack' | 'clean', benchCase: BenchCase | null, group: CleanGroup, t: number, label: string) => {
    const earlier = reusable(kind, benchCase, group, t);
    if (earlier) {
      // Only the defences asked for now, in the order asked for.
      records.push({ ...earlier, defences: wanted.map((n) => earlier.defences.find((d) => d.defence === n)!) });
      doneUnits++;
      reusedUnits++;
      progress(`${label} (from the checkpoint)`);
      return;
    }
    progress(label);
    const record = await runTrial(kind, benchCase, group, t);
    records.push(record);
    options.onTrial?.(record);
  };
  for (const c of cases) {
    for (let t = 0; t < trials; t++) await step('attack', c, { scenario: c.scenario, arch: c.arch }, t, `${c.id}: trial ${t + 1} of ${trials}`);
  }
  for (const g of cleanGroups) {
    for (let t = 0; t < cleanTrials; t++) await step('clean', null, g, t, `clean (${g.scenario}, ${g.arch}): trial ${t + 1} of ${cleanTrials}`);
  }
  progress('done');

  const calibration = calibrate(records, cleanGroups, calibrated);
  applyVerdicts(records, calibration);

  await repairFlagged(ds, records, {
    cases, seed, pool: roles.pool, reference: roles.reference, epsilon: options.epsilon, epochs: options.epochs, cleanEpochs: options.cleanEpochs,
    onTrial: options.onTrial, onRepair: afterTrials('bench-repair', "repairing with the flagging defences' own mitigation"),
  }, inner);
  if (options.cleanSeeds) {
    await checkCleanSeeds(ds, records, {
      seeds: options.cleanSeeds, seed, pool: roles.pool, epochs: options.epochs, cleanEpochs: options.cleanEpochs,
      onTrial: options.onTrial, onCheck: afterTrials('bench-seeds', 'further clean victims (other seeds) of the successful attacks'),
    }, inner);
  }
  const summary = summarise(records, cases, wanted);
  const seedChecks = summariseSeedChecks(records, cases, wanted);
  const caseSummaries = summariseCases(records, cases);
  const comparisons = compareDefences(records, cases, wanted);
  const rocs = rocPlots(records, cases, wanted);
  const levels = falseAlarmLevels(records, wanted);
  const attackSettings: AttackSettingsReport[] = cases.map((c) => ({
    case: c.id, attack: c.attack, variant: c.variant,
    used: records.find((r) => r.case === c.id)?.attackSettings ?? null,
    published: PUBLISHED_SETTINGS[c.attack],
  }));
  const info = backendInfo();
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    argv: options.argv ?? [],
    backend: { name: backendName(), threads: info?.threads ?? 1 },
    dataset: {
      spec: ds.spec, name: ds.name, fingerprint: ds.fingerprint, trainCount: ds.train.count, testCount: ds.test.count,
      ...(options.data?.limit !== undefined ? { limit: options.data.limit } : {}),
      ...(options.data?.dataSeed !== undefined ? { dataSeed: options.data.dataSeed } : {}),
    },
    settings: {
      attacks, cases, defences: wanted, trials, cleanTrials, seed, scenarios,
      archs: { e2e: [...new Set(cases.filter((c) => c.scenario === 'e2e').map((c) => c.arch))], transfer: [...new Set(cases.filter((c) => c.scenario === 'transfer').map((c) => c.arch))] },
      poisons: Object.fromEntries(cases.map((c) => [c.id, c.poisons])),
      ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.cleanEpochs !== undefined ? { cleanEpochs: options.cleanEpochs } : {}),
      ...(options.cleanSeeds ? { cleanSeeds: options.cleanSeeds } : {}),
      full, variants: options.variants ?? [],
      reference: { size: roles.reference.length, indices: roles.reference },
      verdictRules: Object.fromEntries(wanted.map((n) => [n, calibrated.includes(n) ? 'calibrated' : 'own'])),
      calibrationLevel: CALIBRATION_LEVEL,
    },
    attackSettings,
    cases: caseSummaries,
    calibration,
    trials: records,
    summary,
    comparisons,
    rocs,
    levels,
    ...(seedChecks.length ? { seedChecks } : {}),
    markdown: benchMarkdown({ cases: caseSummaries, summary, comparisons, calibration, attackSettings, levels, seedChecks }),
    seconds: (performance.now() - started) / 1000,
  };
}
