/**
 * The result views on known numbers: a project holding hand-made scan and repair results
 * (fixtures.ts) over a real small model, opened in browser mode. Checks that Inspect and
 * Verify show exactly the data they were given, that opening a project runs no training,
 * and that a mistake reads as one sentence; screenshots in light and dark themes.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src-main/project/store.js';
import { startBrowserMode } from '../../src-main/serve/index.js';
import { handMadeRepair, handMadeScan, openHeadlessPage } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const missing = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (install it with: apt-get install -y chromium)`
  : !existsSync(path.join(DIST, 'renderer', 'index.html')) || !existsSync(path.join(DIST, 'worker.js'))
    ? 'the app is not built (run npm run build first)'
    : null;
if (missing) console.warn(`Skipping the result-view e2e test: ${missing}.`);

const LIMIT = 600;
const ATTACKER = 7;
const ENCLOSING = 1;

describe.skipIf(Boolean(missing))(`result views on hand-made results${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof startBrowserMode>>;
  let scan: ReturnType<typeof handMadeScan>;
  const errors: string[] = [];
  const snap = async (name: string) => {
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(ARTIFACTS, `views-${name}.png`), fullPage: true });
  };
  const main = () => page.locator('main');
  /** Waits for an element, failing early with the page's own error sentence if one appears. */
  const appear = async (testid: string, timeout = 120_000) => {
    const start = Date.now();
    while (Date.now() - start < timeout) {
      if (await page.getByTestId(testid).count()) return;
      const error = page.getByTestId('error');
      if (await error.count()) throw new Error(`The page shows an error: ${await error.innerText()}`);
      await page.waitForTimeout(250);
    }
    throw new Error(`Timed out waiting for ${testid}.`);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const work = mkdtempSync(path.join(os.tmpdir(), 'clear-views-'));
    const dir = path.join(work, 'Known results');
    server = await startBrowserMode({ workerPath: path.join(DIST, 'worker.js'), rendererDir: path.join(DIST, 'renderer'), port: 0, configDir: path.join(work, 'config'), startupProject: dir });
    const store = new ProjectStore();
    const { project } = await store.create(dir);
    const data = { data: 'mnist', limit: LIMIT };
    const modelDir = path.join(dir, 'models', 'model-1');
    const trained = await server.engine.run('train', { ...data, arch: 'mlp', epochs: 1, batchSize: 64, learningRate: 0.001, seed: 0, out: modelDir }, { id: 'fixture-train', onProgress: () => {} }) as { fingerprint: string; dataset: { fingerprint: string } };
    const preview = await server.engine.run('datasetPreview', { ...data, samplesPerClass: 6 }, { id: 'fixture-preview', onProgress: () => {} }) as { samples: { classIndex: number; index: number }[] };
    scan = handMadeScan({
      dataset: { spec: 'mnist', fingerprint: trained.dataset.fingerprint, trainCount: LIMIT },
      model: { dir: modelDir, fingerprint: trained.fingerprint },
      members: preview.samples.filter((s) => s.classIndex === ATTACKER).map((s) => s.index),
      attackerClass: ATTACKER, enclosingClass: ENCLOSING,
    });
    const scanFile = path.join(dir, 'scans', 'scan-1.json');
    mkdirSync(path.dirname(scanFile), { recursive: true });
    writeFileSync(scanFile, JSON.stringify(scan));
    await store.save(dir, {
      ...project, step: 'inspect',
      dataset: { spec: 'mnist', limit: LIMIT, name: 'MNIST (built-in)', fingerprint: trained.dataset.fingerprint, classNames: scan.dataset.classNames, trainCount: LIMIT, testCount: 2000 },
      model: { dir: modelDir, fingerprint: trained.fingerprint, origin: 'trained', architecture: 'mlp' },
      scan: { file: scanFile, result: scan },
      repair: { model: { dir: modelDir, fingerprint: trained.fingerprint, origin: 'repaired' }, result: handMadeRepair(scan, modelDir) },
    });
    ({ browser, page } = await openHeadlessPage(CHROMIUM, errors));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('reopens the project on the step it was left at, without training', async () => {
    await page.goto(server.url);
    await expect.poll(() => main().getAttribute('data-step'), { timeout: 60_000 }).toBe('inspect');
    expect(await page.getByTestId('verdict').innerText()).toContain('Backdoor suspected');
  }, 120_000);

  it('shows exactly the per-class statistics and pockets of the scan', async () => {
    const rows = await page.locator('[data-testid="class-chart"] [data-chart-table] tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t').map((c) => c.trim()))).toEqual(
      scan.statistics.classes.map((c) => [c.className, String(c.seeds), String(c.candidates), String(c.pockets)]));
    const list = await page.getByTestId('pocket-list').innerText();
    expect(list).toMatch(new RegExp(`0\\s+${ATTACKER} inside ${ENCLOSING}\\s+6\\s+4\\.20\\s+< 0\\.001\\s+backdoor pocket`));
    expect(list).toContain('4 inside 9');
    expect(await page.getByTestId('pair-matrix').locator('td.pocket').count()).toBe(1);
    await appear('pocket-plot');
    expect(await page.getByTestId('explanation').innerText()).toContain('near-identical samples');
    expect(await page.locator('[data-testid="pairs"] img').count()).toBe(12);
    expect(await page.locator('[data-testid="pocket-plot"] [data-chart-table]').innerText()).toMatch(/^6 members/);
    await snap('inspect-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await snap('inspect-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 180_000);

  it('selects another pocket with the keyboard', async () => {
    await page.locator('[data-pocket="0"]').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('pocket-detail').innerText()).toContain('Pocket 1:');
    await appear('pocket-plot');
  }, 180_000);

  it('shows before and after side by side in Verify', async () => {
    await page.locator('nav [data-step="verify"]').click();
    expect(await page.getByTestId('target-verdict').innerText()).toContain(`is classified ${ENCLOSING} again`);
    expect(await page.getByTestId('side-before').innerText()).toContain('92.10%');
    expect(await page.getByTestId('side-after').innerText()).toContain('No backdoor found');
    expect(await page.locator('[data-testid="verify-chart"] [data-chart-table] tbody tr').count()).toBe(10);
    await snap('verify');
  });

  it('shows a mistake as one sentence that says what to do', async () => {
    await page.locator('nav [data-step="load"]').click();
    await page.getByText('Open a model folder').click();
    await page.getByTestId('model-path').fill('/nonexistent/model');
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(() => page.getByTestId('error').innerText()).toMatch(/^Reading the model failed: The model folder \/nonexistent\/model does not exist\./);
    await snap('load-error');
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  }, 60_000);
});
