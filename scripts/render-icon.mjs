// Renders assets/icon.svg to the PNG sizes the desktop app and its packages use, with headless
// Chromium (playwright-core), transparent outside the rounded square:
//   assets/icon.png                1024×1024 (electron-builder: macOS and Windows icons)
//   assets/icons/NxN.png           16…512 (Linux icon set; 512×512 is also the window icon)
// Run after changing the SVG: node scripts/render-icon.mjs [CHROMIUM]  (default /usr/bin/chromium).
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const svg = readFileSync(path.join(root, 'assets', 'icon.svg'), 'utf8');
const executablePath = process.argv[2] ?? '/usr/bin/chromium';
export const SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  mkdirSync(path.join(root, 'assets', 'icons'), { recursive: true });
  const render = async (size, file) => {
    await page.setViewportSize({ width: size, height: size });
    // The SVG scaled to the whole viewport; nothing else on the page.
    const sized = svg.replace(/width="\d+" height="\d+"/, `width="${size}" height="${size}"`);
    await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${sized}</body></html>`);
    await page.screenshot({ path: file, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`${path.relative(root, file)} ${size}×${size}`);
  };
  for (const size of SIZES) await render(size, path.join(root, 'assets', 'icons', `${size}x${size}.png`));
  await render(1024, path.join(root, 'assets', 'icon.png'));
} finally {
  await browser.close();
}
