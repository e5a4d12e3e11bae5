/**
 * Playwright configuration of the browser suite: headless Debian Chromium against a JupyterLab
 * server the tests start themselves. Reports: list on stdout, JUnit at $BROWSER_JUNIT (default
 * test-results/browser/junit.xml), Playwright JSON at $BROWSER_JSON (default
 * test-results/browser.playwright.json); screenshots in test-results/browser/.
 */
import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT } from './jupyter-server';

const out = path.join(PROJECT_ROOT, 'test-results', 'browser');

export default defineConfig({
  testDir: __dirname,
  testMatch: '*.spec.ts',
  timeout: 150_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  outputDir: path.join(out, 'artifacts'),
  reporter: [
    ['list'],
    ['junit', { outputFile: process.env.BROWSER_JUNIT ?? path.join(out, 'junit.xml') }],
    ['json', { outputFile: process.env.BROWSER_JSON ?? path.join(PROJECT_ROOT, 'test-results', 'browser.playwright.json') }],
  ],
  use: {
    headless: true,
    viewport: { width: 1400, height: 1000 },
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    screenshot: 'only-on-failure',
    trace: 'off',
  },
});
