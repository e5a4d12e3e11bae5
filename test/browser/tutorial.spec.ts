/**
 * The tutorial notebook in a real JupyterLab: opened through the LoRA Recycle command, run with
 * the lora-recycle-ts kernel, every view renders without a payload error.
 */
import { expect, test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, startJupyterLab } from './jupyter-server';
import { command, kernelIdle, startCommand, type LabWindow } from './lab';

declare const window: LabWindow; // evaluated in the page

const TUTORIAL = 'notebooks/01-visual-tour.ipynb';

test('the visual tour opens from its command and shows every view', async ({ page }) => {
  test.setTimeout(420_000);
  const server = await startJupyterLab(
    { [TUTORIAL]: fs.readFileSync(path.join(PROJECT_ROOT, TUTORIAL), 'utf8') },
    { dist: path.join(PROJECT_ROOT, 'dist') }, // the notebook imports ../dist/display
  );
  try {
    await page.goto(`${server.url}/lab?token=${server.token}`);
    await page.waitForFunction(() => window.jupyterapp?.commands.hasCommand('lora-recycle:open-tutorial'), null, { timeout: 60_000 });
    await command(page, 'lora-recycle:open-tutorial');
    await expect(page.locator('.jp-NotebookPanel .jp-Notebook')).toBeAttached();
    await kernelIdle(page);
    await startCommand(page, 'notebook:run-all-cells');
    // first a real inversion (a zoo LoRA tuned, then inverted: the slow cell), then the toy views
    await expect(page.locator('.lr-gallery')).toHaveCount(2, { timeout: 240_000 });
    for (const kind of ['pruning', 'episode', 'zoo']) await expect(page.locator(`.lr-${kind}`)).toHaveCount(1);
    await expect(page.locator('.lr-gallery').nth(0).locator('.lr-thumb-img')).toHaveCount(10); // 5 classes × (1 shot + 1 query)
    await expect(page.locator('.lr-gallery').nth(1).locator('.lr-thumb-img')).toHaveCount(12);
    await expect(page.locator('.lr-curves')).toHaveAttribute('data-running', 'false', { timeout: 60_000 });
    await expect(page.locator('.lr-error')).toHaveCount(0);
    await expect(page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).toHaveCount(0);
    await page.locator('.lr-episode').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-results', 'browser', '10-tutorial-episode.png') });
    await page.locator('.lr-curves').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-results', 'browser', '11-tutorial-curves.png') });
  } finally {
    await server.stop();
  }
});
