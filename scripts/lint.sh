#!/usr/bin/env bash
# Type-checks and lints the whole code base; exits non-zero when any step fails and names it.
#   tsc-root       tsc --noEmit over src, test, bench, scripts (tsconfig.json)
#   tsc-kernel     tsc --noEmit over kernel/src (kernel/tsconfig.json)
#   tsc-extension  tsc --noEmit over extension/src (extension/tsconfig.json; needs extension/node_modules,
#                  which scripts/install-jupyter.sh installs)
#   biome          biome ci: the recommended lint rules as configured in biome.jsonc
# Biome comes from the project's devDependencies (`npm ci` installs @biomejs/biome), else from PATH.
#   bash scripts/lint.sh [RESULT_FILE]   RESULT_FILE: also write a JUnit XML there, one testcase per step
set -uo pipefail
cd "$(dirname "$0")/.."
result_file=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

steps=() failed=()
# step NAME COMMAND...: runs COMMAND, keeps its output and status and timing for the report
step() {
  local name=$1; shift
  printf '[lint] %s\n' "$name"
  local start=$SECONDS
  "$@" > "$tmp/$name.out" 2>&1
  local rc=$?
  echo $((SECONDS - start)) > "$tmp/$name.time"
  cat "$tmp/$name.out"
  steps+=("$name")
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    printf '[lint] %s failed (exit %d)\n' "$name" "$rc"
  fi
}

missing() { echo "$1"; return 1; }

step tsc-root npx --no-install tsc -p tsconfig.json --noEmit --pretty false
step tsc-kernel npx --no-install tsc -p kernel/tsconfig.json --noEmit --pretty false
if [ -x extension/node_modules/.bin/tsc ]; then
  step tsc-extension extension/node_modules/.bin/tsc -p extension/tsconfig.json --noEmit --pretty false
else
  step tsc-extension missing "expected extension/node_modules (the extension's own packages), found none: run scripts/install-jupyter.sh or (cd extension && npm ci)"
fi
if [ -x node_modules/.bin/biome ]; then
  step biome npx --no-install biome ci --colors=off --error-on-warnings .
elif command -v biome > /dev/null; then
  step biome biome ci --colors=off --error-on-warnings .
else
  step biome missing "expected Biome in node_modules/.bin (npm ci installs the devDependency @biomejs/biome) or on PATH, found neither"
fi

# JUnit XML for scripts/summarize-tests.js: one testcase per step, a failure carries the last 60 lines of its output
xml_escape() { tr -d '\000-\010\013\014\016-\037' | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
if [ -n "$result_file" ]; then
  mkdir -p "$(dirname "$result_file")"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"lint\" tests=\"${#steps[@]}\" failures=\"${#failed[@]}\" errors=\"0\" skipped=\"0\">"
    for name in "${steps[@]}"; do
      printf '  <testcase classname="lint" name="%s" time="%s">' "$name" "$(cat "$tmp/$name.time")"
      if [[ " ${failed[*]} " == *" $name "* ]]; then
        printf '<failure message="%s failed">' "$name"
        tail -n 60 "$tmp/$name.out" | xml_escape
        printf '</failure>'
      fi
      echo '</testcase>'
    done
    echo '</testsuite>'
  } > "$result_file"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "[lint] failed: ${failed[*]}"
  exit 1
fi
echo "[lint] all ${#steps[@]} steps passed: ${steps[*]}"
