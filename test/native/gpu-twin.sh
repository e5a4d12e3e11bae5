#!/usr/bin/env bash
# The GPU twin on a machine without a GPU: set-up installs @tensorflow/tfjs-node-gpu the same way as
# tfjs-node, plus the CUDA 12 wheels TensorFlow names; it must load, run on the CPU and say so
# (gpu-twin-check.ts). Afterwards the CPU package is linked again. Writes JUnit XML to $1.
set -uo pipefail
cd "$(dirname "$0")/../.."
result=${1:?usage: gpu-twin.sh RESULT.junit.xml}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
{ bash scripts/setup-native.sh --gpu && TF_CPP_MIN_LOG_LEVEL=3 node --import tsx test/native/gpu-twin-check.ts; } >"$log" 2>&1
status=$?
bash scripts/setup-native.sh >>"$log" 2>&1 || status=1 # back to the CPU package
cat "$log"
escaped=$(tail -40 "$log" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo "<testsuite name=\"gpu-twin\" tests=\"1\" failures=\"$([ $status = 0 ] && echo 0 || echo 1)\" skipped=\"0\" errors=\"0\">"
  echo "  <testcase classname=\"native\" name=\"the GPU twin installs, loads and runs on a CPU-only machine, and says so\" time=\"$((SECONDS - start))\">"
  [ $status = 0 ] || echo "    <failure message=\"gpu twin check failed\">$escaped</failure>"
  echo '  </testcase>'
  echo '</testsuite>'
} >"$result"
exit $status
