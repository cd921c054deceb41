#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test suite.
# Arguments go to ctest, e.g. scripts/test.sh -L unit   (labels: unit, transport, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir "${FABRICBENCH_BUILD_DIR:-build}" --output-on-failure --timeout 600 -j "$(nproc)" "$@"
