#!/usr/bin/env bash
# Prints the folder that holds cuBLAS as NVIDIA's pip wheel lays it out (include/cublas_v2.h beside
# lib/libcublas.so.*), for SAM_COBOT_CUBLAS_ROOT: $SAM_COBOT_CUBLAS_ROOT itself when it is one, else
# the nvidia-cublas package of python3 (nvidia/cu13 for CUDA 13, nvidia/cublas for CUDA 12).
# Exits 1, printing nothing, when there is none; CMake then looks in the CUDA toolkit.
set -euo pipefail

is_root() { [ -f "$1/include/cublas_v2.h" ] && compgen -G "$1/lib/libcublas.so*" >/dev/null; }

if [ -n "${SAM_COBOT_CUBLAS_ROOT:-}" ] && is_root "$SAM_COBOT_CUBLAS_ROOT"; then
  echo "$SAM_COBOT_CUBLAS_ROOT"
  exit 0
fi
location=$(python3 -m pip show nvidia-cublas 2>/dev/null | sed -n 's/^Location: //p' || true)
[ -n "$location" ] && [ -d "$location/nvidia" ] || exit 1
for header in "$location"/nvidia/*/include/cublas_v2.h; do
  root=$(dirname "$(dirname "$header")")
  if is_root "$root"; then
    echo "$root"
    exit 0
  fi
done
exit 1
