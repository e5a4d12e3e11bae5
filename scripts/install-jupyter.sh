#!/usr/bin/env bash
# Installs the JupyterLab extension (extension/labextension) and the TypeScript kernelspec
# (lora-recycle-ts) into a Python environment, by default the project's .venv. Idempotent and
# cached: npm ci and the builds rerun only when their inputs changed.
#   bash scripts/install-jupyter.sh [PYTHON]        (PYTHON default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${1:-.venv/bin/python}
stamp_dir=.cache/install-jupyter
mkdir -p "$stamp_dir"

say() { printf '[install-jupyter] %s\n' "$*" >&2; }
# hash of the named files and of every file under the named folders, to skip unchanged steps
tree_hash() { find "$@" -type f -not -path '*/node_modules/*' -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null | sha256sum | cut -c1-16; }
step_done() { [ -f "$stamp_dir/$1" ] && [ "$(cat "$stamp_dir/$1")" = "$2" ]; }
mark_done() { echo "$2" > "$stamp_dir/$1"; }

[ -x "$python" ] || { echo "install-jupyter: expected a Python at $python (run scripts/setup.sh first)" >&2; exit 1; }

# --- the extension's own npm packages (separate package + lock, not a workspace) --------------
h=$(tree_hash extension/package-lock.json)
if [ ! -d extension/node_modules ] || ! step_done npm "$h"; then
  say "npm ci in extension/"
  (cd extension && npm ci --no-audit --no-fund)
  mark_done npm "$h"
fi

# --- build: tsc (extension + the kernel's control protocol; the display schema comes from the library's
# entry lora-recycle/display/schema, dist/display, which setup.sh builds first), then @jupyter/builder
h=$(tree_hash extension/src extension/style extension/package.json extension/tsconfig.json src/display src/errors.ts kernel/src/control-protocol.ts)
if [ ! -f extension/labextension/package.json ] || ! step_done build "$h"; then
  say "building the labextension"
  rm -rf extension/lib
  (cd extension && npm run -s build >/dev/null)
  mark_done build "$h"
fi

# --- the kernel --------------------------------------------------------------------------------
h=$(tree_hash kernel/src kernel/tsconfig.json)
if [ ! -f kernel/dist/main.js ] || ! step_done kernel "$h"; then
  say "building the kernel"
  npm run -s build:kernel
  mark_done kernel "$h"
fi

# --- install into the environment ----------------------------------------------------------------
prefix=$("$python" -c 'import sys; print(sys.prefix)')
name=$(node -p 'require("./extension/package.json").name')
target="$prefix/share/jupyter/labextensions/$name"
if ! cmp -s extension/labextension/package.json "$target/package.json"; then
  say "installing labextension into $target"
  rm -rf "$target.tmp"
  mkdir -p "$(dirname "$target")"
  cp -r extension/labextension "$target.tmp"
  rm -rf "$target"
  mv "$target.tmp" "$target"
fi
# every run installs the kernelspec again: its launcher finds this checkout relative to itself, or at
# this path (kernel/src/install.ts), so a moved checkout needs this script once more
node kernel/dist/main.js install --sys-prefix --python "$python" >/dev/null
bash scripts/install-lab-settings.sh "$prefix"
say "ready: labextension $name and kernelspec lora-recycle-ts in $prefix"
