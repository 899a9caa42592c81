/**
 * The result views on known numbers: a project holding hand-made scan and repair results
 * (fixtures.ts) over a real small model, opened in browser mode. Checks that Inspect and
 * Verify show exactly the data they were given, that opening a project runs no training,
 * and that a mistake reads as one sentence; screenshots in light and dark themes.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src-main/project/store.js';
import { browserModeMissing, handMadeRepair, handMadeScan, openHeadlessPage, pageWaits, screenshot, startServer, type BrowserModeServer } from './fixtures.js';
import { digitFolders } from '../digit-folders.js';

const missing = browserModeMissing('the result-view e2e test');

const LIMIT = 600;
/** Members of the planted pocket: more than the repair review lists before "Show all" (8). */
const MEMBERS = 12;
const ATTACKER = 7;
const ENCLOSING = 1;
/** Samples of one class the scan reports as crafted. */
const CRAFTED = 6;
const CRAFTED_CLASS = 3;

describe.skipIf(Boolean(missing))(`result views on hand-made results${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  let page: Page;
  let server: BrowserModeServer;
  let scan: ReturnType<typeof handMadeScan>;
  let dir: string;
  /** The project file as the app last saved it (saves follow the view's updates: poll on it). */
  const readProject = () => JSON.parse(readFileSync(path.join(dir, 'project.json'), 'utf8'));
  let modelDir: string;
  const errors: string[] = [];
  const snap = (name: string) => screenshot(page, `views-${name}`);
  const main = () => page.locator('main');
  const { appear, settle, visible } = pageWaits(() => page);

  beforeAll(async () => {
    ({ server, dir } = await startServer('clear-views-', 'Known results'));
    const store = new ProjectStore();
    const { project } = await store.create(dir);
    const data = { data: 'mnist', limit: LIMIT };
    modelDir = path.join(dir, 'models', 'model-1');
    const trained = await server.engine.run('train', { ...data, arch: 'mlp', epochs: 1, batchSize: 64, learningRate: 0.001, seed: 0, out: modelDir }, { id: 'fixture-train', onProgress: () => {} }) as { fingerprint: string; dataset: { fingerprint: string } };
    const preview = await server.engine.run('datasetPreview', { ...data, samplesPerClass: MEMBERS }, { id: 'fixture-preview', onProgress: () => {} }) as { samples: { classIndex: number; index: number }[] };
    scan = handMadeScan({
      dataset: { spec: 'mnist', fingerprint: trained.dataset.fingerprint, trainCount: LIMIT },
      model: { dir: modelDir, fingerprint: trained.fingerprint },
      members: preview.samples.filter((s) => s.classIndex === ATTACKER).map((s) => s.index),
      attackerClass: ATTACKER, enclosingClass: ENCLOSING,
      crafted: { classIndex: CRAFTED_CLASS, members: preview.samples.filter((s) => s.classIndex === CRAFTED_CLASS).slice(0, CRAFTED).map((s) => s.index) },
    });
    const scanFile = path.join(dir, 'scans', 'scan-1.json');
    mkdirSync(path.dirname(scanFile), { recursive: true });
    writeFileSync(scanFile, JSON.stringify(scan));
    await store.save(dir, {
      ...project, step: 'inspect',
      dataset: { spec: 'mnist', limit: LIMIT, name: 'MNIST (built-in)', fingerprint: trained.dataset.fingerprint, classNames: scan.dataset.classNames, trainCount: LIMIT, testCount: 2000 },
      model: { dir: modelDir, fingerprint: trained.fingerprint, origin: 'trained', architecture: 'mlp' },
      // The model's own training: an mlp for 1 epoch, while the form (the defaults) says cnn for 3.
      training: { arch: 'mlp', accuracy: 0.8, samplesPerSecond: 1000, trainSeconds: 2, backend: 'wasm', epochs: 1,
        history: [{ epoch: 0.5, loss: 1.2, accuracy: 0.6 }, { epoch: 1, loss: 0.7, accuracy: 0.8 }] },
      scan: { file: scanFile, result: scan },
      repair: { model: { dir: modelDir, fingerprint: trained.fingerprint, origin: 'repaired' }, result: handMadeRepair(scan, modelDir) },
    });
    ({ browser, page } = await openHeadlessPage(errors));
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
    expect(list).toMatch(new RegExp(`0\\s+${ATTACKER} inside ${ENCLOSING}\\s+${MEMBERS}\\s+4\\.20\\s+< 0\\.001\\s+backdoor pocket`));
    // Each row's button is named for its pocket, not just "0", "1"…
    expect(await page.getByRole('button', { name: `Pocket 0: ${MEMBERS} samples labelled ${ATTACKER} inside ${ENCLOSING}, backdoor pocket` }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Pocket 1: 4 samples labelled 4 inside 9, natural' }).count()).toBe(1);
    expect(list).toContain('4 inside 9');
    expect(await page.getByTestId('pair-matrix').locator('td.pocket').count()).toBe(1);
    await appear('pocket-plot');
    expect(await page.getByTestId('explanation').innerText()).toContain('near-identical samples');
    expect(await page.locator('[data-testid="pairs"] img').count()).toBe(12);
    expect(await page.locator('[data-testid="pocket-plot"] [data-chart-table]').innerText()).toMatch(new RegExp(`^${MEMBERS} members`));
    expect(await page.getByTestId('pocket-detail').locator('h4').first().innerText()).toBe('Why this was flagged');
    // Where the head's prediction leaves the group, named by the group's class (the hand-made pocket's flip distance, 0.3).
    expect(await page.getByTestId('pocket-detail').innerText()).toContain(`leaves ${ATTACKER} on average 30% of the way out`);
    // The evidence, opened, names each measurement as the report's glossary does, with its meaning.
    await page.getByTestId('pocket-detail').locator('summary', { hasText: 'Evidence' }).click();
    const evidence = await page.getByTestId('evidence').innerText();
    expect(evidence).toContain('Copies ratio');
    expect(evidence).toContain('near 0 for copies of one image');
    expect(evidence).not.toContain('copiesRatio');
    await snap('inspect-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await snap('inspect-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 180_000);

  it('shows the crafted samples with their thumbnails and drifts', async () => {
    const section = page.getByTestId('crafted');
    expect(await section.getByTestId('crafted-group').count()).toBe(1);
    const text = await section.innerText();
    expect(text).toContain(`${CRAFTED} crafted-looking samples labelled “${CRAFTED_CLASS}” · p < 0.001`);
    expect(text).toContain('6.5×');
    await expect.poll(() => section.locator('img').count(), { timeout: 60_000 }).toBe(CRAFTED);
    expect(await page.getByTestId('verdict').innerText()).toContain('crafted samples < 0.001');
    await section.scrollIntoViewIfNeeded();
    await snap('inspect-crafted');
  }, 120_000);

  it('selects another pocket with the keyboard', async () => {
    await page.locator('[data-pocket="0"]').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('pocket-detail').innerText()).toContain('Pocket 1:');
    // A natural group was not flagged, and its heading says so.
    expect(await page.getByTestId('pocket-detail').locator('h4').first().innerText()).toBe('Why this was not flagged');
    await appear('pocket-plot');
  }, 180_000);

  it('says when a pocket cannot be drawn, instead of drawing forever, and draws it when chosen again', async () => {
    // The scan file the drawing reads, moved away while the project still names it.
    const scanFile = path.join(dir, 'scans', 'scan-1.json');
    renameSync(scanFile, `${scanFile}.away`);
    try {
      await page.locator('[data-pocket="3"]').click();
      await settle(visible('pocket-not-drawn'), 60_000, false);
      expect(await page.getByTestId('error').innerText()).toMatch(/^Drawing the pocket failed: The scan file .*scan-1\.json does not exist\./);
    } finally {
      renameSync(`${scanFile}.away`, scanFile);
    }
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await page.locator('[data-pocket="3"]').click();
    await appear('pocket-plot');
    expect(await page.getByTestId('pocket-not-drawn').count()).toBe(0);
  }, 120_000);

  it('lists one pair\'s groups from a matrix cell, by mouse and by keyboard', async () => {
    const matrix = page.getByTestId('pair-matrix');
    await matrix.locator('[data-pair="9:4"]').click();
    await expect.poll(() => page.getByTestId('pair-filter').innerText()).toBe('Showing the 1 group of 9 inside 4. Show all 4 groups');
    expect(await page.getByTestId('pocket-list').locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^2\s+9 inside 4\s+3\s/)]);
    await expect.poll(() => page.getByTestId('pocket-detail').innerText()).toContain('Pocket 2:');
    expect(await matrix.locator('[data-pair="9:4"]').getAttribute('aria-pressed')).toBe('true');
    await snap('inspect-pair');
    // Keyboard: from the pocket's cell (7 inside 1), left goes to the previous cell with groups in reading order (4 inside 9).
    await matrix.locator(`[data-pair="${ATTACKER}:${ENCLOSING}"]`).focus();
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-pair'))).toBe('4:9');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('pair-filter').innerText()).toContain('Showing the 1 group of 4 inside 9.');
    await expect.poll(() => page.getByTestId('pocket-detail').innerText()).toContain('Pocket 1:');
    // The same cell again, or Show all, lists every group.
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByTestId('pair-filter').count()).toBe(0);
    expect(await page.getByTestId('pocket-list').locator('tbody tr').count()).toBe(scan.pockets.length);
    await matrix.locator('[data-pair="3:5"]').click();
    await page.getByTestId('show-all-pairs').click();
    expect(await page.getByTestId('pocket-list').locator('tbody tr').count()).toBe(scan.pockets.length);
  }, 120_000);

  it('shows before and after side by side in Verify', async () => {
    await page.locator('nav [data-step="verify"]').click();
    expect(await page.getByTestId('target-verdict').innerText()).toContain(`is classified ${ENCLOSING} again`);
    expect(await page.getByTestId('side-before').innerText()).toContain('92.10%');
    expect(await page.getByTestId('side-after').innerText()).toContain('No backdoor found');
    expect(await page.locator('[data-testid="verify-chart"] [data-chart-table] tbody tr').count()).toBe(10);
    await snap('verify');
  });

  it('says what the export writes: the repaired model\'s folder, in the format the model came in', async () => {
    await page.locator('nav [data-step="export"]').click();
    const text = await page.locator('section[aria-labelledby="export-h"] > p').first().innerText();
    expect(text).toContain('Writes the repaired model (a copy of its folder, or one file in the format your pipeline takes; it starts as the format the model came in)');
    // The folder choice says what the folder holds; the one-file choices name their format.
    const choices = page.locator('section[aria-labelledby="export-h"] fieldset label');
    expect(await choices.first().innerText()).toContain('A copy of the repaired model\'s folder (TensorFlow.js files, plus model.h5 or model.keras for a model opened from a Keras file; for an ONNX model, its model.onnx instead)');
    expect(await choices.allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('One Keras .h5 file'), expect.stringContaining('One Keras .keras file'), expect.stringContaining('One ONNX .onnx file')]));
    await snap('export');
  });

  it('draws the current model\'s training on its own axis after reopening, whatever the form says', async () => {
    await page.locator('nav [data-step="train"]').click();
    expect(await page.getByTestId('arch').inputValue()).toBe('cnn');
    expect(await page.getByTestId('train-chart').getAttribute('data-epochs')).toBe('1');
    expect(await page.getByTestId('train-chart').locator('figcaption').innerText()).toBe('Training loss and accuracy of the current model (mlp, 1 epoch)');
    await snap('train-reopened');
  });

  it('lists every member of the reported pocket for review, and keeps a member left out across a reload', async () => {
    await page.locator('nav [data-step="repair"]').click();
    // The crafted samples are named, and left to the analyst: the repair does not change them.
    expect(await page.getByTestId('crafted-note').innerText()).toContain(`The ${CRAFTED} crafted-looking samples (Inspect) are not changed by the repair`);
    const review = page.getByTestId('review-0');
    await expect.poll(() => review.locator('tbody tr').count()).toBe(8);
    await page.getByTestId('show-all-0').click();
    await expect.poll(() => review.locator('tbody tr').count()).toBe(MEMBERS);
    // Thumbnails, labels and sources come from the engine for every member, not only the first few.
    await expect.poll(() => review.locator('tbody img[alt^="training sample"]').count(), { timeout: 60_000 }).toBe(MEMBERS);
    // Each member beside its nearest sample of the enclosing class, as the engine finds it in feature space.
    await expect.poll(() => review.locator('td.neighbour img').count(), { timeout: 120_000 }).toBe(MEMBERS);
    const nearest = await review.locator('td.neighbour img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('alt')));
    expect(nearest.every((alt) => alt?.startsWith(`nearest ${ENCLOSING}: training sample #`))).toBe(true);
    const sources = await review.locator('td.source').allInnerTexts();
    expect(sources.every((t) => /^mnist\[\d\]\[\d+\]$/.test(t))).toBe(true);
    const left = scan.pockets[0].members[9];
    await page.getByTestId(`include-${left}`).uncheck();
    await page.getByTestId('action-remove-0').check();
    expect(await page.getByTestId('included-0').innerText()).toBe(`${MEMBERS - 1} of ${MEMBERS} members included`);
    expect(await page.getByTestId('plan-summary').innerText()).toBe(`The repair will relabel 0, remove ${MEMBERS - 1} and leave 1 sample as it is.`);
    await snap('repair-review');
    await expect.poll(() => readProject().repairPlan?.plan)
      .toEqual({ pockets: [{ id: 0, action: 'remove', exclude: [left] }] });
    await page.reload();
    await expect.poll(() => main().getAttribute('data-step'), { timeout: 60_000 }).toBe('repair');
    await page.getByTestId('show-all-0').click();
    expect(await page.getByTestId(`include-${left}`).isChecked()).toBe(false);
    expect(await page.getByTestId('action-remove-0').isChecked()).toBe(true);
  }, 180_000);

  it('shows a mistake as one sentence that says what to do', async () => {
    await page.locator('nav [data-step="load"]').click();
    await page.getByText('Open a model (TensorFlow.js folder, Keras .h5/.keras or ONNX file)').click();
    // A folder nobody chose is refused before anything reads it, saying how to grant it.
    await page.getByTestId('model-path').fill('/nonexistent/model');
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(() => page.getByTestId('error').innerText()).toMatch(/^Reading the model failed: The model folder \/nonexistent\/model is outside the folders chosen in this session, so it is not used; choose it with Browse… \(or File › Open\) to grant it\./);
    // A mistake inside the project folder.
    const missing = path.join(dir, 'no-such-model');
    await page.getByTestId('model-path').fill(missing);
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(() => page.getByTestId('error').innerText()).toMatch(new RegExp(`^Reading the model failed: The model folder ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist\\.`));
    await snap('load-error');
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  }, 60_000);

  it('says honestly that a browser gives no path for a dropped file, and leaves the field as it was', async () => {
    const field = page.getByTestId('model-path');
    const before = await field.inputValue();
    const drop = page.getByTestId('model-path-drop');
    // A real drop of a file, as Chromium delivers it to the page: a DataTransfer holding a File.
    const transfer = await page.evaluateHandle(() => { const t = new DataTransfer(); t.items.add(new File(['{}'], 'model.json', { type: 'application/json' })); return t; });
    await drop.dispatchEvent('dragover', { dataTransfer: transfer });
    expect(await drop.getAttribute('class')).toMatch(/\bover\b/);
    await drop.dispatchEvent('drop', { dataTransfer: transfer });
    await expect.poll(() => page.getByTestId('model-path-drop-note').innerText())
      .toBe('A browser does not tell a web page where a dropped file or folder is, so the path of "model.json" cannot be filled in here. Type or paste its path, or use Browse…; the desktop app takes drops.');
    expect(await field.inputValue()).toBe(before);
    expect(await drop.getAttribute('class')).not.toMatch(/\bover\b/);
    await snap('load-drop-browser');
    // Typing a path clears the note.
    await field.fill(before || '/tmp');
    await field.fill(before);
    expect(await page.getByTestId('model-path-drop-note').count()).toBe(0);
  }, 60_000);

  it('draws folder icons, not emoji that need an emoji font', async () => {
    await page.locator('section[aria-labelledby="model-h"]').getByRole('button', { name: 'Browse…' }).click();
    await page.getByTestId('path-input').fill(dir);
    await expect.poll(() => page.getByTestId('path-prompt').getByRole('button', { name: 'models' }).count()).toBe(1);
    const folder = page.getByTestId('path-prompt').getByRole('button', { name: 'models' });
    expect(await folder.locator('svg').count()).toBe(1);
    expect(await page.getByTestId('path-prompt').innerText()).not.toMatch(/\p{Extended_Pictographic}/u);
    await snap('path-prompt');
    await page.getByTestId('path-prompt').getByRole('button', { name: 'Cancel' }).click();
  }, 60_000);

  it('asks before opening another model sets the repair aside, keeps it in the history, and keeps showing the opened model', async () => {
    await page.getByTestId('model-path').fill(modelDir);
    await page.getByRole('button', { name: 'Open model' }).click();
    await appear('confirm');
    await expect.poll(() => page.getByTestId('confirm').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByTestId('confirm').innerText()).toContain(`The repaired model stays on disk at ${modelDir}`);
    await snap('confirm-replace');
    await page.getByTestId('confirm-cancel').click();
    // Cancelled: the repair is still there.
    expect(await page.locator('nav [data-step="verify"]').isDisabled()).toBe(false);
    expect(await page.getByTestId('model-summary').innerText()).toContain('Trained here');
    await page.getByRole('button', { name: 'Open model' }).click();
    await page.getByTestId('confirm-ok').click();
    await expect.poll(() => page.getByTestId('model-summary').innerText(), { timeout: 60_000 }).toContain('Opened');
    expect(await page.locator('nav [data-step="verify"]').isDisabled()).toBe(true);
    // The card goes on showing how the model got there, also after leaving the step and coming back.
    await page.locator('nav [data-step="train"]').click();
    await page.locator('nav [data-step="load"]').click();
    expect(await page.getByTestId('model-how-open').isChecked()).toBe(true);
    expect(await page.getByTestId('model-path').inputValue()).toBe(modelDir);
    // The scan and the repair set aside are in the history, with the model and data they belong to.
    await page.locator('nav [data-step="scan"]').click();
    await page.getByTestId('history').locator('summary').click();
    const rows = page.getByTestId('history').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    expect(await rows.nth(0).getAttribute('data-kind')).toBe('repair');
    expect(await rows.nth(0).innerText()).toContain(modelDir);
    expect(await rows.nth(1).innerText()).toContain('Backdoor suspected');
    // The project file is saved after the view updates: wait for the save that holds both entries.
    await expect.poll(() => readProject().history?.length ?? 0, { timeout: 30_000 }).toBe(2);
    const saved = readProject();
    expect(saved.history.map((h: { kind: string; model: { fingerprint: string } }) => [h.kind, h.model.fingerprint])).toEqual([['scan', scan.model.fingerprint], ['repair', scan.model.fingerprint]]);
    expect(saved.scan).toBeNull();
    await snap('scan-history');
  }, 120_000);

  it('scans at the feature layer chosen in the Scan step, listing the model\'s flat layers with its default', async () => {
    const select = page.getByTestId('feature-layer');
    await expect.poll(() => select.locator('option').allInnerTexts(), { timeout: 60_000 })
      .toEqual([expect.stringMatching(/^flatten\w* \(Flatten, 784\)$/), 'dense_1 (Dense, 256)', 'features (Dense, 128) · default']);
    expect(await select.inputValue()).toBe('features');
    await select.selectOption('dense_1');
    await expect.poll(() => readProject().settings.scan.featureLayer, { timeout: 30_000 }).toBe('dense_1');
    await page.getByTestId('start-scan').click();
    await appear('scan-verdict', 300_000);
    expect(await page.getByTestId('scan-layer').innerText()).toBe('dense_1');
    await expect.poll(() => readProject().scan?.result.settings.featureLayer).toBe('dense_1');
    await snap('scan-feature-layer');
  }, 360_000);

  it('poisons the analyst\'s own folder dataset, on a training subset, not only the built-in digits', async () => {
    const folder = path.join(path.dirname(dir), 'own digits');
    await digitFolders(folder, (c) => String(c), 20);
    await page.locator('nav [data-step="load"]').click();
    await page.getByText('Files on this computer').click();
    // The folder is outside the project: chosen with Browse…, which grants it (host/path-scope.ts).
    await page.locator('section[aria-labelledby="data-h"]').getByRole('button', { name: 'Browse…' }).click();
    await page.getByTestId('path-input').fill(folder);
    await expect.poll(() => page.getByTestId('path-prompt').innerText()).toContain(folder);
    await page.getByTestId('path-choose').click();
    await expect.poll(() => page.getByTestId('dataset-path').inputValue()).toBe(folder);
    await page.getByTestId('data-limit').fill('120');
    await page.getByTestId('use-dataset').click();
    // 200 images split 80/20, of whose 160 training samples the subset keeps 120.
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 120_000 }).toContain('120 training');
    expect(await page.getByTestId('dataset-summary').innerText()).toContain('(subset of 120)');
    expect(await page.getByTestId('attack-intro').innerText()).toContain('Adds poisons to a copy of');
    await page.getByTestId('attack-poisons').fill('5');
    await page.getByTestId('simulate').click();
    await appear('attack-summary');
    await expect.poll(() => page.getByTestId('dataset-summary').innerText()).toContain('125 training');
    // The project is saved after the view updates: wait for the save that records the attack.
    await expect.poll(() => readProject().attack?.source ?? null, { timeout: 30_000 }).toMatchObject({ spec: `folder:${folder}`, limit: 120 });
    const saved = readProject();
    expect(saved.dataset.spec).toMatch(/^dir:/);
    await snap('load-own-data-attacked');
  }, 240_000);
});
