#!/usr/bin/env bash
# The main command: set everything up (scripts/setup.sh: Debian packages, npm ci, the .venv with
# JupyterLab, the builds), install the kernelspec and the JupyterLab extension into .venv, then
# open the tutorial notebook in JupyterLab.
#   bash scripts/main.sh            # set up, then JupyterLab on notebooks/01-visual-tour.ipynb
#   bash scripts/main.sh --no-lab   # set up and run the tutorial headless (what CI can do), then exit
# Environment: LAB_PORT (default 8888), LAB_IP (default 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
tutorial=notebooks/01-visual-tour.ipynb

bash scripts/setup.sh
bash scripts/install-jupyter.sh .venv/bin/python

if [ "${1:-}" = "--no-lab" ] || [ "${CI:-}" = "true" ]; then
  out=test-results/main
  mkdir -p "$out"
  .venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=lora-recycle-ts \
    --output-dir "$out" "$tutorial"
  echo "executed $tutorial → $out/$(basename "$tutorial")"
  exit 0
fi

root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)
echo "Opening $tutorial in JupyterLab (Ctrl+C stops the server)."
exec .venv/bin/jupyter lab "${root_flag[@]}" --ip="${LAB_IP:-127.0.0.1}" --port="${LAB_PORT:-8888}" \
  --ServerApp.root_dir="$PWD" "$tutorial"
