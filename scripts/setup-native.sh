#!/usr/bin/env bash
# Builds the native TensorFlow backend offline: @tensorflow/tfjs-node (or, with --gpu, its -gpu twin)
# compiled from source against the TensorFlow libraries inside the PyPI wheel, because the package's
# own install script downloads libtensorflow from a host these machines cannot reach.
#
#   bash scripts/setup-native.sh [--gpu]
#
# Cached in .cache/native (outside node_modules, so `npm ci` does not wipe it):
#   tensorflow-<TF>/{lib,include}     the wheel's two shared libraries (stripped) and the C API headers
#   npm-<pkg>/node_modules/...        the npm package and its runtime dependencies, installed without
#                                     its download script; node_modules/@tensorflow/<pkg> links here
#   tensorflow-<TF>/nvidia/<lib>/lib  (--gpu) the CUDA 12 wheels TensorFlow names, unpacked where the
#                                     libraries' RUNPATH ($ORIGIN/../nvidia/*/lib) looks for them
# Idempotent: every piece is made once; a failure leaves the wasm backend working and says why.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

TF_VERSION=2.21.0
TFJS_NODE_VERSION=4.22.0
pkg=tfjs-node
[ "${1:-}" = "--gpu" ] && pkg=tfjs-node-gpu

cache=$root/.cache/native
tf_dir=$cache/tensorflow-$TF_VERSION
npm_dir=$cache/npm-$pkg-$TFJS_NODE_VERSION
pkg_dir=$npm_dir/node_modules/@tensorflow/$pkg
link=$root/node_modules/@tensorflow/$pkg
python=${PYTHON:-$root/.venv/bin/python}

say() { printf '[setup-native] %s\n' "$*" >&2; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the wheel's libraries and headers, once ------------------------------------------------
if [ ! -f "$tf_dir/.complete" ]; then
  say "TensorFlow $TF_VERSION libraries from the PyPI wheel (one download of ~570 MB)"
  "$python" -m pip download -q --no-deps --only-binary=:all: -d "$work/wheel" "tensorflow==$TF_VERSION"
  "$python" scripts/native/extract-wheel.py "$work/wheel"/tensorflow-*.whl "$work/tf"
  strip --strip-unneeded "$work/tf/lib"/*.so.2
  # the names the binding links against, and the 2.9.1 names its build script checks for
  for name in libtensorflow libtensorflow_framework; do
    target=$name.so.2; [ $name = libtensorflow ] && target=libtensorflow_cc.so.2
    ln -sf "$target" "$work/tf/lib/$name.so"
    ln -sf "$target" "$work/tf/lib/$name.so.2.9.1"
  done
  rm -rf "$tf_dir"; mv "$work/tf" "$tf_dir"; touch "$tf_dir/.complete"
fi

# --- CUDA wheels for the -gpu twin ----------------------------------------------------------
if [ $pkg = tfjs-node-gpu ] && [ ! -f "$tf_dir/nvidia/.complete" ]; then
  say "CUDA 12 wheels named by tensorflow[and-cuda]==$TF_VERSION (~3 GB)"
  "$python" -m pip download -q --no-deps --only-binary=:all: -d "$work/cuda" -r "$tf_dir/cuda-requirements.txt"
  mkdir -p "$work/unpacked"
  for wheel in "$work/cuda"/*.whl; do
    "$python" -m zipfile -e "$wheel" "$work/unpacked"
  done
  rm -rf "$tf_dir/nvidia"; mv "$work/unpacked/nvidia" "$tf_dir/nvidia"; touch "$tf_dir/nvidia/.complete"
fi

# --- the npm package without its download script, built from source, once -------------------
if [ ! -f "$npm_dir/.complete" ]; then
  say "@tensorflow/$pkg@$TFJS_NODE_VERSION built from source against the wheel's libraries"
  mkdir -p "$work/npm"
  echo '{"private": true}' > "$work/npm/package.json"
  (cd "$work/npm" && npm install -q --ignore-scripts --no-audit --no-fund --no-package-lock "@tensorflow/$pkg@$TFJS_NODE_VERSION" >/dev/null)
  # one tfjs only: the package must find the project's @tensorflow/tfjs (walking up from .cache)
  find "$work/npm/node_modules/@tensorflow" -mindepth 1 -maxdepth 1 ! -name "$pkg" -exec rm -rf {} +
  built=$work/npm/node_modules/@tensorflow/$pkg
  mkdir -p "$built/deps"
  ln -s "$tf_dir/include" "$built/deps/include"
  ln -s "$tf_dir/lib" "$built/deps/lib"
  node_gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$node_gyp" ] || node_gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  nodedir=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$nodedir/include/node/node_api.h" ] || nodedir=/usr
  (cd "$built" && npm_config_node_gyp=$node_gyp "$work/npm/node_modules/.bin/node-pre-gyp" rebuild \
    --build-from-source --build-latest-napi-version-only --nodedir="$nodedir" >"$work/build.log" 2>&1) \
    || { tail -20 "$work/build.log" >&2; exit 1; }
  rm -rf "$built/build/Release/obj.target" "$built/build/Release/.deps"
  rm -rf "$npm_dir"; mv "$work/npm" "$npm_dir"; touch "$npm_dir/.complete"
fi

# --- linked into node_modules (again after every npm ci), then loaded once as a check ---------
mkdir -p "$(dirname "$link")"
other=tfjs-node-gpu; [ $pkg = tfjs-node-gpu ] && other=tfjs-node
rm -f "$root/node_modules/@tensorflow/$other" # both register 'tensorflow': one at a time
ln -sfn "$pkg_dir" "$link"
version=$(TF_CPP_MIN_LOG_LEVEL=3 node -e "
  const tf = require('@tensorflow/tfjs');
  require('@tensorflow/$pkg');
  tf.setBackend('tensorflow').then((ok) => {
    if (!ok) throw new Error('tf.setBackend(\"tensorflow\") returned false');
    console.log(tf.backend().binding.TF_Version);
  });" 2>"$work/load.log") || {
  tail -5 "$work/load.log" >&2; rm -f "$link"; say "the built package does not load; removed the link (wasm stays)"; exit 1
}
say "@tensorflow/$pkg ready: TensorFlow $version"
