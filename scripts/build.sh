#!/usr/bin/env bash
# Configures (Release, Ninja, ccache when present) and builds fabricbench into ./build.
# Extra arguments go to CMake's configure step, e.g. -DFABRICBENCH_WITH_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${FABRICBENCH_BUILD_DIR:-build}
if [ ! -f "$build_dir/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$build_dir" --parallel "$(nproc)"
