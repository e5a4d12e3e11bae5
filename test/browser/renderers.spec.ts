/**
 * LoRA Recycle's JupyterLab extension in a real JupyterLab and headless Chromium: run a notebook
 * with the lora-recycle-ts kernel, see every renderer, scrub the gallery, watch live curves, stop
 * the run from the Stop button, reload and see saved outputs, and see payload errors rendered
 * safely. Screenshots go to test-results/browser/.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import * as path from 'node:path';
import { PROJECT_ROOT, startJupyterLab, type JupyterLabServer } from './jupyter-server';
import { command, kernelIdle, openNotebook, startCommand, type LabWindow } from './lab';
import { CURVES_METRIC, CURVES_TITLE, testNotebook } from './test-notebook';

declare const window: LabWindow; // evaluated in the page
declare function getComputedStyle(element: unknown): { opacity: string };

const SHOTS = path.join(PROJECT_ROOT, 'test-results', 'browser');
const NOTEBOOK = 'renderers.ipynb';

test.describe.configure({ mode: 'serial' });

let server: JupyterLabServer;
let page: Page;
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  server = await startJupyterLab({ [NOTEBOOK]: testNotebook() });
  page = await browser.newPage();
  page.on('dialog', (d) => void d.dismiss()); // an alert() from an injected script would land here
  await openNotebook(page, server.url, server.token, NOTEBOOK);
});

test.afterAll(async () => {
  await page?.close();
  await server?.stop();
});

test('every renderer appears when the notebook runs', async () => {
  await startCommand(page, 'notebook:run-all-cells');
  await expect(page.locator('.lr-gallery .lr-thumb-img')).toHaveCount(6);
  await expect(page.locator('.lr-gallery .lr-row-label')).toHaveText(['cat', 'dog', 'owl']);
  await expect(page.locator('.lr-gallery .lr-caption').first()).toHaveText(/p=0\.\d\d/);
  await expect(page.locator('.lr-pruning figure[data-kept]')).toHaveCount(4);
  await expect(page.locator('.lr-pruning figcaption').nth(1)).toHaveText(/layer 1 · \d+% kept \(\d+\/16\)/);
  await expect(page.locator('.lr-episode [data-correct="true"]')).toHaveCount(3);
  await expect(page.locator('.lr-episode [data-correct="false"]')).toHaveCount(1);
  await expect(page.locator('.lr-zoo tbody tr')).toHaveCount(2);
  await expect(page.locator('.lr-curves:not(.lr-has-error) .lr-plot .main-svg').first()).toBeAttached();
  await shot('01-renderers');
});

test('the step slider and the mask controls change the gallery', async () => {
  const gallery = page.locator('.lr-gallery:not(.lr-has-error)');
  const first = gallery.locator('.lr-thumb-img').first();
  await expect(gallery).toHaveAttribute('data-step', '100'); // follows the newest snapshot
  const before = await first.getAttribute('src');
  const slider = gallery.locator('.lr-slider');
  await slider.focus();
  await page.keyboard.press('Home'); // keyboard-operable
  await expect(gallery).toHaveAttribute('data-step', '0');
  await expect(gallery.locator('.lr-step-label')).toHaveText('0 (1/3)');
  const after = await first.getAttribute('src');
  expect(after).toMatch(/^data:image\/png;base64,/);
  expect(after).not.toBe(before);
  await page.keyboard.press('ArrowRight');
  await expect(gallery).toHaveAttribute('data-step', '50');

  await gallery.locator('.lr-mask-toggle').uncheck();
  expect(await gallery.evaluate((n) => getComputedStyle(n.querySelector('.lr-mask')!).opacity)).toBe('0');
  await gallery.locator('.lr-mask-toggle').check();
  const maskOpacity = async () => Number(await gallery.evaluate((n) => getComputedStyle(n.querySelector('.lr-mask')!).opacity));
  expect(await maskOpacity()).toBeCloseTo(0.6);
  await gallery.locator('.lr-opacity').focus();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  expect(await maskOpacity()).toBeCloseTo(0.5);

  await gallery.locator('.lr-thumb').first().click();
  const enlarged = gallery.locator('.lr-enlarged');
  await expect(enlarged).toContainText('cat · sample 0 · step 50');
  await shot('02-gallery-enlarged');
  await page.keyboard.press('Escape');
  await expect(enlarged).toHaveCount(0);
});

test('the enlarged image sits inside the output below the controls, follows the slider, closes with Escape or its button', async () => {
  const gallery = page.locator('.lr-gallery:not(.lr-has-error)');
  const output = page.locator('.jp-OutputArea-child').filter({ has: gallery }); // the gallery's output, prompt included
  const enlarged = gallery.locator('.lr-enlarged');
  await gallery.locator('.lr-thumb').first().click();
  await expect(enlarged).toBeVisible();
  const box = (await enlarged.boundingBox())!;
  const out = (await output.boundingBox())!;
  const controls = (await gallery.locator('.lr-controls').boundingBox())!;
  expect(box.y).toBeGreaterThanOrEqual(out.y); // not cut off at the top of the cell
  expect(box.y + box.height).toBeLessThanOrEqual(out.y + out.height + 0.5);
  expect(box.x).toBeGreaterThanOrEqual(out.x);
  expect(box.x + box.width).toBeLessThanOrEqual(out.x + out.width + 0.5);
  expect(box.y).toBeGreaterThanOrEqual(controls.y + controls.height); // the slider and mask controls stay uncovered
  await expect(gallery.locator('.lr-slider')).toBeVisible();
  await gallery.locator('.lr-slider').click({ trial: true }); // clickable: nothing lies on top of it
  await gallery.locator('.lr-mask-toggle').click({ trial: true });

  await gallery.locator('.lr-slider').focus();
  await page.keyboard.press('End');
  await expect(enlarged).toContainText('cat · sample 0 · step 100'); // follows the slider
  await enlarged.locator('.lr-enlarged-img').click();
  await page.keyboard.press('Escape'); // also after a click inside it
  await expect(enlarged).toHaveCount(0);
  await expect(gallery.locator('.lr-thumb').first()).toBeFocused();

  await gallery.locator('.lr-thumb').nth(1).click();
  await expect(enlarged).toContainText('sample 1');
  await enlarged.locator('.lr-close').click();
  await expect(enlarged).toHaveCount(0);
});

test('malformed and script-bearing payloads render a safe error', async () => {
  const errors = page.locator('.lr-error');
  await expect(errors).toHaveCount(3);
  await expect(errors.nth(0)).toContainText('gallery: payload rejected');
  await expect(errors.nth(0)).toContainText('expected a PNG data URL');
  await expect(errors.nth(1)).toContainText('episode');
  await expect(errors.nth(2)).toContainText('expected schema version 1, found the number 2');
  // markup inside valid strings is shown as text
  await expect(page.locator('.lr-zoo caption')).toContainText('<script>window.__xss = 1</script>');
  await expect(page.locator('.lr-zoo tbody th').nth(1)).toHaveText('<img src=x onerror=window.__xss=2>');
  expect(await page.locator('.lr-view script, .lr-view img[onerror], .lr-view [src^="javascript:"]').count()).toBe(0);
  // markup in the curves' title and metric names is shown by Plotly as text, not as formatting or links
  const plot = page.locator('.lr-curves:not(.lr-has-error) .lr-plot');
  await expect(plot.locator('.gtitle')).toHaveText(CURVES_TITLE);
  await expect(plot.locator('text[class$="title"]').filter({ hasText: CURVES_METRIC })).toHaveCount(1); // its y axis title (y2title)
  await expect(plot.locator('.legendtext').filter({ hasText: `${CURVES_METRIC} (train)` })).toHaveCount(1);
  expect(await plot.locator('.main-svg a, .main-svg image, .main-svg tspan[style*="bold"]').count()).toBe(0);
  expect(await page.evaluate(() => window.__xss)).toBeUndefined();
  await page.locator('.lr-error').first().scrollIntoViewIfNeeded();
  await shot('03-errors');
});

test('curves update in place while the cell runs, and Stop ends the loop', async () => {
  const curves = page.locator('.lr-curves:not(.lr-has-error)');
  await expect(curves).toHaveAttribute('data-running', 'true');
  const points = async () => Number(await curves.getAttribute('data-points'));
  const redraws = async () => Number(await curves.getAttribute('data-redraws'));
  const p0 = await points();
  const r0 = await redraws();
  await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(p0 + 20);
  await expect.poll(redraws, { timeout: 10_000 }).toBeGreaterThan(r0); // redraws are coalesced: one may still be pending
  expect(await page.locator('.lr-curves .lr-plot').count()).toBe(1); // redrawn in place, not appended
  await expect(curves.locator('.lr-plot .scatterlayer .trace')).toHaveCount(5); // loss, accuracy, lr (train) + loss, accuracy (validation)
  await curves.scrollIntoViewIfNeeded();
  await shot('04-curves-running');

  const stop = curves.locator('.lr-stop');
  await expect(stop).toBeVisible();
  await stop.focus();
  await page.keyboard.press('Enter'); // keyboard-operable
  await expect(page.locator('.jp-OutputArea-output').filter({ hasText: /loop ended at step \d+, aborted=true/ })).toHaveCount(1, {
    timeout: 20_000,
  });
  await expect(curves).toHaveAttribute('data-running', 'false');
  await expect(curves.locator('.lr-status')).toHaveText('stopped');
  await expect(stop).toBeHidden();
  await kernelIdle(page);
  await shot('05-curves-stopped');
});

test('saved outputs render after the page is reloaded', async () => {
  await command(page, 'docmanager:save');
  await page.reload();
  await page.waitForFunction(() => window.jupyterapp?.shell.currentWidget !== null, null, { timeout: 60_000 });
  await expect(page.locator('.lr-gallery .lr-thumb-img')).toHaveCount(6);
  await expect(page.locator('.lr-pruning figure[data-kept]')).toHaveCount(4);
  await expect(page.locator('.lr-episode figure')).toHaveCount(4);
  await expect(page.locator('.lr-zoo tbody tr')).toHaveCount(2);
  await expect(page.locator('.lr-curves:not(.lr-has-error)')).toHaveAttribute('data-running', 'false');
  await expect(page.locator('.lr-curves .lr-plot .scatterlayer .trace')).toHaveCount(5);
  await expect(page.locator('.lr-error')).toHaveCount(3);
  await shot('06-reloaded');
});

test('views follow the dark theme', async () => {
  const tick = page.locator('.lr-curves:not(.lr-has-error) .xtick text').first();
  const fill = () => tick.evaluate((t) => (t as unknown as { style: { fill: string } }).style.fill);
  const light = await fill();
  await command(page, 'apputils:change-theme', { theme: 'JupyterLab Dark' });
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { document: { body: { dataset: Record<string, string> } } }).document.body.dataset.jpThemeLight === 'false',
  );
  await expect.poll(fill).not.toBe(light); // Plotly redrawn with the theme's font colour
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0);
  await page.locator('.lr-gallery:not(.lr-has-error)').scrollIntoViewIfNeeded();
  await shot('07-dark-theme');
  await command(page, 'apputils:change-theme', { theme: 'JupyterLab Light' });
});

test('the palette and launcher offer the LoRA Recycle commands', async () => {
  const has = await page.evaluate(() =>
    ['lora-recycle:open-tutorial', 'lora-recycle:show-zoos-and-runs'].map((c) => window.jupyterapp.commands.hasCommand(c)),
  );
  expect(has).toEqual([true, true]);
  await command(page, 'lora-recycle:show-zoos-and-runs');
  await expect(page.locator('.lr-workspace h3').first()).toHaveText(/LoRA zoos \(\d+\)/);
  await command(page, 'launcher:create');
  const section = page
    .locator('.jp-Launcher-section')
    .filter({ has: page.locator('.jp-Launcher-sectionTitle', { hasText: /^LoRA Recycle$/ }) });
  await expect(section.locator('.jp-LauncherCard')).toHaveCount(2);
  await expect(section).toContainText('Open the Visual Tour');
  await shot('08-launcher');
});
