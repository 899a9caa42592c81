/**
 * The report as a PDF, drawn from the same content as the HTML (report/document.ts).
 *
 * Why pdf-lib: it is pure JavaScript with no dependencies of its own, so it runs in the engine
 * worker under plain Node (the `clearwb` command line has no Electron, hence no Chromium to
 * print a page with), it embeds PNG thumbnails and draws vector lines, rectangles and circles
 * for the charts and pocket pictures, and it is the most used and stable library that does so.
 * Text uses the standard Helvetica fonts (nothing to embed), which write the Windows-1252
 * characters only; anything else is replaced (see `encodable`).
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFImage, type PDFPage, type RGB } from 'pdf-lib';
import { fitPicture, ROLE_COLOURS, ROLE_NAMES, type ReportCrafted, type ReportDocument, type ReportMatrix, type ReportPicture, type ReportPocket } from './document.js';

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 46;
const WIDTH = A4[0] - 2 * MARGIN;

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

function hex(colour: string): RGB {
  const v = parseInt(colour.slice(1), 16);
  return rgb(((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255);
}

const REPLACEMENTS: Record<string, string> = { '→': '->', '≤': '<=', '≥': '>=', '−': '-', 'ε': 'e', '≈': '~', '\u00a0': ' ', '\t': ' ' };

interface Cell { text: string; bold?: boolean; image?: PDFImage | null; fill?: RGB }

class Writer {
  page!: PDFPage;
  y = 0;
  pageCount = 0;
  readonly images = new Map<string, PDFImage>();
  constructor(readonly pdf: PDFDocument, readonly font: PDFFont, readonly bold: PDFFont, readonly mono: PDFFont, readonly title: string) {}

  #chars = new Set<number>();
  encodable(text: string): string {
    if (!this.#chars.size) for (const c of this.font.getCharacterSet()) this.#chars.add(c);
    let out = '';
    for (const ch of text) {
      const r = REPLACEMENTS[ch];
      if (r !== undefined) { out += r; continue; }
      out += this.#chars.has(ch.codePointAt(0)!) && ch !== '\n' && ch !== '\r' ? ch : '?';
    }
    return out;
  }

  newPage(): void {
    this.page = this.pdf.addPage(A4);
    this.pageCount++;
    this.y = A4[1] - MARGIN;
    const footer = this.encodable(`${this.title} · page ${this.pageCount}`);
    this.page.drawText(footer, { x: MARGIN, y: MARGIN / 2, size: 8, font: this.font, color: rgb(0.4, 0.4, 0.45) });
  }

  /** Room for `h` points on this page, or a new page. */
  need(h: number): void { if (this.y - h < MARGIN) this.newPage(); }

  wrap(text: string, size: number, font: PDFFont, width: number): string[] {
    const lines: string[] = [];
    for (const para of this.encodable(text).split('\n')) {
      let line = '';
      for (const word of para.split(' ')) {
        const next = line ? `${line} ${word}` : word;
        if (font.widthOfTextAtSize(next, size) <= width) { line = next; continue; }
        if (line) lines.push(line);
        // A word wider than the column (a hash, a path) is broken where it must be.
        let rest = word;
        while (font.widthOfTextAtSize(rest, size) > width) {
          let k = rest.length - 1;
          while (k > 1 && font.widthOfTextAtSize(rest.slice(0, k), size) > width) k--;
          lines.push(rest.slice(0, k)); rest = rest.slice(k);
        }
        line = rest;
      }
      lines.push(line);
    }
    return lines;
  }

  text(text: string, options: { size?: number; font?: PDFFont; colour?: RGB; indent?: number; gap?: number; width?: number } = {}): void {
    const size = options.size ?? 10; const font = options.font ?? this.font; const indent = options.indent ?? 0;
    const lead = size * 1.3;
    for (const line of this.wrap(text, size, font, options.width ?? WIDTH - indent)) {
      this.need(lead);
      this.page.drawText(line, { x: MARGIN + indent, y: this.y - size, size, font, color: options.colour ?? rgb(0.11, 0.14, 0.16) });
      this.y -= lead;
    }
    this.y -= options.gap ?? 4;
  }

  heading(text: string, size = 15): void { this.need(size * 3); this.y -= size * 0.4; this.text(text, { size, font: this.bold, gap: 6 }); }

  /** A table: column widths in points (summing to at most WIDTH), header row bold and shaded, rows broken across pages. */
  table(widths: number[], head: string[] | null, rows: Cell[][], size = 8.5): void {
    const pad = 3;
    const draw = (cells: Cell[], header: boolean) => {
      const wrapped = cells.map((c, k) => (c.image ? [] : this.wrap(c.text, size, header || c.bold ? this.bold : this.font, widths[k] - 2 * pad)));
      const imageH = Math.max(0, ...cells.map((c) => (c.image ? 30 : 0)));
      const h = Math.max(imageH, ...wrapped.map((l) => l.length * size * 1.25)) + 2 * pad;
      this.need(h);
      let x = MARGIN;
      cells.forEach((c, k) => {
        const fill = header ? rgb(0.93, 0.94, 0.96) : c.fill;
        this.page.drawRectangle({ x, y: this.y - h, width: widths[k], height: h, borderColor: rgb(0.8, 0.8, 0.85), borderWidth: 0.5, ...(fill ? { color: fill } : {}) });
        if (c.image) this.page.drawImage(c.image, { x: x + pad, y: this.y - pad - 30, width: 30, height: 30 });
        wrapped[k].forEach((line, i) => this.page.drawText(line, { x: x + pad, y: this.y - pad - size - i * size * 1.25 + 1, size, font: header || c.bold ? this.bold : this.font, color: rgb(0.11, 0.14, 0.16) }));
        x += widths[k];
      });
      this.y -= h;
    };
    if (head) draw(head.map((text) => ({ text })), true);
    for (const r of rows) draw(r, false);
    this.y -= 8;
  }

  async image(dataUrl: string | null): Promise<PDFImage | null> {
    if (!dataUrl?.startsWith('data:image/png;base64,')) return null;
    const hit = this.images.get(dataUrl);
    if (hit) return hit;
    const image = await this.pdf.embedPng(Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64'));
    this.images.set(dataUrl, image);
    return image;
  }

  bars(title: string, labels: string[], series: { name: string; values: number[]; colour: string }[], max?: number, asPercent = false): void {
    const top = max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
    const bar = 6; const rowH = (bar + 1) * series.length + 5; const left = 80; const barW = WIDTH - left - 50;
    this.need(40 + Math.min(labels.length, 6) * rowH);
    this.text(title, { font: this.bold, size: 10 });
    series.forEach((s, k) => {
      this.page.drawRectangle({ x: MARGIN + left + k * 120, y: this.y - 8, width: 8, height: 8, color: hex(s.colour) });
      this.page.drawText(this.encodable(s.name), { x: MARGIN + left + 12 + k * 120, y: this.y - 8, size: 8, font: this.font });
    });
    this.y -= 14;
    labels.forEach((label, i) => {
      this.need(rowH);
      const name = this.encodable(label.length > 16 ? `${label.slice(0, 15)}…` : label);
      this.page.drawText(name, { x: MARGIN + left - 6 - this.font.widthOfTextAtSize(name, 8), y: this.y - rowH / 2 - 2, size: 8, font: this.font });
      series.forEach((s, k) => {
        const v = s.values[i] ?? 0; const w = Math.max(0, (v / top) * barW);
        const y = this.y - (k + 1) * (bar + 1);
        if (w > 0) this.page.drawRectangle({ x: MARGIN + left, y, width: w, height: bar, color: hex(s.colour) });
        if (v) this.page.drawText(asPercent ? pct(v) : Number.isInteger(v) ? String(v) : v.toFixed(3), { x: MARGIN + left + w + 3, y: y + 0.5, size: 6.5, font: this.font });
      });
      this.y -= rowH;
    });
    this.y -= 8;
  }

  picture(picture: ReportPicture): void {
    const w = 300; const h = 220;
    this.need(h + 30);
    const x0 = MARGIN; const y0 = this.y - h;
    this.page.drawRectangle({ x: x0, y: y0, width: w, height: h, borderColor: rgb(0.8, 0.8, 0.85), borderWidth: 0.5 });
    const fitted = fitPicture(picture, w, h);
    const at = ([x, y]: [number, number]) => ({ x: x0 + x, y: this.y - y });
    if (fitted.hull.length >= 2) {
      // The hull as an SVG path in the picture's own (y down) coordinates, placed at its top left corner.
      const d = fitted.hull.map(([x, y], k) => `${k ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ') + ' Z';
      this.page.drawSvgPath(d, { x: x0, y: this.y, color: hex(ROLE_COLOURS.member), opacity: 0.12, borderColor: hex(ROLE_COLOURS.member), borderWidth: 1 });
    }
    for (const role of ['nearby', 'shell', 'member'] as const) {
      for (const p of fitted.points.filter((q) => q.role === role)) this.page.drawCircle({ ...at(p.at), size: role === 'member' ? 2.6 : 2, color: hex(ROLE_COLOURS[role]) });
    }
    (['member', 'shell', 'nearby'] as const).forEach((role, k) => {
      this.page.drawCircle({ x: x0 + w + 14, y: this.y - 12 - k * 14, size: 3, color: hex(ROLE_COLOURS[role]) });
      this.page.drawText(this.encodable(ROLE_NAMES[role]), { x: x0 + w + 22, y: this.y - 15 - k * 14, size: 8, font: this.font });
    });
    this.y = y0 - 6;
    this.text(`The group's two main directions in the model's feature space (${pct(picture.explainedVariance[0])} and ${pct(picture.explainedVariance[1])} of the drawn samples' spread); a flat picture can overlap samples that are well outside the group.`, { size: 8, colour: rgb(0.35, 0.35, 0.4) });
  }

  matrix(m: ReportMatrix, names: string[], caption: string): void {
    const K = names.length;
    const cell = Math.min(34, (WIDTH - 70) / K);
    this.need(30 + (K + 1) * 14);
    this.text(`${caption}: ${pct(m.accuracy)} of ${m.samples} correct (rows: true class; columns: predicted)`, { font: this.bold, size: 9 });
    const max = Math.max(1, ...m.counts.flat());
    const label = (s: string) => this.encodable(s.length > 7 ? `${s.slice(0, 6)}…` : s);
    names.forEach((n, p) => this.page.drawText(label(n), { x: MARGIN + 70 + p * cell + 2, y: this.y - 10, size: 7, font: this.bold }));
    this.y -= 14;
    m.counts.forEach((row, t) => {
      this.need(14);
      this.page.drawText(label(names[t]), { x: MARGIN, y: this.y - 10, size: 7, font: this.bold });
      row.forEach((v, p) => {
        const shade = v ? 0.15 + 0.6 * (v / max) : 0;
        const base = t === p ? [0.18, 0.55, 0.34] : [0.75, 0.22, 0.17];
        const colour = rgb(1 - shade * (1 - base[0]), 1 - shade * (1 - base[1]), 1 - shade * (1 - base[2]));
        this.page.drawRectangle({ x: MARGIN + 70 + p * cell, y: this.y - 13, width: cell, height: 13, color: colour, borderColor: rgb(0.85, 0.85, 0.88), borderWidth: 0.4 });
        const s = String(v);
        this.page.drawText(s, { x: MARGIN + 70 + (p + 1) * cell - 2 - this.font.widthOfTextAtSize(s, 7), y: this.y - 10, size: 7, font: this.font });
      });
      this.y -= 13;
    });
    this.y -= 10;
  }
}

async function pocketPages(w: Writer, p: ReportPocket): Promise<void> {
  w.newPage();
  w.heading(`${p.kind === 'backdoor pocket' ? 'Backdoor pocket' : 'Poisoning attempt'} ${p.id}: samples labelled "${p.attackerClass}" inside class "${p.enclosingClass}"`, 13);
  w.text(p.explanation);
  w.text(`Score ${num(p.score, 2)}. ${p.scoreSentence}`);
  w.text(`p-value ${p.kind === 'backdoor pocket' ? p.pValueText : p.attemptPValueText}. ${p.pValueSentence}`);
  w.table([110, 90], null, [[{ text: 'Members', bold: true }, { text: String(p.members.length) }], [{ text: 'Learnt', bold: true }, { text: pct(p.learnt) }],
    [{ text: 'Shell purity', bold: true }, { text: num(p.shellPurity, 2) }], [{ text: 'Flip distance', bold: true }, { text: num(p.flipDistance, 2) }]]);
  if (p.picture) w.picture(p.picture);
  w.heading('Members and their nearest clean neighbours', 11);
  const rows: Cell[][] = [];
  for (const m of p.members) {
    rows.push([
      { text: '', image: await w.image(m.png) }, { text: String(m.index) }, { text: m.source ?? '-' },
      { text: '', image: m.neighbour ? await w.image(m.neighbour.png) : null },
      { text: m.neighbour ? `${m.neighbour.index}${m.neighbour.source ? ` · ${m.neighbour.source}` : ''} ("${m.neighbour.label}"), distance ${num(m.neighbour.distance)}` : '-' },
    ]);
  }
  w.table([40, 50, 168, 40, 205], ['image', 'index', 'source', 'image', 'nearest sample of the surrounding class: index, source, label, distance'], rows);
  w.heading('The evidence behind the score', 11);
  w.table([200, 100], ['measurement', 'value'], p.evidence.map((e) => [{ text: e.term }, { text: num(e.value) }]));
}

async function craftedPages(w: Writer, g: ReportCrafted): Promise<void> {
  w.newPage();
  w.heading(`Crafted samples ${g.id}: ${g.members.length} labelled "${g.className}", p-value ${g.pValueText}`, 13);
  w.text(g.explanation);
  const rows: Cell[][] = [];
  for (const m of g.members) rows.push([{ text: '', image: await w.image(m.png) }, { text: String(m.index) }, { text: m.source ?? '-' }, { text: num(m.driftRatio, 1) }]);
  w.table([40, 60, 250, 150], ['image', 'index', 'source', "drift (x the typical sample's)"], rows);
  w.text(`The class's next most fragile sample moves ${num(g.nextRatio, 1)} times as far as the typical sample.`);
}

/** The report as PDF bytes, and how many pages it has. */
export async function reportPdf(doc: ReportDocument): Promise<{ bytes: Uint8Array; pages: number }> {
  const pdf = await PDFDocument.create();
  // Fixed dates, so the same report gives the same file; the report's own date is in its text.
  const created = new Date(doc.createdAt);
  pdf.setTitle(doc.title); pdf.setSubject(`${doc.verdict.headline}: ${doc.verdict.summary}`.slice(0, 500));
  pdf.setCreator(`CLEAR Workbench ${doc.custody.appVersion}`); pdf.setProducer('CLEAR Workbench with pdf-lib');
  if (!Number.isNaN(created.getTime())) { pdf.setCreationDate(created); pdf.setModificationDate(created); }
  const w = new Writer(pdf, await pdf.embedFont(StandardFonts.Helvetica), await pdf.embedFont(StandardFonts.HelveticaBold), await pdf.embedFont(StandardFonts.Courier), doc.title);
  const names = doc.classNames;

  // Page 1: the verdict and what to do, the facts, the model on the data.
  w.newPage();
  w.text(doc.title, { size: 18, font: w.bold, gap: 8 });
  const tone = doc.verdict.level === 'backdoor' ? '#fdecea' : doc.verdict.level === 'attempt' ? '#fff4d6' : '#e8f5e9';
  const verdictLines = [...w.wrap(doc.verdict.summary, 10, w.font, WIDTH - 16), '', ...w.wrap(`What to do: ${doc.verdict.recommendation}`, 10, w.font, WIDTH - 16)];
  const boxH = 30 + verdictLines.length * 13;
  w.page.drawRectangle({ x: MARGIN, y: w.y - boxH, width: WIDTH, height: boxH, color: hex(tone) });
  w.y -= 6;
  w.text(doc.verdict.headline, { size: 15, font: w.bold, indent: 8 });
  w.text(doc.verdict.summary, { indent: 8, width: WIDTH - 16 });
  w.text(`What to do: ${doc.verdict.recommendation}`, { indent: 8, width: WIDTH - 16, font: w.bold });
  w.y -= 8;
  if (doc.model?.warnings.length) {
    w.text('Check the model and the data first:', { font: w.bold, colour: rgb(0.6, 0.35, 0) });
    for (const warning of doc.model.warnings) w.text(warning, { indent: 8 });
  }
  for (const note of doc.notes) w.text(note, { size: 8, colour: rgb(0.35, 0.35, 0.4) });
  w.table([130, WIDTH - 130], null, doc.facts.map((f) => [{ text: f.term, bold: true }, { text: f.value }]));
  if (doc.model) w.matrix(doc.model.confusion, names, 'The scanned model on the test split');

  for (const p of doc.pockets) await pocketPages(w, p);
  for (const g of doc.crafted) await craftedPages(w, g);

  w.newPage();
  w.heading('Per-class statistics');
  w.bars('Seeds, candidate groups and reported groups per label of the suspect samples', doc.classes.map((c) => c.className), [
    { name: 'seeds', values: doc.classes.map((c) => c.seeds), colour: '#9aa5b1' },
    { name: 'candidate groups', values: doc.classes.map((c) => c.candidates), colour: '#3e7cb1' },
    { name: 'reported groups', values: doc.classes.map((c) => c.pockets), colour: '#c0392b' },
  ]);
  if (doc.pairs.length) {
    w.table([170, 60, 75, 75, 60, 60], ['samples labelled A inside class B', 'seeds', 'candidate groups', 'reported groups', 'best score', 'members'],
      doc.pairs.map((p) => [{ text: `"${p.attackerClass}" inside "${p.enclosingClass}"` }, { text: String(p.seeds) }, { text: String(p.candidates) }, { text: String(p.pockets) }, { text: num(p.bestScore) }, { text: String(p.members) }]));
  }
  w.heading(`Candidate groups${doc.candidatesTotal > doc.candidates.length ? ` (the best ${doc.candidates.length} of ${doc.candidatesTotal})` : ''}`, 11);
  if (doc.candidates.length) {
    w.table([30, 120, 45, 40, 55, 55, 78, 40, 40], ['group', 'A inside B', 'members', 'score', 'p-value', 'attempt p', 'status', 'learnt', 'shell purity'],
      doc.candidates.map((p) => [{ text: String(p.id) }, { text: `"${p.attackerClass}" in "${p.enclosingClass}"` }, { text: String(p.members) }, { text: num(p.score, 2) },
        { text: p.pValueText }, { text: p.attemptPValueText }, { text: p.status, bold: p.status !== 'natural' }, { text: pct(p.learnt) }, { text: num(p.shellPurity, 2) }]));
  } else {
    w.text('No candidate groups: nothing in this model looks like a pocket.');
  }

  const r = doc.repair;
  if (r) {
    w.newPage();
    w.heading('Repair: before and after');
    w.table([220, 140, 143], ['', 'before (scanned model)', 'after (repaired, rescanned)'], r.rows.map((x) => [{ text: x.term, bold: true }, { text: x.before }, { text: x.after }]));
    if (r.pockets.length) w.table([220, 140, 143], ['group', 'interior predicted as the label, before', 'after'], r.pockets.map((p) => [{ text: p.group }, { text: pct(p.interiorBefore) }, { text: pct(p.interiorAfter) }]));
    w.bars('Per-class held-out accuracy before and after the repair', r.perClass.map((c) => c.className), [
      { name: 'before', values: r.perClass.map((c) => c.before), colour: '#9aa5b1' },
      { name: 'after', values: r.perClass.map((c) => c.after), colour: '#2e8b57' },
    ], 1, true);
    if (r.confusion) { w.matrix(r.confusion.before, names, 'Before the repair'); w.matrix(r.confusion.after, names, 'After the repair'); }
    if (r.plan?.length) {
      w.heading('Repair plan', 11);
      w.table([170, 150, 70, 113], ['group', 'action', 'members acted on', 'left out (training index)'],
        r.plan.map((e) => [{ text: e.group }, { text: e.action }, { text: e.actedOn === null ? '-' : String(e.actedOn) }, { text: e.leftOut.length ? e.leftOut.join(', ') : 'none' }]));
    }
    w.text(`Repaired model: ${r.model} (fingerprint ${r.fingerprint}), fine-tuned from ${r.from}; ${r.relabelled} training samples relabelled${r.removed ? `, ${r.removed} removed from the fine-tuning data` : ''}.`);
  }

  const c = doc.custody;
  w.newPage();
  w.heading('Chain of custody');
  w.text('Every file this report is about, with its SHA-256. Save these lines as SHA256SUMS and run `sha256sum -c SHA256SUMS` on the machine that holds the files: each line must say OK.');
  for (const f of c.files) {
    w.text(`${f.sha256}  ${f.path}`, { font: w.mono, size: 6.5, gap: 0 });
  }
  w.y -= 6;
  w.table([150, WIDTH - 150], ['what it is', 'file'], c.files.map((f) => [{ text: f.role }, { text: f.path }]));
  if (c.unhashed.length) w.table([WIDTH - 200, 200], ['not a single file', 'content fingerprint'], c.unhashed.map((u) => [{ text: u.what }, { text: u.fingerprint }]));
  const facts: [string, string][] = [
    ['Product', `CLEAR Workbench ${c.appVersion} (scan by ${c.scanAppVersion ?? 'an unrecorded version'}${c.repairCreatedAt ? `, repair by ${c.repairAppVersion ?? 'an unrecorded version'}` : ''})`],
    ['TensorFlow.js', c.tfjsVersion],
    ['Backends', `scan ${c.backend.scan}${c.backend.repair ? `, repair ${c.backend.repair}` : ''}, report ${c.backend.report}`],
    ['Dates', `scan ${c.scanCreatedAt}${c.repairCreatedAt ? `, repair ${c.repairCreatedAt}` : ''}, report ${c.reportCreatedAt}`],
    ...c.seeds.map((s): [string, string] => [s.term, s.value]),
    ['--limit', c.limit === null ? 'none (all training samples)' : String(c.limit)],
  ];
  if (c.scanInRepair) {
    facts.push(['Scan the repair followed', c.scanInRepair.recorded === null ? 'not recorded (the repair predates it)'
      : `SHA-256 ${c.scanInRepair.recorded}: ${c.scanInRepair.matches === true ? 'the scan in this report' : c.scanInRepair.matches === false ? 'NOT the scan in this report' : 'could not be compared'}`]);
  }
  w.table([150, WIDTH - 150], null, facts.map(([k, v]) => [{ text: k, bold: true }, { text: v }]));
  for (const x of c.commands) { w.text(x.what, { font: w.bold, size: 9, gap: 1 }); w.text(x.command, { font: w.mono, size: 7.5 }); }

  w.heading('Glossary');
  for (const g of doc.glossary) { w.text(g.term, { font: w.bold, size: 9, gap: 0 }); w.text(g.meaning, { size: 9, indent: 10 }); }

  const bytes = await pdf.save();
  return { bytes, pages: pdf.getPageCount() };
}
