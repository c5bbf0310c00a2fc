// Drives the web viewer in headless Chromium (Debian's, through playwright-core): opens it on a
// daemon, waits for the tiles, sets a known view, screenshots the viewer, switches the colormap,
// screenshots again, and writes what it saw for the C++ test to check against gRPC renders.
//   node viewer_check.mjs HTTP_ADDRESS IMAGE_ID OUT_DIR WEB_DIR
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';

const [address, imageId, outDir, webDir] = process.argv.slice(2);
const require = createRequire(path.resolve(webDir, 'package.json'));
const { chromium } = require('playwright-core');

const report = { console_errors: [], page_errors: [], failed_requests: [], tile_urls: [], steps: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--force-device-scale-factor=1'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 }, deviceScaleFactor: 1 });
  page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
  page.on('pageerror', (e) => report.page_errors.push(String(e)));
  page.on('requestfailed', (r) => report.failed_requests.push(r.url()));
  page.on('response', (r) => {
    if (r.url().includes('/iiif/3/') && !r.url().endsWith('info.json')) report.tile_urls.push(r.status() + ' ' + r.url());
  });
  await page.goto(`http://${address}/?image=${encodeURIComponent(imageId)}&navigator=0`);
  await page.waitForFunction(() => window.tilerender && window.tilerender.loads > 0, null, { timeout: 60000 });
  report.steps.push('first view loaded');

  // A known view: one image pixel per screen pixel, centered.
  const settle = async () => {
    await page.waitForFunction(() => window.tilerender.ready, null, { timeout: 60000 });
    await page.waitForTimeout(300);
  };
  await page.evaluate(() => {
    const viewer = window.tilerender.viewer();
    const item = viewer.world.getItemAt(0);
    const size = item.getContentSize();
    viewer.viewport.zoomTo(item.imageToViewportZoom(1), null, true);
    viewer.viewport.panTo(item.imageToViewportCoordinates(size.x / 2, size.y / 2), true);
    viewer.viewport.applyConstraints(true);
    viewer.forceRedraw();
  });
  await page.waitForTimeout(500);
  await settle();
  report.view = await page.evaluate(() => window.tilerender.view());
  await page.locator('#viewer').screenshot({ path: `${outDir}/viewer.png` });
  report.steps.push('known view');

  // Another colormap: new tiles.
  const loads = await page.evaluate(() => window.tilerender.loads);
  await page.evaluate(() => window.tilerender.setColormap('magma'));
  await page.waitForFunction((n) => window.tilerender.loads > n && window.tilerender.ready, loads, { timeout: 60000 });
  await page.waitForTimeout(300);
  await page.locator('#viewer').screenshot({ path: `${outDir}/viewer_magma.png` });
  report.view_magma = await page.evaluate(() => window.tilerender.view());
  report.snapshot_href = await page.evaluate(() => document.getElementById('snapshot').href);
  report.viewer_errors = await page.evaluate(() => window.tilerender.errors);
  await page.screenshot({ path: `${outDir}/page.png` });
  report.steps.push('magma');
} catch (e) {
  report.error = String(e && e.stack || e);
} finally {
  await browser.close();
  fs.writeFileSync(`${outDir}/report.json`, JSON.stringify(report, null, 1));
}
