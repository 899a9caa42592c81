/**
 * An analyst's own Keras model, through the whole wizard in browser mode: a Keras 2 .h5 file the
 * product did not write (test/fixtures/keras/make.py: h5py and NumPy, in Keras's layout, trained
 * with a planted label-flip pocket) and the digits it was trained on as an .npz. Load shows the
 * model's accuracy on the data before any scan; the scan reports the pocket; the repair closes
 * it; Export writes a repaired .h5 (the format the model came in) that h5py and NumPy read back
 * with the target digit classified correctly again. Screenshots in test-artifacts/keras-*.png.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserModeMissing, openHeadlessPage, pageWaits, projectWithNpzInputs, ROOT, screenshot, startServer, type BrowserModeServer } from './fixtures.js';
import { pythonWith } from '../cli/helpers.js';

const KERAS = path.join(ROOT, 'test/fixtures/keras');
const missing = browserModeMissing('the Keras-model wizard e2e test');

const expected = JSON.parse(readFileSync(path.join(KERAS, 'expected.json'), 'utf8')) as {
  mlp: { accuracy: number; target: number; targetPredicted: number; trueClass: number; attackerClass: number };
};

describe.skipIf(Boolean(missing))(`the wizard with an analyst's Keras .h5 model${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  let page: Page;
  let server: BrowserModeServer;
  let work: string;
  let dir: string;
  const errors: string[] = [];
  const snap = (name: string) => screenshot(page, `keras-${name}`);
  const { appear } = pageWaits(() => page);
  const step = async (id: string) => {
    await page.locator(`nav [data-step="${id}"]`).click();
    await expect.poll(() => page.locator('main').getAttribute('data-step')).toBe(id);
  };

  beforeAll(async () => {
    ({ server, work, dir } = await startServer('clear-keras-e2e-', 'Keras project'));
    await projectWithNpzInputs(server, dir, { 'digits.npz': path.join(ROOT, 'test/fixtures/onnx/digits.npz'), 'classifier.h5': path.join(KERAS, 'mlp.h5'), 'classifier-255.h5': path.join(KERAS, 'mlp-255.h5') }, 'digits.npz');
    ({ browser, page } = await openHeadlessPage(errors));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens the .h5 file and shows its accuracy on the digits before any scan', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('main').getAttribute('data-step'), { timeout: 60_000 }).toBe('load');
    await page.getByText('Open a model (TensorFlow.js folder, Keras .h5/.keras or ONNX file)').click();
    const file = path.join(dir, 'inputs', 'classifier.h5');
    await page.getByTestId('model-path').fill(file);
    await page.getByRole('button', { name: 'Open model' }).click();
    await appear('fit-accuracy');
    expect(await page.getByTestId('model-summary').innerText()).toContain(file);
    expect(await page.getByTestId('model-format-note').innerText()).toContain('Keras .h5 file: a repair fine-tunes every layer and writes the repaired model back as a .h5 file');
    // The accuracy NumPy computed from the same weights when it wrote the file.
    expect(await page.getByTestId('fit-accuracy').innerText()).toBe(`${(expected.mlp.accuracy * 100).toFixed(1)}%`);
    expect(await page.getByTestId('fit-warnings').count()).toBe(0);
    await snap('load');
  }, 180_000);

  it('scans and reports the planted pocket', async () => {
    await step('scan');
    await page.getByTestId('start-scan').click();
    await appear('scan-verdict');
    expect(await page.getByTestId('scan-verdict').innerText()).toContain('Backdoor suspected');
    await snap('scan');
    await step('inspect');
    const { attackerClass, trueClass } = expected.mlp;
    expect(await page.getByTestId('pocket-list').innerText()).toMatch(new RegExp(`${attackerClass} inside ${trueClass}\\s+\\d+\\s+[\\d.]+\\s+(< )?[\\d.]+\\s+backdoor pocket`));
    await appear('pocket-plot');
    await snap('inspect');
  }, 300_000);

  it('repairs, and Verify shows the pocket closed', async () => {
    await step('repair');
    // Each member's source names its array and row in the user's file; the column shows the file's name, the tooltip its path.
    const cells = page.locator('td.source');
    await expect.poll(() => cells.count(), { timeout: 60_000 }).toBeGreaterThan(0);
    expect((await cells.allInnerTexts()).every((t) => /^digits\.npz\[x_train\]\[\d+\]$/.test(t.trim()))).toBe(true);
    expect(await cells.first().getAttribute('title')).toMatch(new RegExp(`^${path.join(dir, 'inputs', 'digits.npz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[x_train\\]\\[\\d+\\]$`));
    await page.getByTestId('start-repair').click();
    await appear('repair-result');
    await snap('repair');
    await step('verify');
    expect(await page.getByTestId('pocket-closure').innerText()).toContain('closed');
    expect(await page.getByTestId('side-after').innerText()).toContain('Held-out accuracy');
    await snap('verify');
  }, 300_000);

  it('exports a repaired .h5 that h5py and NumPy read with the target fixed', async () => {
    await step('export');
    // The format the model came in is the first choice offered.
    expect(await page.getByTestId('export-format-h5').isChecked()).toBe(true);
    const dest = path.join(work, 'handed-on');
    await page.locator('section[aria-labelledby="export-h"]').getByRole('button', { name: 'Browse…' }).click();
    await page.getByTestId('path-input').fill(dest);
    await expect.poll(() => page.getByTestId('path-prompt').innerText()).toContain(dest);
    await page.getByTestId('path-choose').click();
    await page.getByTestId('start-export').click();
    await appear('exported', 120_000);
    await snap('export');
    const files = (await page.getByTestId('exported').locator('li.mono').allInnerTexts()).map((f) => f.trim());
    const h5 = files.find((f) => f.endsWith('.h5'));
    expect(h5, `exported: ${files.join(', ')}`).toBeDefined();
    const python = pythonWith(['h5py', 'numpy'], 'python3-h5py');
    const checked = spawnSync(python, [path.join(KERAS, 'check.py'), h5!, path.join(dir, 'inputs', 'digits.npz'), String(expected.mlp.target)], { encoding: 'utf8' });
    expect(checked.status, checked.stderr).toBe(0);
    const result = JSON.parse(checked.stdout) as { accuracy: number; targetPredicted: number };
    expect(result.targetPredicted).toBe(expected.mlp.trueClass);
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  }, 180_000);

  it('opens a model trained on 0–255 pixels: wrong until told so, then right, and the scan feeds it the same', async () => {
    await step('load');
    await page.getByText('Open a model (TensorFlow.js folder, Keras .h5/.keras or ONNX file)').click();
    const file = path.join(dir, 'inputs', 'classifier-255.h5');
    await page.getByTestId('model-path').fill(file);
    await page.getByTestId('input-scale-1').check();
    await page.getByRole('button', { name: 'Open model' }).click();
    // The project holds a repair: opening another model asks first.
    await page.getByTestId('confirm-ok').click({ timeout: 120_000 });
    // Fed 0–1 pixels, it is near chance: the Load step warns, and the model is not taken until acknowledged.
    await appear('fit-warnings');
    expect(Number((await page.getByTestId('fit-accuracy').innerText()).replace('%', ''))).toBeLessThan(30);
    await snap('load-unscaled');
    // A malformed normalisation is one sentence, and nothing changes.
    await page.getByTestId('input-normalize').fill('0.5');
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(() => page.getByTestId('error').innerText()).toContain('The input normalisation takes MEAN:STD');
    await page.getByTestId('input-normalize').fill('');
    await page.getByTestId('input-scale-255').check();
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(() => page.getByTestId('fit-accuracy').innerText(), { timeout: 120_000 }).toBe(`${(expected.mlp.accuracy * 100).toFixed(1)}%`);
    await expect.poll(() => page.getByTestId('model-summary').innerText()).toContain(file);
    expect(await page.getByTestId('model-input').innerText()).toBe('Fed pixels × 255.');
    await snap('load-scaled');
    await step('scan');
    await page.getByTestId('start-scan').click();
    await appear('scan-verdict');
    expect(await page.getByTestId('scan-verdict').innerText()).toContain('Backdoor suspected');
  }, 300_000);
});
