#!/usr/bin/env bash
# Compiles src/ops/wasm/kernels.c to dist/wasm/kernels.wasm: WebAssembly with SIMD, no libc,
# importing a shared memory (env.memory) so several threads (and the tfjs-wasm heap) can share it.
# Needs clang and wasm-ld (Debian: clang lld; scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist/wasm
for tool in clang wasm-ld; do
  command -v "$tool" >/dev/null || { echo "build-wasm-kernels: $tool not found (apt-get install clang lld)" >&2; exit 1; }
done
tmp=$(mktemp dist/wasm/kernels.XXXXXX.wasm)
clang --target=wasm32 -O3 -msimd128 -matomics -mbulk-memory -nostdlib -Wall -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -o "$tmp" src/ops/wasm/kernels.c
mv "$tmp" dist/wasm/kernels.wasm
