#!/usr/bin/env bash
# Installs the project's JupyterLab setting overrides (scripts/lab-overrides.json: no "get notified
# about official Jupyter news?" prompt, no news or update requests) as
# <prefix>/share/jupyter/lab/settings/overrides.d/lora-recycle.json, which JupyterLab reads as
# defaults (a user's own overrides.json and user settings still win). Atomic; idempotent.
#   bash scripts/install-lab-settings.sh PREFIX        (PREFIX: the Python environment's sys.prefix)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash scripts/install-lab-settings.sh PREFIX" >&2; exit 2; }
source=$(dirname "$0")/lab-overrides.json
dir=$1/share/jupyter/lab/settings/overrides.d
mkdir -p "$dir"
cp "$source" "$dir/lora-recycle.json.tmp"
mv "$dir/lora-recycle.json.tmp" "$dir/lora-recycle.json"
