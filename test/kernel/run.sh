#!/usr/bin/env bash
# Builds the kernel and runs its Python suites -- jupyter_kernel_test conformance, protocol tests,
# every notebook in notebooks/, and the JupyterLab settings we install -- in one pytest run. Writes <results dir>/kernel.junit.xml
# (default test-results/) and ends with pytest's `N passed, N failed` line. About 30 s plus notebooks.
set -uo pipefail
cd "$(dirname "$0")/../.."
results=${1:-test-results}
mkdir -p "$results"
npm run -s build:kernel || { echo "kernel build failed"; exit 1; }
exec .venv/bin/python -m pytest test/kernel test/notebooks test/lab -p no:cacheprovider -rfs \
  --junitxml="$results/kernel.junit.xml" -o junit_family=xunit2
