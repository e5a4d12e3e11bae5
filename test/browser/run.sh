#!/usr/bin/env bash
# The browser suite: installs the labextension and kernelspec into .venv (cached), builds the
# library, then runs Playwright in headless /usr/bin/chromium against a real JupyterLab.
#   bash test/browser/run.sh [PLAYWRIGHT_JSON]   (default test-results/browser.playwright.json)
# Also writes test-results/browser/junit.xml and the screenshots in test-results/browser/.
set -uo pipefail
cd "$(dirname "$0")/../.."
report=${1:-test-results/browser.playwright.json}
case "$report" in /*) ;; *) report="$PWD/$report" ;; esac
mkdir -p "$(dirname "$report")" test-results/browser
bash scripts/install-jupyter.sh .venv/bin/python || exit 1
npm run -s build >/dev/null 2>&1 || [ -f dist/display/index.js ] || { echo "library build failed" >&2; exit 1; }
BROWSER_JSON="$report" BROWSER_JUNIT="$PWD/test-results/browser/junit.xml" \
  npx playwright test -c test/browser/playwright.config.ts
