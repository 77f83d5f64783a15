#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, CUDA, CMake and Python but no Node.js and no
# network (the H200 machine):
#   scripts/gpu-check.sh OUT_DIR [parity filter ...]
# 1. builds the Node-free parity executable (native/tests/) for sm_90 (CUDAARCHS overrides) with
#    the cuBLAS of python3's nvidia-cublas wheel, or the toolkit's;
# 2. runs every CPU-vs-CUDA parity case (or those matching the filters) with poisoned outputs and
#    times each kernel against its floors;
# 3. only when .portable-node/node.xz and .gpu-kit/kit.tar.xz came along (scripts/gpu-kit.sh makes
#    the kit): builds the addon with the same CMake file and runs the TypeScript tests on the GPU.
# Steps never stop the script: each one's log lands in OUT_DIR (env.log, build.log, parity.log,
# parity.json, node.log, summary.txt), and a short table is printed last. Exits 1 if a step failed.
set -euo pipefail

out=${1:?usage: scripts/gpu-check.sh OUT_DIR [parity filter ...]}
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CUDAARCHS=${CUDAARCHS:-90}
jobs=$(nproc 2>/dev/null || echo 4)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
summary="$out/summary.txt"
: >"$summary"
failed=0

# step NAME LOG COMMAND...: runs COMMAND with its output appended to LOG; records the outcome.
# (set -e does not apply inside COMMAND here, so the functions below chain with && themselves.)
step() {
  local name=$1 log=$2 start=$SECONDS rc=0
  shift 2
  echo "== $name (log: $(basename "$log"))"
  echo "== $name: $*" >>"$log"
  "$@" >>"$log" 2>&1 || rc=$?
  local status=ok
  if [ "$rc" -ne 0 ]; then
    status="FAILED (exit $rc)"
    failed=$((failed + 1))
  fi
  printf '%-16s %-18s %6ss\n' "$name" "$status" $((SECONDS - start)) >>"$summary"
}

skip() { printf '%-16s %-18s %6s   %s\n' "$1" "skipped" "-" "$2" >>"$summary"; }

machine() {
  date -u
  uname -a
  nvidia-smi || true
  nvcc --version
  cmake --version
  echo "cores: $jobs, CUDAARCHS=$CUDAARCHS"
}

cublas_root=$(scripts/find-cublas.sh || true)
cmake_cublas=()
[ -n "$cublas_root" ] && cmake_cublas=(-DSAM_COBOT_CUBLAS_ROOT="$cublas_root")

configure() {
  echo "cuBLAS root: ${cublas_root:-none found by scripts/find-cublas.sh (CMake looks in the toolkit)}"
  cmake -S "$root" -B "$root/build-gpu-check" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSAM_COBOT_ADDON=OFF -DSAM_COBOT_TESTS=ON \
    "${cmake_cublas[@]}" | tee "$out/configure.tmp" &&
    # A build that fell back to the CPU alone has nothing to compare: fail here, after CMake's reason.
    grep -q "CUDA backend ON" "$out/configure.tmp"
}

# Unpacks Node and the kit, builds the addon with plain CMake (the arguments cmake-js would pass)
# and runs the compiled TypeScript tests against it.
node_tests() {
  local work="$root/build-gpu-node"
  mkdir -p "$work" || return
  # Python unpacks both (xz may be missing there).
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" .portable-node/node.xz "$work/node" &&
    chmod +x "$work/node" && export PATH="$work:$PATH" && node --version &&
    rm -rf "$root/dist-gpu-kit" "$work/dist" "$work/node_modules" &&
    python3 -c "import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu-kit/kit.tar.xz "$work" &&
    mv "$work/dist" "$root/dist-gpu-kit" || return
  [ -e "$root/node_modules" ] || ln -s "$work/node_modules" "$root/node_modules" || return
  cmake -S "$root" -B "$work/cmake" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSAM_COBOT_TESTS=OFF "${cmake_cublas[@]}" \
    -DCMAKE_JS_INC="$work/node_modules/node-api-headers/include;$work/node_modules/node-addon-api" -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$work/Release" &&
    cmake --build "$work/cmake" -j "$jobs" &&
    SAM_COBOT_ADDON="$work/Release/sam_cobot.node" timeout 600 node node_modules/uvu/bin.js dist-gpu-kit/test '\.test\.js$'
}

step machine "$out/env.log" machine
step configure "$out/build.log" configure
rm -f "$out/configure.tmp"
step build "$out/build.log" cmake --build "$root/build-gpu-check" -j "$jobs" --target sam_cobot_parity
if [ -x "$root/build-gpu-check/sam_cobot_parity" ]; then
  step parity "$out/parity.log" timeout 300 "$root/build-gpu-check/sam_cobot_parity" "$@" --json "$out/parity.json"
else
  skip parity "no executable (see build.log)"
  failed=$((failed + 1))
fi
if [ -f .portable-node/node.xz ] && [ -f .gpu-kit/kit.tar.xz ]; then
  step node-tests "$out/node.log" node_tests
else
  skip node-tests "no .portable-node/node.xz or .gpu-kit/kit.tar.xz (scripts/gpu-kit.sh)"
fi

# The parity table's failures and timed rows, then the step table.
if [ -f "$out/parity.log" ]; then
  echo
  grep -E "^case |FAIL|TFLOP/s|GB/s|^[0-9]+ cases" "$out/parity.log" | head -80 || true
fi
echo
printf '%-16s %-18s %7s\n' step status time
cat "$summary"
[ "$failed" -eq 0 ]
