/**
 * The wizard's Load step takes an ONNX file where it takes a Keras file: the path typed into the
 * Model card is read by the real engine in browser mode, and the card says that a repair of such a
 * model is head-only; for a model with a flat input and colour data, the model-on-data card says in
 * what order the images are fed.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserModeMissing, openHeadlessPage, projectWithNpzInputs, ROOT, screenshot, startServer, type BrowserModeServer } from './fixtures.js';

const missing = browserModeMissing('the ONNX Load-step e2e test');

describe.skipIf(Boolean(missing))(`Load step with an ONNX model${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  let page: Page;
  let server: BrowserModeServer;
  let dir: string;
  const errors: string[] = [];

  beforeAll(async () => {
    ({ server, dir } = await startServer('clear-onnx-e2e-', 'ONNX project'));
    const fixtures = path.join(ROOT, 'test/fixtures/onnx');
    await projectWithNpzInputs(server, dir, Object.fromEntries(['digits.npz', 'cnn.onnx', 'flat-rgb.npz', 'flat-rgb.onnx'].map((f) => [f, path.join(fixtures, f)])), 'digits.npz');
    ({ browser, page } = await openHeadlessPage(errors));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens the .onnx file and says the repair is head-only', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.locator('main').getAttribute('data-step'), { timeout: 60_000 }).toBe('load');
    await page.getByText('Open a model (TensorFlow.js folder, Keras .h5/.keras or ONNX file)').click();
    const file = path.join(dir, 'inputs', 'cnn.onnx');
    await page.getByTestId('model-path').fill(file);
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(async () => {
      if (await page.getByTestId('error').count()) return `error: ${await page.getByTestId('error').innerText()}`;
      return page.getByTestId('model-summary').count().then((n) => (n ? page.getByTestId('model-summary').innerText() : ''));
    }, { timeout: 120_000 }).toContain('Opened');
    expect(await page.getByTestId('model-summary').innerText()).toContain(file);
    const note = await page.getByTestId('model-head-only').innerText();
    expect(note).toContain('ONNX model: a repair is head-only.');
    expect(note).toContain('a pocket carved into the earlier layers\' features stays there');
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
    await screenshot(page, 'onnx-load');
  }, 180_000);

  it('says in what order a flat-input ONNX model is fed colour images', async () => {
    await page.getByTestId('dataset-path').fill(path.join(dir, 'inputs', 'flat-rgb.npz'));
    await page.getByTestId('use-dataset').click();
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 60_000 }).toContain('flat-rgb.npz');
    const file = path.join(dir, 'inputs', 'flat-rgb.onnx');
    await page.getByTestId('model-path').fill(file);
    await page.getByRole('button', { name: 'Open model' }).click();
    await expect.poll(async () => {
      if (await page.getByTestId('error').count()) return `error: ${await page.getByTestId('error').innerText()}`;
      return page.getByTestId('model-summary').innerText();
    }, { timeout: 120_000 }).toContain(file);
    expect(await page.getByTestId('fit-accuracy').innerText()).toBe('100.0%');
    const note = await page.getByTestId('fit-note').innerText();
    expect(note).toContain(`Input order: the ONNX model in ${file} takes flat vectors of 192 values`);
    expect(note).toContain('fed channels first (C×H×W');
    await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'onnx-flat-load.png'), fullPage: true });
  }, 180_000);
});
