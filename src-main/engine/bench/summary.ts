/** From trial records to rates, intervals, calibrated verdicts, comparisons, ROC curves and Markdown. */
import { mcnemarExact, rateOf, rocArea, rocCurve, type Rate } from './stats.js';
import { isClearVariant } from './plan.js';
import { type AttackSettingsReport, type BenchCase, CALIBRATION_LEVEL, type Calibration, type CaseSummary, type CleanGroup, type Comparison, type DefenceRecord, type FalseAlarmLevel, type RocPlot, type SeedCheckRow, type SummaryRow, type TrialRecord } from './types.js';

export function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/**
 * Thresholds for the calibrated verdicts: per scenario and defence, the scores of the
 * counterfactual clean victims (clean models no rate is computed on). With n scores sorted
 * ascending, the threshold is the k-th, k = min(n, ⌈(1 − level)(n + 1)⌉), and a model is
 * flagged when its score is above it: for exchangeable clean scores that flags a new clean
 * model with probability (n + 1 − k) / (n + 1), which is ≤ level once n ≥ 1 / level − 1 (with
 * fewer models, the threshold is their largest score and the attained level is reported).
 */
export function calibrate(records: TrialRecord[], groups: CleanGroup[], defences: string[], level = CALIBRATION_LEVEL): Calibration[] {
  const out: Calibration[] = [];
  for (const { scenario, arch } of groups) {
    for (const defence of defences) {
      const scores = records.filter((r) => r.kind === 'attack' && r.scenario === scenario && r.arch === arch && defence in r.calibrationScores)
        .map((r) => r.calibrationScores[defence]).sort((a, b) => a - b);
      const n = scores.length;
      const k = Math.min(n, Math.ceil((1 - level) * (n + 1)));
      out.push({ scenario, arch, defence, models: n, threshold: n ? scores[k - 1] : null, level, attainedLevel: n ? (n + 1 - k) / (n + 1) : null });
    }
  }
  return out;
}

/** Sets every record's counted verdict: own for CLEAR and `none`, calibrated for the baselines. */
export function applyVerdicts(records: TrialRecord[], calibration: Calibration[]): void {
  for (const r of records) {
    for (const d of r.defences) {
      if (d.verdictRule !== 'calibrated') { d.flagged = d.ownFlagged; continue; }
      const c = calibration.find((x) => x.scenario === r.scenario && x.arch === r.arch && x.defence === d.defence);
      d.flagged = c?.threshold !== null && c?.threshold !== undefined && d.summaryScore > c.threshold;
    }
  }
}

/** Area under the ROC curve of `positive` against `negative` scores (Mann–Whitney, ties half). */
export function rocAuc(positive: number[], negative: number[]): number | null {
  if (!positive.length || !negative.length) return null;
  let wins = 0;
  for (const p of positive) for (const n of negative) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positive.length * negative.length);
}

export const count = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length;

/** The attack still works after this defence's repair (it counts only where the defence flagged). */
export function stillSucceeds(r: TrialRecord, d: DefenceRecord): boolean {
  if (!d.flagged || !d.repaired) return true;
  return d.targetAfter === r.attackerClass && d.otherTargetsAfter.every((p) => p === r.attackerClass);
}

export function defenceOf(r: TrialRecord, defence: string): DefenceRecord | undefined {
  return r.defences.find((x) => x.defence === defence);
}

export function summariseCases(records: TrialRecord[], cases: BenchCase[]): CaseSummary[] {
  return cases.map((c) => {
    const rs = records.filter((r) => r.kind === 'attack' && r.case === c.id);
    return {
      case: c.id, attack: c.attack, variant: c.variant, scenario: c.scenario, arch: c.arch, poisons: c.poisons,
      attempts: rs.length,
      success: rateOf(count(rs, (r) => r.attackSucceeded), rs.length),
      cleanVictimWrong: count(rs, (r) => r.cleanVictimCorrect === false),
      flippedNotCounted: count(rs, (r) => r.targetFlipped && !r.attackSucceeded),
      meanCleanVictimAcc: mean(rs.map((r) => r.cleanVictimAcc).filter((v): v is number => v !== null)),
      meanPoisonedAcc: mean(rs.map((r) => r.cleanAccBefore)),
    };
  });
}

export function summarise(records: TrialRecord[], cases: BenchCase[], defences: string[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const c of cases) {
    const trials = records.filter((r) => r.kind === 'attack' && r.case === c.id);
    const cleans = records.filter((r) => r.kind === 'clean' && r.scenario === c.scenario && r.arch === c.arch);
    for (const defence of defences) {
      const per = trials.map((r) => ({ r, d: defenceOf(r, defence)! })).filter((x) => x.d);
      const ok = per.filter((x) => x.r.attackSucceeded);
      const failed = per.filter((x) => !x.r.attackSucceeded);
      const flaggedOk = ok.filter((x) => x.d.flagged);
      const cleanPer = cleans.map((r) => defenceOf(r, defence)).filter((d): d is DefenceRecord => Boolean(d));
      const noticed = (d: DefenceRecord) => d.flagged || d.attempt === true;
      rows.push({
        case: c.id, attack: c.attack, scenario: c.scenario, arch: c.arch, defence,
        verdictRule: per[0]?.d.verdictRule ?? cleanPer[0]?.verdictRule ?? 'own',
        attempts: per.length,
        successful: ok.length,
        detection: rateOf(flaggedOk.length, ok.length),
        noticedFailed: rateOf(count(failed, (x) => noticed(x.d)), failed.length),
        noticedAll: rateOf(count(per, (x) => noticed(x.d)), per.length),
        falseAlarms: rateOf(count(cleanPer, (d) => d.flagged), cleanPer.length),
        attemptAlarms: rateOf(count(cleanPer, (d) => !d.flagged && d.attempt === true), cleanPer.length),
        successAfterRepair: rateOf(count(ok, (x) => stillSucceeds(x.r, x.d)), ok.length),
        scoreAuc: rocAuc(ok.map((x) => x.d.summaryScore), cleanPer.map((d) => d.summaryScore)),
        precisionFlagged: mean(flaggedOk.map((x) => x.d.precision ?? 0)),
        recallFlagged: mean(flaggedOk.map((x) => x.d.recall ?? 0)),
        precisionAll: mean(ok.map((x) => (x.d.flagged ? x.d.precision ?? 0 : 0))),
        recallAll: mean(ok.map((x) => (x.d.flagged ? x.d.recall ?? 0 : 0))),
        meanCleanAccDrop: mean(ok.map((x) => (x.d.flagged && x.d.repaired ? x.d.cleanAccBefore - x.d.cleanAccAfter : 0))),
        scanToTrain: mean(per.map((x) => x.d.scanSeconds / Math.max(x.d.trainSeconds, 1e-9))),
        repairToTrain: mean(ok.filter((x) => x.d.flagged).map((x) => x.d.repairSeconds / Math.max(x.d.trainSeconds, 1e-9))),
      });
    }
  }
  return rows;
}

/** Exact McNemar on detection of the successful attacks: each CLEAR variant against every other defence that can flag. */
export function compareDefences(records: TrialRecord[], cases: BenchCase[], defences: string[]): Comparison[] {
  const out: Comparison[] = [];
  for (const c of cases) {
    const ok = records.filter((r) => r.kind === 'attack' && r.case === c.id && r.attackSucceeded);
    for (const defence of defences.filter(isClearVariant)) {
      // Every other defence but `none` (which never flags), each pair of CLEAR variants once.
      for (const versus of defences.filter((n) => n !== defence && n !== 'none' && !(isClearVariant(n) && defences.indexOf(n) < defences.indexOf(defence)))) {
        const paired = ok.map((r) => [defenceOf(r, defence), defenceOf(r, versus)] as const).filter(([a, b]) => a && b);
        const test = mcnemarExact(paired.map(([a]) => a!.flagged), paired.map(([, b]) => b!.flagged));
        out.push({ case: c.id, scenario: c.scenario, arch: c.arch, defence, versus, trials: paired.length, defenceOnly: test.firstOnly, versusOnly: test.secondOnly, pValue: test.pValue });
      }
    }
  }
  return out;
}

/** Every further clean victim of a successful trial classifies every target correctly. */
export function holdsAcrossSeeds(r: TrialRecord): boolean {
  return (r.cleanSeedChecks ?? []).every((c) => c.predicted.every((p, j) => p === r.targets[j].targetClass));
}

/**
 * Detection split by whether each successful attack holds across seeds ({@link holdsAcrossSeeds}),
 * per case and defence; only cases whose every successful attack has further clean victims.
 */
export function summariseSeedChecks(records: TrialRecord[], cases: BenchCase[], defences: string[]): SeedCheckRow[] {
  const rows: SeedCheckRow[] = [];
  for (const c of cases) {
    const ok = records.filter((r) => r.kind === 'attack' && r.case === c.id && r.attackSucceeded);
    if (!ok.length || ok.some((r) => !r.cleanSeedChecks?.length)) continue;
    const seeds = Math.min(...ok.map((r) => r.cleanSeedChecks!.length));
    const holding = ok.filter(holdsAcrossSeeds);
    const notHolding = ok.filter((r) => !holdsAcrossSeeds(r));
    const detected = (rs: TrialRecord[], defence: string) => count(rs, (r) => defenceOf(r, defence)?.flagged === true);
    for (const defence of defences.filter((d) => d !== 'none')) {
      rows.push({
        case: c.id, defence, seeds, successful: ok.length, holding: holding.length,
        detectionHolding: rateOf(detected(holding, defence), holding.length),
        detectionNotHolding: rateOf(detected(notHolding, defence), notHolding.length),
      });
    }
  }
  return rows;
}

export function seedChecksMarkdown(rows: SeedCheckRow[]): string {
  return [
    '### Successful attacks that hold across seeds', '',
    'Each successful attack\'s target classified by further clean victims (other seeds, the same data without the poisons). An attack *holds* when they all classify it correctly too; one that does not moved a target clean training itself does not reliably get right.', '',
    table(['case', 'defence', 'further clean victims per attack', 'successful attacks', 'hold across seeds', 'detection (holding)', 'detection (not holding)'],
      rows.map((r) => [r.case, r.defence, `${r.seeds}`, `${r.successful}`, `${r.holding}`, rate(r.detectionHolding), rate(r.detectionNotHolding)])),
  ].join('\n');
}

/** The levels CLEAR's false alarms are shown at. */
export const FALSE_ALARM_LEVELS = [0.01, 0.05] as const;

/**
 * CLEAR's false alarms on the clean models at each level of FALSE_ALARM_LEVELS, per clean group
 * (scenario and victim) and, with more than one group, over all of them: a model counts when
 * its smallest p-value is at most the level (FalseAlarmLevel).
 */
export function falseAlarmLevels(records: TrialRecord[], defences: string[]): FalseAlarmLevel[] {
  const cleans = records.filter((r) => r.kind === 'clean');
  const groups = [...new Map(cleans.map((r) => [`${r.scenario}/${r.arch}`, { scenario: r.scenario, arch: r.arch }])).values()];
  const scopes: { scenario: FalseAlarmLevel['scenario']; arch: string; models: TrialRecord[] }[] = groups.map((g) => ({
    ...g, models: cleans.filter((r) => r.scenario === g.scenario && r.arch === g.arch),
  }));
  if (groups.length > 1) scopes.push({ scenario: 'all', arch: [...new Set(groups.map((g) => g.arch))].join(', '), models: cleans });
  const out: FalseAlarmLevel[] = [];
  for (const defence of defences.filter(isClearVariant)) {
    for (const scope of scopes) {
      const scores = scope.models.map((r) => defenceOf(r, defence)).filter((d): d is DefenceRecord => Boolean(d)).map((d) => d.summaryScore);
      for (const level of FALSE_ALARM_LEVELS) {
        // summaryScore is −log10 p; a small tolerance keeps p exactly at the level counted.
        const k = scores.filter((x) => x >= -Math.log10(level) - 1e-9).length;
        out.push({ scenario: scope.scenario, arch: scope.arch, defence, level, falseAlarms: rateOf(k, scores.length) });
      }
    }
  }
  return out;
}

/** One ROC plot per case: every defence's summary score, successful attacks against the scenario's clean models. */
export function rocPlots(records: TrialRecord[], cases: BenchCase[], defences: string[]): RocPlot[] {
  return cases.map((c) => {
    const ok = records.filter((r) => r.kind === 'attack' && r.case === c.id && r.attackSucceeded);
    const cleans = records.filter((r) => r.kind === 'clean' && r.scenario === c.scenario && r.arch === c.arch);
    const scores = (rs: TrialRecord[], d: string) => rs.map((r) => defenceOf(r, d)).filter((x): x is DefenceRecord => Boolean(x)).map((x) => x.summaryScore);
    const series = defences.map((d) => {
      const points = rocCurve(scores(ok, d), scores(cleans, d));
      return { name: d, points, auc: rocArea(points) };
    });
    return { case: c.id, scenario: c.scenario, arch: c.arch, positives: ok.length, negatives: cleans.length, series };
  });
}

export const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(0)}%`);
export const pp = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)} pp`);
export const ratio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);
export const num = (v: number | null) => (v === null ? '–' : v.toFixed(2));
/** "40% (4/10; 12–74%)": the rate, its count and its exact 95% interval. */
export const rate = (r: Rate) => (r.n === 0 ? '– (0/0)' : `${pct(r.rate)} (${r.k}/${r.n}; ${pct(r.ci!.lower)}–${pct(r.ci!.upper)})`);
export const pValue = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));
export const settingText = (s: Record<string, unknown> | null) => (s === null ? '–' : Object.entries(s)
  .filter(([k]) => k !== 'finalLoss' && k !== 'coefficients')
  .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(3)) : String(v)}`).join(', '));

export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function summaryMarkdown(rows: SummaryRow[]): string {
  return table(
    ['case', 'defence', 'verdict', 'detection (successful attacks)', 'noticed (failed attempts)', 'false alarms (clean models)', 'attempts reported (clean models)', 'score AUC',
      'ASR after repair', 'precision / recall (flagged)', 'precision / recall (all successful)', 'clean-acc drop', 'scan / train', 'repair / train'],
    rows.map((r) => [
      `${r.case} (${r.scenario}, ${r.arch})`, r.defence, r.verdictRule, rate(r.detection), rate(r.noticedFailed), rate(r.falseAlarms), rate(r.attemptAlarms), num(r.scoreAuc),
      rate(r.successAfterRepair), `${num(r.precisionFlagged)} / ${num(r.recallFlagged)}`, `${num(r.precisionAll)} / ${num(r.recallAll)}`,
      pp(r.meanCleanAccDrop), ratio(r.scanToTrain), ratio(r.repairToTrain),
    ]),
  );
}

export function benchMarkdown(parts: {
  cases: CaseSummary[]; summary: SummaryRow[]; comparisons: Comparison[]; calibration: Calibration[]; attackSettings: AttackSettingsReport[];
  levels?: FalseAlarmLevel[]; seedChecks?: SeedCheckRow[];
}): string {
  const attempts = table(
    ['case', 'poisons per target', 'attempts', 'successes (clean victim right, poisoned victim says A)', 'clean victim wrong', 'flipped, not counted', 'accuracy clean / poisoned victim'],
    parts.cases.map((c) => [
      `${c.case} (${c.scenario}, ${c.arch})`, `${c.poisons}`, `${c.attempts}`, rate(c.success), `${c.cleanVictimWrong}`, `${c.flippedNotCounted}`,
      `${pct(c.meanCleanVictimAcc)} / ${pct(c.meanPoisonedAcc)}`,
    ]),
  );
  const settings = table(
    ['case', 'settings used', 'papers\' settings', 'source', 'departures'],
    parts.attackSettings.map((a) => [
      a.case, settingText(a.used), settingText(a.published.settings), a.published.source, a.published.departures.join('; ') || '–',
    ]),
  );
  const mcnemar = table(
    ['case', 'defence', 'versus', 'successful attacks', 'only defence flagged', 'only versus flagged', 'exact McNemar p'],
    parts.comparisons.map((c) => [`${c.case} (${c.scenario}, ${c.arch})`, c.defence, c.versus, `${c.trials}`, `${c.defenceOnly}`, `${c.versusOnly}`, pValue(c.pValue)]),
  );
  const calibration = table(
    ['scenario', 'victim', 'defence', 'clean models', 'threshold (flag above)', 'nominal level', 'attained level'],
    parts.calibration.map((c) => [c.scenario, c.arch, c.defence, `${c.models}`, num(c.threshold), pct(c.level), c.attainedLevel === null ? '–' : `${(c.attainedLevel * 100).toFixed(1)}%`]),
  );
  return [
    '### Attacks: attempts and counterfactual successes', '', attempts, '',
    '### Attack settings next to the papers\'', '', settings, '',
    '### Defences', '',
    'Rates are given as rate (count; exact 95% Clopper–Pearson interval). "Noticed" counts a flagged model or a reported poisoning attempt. Precision and recall (flagged): means over the successful attacks the defence flagged; (all successful): means over every successful attack, a model not flagged counting as nothing found.', '',
    summaryMarkdown(parts.summary), '',
    '### CLEAR against each defence (detection of the same successful attacks)', '', mcnemar, '',
    '### Calibrated verdicts (baselines): thresholds from the counterfactual clean victims', '', calibration,
    ...(parts.levels?.length ? ['', levelsMarkdown(parts.levels)] : []),
    ...(parts.seedChecks?.length ? ['', seedChecksMarkdown(parts.seedChecks)] : []),
  ].join('\n');
}

/** CLEAR's false alarms at 1% and 5%, one row per defence and clean group. */
export function levelsMarkdown(levels: FalseAlarmLevel[]): string {
  const rows = new Map<string, FalseAlarmLevel[]>();
  for (const l of levels) {
    const key = `${l.defence}|${l.scenario}|${l.arch}`;
    rows.set(key, [...(rows.get(key) ?? []), l]);
  }
  return [
    '### CLEAR\'s false alarms at two levels (clean models)', '',
    'A clean model counts at level α when the scan\'s smallest p-value is at most α. The verdict at α also needs the group to be learnt by the model, so these are upper bounds on the false-alarm rate of the verdict; a calibrated scan keeps them at or under α.', '',
    table(['defence', 'scenario', 'victim', ...FALSE_ALARM_LEVELS.map((a) => `at ${pct(a)}`)],
      [...rows.values()].map((ls) => [ls[0].defence, ls[0].scenario, ls[0].arch, ...FALSE_ALARM_LEVELS.map((a) => { const l = ls.find((x) => x.level === a); return l ? rate(l.falseAlarms) : '–'; })])),
  ].join('\n');
}
