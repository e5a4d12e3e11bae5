#!/usr/bin/env bash
# Runs every test suite after set-up and ends with one line `N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/.."
results=test-results
rm -rf "$results"; mkdir -p "$results"

if ! bash scripts/setup.sh; then
  echo "setup failed" > "$results/setup.crashed"
  node scripts/summarize-tests.js "$results"; exit 1
fi

# run_suite NAME RESULT_FILE COMMAND...: a suite that leaves no result file counts as one failure
run_suite() {
  local name=$1 result=$2; shift 2
  printf '\n===== %s =====\n' "$name"
  local start=$SECONDS
  "$@"
  echo "[$name] exit $? after $((SECONDS - start)) s"
  [ -s "$result" ] || echo "no result file" > "$results/$name.crashed"
}

# type-checks (root, kernel, extension) and Biome's lint rules (biome.jsonc)
run_suite lint "$results/lint.junit.xml" bash scripts/lint.sh "$results/lint.junit.xml"

run_suite unit "$results/unit.vitest.json" \
  npx vitest run --reporter=default --reporter=json --outputFile.json="$results/unit.vitest.json"

# the unit tests that take their backend from test/test-backend.ts, once more on the native
# TensorFlow backend (same tolerances); a native build that set-up should have made and did not fails
if [ -e node_modules/@tensorflow/tfjs-node ] || [ -e node_modules/@tensorflow/tfjs-node-gpu ]; then
  mapfile -t backend_files < <(grep -rl useTestBackend test --include='*.test.ts' | sort)
  run_suite unit-native "$results/unit-native.vitest.json" env LORA_RECYCLE_TEST_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 \
    npx vitest run "${backend_files[@]}" --reporter=default --reporter=json --outputFile.json="$results/unit-native.vitest.json"
elif [ "${LORA_RECYCLE_NATIVE:-cpu}" != off ]; then
  echo "the native TensorFlow backend was not built (see the set-up output)" > "$results/unit-native.crashed"
fi

# kernel conformance (jupyter_kernel_test), protocol tests, and every notebook run headlessly
run_suite kernel "$results/kernel.junit.xml" bash test/kernel/run.sh "$results"

# JupyterLab in headless Debian Chromium: every renderer, live updates, Stop, reload, unsafe payloads
run_suite browser "$results/browser.playwright.json" bash test/browser/run.sh "$results/browser.playwright.json"

# the quick profile of the reproduction on the tiny configuration (~9 min): report checked, kept in test-results/reports
run_suite reproduce "$results/reproduce.junit.xml" bash -c \
  'npm run -s reproduce -- --out "$1/reports"; node scripts/check-reproduction.js "$1/reports/quick.json" "$1/reproduce.junit.xml" "$?"' _ "$results"

# the GPU twin on this CPU-only machine: installs, loads, finds no GPU, says so, runs on the CPU
run_suite gpu-twin "$results/gpu-twin.junit.xml" bash test/native/gpu-twin.sh "$results/gpu-twin.junit.xml"

node scripts/summarize-tests.js "$results"
