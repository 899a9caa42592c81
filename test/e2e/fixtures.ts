/**
 * Hand-made scan and repair results with the engine's shapes (engine/clear/types.ts), so the
 * Inspect and Verify views can be checked on known numbers, independent of what a real scan
 * of a small model happens to find.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { DatasetPreview } from '../../src-main/contract/results.js';
import type { RepairResult, ScanResult } from '../../src-main/engine/clear/types.js';
import { ProjectStore } from '../../src-main/project/store.js';
import { startBrowserMode } from '../../src-main/serve/index.js';

export interface FixtureInput {
  dataset: { spec: string; fingerprint: string; trainCount: number };
  model: { dir: string; fingerprint: string };
  /** Training indices that form the planted pocket: labelled `attackerClass`, inside `enclosingClass`. */
  members: number[];
  attackerClass: number;
  enclosingClass: number;
  /** Training indices reported as crafted samples of their own class, when given. */
  crafted?: { classIndex: number; members: number[] };
}

const CLASSES = Array.from({ length: 10 }, (_, i) => String(i));

export function handMadeScan(f: FixtureInput): ScanResult {
  const natural = (id: number, a: number, b: number, members: number[], score: number, pValue: number) => ({
    id, members, attackerClass: a, enclosingClass: b, score, pValue, confirmed: false,
    learnt: 0.8, attemptPValue: 1, attempt: false, origin: 'pocket' as const,
    shell: members.map((m) => m + 100), contaminants: [] as number[],
    tightness: { contamination: 1, diameter: 0.9, relativeSpread: 0.8, shellPurity: 0.6 },
    interiorAttackerRate: 0.7, flipDistance: 0.5, fittedRate: 0.8,
    evidence: { depth: 0.6, size: 1.39, spread: -0.8, copies: 0, learnt: -0.22, copiesRatio: 0.91 },
    explanation: `A natural group of ${members.length} samples labelled ${a} at the border of class ${b}; pockets like it are common in this model.`,
  });
  const pockets = [
    {
      id: 0, members: f.members, attackerClass: f.attackerClass, enclosingClass: f.enclosingClass, score: 4.2, pValue: 0.0005, confirmed: true,
      learnt: 1, attemptPValue: 1, attempt: false, origin: 'both' as const,
      shell: f.members.map((m) => m + 1000), contaminants: [] as number[],
      tightness: { contamination: 0, diameter: 0.12, relativeSpread: 0.05, shellPurity: 0.97 },
      interiorAttackerRate: 1, flipDistance: 0.3, fittedRate: 1,
      evidence: { depth: 3.48, size: 2.2, spread: 0, copies: 3.1, learnt: 0, copiesRatio: 0.12 },
      explanation: `${f.members.length} near-identical samples labelled ${f.attackerClass} sit deep inside class ${f.enclosingClass} (97% of their nearest outside neighbours are ${f.enclosingClass}); the model predicts ${f.attackerClass} everywhere inside their hull and ${f.enclosingClass} 30% of the way out. No natural pocket of this model is that tight and that deep (p < 0.001).`,
    },
    natural(1, 4, 9, [11, 12, 13, 14], 1.3, 0.41),
    natural(2, 9, 4, [21, 22, 23], 1.1, 0.55),
    natural(3, 3, 5, [31, 32, 33, 34, 35], 0.9, 0.7),
  ];
  const pairs = pockets.map((p) => ({
    attackerClass: p.attackerClass, enclosingClass: p.enclosingClass, seeds: p.members.length + 2, candidates: 1,
    pockets: p.confirmed ? 1 : 0, bestScore: p.score, members: p.members.length,
  }));
  const classes = CLASSES.map((className, c) => {
    const mine = pairs.filter((p) => p.attackerClass === c);
    return {
      classIndex: c, className, samples: Math.round(f.dataset.trainCount / 10),
      seeds: 3 + c + mine.reduce((n, p) => n + p.seeds, 0), candidates: mine.length, pockets: mine.reduce((n, p) => n + p.pockets, 0),
      bestScore: mine.length ? Math.max(...mine.map((p) => p.bestScore)) : null, members: mine.reduce((n, p) => n + p.members, 0),
    };
  });
  return {
    schema: 'clear-scan/2', createdAt: new Date().toISOString(),
    settings: { featureLayer: 'features', normalisation: 'l2', neighbours: 30, falseAlarm: 0.05, minShellPurity: 0.6, probesPerPocket: 64, nullGroups: 400, seed: 0, reference: null },
    backend: 'wasm',
    dataset: { spec: f.dataset.spec, name: 'MNIST (built-in)', fingerprint: f.dataset.fingerprint, trainCount: f.dataset.trainCount, classNames: CLASSES },
    model: { dir: f.model.dir, fingerprint: f.model.fingerprint, featureLayer: 'features', featureDim: 128 },
    verdict: {
      suspected: true, attempt: false, headline: 'Backdoor suspected', falseAlarm: 0.05, pValue: 0.0005, attemptPValue: 1,
      ...(f.crafted ? { crafted: true, craftedPValue: 0.0004 } : {}),
      summary: `One pocket of ${f.members.length} samples labelled ${f.attackerClass} inside class ${f.enclosingClass} is far tighter and deeper than any natural pocket of this model.${f.crafted ? ` Also ${f.crafted.members.length} crafted-looking samples labelled "${f.crafted.classIndex}".` : ''}`,
    },
    calibration: {
      nullGroups: 400, nullDraws: 1500, borderSamples: 1200, family: 300,
      backdoorTail: { threshold: 0.6, share: 0.1, scale: 0.8 }, attemptTail: { threshold: 0.4, share: 0.05, scale: 0.9 },
      nullScores: Array.from({ length: 40 }, (_, i) => ({ score: -1 + i * 0.05, attemptScore: i % 3 === 0 ? -1.5 + i * 0.04 : null, size: 2 + (i % 5) })),
    },
    pockets,
    ...(f.crafted ? {
      crafted: [{
        id: 1, classIndex: f.crafted.classIndex, members: f.crafted.members,
        driftRatios: f.crafted.members.map((_, k) => 6.5 - 0.25 * k), nextRatio: 2.1, pValue: 0.0004,
        explanation: `${f.crafted.members.length} training samples labelled "${f.crafted.classIndex}" move 5.9 times as far as this model's typical sample when their images are reduced to eight levels per value, apart from the rest of their class (its next most fragile sample moves 2.1 times): crafted images, such as clean-label poisons, look like this.`,
      }],
    } : {}),
    statistics: { classes, pairs, seeds: classes.reduce((n, c) => n + c.seeds, 0), candidates: pockets.length },
    timings: { embed: 1.2, neighbours: 0.8, hulls: 0.4, pocketTest: 0.6, total: 3 },
  };
}

export function handMadeRepair(scan: ScanResult, out: string): RepairResult {
  const pocket = scan.pockets[0];
  const before = [0.98, 0.99, 0.9, 0.91, 0.93, 0.88, 0.95, 0.92, 0.85, 0.9];
  return {
    schema: 'clear-repair/1', createdAt: new Date().toISOString(), backend: 'wasm',
    model: { from: scan.model.dir, fromFingerprint: scan.model.fingerprint, out, fingerprint: 'b'.repeat(64) },
    relabelled: pocket.members.map((index) => ({ index, from: pocket.attackerClass, to: pocket.enclosingClass })),
    settings: { epochs: 3, learningRate: 0.0003, replay: 512, interiorProbes: 256, seed: 0 },
    before: { accuracy: 0.921, perClass: before, suspected: true, openPockets: 1 },
    after: { accuracy: 0.919, perClass: before.map((a, i) => a - (i % 3 === 0 ? 0.01 : 0)), suspected: false, openPockets: 0 },
    pockets: [{ id: pocket.id, attackerClass: pocket.attackerClass, enclosingClass: pocket.enclosingClass, interiorBefore: 1, interiorAfter: 0.02 }],
    target: { split: 'test', index: 0, trueClass: pocket.enclosingClass, attackerClass: pocket.attackerClass, before: pocket.attackerClass, after: pocket.enclosingClass },
    rescan: { ...scan, verdict: { ...scan.verdict, suspected: false, summary: 'No pocket stands out.' }, pockets: scan.pockets.slice(1) },
    seconds: 12.5,
  };
}

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = path.join(ROOT, 'dist');
/** Where every e2e test leaves its screenshots. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/**
 * Why the browser-mode tests cannot run on this machine (Chromium missing, the app not built),
 * or null. The reason is printed once with `what`, the name of the skipped test, so a skip is
 * never silent.
 */
export function browserModeMissing(what: string): string | null {
  const missing = !existsSync(CHROMIUM)
    ? `${CHROMIUM} is missing (install it with: apt-get install -y chromium)`
    : !existsSync(path.join(DIST, 'renderer', 'index.html')) || !existsSync(path.join(DIST, 'worker.js'))
      ? 'the app is not built (run npm run build first)'
      : null;
  if (missing) console.warn(`Skipping ${what}: ${missing}.`);
  return missing;
}

export type BrowserModeServer = Awaited<ReturnType<typeof startBrowserMode>>;

/**
 * Browser mode over the built app in a new temporary folder `work` (`prefix` names it), with its
 * own configuration folder. `dir` is the folder `project` inside it (not created); the app opens
 * it at start unless `openAtStart` is false.
 */
export async function startServer(prefix: string, project: string, openAtStart = true): Promise<{ work: string; dir: string; server: BrowserModeServer }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = path.join(work, project);
  const server = await startBrowserMode({
    workerPath: path.join(DIST, 'worker.js'), rendererDir: path.join(DIST, 'renderer'), port: 0,
    configDir: path.join(work, 'config'), ...(openAtStart ? { startupProject: dir } : {}),
  });
  return { work, dir, server };
}

/**
 * How a test waits on the page. Every wait fails early with the page's own error sentence (the
 * `error` element) rather than timing out on it, and treats a task as finished only once its
 * Cancel button has gone. `page` is read at each call (it is opened in `beforeAll`).
 */
export function pageWaits(page: () => Page) {
  const noError = async () => {
    const error = page().getByTestId('error');
    if (await error.count()) throw new Error(`The page shows an error: ${await error.innerText()}`);
  };
  /** Waits until no task runs and `done` holds; with `failFast` false, an error sentence is left to the caller. */
  const settle = async (done: () => Promise<unknown>, timeout = 600_000, failFast = true) => {
    const start = Date.now();
    while (Date.now() - start < timeout) {
      if (failFast) await noError();
      if (await page().getByTestId('cancel').count() === 0 && await done()) return;
      await page().waitForTimeout(250);
    }
    throw new Error('Timed out waiting for the step to finish.');
  };
  const visible = (testid: string) => async () => (await page().getByTestId(testid).count()) > 0;
  /** Waits for the element `testid`, once no task runs. */
  const appear = (testid: string, timeout = 180_000) => settle(visible(testid), timeout)
    .catch((e: Error) => { throw e.message.startsWith('Timed out') ? new Error(`Timed out waiting for ${testid}.`) : e; });
  return { noError, settle, visible, appear };
}

/** Writes a full-page screenshot to test-artifacts/`name`.png once charts have drawn. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Headless Debian Chromium with the flags this offline machine needs (no background network
 * traffic), and a 1280×900 page that records console errors into `errors`.
 */
export async function openHeadlessPage(errors: string[], colorScheme: 'light' | 'dark' = 'light'): Promise<{ browser: Browser; page: Page }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return { browser, page };
}

/**
 * A new project at `dir` on the Load step whose dataset is the .npz file `npz`: `files` (name in
 * the project → file to copy) go into its `inputs` folder, inside the project, which the session
 * may read. Returns that folder.
 */
export async function projectWithNpzInputs(server: BrowserModeServer, dir: string, files: Record<string, string>, npz: string): Promise<string> {
  const store = new ProjectStore();
  const { project } = await store.create(dir);
  const inputs = path.join(dir, 'inputs');
  mkdirSync(inputs);
  for (const [name, from] of Object.entries(files)) copyFileSync(from, path.join(inputs, name));
  const spec = `npz:${path.join(inputs, npz)}`;
  const preview = await server.engine.run('datasetPreview', { data: spec, samplesPerClass: 1 }, { id: 'fixture-preview', onProgress: () => {} }) as DatasetPreview;
  await store.save(dir, {
    ...project, step: 'load',
    dataset: { spec, name: preview.name, fingerprint: preview.fingerprint, classNames: preview.classNames, trainCount: preview.trainCount, testCount: preview.testCount },
  });
  return inputs;
}
