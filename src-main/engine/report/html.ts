/**
 * The exported report as one self-contained HTML page: inline SVG charts, no scripts, a CSP
 * that forbids loading anything, so it opens anywhere an analyst sends it.
 */
import type { RepairResult, ScanResult } from '../clear/types.js';
import { formatPValue } from '../../contract/format.js';

const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(2)}%`);
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

/** A horizontal bar chart as inline SVG: the report must open anywhere, without scripts. */
function svgBars(title: string, labels: string[], series: { name: string; values: number[]; colour: string }[], max?: number): string {
  const top = max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const bar = 10; const rowH = (bar + 1) * series.length + 8;
  const width = 640; const left = 60; const barW = width - left - 60;
  const rows = labels.map((label, i) => {
    const y = 24 + i * rowH;
    const bars = series.map((s, k) => {
      const v = s.values[i] ?? 0;
      const w = Math.max(0, (v / top) * barW);
      // Zero bars get no label: a column of stacked zeros reads as noise.
      return `<rect x="${left}" y="${y + k * (bar + 1)}" width="${w.toFixed(1)}" height="${bar}" fill="${s.colour}"><title>${escapeHtml(`${s.name}: ${v}`)}</title></rect>`
        + (v ? `<text x="${left + w + 4}" y="${y + k * (bar + 1) + bar - 1}" font-size="9">${escapeHtml(Number.isInteger(v) ? v : v.toFixed(3))}</text>` : '');
    }).join('');
    return `<text x="${left - 6}" y="${y + ((bar + 1) * series.length) / 2}" dominant-baseline="middle" font-size="10" text-anchor="end">${escapeHtml(label)}</text>${bars}`;
  }).join('');
  const legend = series.map((s, k) => `<rect x="${left + k * 110}" y="6" width="10" height="10" fill="${s.colour}"/><text x="${left + 14 + k * 110}" y="15" font-size="10">${escapeHtml(s.name)}</text>`).join('');
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${30 + labels.length * rowH}" viewBox="0 0 ${width} ${30 + labels.length * rowH}">${legend}${rows}</svg></figure>`;
}

function table(head: string[] | null, rows: (string | number)[][], empty = 'None.'): string {
  if (!rows.length) return `<p class="small">${escapeHtml(empty)}</p>`;
  const thead = head ? `<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
  // A table without a header is a list of facts: its first column names them.
  const cell = (c: string | number, k: number) => (head || k > 0 ? `<td>${escapeHtml(c)}</td>` : `<th scope="row">${escapeHtml(c)}</th>`);
  return `<table>${thead}<tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

export function reportHtml(scan: ScanResult, repair: RepairResult | undefined, title: string): string {
  const names = scan.dataset.classNames;
  const reported = scan.pockets.filter((p) => p.confirmed || p.attempt);
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(`<p class="verdict ${scan.verdict.suspected ? 'bad' : scan.verdict.attempt ? 'warn' : 'good'}"><strong>${escapeHtml(scan.verdict.headline)}:</strong> ${escapeHtml(scan.verdict.summary)}</p>`);
  parts.push(table(null, [
    ['Dataset', `${scan.dataset.name} (${scan.dataset.spec}), ${scan.dataset.trainCount} training samples`],
    ['Dataset fingerprint', scan.dataset.fingerprint],
    ['Model', scan.model.dir], ['Model fingerprint', scan.model.fingerprint],
    ['Feature layer', `${scan.model.featureLayer} (${scan.model.featureDim} dimensions)`],
    ['False-alarm level', `${pct(scan.settings.falseAlarm)} family-wise, against ${scan.calibration.nullGroups} random border groups of this model (${scan.calibration.family} natural groups in the family)`],
    ['Reference set (held-out support)', scan.settings.reference ?? 'none'],
    ['Backend', scan.backend], ['Scanned', scan.createdAt],
  ]));
  parts.push('<h2>Per-class pocket statistics</h2>');
  const classes = scan.statistics.classes;
  parts.push(svgBars('Seeds, candidate groups and pockets per attacker class', classes.map((c) => c.className), [
    { name: 'seeds', values: classes.map((c) => c.seeds), colour: '#9aa5b1' },
    { name: 'candidates', values: classes.map((c) => c.candidates), colour: '#3e7cb1' },
    { name: 'pockets', values: classes.map((c) => c.pockets), colour: '#c0392b' },
  ]));
  const pairs = scan.statistics.pairs.filter((p) => p.candidates > 0 || p.pockets > 0);
  parts.push(table(['A inside B', 'seeds', 'candidates', 'pockets', 'best score', 'members'],
    pairs.map((p) => [`${names[p.attackerClass]} inside ${names[p.enclosingClass]}`, p.seeds, p.candidates, p.pockets, num(p.bestScore), p.members]),
    'No class pair holds a candidate group.'));
  parts.push('<h2>Pockets</h2>');
  parts.push(table(['id', 'A inside B', 'members', 'score', 'p-value', 'attempt p-value', 'verdict', 'learnt', 'shell purity', 'flip distance'],
    scan.pockets.slice(0, 50).map((p) => [p.id, `${names[p.attackerClass]} inside ${names[p.enclosingClass]}`, p.members.length,
      num(p.score), formatPValue(p.pValue), formatPValue(p.attemptPValue), p.confirmed ? 'backdoor pocket' : p.attempt ? 'poisoning attempt' : 'natural',
      pct(p.learnt), num(p.tightness.shellPurity, 2), num(p.flipDistance, 2)]),
    'No candidate groups: nothing in this model looks like a pocket.'));
  for (const p of reported) {
    parts.push(`<h3>${p.confirmed ? 'Backdoor pocket' : 'Poisoning attempt'} ${p.id}: ${escapeHtml(names[p.attackerClass])} inside ${escapeHtml(names[p.enclosingClass])}</h3><p>${escapeHtml(p.explanation)}</p>`);
    parts.push(table(null, Object.entries(p.evidence).map(([k, v]) => [k, num(v)])));
    if (p.sources) {
      // Where each member came from (a file, a CSV line, an array item), so the analyst can find and remove it.
      parts.push(`<details><summary>Members: ${p.members.length} training samples and where each came from</summary>${
        table(['training index', 'source'], p.members.map((m, k) => [m, p.sources![k] ?? '']))}</details>`);
    } else {
      parts.push(`<p class="small">Members (training indices): ${escapeHtml(p.members.join(', '))}</p>`);
    }
  }
  if (repair) {
    parts.push('<h2>Repair</h2>');
    parts.push(table(['', 'before', 'after'], [
      ['Held-out accuracy', pct(repair.before.accuracy), pct(repair.after.accuracy)],
      ['Backdoor suspected', repair.before.suspected ? 'yes' : 'no', repair.after.suspected ? 'yes' : 'no'],
      ['Open pockets', repair.before.openPockets, repair.after.openPockets],
      ...(repair.target ? [[`Target (test #${repair.target.index}, true ${names[repair.target.trueClass]}) predicted`,
        names[repair.target.before] ?? repair.target.before, names[repair.target.after] ?? repair.target.after]] : []),
    ]));
    parts.push(table(['pocket', 'interior predicted A before', 'after'],
      repair.pockets.map((p) => [`${p.id} (${names[p.attackerClass]} inside ${names[p.enclosingClass]})`, pct(p.interiorBefore), pct(p.interiorAfter)]),
      'No pocket was repaired.'));
    parts.push(svgBars('Per-class accuracy before and after repair', names, [
      { name: 'before', values: repair.before.perClass, colour: '#9aa5b1' },
      { name: 'after', values: repair.after.perClass, colour: '#2e8b57' },
    ], 1));
    if (repair.plan) {
      // The plan the analyst reviewed: each reported group's action and the members left as they were.
      parts.push('<h3>Repair plan</h3>');
      const byId = new Map(scan.pockets.map((p) => [p.id, p]));
      parts.push(table(['group', 'action', 'members acted on', 'members left out (training index)'],
        repair.plan.pockets.map((e) => {
          const p = byId.get(e.id);
          const where = p ? ` (${names[p.attackerClass]} inside ${names[p.enclosingClass]})` : '';
          const acted = p ? p.members.length - e.exclude.length : '–';
          const action = e.action === 'relabel' ? `relabel${p ? ` to ${names[p.enclosingClass]}` : ''}` : 'remove from the fine-tuning data';
          return [`${e.id}${where}`, action, acted, e.exclude.length ? e.exclude.join(', ') : 'none'];
        }), 'No group was reported, so the plan is empty.'));
    }
    const removed = repair.removed?.length ?? 0;
    parts.push(`<p>Repaired model: ${escapeHtml(repair.model.out)} (fingerprint ${escapeHtml(repair.model.fingerprint)}), fine-tuned from ${escapeHtml(repair.model.from)}; ${repair.relabelled.length} training samples relabelled${removed ? `, ${removed} removed from the fine-tuning data` : ''}; backend ${escapeHtml(repair.backend)}.</p>`);
  }
  const style = 'body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}'
    + 'table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}'
    + 'tbody th{font-weight:500;white-space:nowrap}'
    + '.verdict{padding:.75rem;border-radius:6px}.bad{background:#fdecea}.warn{background:#fff4d6}.good{background:#e8f5e9}.small{font-size:12px;color:#555}'
    + 'figure{margin:1rem 0}figcaption{font-weight:600}@media (prefers-color-scheme:dark){body{background:#15191e;color:#e6e9ee}td,th{border-color:#445}.bad{background:#4a1f1c}.warn{background:#3a3115}.good{background:#1f3a26}.small{color:#aab}svg text{fill:#e6e9ee}}';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
    + `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body>${parts.join('\n')}`
    + `<footer class="small">Written by CLEAR Workbench on ${escapeHtml(new Date().toISOString())}.</footer></body></html>\n`;
}

