/**
 * The report as one self-contained HTML page: inline SVG charts and pictures, thumbnails as
 * `data:` PNGs, no scripts, and a CSP that forbids loading anything, so it opens anywhere an
 * analyst sends it. The content is report/document.ts's; this file only draws it.
 */
import { fitPicture, ROLE_COLOURS, ROLE_NAMES, type ReportCrafted, type ReportDocument, type ReportMatrix, type ReportPicture, type ReportPocket, type ReportSample } from './document.js';

const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

/** A horizontal bar chart as inline SVG: the report must open anywhere, without scripts. */
function svgBars(title: string, labels: string[], series: { name: string; values: number[]; colour: string }[], max?: number, asPercent = false): string {
  const top = max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const bar = 10; const rowH = (bar + 1) * series.length + 8;
  const width = 640; const left = 90; const barW = width - left - 60;
  const rows = labels.map((label, i) => {
    const y = 24 + i * rowH;
    const bars = series.map((s, k) => {
      const v = s.values[i] ?? 0;
      const w = Math.max(0, (v / top) * barW);
      const shown = asPercent ? pct(v) : Number.isInteger(v) ? String(v) : v.toFixed(3);
      // Zero bars get no label: a column of stacked zeros reads as noise.
      return `<rect x="${left}" y="${y + k * (bar + 1)}" width="${w.toFixed(1)}" height="${bar}" fill="${s.colour}"><title>${escapeHtml(`${s.name}: ${shown}`)}</title></rect>`
        + (v ? `<text x="${left + w + 4}" y="${y + k * (bar + 1) + bar - 1}" font-size="9">${escapeHtml(shown)}</text>` : '');
    }).join('');
    return `<text x="${left - 6}" y="${y + ((bar + 1) * series.length) / 2}" dominant-baseline="middle" font-size="10" text-anchor="end">${escapeHtml(label.length > 14 ? `${label.slice(0, 13)}…` : label)}</text>${bars}`;
  }).join('');
  const legend = series.map((s, k) => `<rect x="${left + k * 120}" y="6" width="10" height="10" fill="${s.colour}"/><text x="${left + 14 + k * 120}" y="15" font-size="10">${escapeHtml(s.name)}</text>`).join('');
  const height = 30 + labels.length * rowH;
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${legend}${rows}</svg></figure>`;
}

function table(head: string[] | null, rows: (string | number)[][], empty = 'None.'): string {
  if (!rows.length) return `<p class="small">${escapeHtml(empty)}</p>`;
  const thead = head ? `<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
  // A table without a header is a list of facts: its first column names them.
  const cell = (c: string | number, k: number) => (head || k > 0 ? `<td>${escapeHtml(c)}</td>` : `<th scope="row">${escapeHtml(c)}</th>`);
  return `<table>${thead}<tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

function thumb(s: ReportSample | null, alt: string): string {
  return s?.png ? `<img class="thumb" src="${escapeHtml(s.png)}" alt="${escapeHtml(alt)}">` : '<span class="small">–</span>';
}

function svgPicture(picture: ReportPicture, caption: string): string {
  // The points in a 360 × 260 box, the legend to its right where it covers none of them.
  const pw = 360; const w = 560; const h = 260;
  const fitted = fitPicture(picture, pw, h);
  const order = ['nearby', 'shell', 'member'] as const;
  const dots = order.flatMap((role) => fitted.points.filter((p) => p.role === role)
    .map((p) => `<circle cx="${p.at[0].toFixed(1)}" cy="${p.at[1].toFixed(1)}" r="${role === 'member' ? 3.2 : 2.4}" fill="${ROLE_COLOURS[role]}"/>`)).join('');
  const hull = fitted.hull.length >= 2
    ? `<polygon points="${fitted.hull.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="${ROLE_COLOURS.member}" fill-opacity="0.12" stroke="${ROLE_COLOURS.member}" stroke-width="1.2"/>` : '';
  const legend = [...order].reverse().map((role, k) => `<circle cx="${pw + 14}" cy="${16 + k * 16}" r="3.5" fill="${ROLE_COLOURS[role]}"/><text x="${pw + 22}" y="${20 + k * 16}" font-size="11">${escapeHtml(ROLE_NAMES[role])}</text>`).join('');
  const frame = `<rect x="0.5" y="0.5" width="${pw - 1}" height="${h - 1}" fill="#fff" stroke="#ccd"/>`;
  return `<figure><figcaption>${escapeHtml(caption)}</figcaption><svg role="img" aria-label="${escapeHtml(caption)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" class="picture">${frame}${hull}${dots}${legend}</svg>`
    + `<p class="small">The group's two main directions in the model's feature space (${pct(picture.explainedVariance[0])} and ${pct(picture.explainedVariance[1])} of the drawn samples' spread). A flat picture of a many-dimensional group can overlap samples that are well outside it: the scan measures in the full space.</p></figure>`;
}

function matrixTable(m: ReportMatrix, names: string[], caption: string): string {
  const max = Math.max(1, ...m.counts.flat());
  const head = `<tr><th>true \\ predicted</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr>`;
  const rows = m.counts.map((row, t) => `<tr><th scope="row">${escapeHtml(names[t])}</th>${row.map((v, p) => {
    const shade = v ? 0.12 + 0.6 * (v / max) : 0;
    const colour = t === p ? `rgba(46,139,87,${shade.toFixed(2)})` : `rgba(192,57,43,${shade.toFixed(2)})`;
    return `<td class="num" style="background:${colour}">${v}</td>`;
  }).join('')}</tr>`).join('');
  return `<figure><figcaption>${escapeHtml(caption)}: ${pct(m.accuracy)} of ${m.samples} correct</figcaption><table class="matrix">${head}${rows}</table></figure>`;
}

function pocketSection(p: ReportPocket): string {
  const parts: string[] = [];
  parts.push(`<section class="pocket"><h3>${p.kind === 'backdoor pocket' ? 'Backdoor pocket' : 'Poisoning attempt'} ${p.id}: samples labelled “${escapeHtml(p.attackerClass)}” inside class “${escapeHtml(p.enclosingClass)}”</h3>`);
  parts.push(`<p>${escapeHtml(p.explanation)}</p>`);
  parts.push(`<p><strong>Score ${num(p.score, 2)}.</strong> ${escapeHtml(p.scoreSentence)}</p>`);
  parts.push(`<p><strong>p-value ${escapeHtml(p.kind === 'backdoor pocket' ? p.pValueText : p.attemptPValueText)}.</strong> ${escapeHtml(p.pValueSentence)}</p>`);
  parts.push(table(null, [['Members', p.members.length], ['Learnt', pct(p.learnt)], ['Shell purity', num(p.shellPurity, 2)], ['Flip distance', num(p.flipDistance, 2)]]));
  if (p.picture) parts.push(svgPicture(p.picture, `Group ${p.id} in 2-D: members, the samples it was judged against, and its hull`));
  parts.push(`<h4>Members and their nearest clean neighbours</h4>`);
  parts.push('<table class="members"><thead><tr><th>member</th><th>training index</th><th>source</th><th>nearest sample of the surrounding class</th><th>its index and source</th><th>distance</th></tr></thead><tbody>'
    + p.members.map((m) => `<tr><td>${thumb(m, `member ${m.index}, labelled ${m.label}`)}</td><td>${m.index}</td><td>${escapeHtml(m.source ?? '–')}</td>`
      + `<td>${thumb(m.neighbour, m.neighbour ? `neighbour ${m.neighbour.index}, labelled ${m.neighbour.label}` : '')}</td>`
      + `<td>${m.neighbour ? `${m.neighbour.index}${m.neighbour.source ? ` · ${escapeHtml(m.neighbour.source)}` : ''} (${escapeHtml(m.neighbour.label)})` : '–'}</td>`
      + `<td>${m.neighbour ? num(m.neighbour.distance, 3) : '–'}</td></tr>`).join('')
    + '</tbody></table>');
  parts.push(`<details><summary>Every piece of evidence behind the score</summary>${table(['measurement', 'value'], p.evidence.map((e) => [e.term, num(e.value)]))}</details></section>`);
  return parts.join('\n');
}

function craftedSection(g: ReportCrafted): string {
  return [`<section class="pocket"><h3>Crafted samples ${g.id}: ${g.members.length} labelled “${escapeHtml(g.className)}”, p-value ${escapeHtml(g.pValueText)}</h3>`,
    `<p>${escapeHtml(g.explanation)}</p>`,
    '<table class="members"><thead><tr><th>sample</th><th>training index</th><th>source</th><th>drift (× the typical sample\'s)</th></tr></thead><tbody>'
      + g.members.map((m) => `<tr><td>${thumb(m, `sample ${m.index}, labelled ${m.label}`)}</td><td>${m.index}</td><td>${escapeHtml(m.source ?? '–')}</td><td>${num(m.driftRatio, 1)}</td></tr>`).join('')
      + `</tbody></table><p class="small">The class's next most fragile sample moves ${num(g.nextRatio, 1)} times as far as the typical sample.</p></section>`].join('\n');
}

export function reportHtml(doc: ReportDocument): string {
  const names = doc.classNames;
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(doc.title)}</h1>`);
  const tone = doc.verdict.level === 'backdoor' ? 'bad' : doc.verdict.level === 'attempt' ? 'warn' : 'good';
  parts.push(`<div class="verdict ${tone}"><p class="headline"><strong>${escapeHtml(doc.verdict.headline)}</strong></p><p>${escapeHtml(doc.verdict.summary)}</p>`
    + `<p><strong>What to do:</strong> ${escapeHtml(doc.verdict.recommendation)}</p></div>`);
  if (doc.model?.warnings.length) {
    parts.push(`<div class="verdict warn"><p><strong>Check the model and the data first.</strong></p>${doc.model.warnings.map((w) => `<p>${escapeHtml(w)}</p>`).join('')}</div>`);
  }
  if (doc.notes.length) parts.push(`<ul class="small notes">${doc.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  parts.push(table(null, doc.facts.map((f) => [f.term, f.value])));
  if (doc.model) parts.push(matrixTable(doc.model.confusion, names, 'The scanned model on the test split'));

  parts.push(`<h2>Reported groups (${doc.pockets.length + doc.crafted.length})</h2>`);
  if (!doc.pockets.length && !doc.crafted.length) parts.push('<p>No group of training samples was reported.</p>');
  for (const p of doc.pockets) parts.push(pocketSection(p));
  for (const g of doc.crafted) parts.push(craftedSection(g));

  parts.push('<h2>Per-class statistics</h2>');
  parts.push(svgBars('Seeds, candidate groups and reported groups per label of the suspect samples', doc.classes.map((c) => c.className), [
    { name: 'seeds', values: doc.classes.map((c) => c.seeds), colour: '#9aa5b1' },
    { name: 'candidate groups', values: doc.classes.map((c) => c.candidates), colour: '#3e7cb1' },
    { name: 'reported groups', values: doc.classes.map((c) => c.pockets), colour: '#c0392b' },
  ]));
  parts.push(table(['samples labelled A inside class B', 'seeds', 'candidate groups', 'reported groups', 'best score', 'members'],
    doc.pairs.map((p) => [`“${p.attackerClass}” inside “${p.enclosingClass}”`, p.seeds, p.candidates, p.pockets, num(p.bestScore), p.members]),
    'No class pair holds a candidate group.'));
  parts.push(`<h3>Candidate groups${doc.candidatesTotal > doc.candidates.length ? ` (the best ${doc.candidates.length} of ${doc.candidatesTotal})` : ''}</h3>`);
  parts.push(table(['group', 'samples labelled A inside class B', 'members', 'score', 'p-value', 'attempt p-value', 'status', 'learnt', 'shell purity', 'flip distance'],
    doc.candidates.map((p) => [p.id, `“${p.attackerClass}” inside “${p.enclosingClass}”`, p.members, num(p.score, 2), p.pValueText, p.attemptPValueText, p.status,
      pct(p.learnt), num(p.shellPurity, 2), num(p.flipDistance, 2)]),
    'No candidate groups: nothing in this model looks like a pocket.'));

  const r = doc.repair;
  if (r) {
    parts.push('<h2>Repair: before and after</h2>');
    parts.push(table(['', 'before (scanned model)', 'after (repaired model, rescanned)'], r.rows.map((x) => [x.term, x.before, x.after])));
    parts.push(table(['group', 'interior predicted as the label, before', 'after'],
      r.pockets.map((p) => [p.group, pct(p.interiorBefore), pct(p.interiorAfter)]), 'No group was repaired.'));
    parts.push(svgBars('Per-class held-out accuracy before and after the repair', r.perClass.map((c) => c.className), [
      { name: 'before', values: r.perClass.map((c) => c.before), colour: '#9aa5b1' },
      { name: 'after', values: r.perClass.map((c) => c.after), colour: '#2e8b57' },
    ], 1, true));
    if (r.confusion) {
      parts.push(`<div class="pair">${matrixTable(r.confusion.before, names, 'Before the repair')}${matrixTable(r.confusion.after, names, 'After the repair')}</div>`);
    }
    if (r.plan) {
      parts.push('<h3>Repair plan</h3>');
      parts.push(table(['group', 'action', 'members acted on', 'members left out (training index)'],
        r.plan.map((e) => [e.group, e.action, e.actedOn ?? '–', e.leftOut.length ? e.leftOut.join(', ') : 'none']), 'No group was reported, so the plan is empty.'));
    }
    parts.push(`<p>Repaired model: ${escapeHtml(r.model)} (fingerprint ${escapeHtml(r.fingerprint)}), fine-tuned from ${escapeHtml(r.from)}; ${r.relabelled} training samples relabelled${r.removed ? `, ${r.removed} removed from the fine-tuning data` : ''}.</p>`);
  }

  const c = doc.custody;
  parts.push('<h2>Chain of custody</h2>');
  parts.push('<p>Every file this report is about, with its SHA-256. Save the block as <code>SHA256SUMS</code> and run <code>sha256sum -c SHA256SUMS</code> on the machine that holds the files: each line must say OK.</p>');
  parts.push(`<pre class="sums">${escapeHtml(c.sha256sum || '(no file could be read)\n')}</pre>`);
  parts.push(table(['file', 'what it is'], c.files.map((f) => [f.path, f.role])));
  if (c.unhashed.length) parts.push(table(['not a single file', 'content fingerprint'], c.unhashed.map((u) => [u.what, u.fingerprint])));
  const facts: (string | number)[][] = [
    ['Product', `CLEAR Workbench ${c.appVersion} (scan by ${c.scanAppVersion ?? 'an unrecorded version'}${c.repairCreatedAt ? `, repair by ${c.repairAppVersion ?? 'an unrecorded version'}` : ''})`],
    ['TensorFlow.js', c.tfjsVersion],
    ['Backends', `scan ${c.backend.scan}${c.backend.repair ? `, repair ${c.backend.repair}` : ''}, report ${c.backend.report}`],
    ['Dates', `scan ${c.scanCreatedAt}${c.repairCreatedAt ? `, repair ${c.repairCreatedAt}` : ''}, report ${c.reportCreatedAt}`],
    ...c.seeds.map((s) => [s.term, s.value]),
    ['--limit', c.limit ?? 'none (all training samples)'],
  ];
  if (c.scanInRepair) {
    facts.push(['Scan the repair followed', c.scanInRepair.recorded === null ? 'not recorded (the repair predates it)'
      : `SHA-256 ${c.scanInRepair.recorded}: ${c.scanInRepair.matches === true ? 'the scan in this report' : c.scanInRepair.matches === false ? 'NOT the scan in this report' : 'could not be compared'}`]);
  }
  parts.push(table(null, facts));
  parts.push(table(['what', 'command'], c.commands.map((x) => [x.what, x.command])));

  parts.push('<h2>Glossary</h2>');
  parts.push(`<dl>${doc.glossary.map((g) => `<dt>${escapeHtml(g.term)}</dt><dd>${escapeHtml(g.meaning)}</dd>`).join('')}</dl>`);

  const style = 'body{font:14px/1.45 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1d232a}'
    + 'table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;font-variant-numeric:tabular-nums;overflow-wrap:anywhere;vertical-align:middle}'
    + 'tbody th{font-weight:500}td.num{text-align:right}.matrix td,.matrix th{padding:.15rem .4rem;font-size:12px}'
    + '.verdict{padding:.75rem 1rem;border-radius:6px;margin:.75rem 0}.verdict p{margin:.3rem 0}.headline{font-size:1.25rem}.bad{background:#fdecea}.warn{background:#fff4d6}.good{background:#e8f5e9}.small{font-size:12px;color:#555}'
    + '.thumb{width:42px;height:42px;image-rendering:pixelated;border:1px solid #ccd;display:block}.pocket{border-top:2px solid #ccd;margin-top:1.5rem}'
    + '.pair{display:flex;flex-wrap:wrap;gap:1.5rem}pre.sums{font-size:11px;background:#f4f5f7;padding:.5rem;overflow-x:auto;white-space:pre}dt{font-weight:600;margin-top:.4rem}dd{margin-left:1rem}'
    + 'figure{margin:1rem 0}figcaption{font-weight:600}'
    + '@media print{.pocket{break-before:page}details{display:block}}'
    + '@media (prefers-color-scheme:dark){body{background:#15191e;color:#e6e9ee}td,th{border-color:#445}.bad{background:#4a1f1c}.warn{background:#3a3115}.good{background:#1f3a26}.small{color:#aab}svg text{fill:#e6e9ee}pre.sums{background:#222831}}';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
    + `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(doc.title)}</title><style>${style}</style></head><body>${parts.join('\n')}`
    + `<footer class="small">Written by CLEAR Workbench ${escapeHtml(c.appVersion)} on ${escapeHtml(doc.createdAt)}.</footer></body></html>\n`;
}
