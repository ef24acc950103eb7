#!/usr/bin/env bash
# Command 2 of the README: installs what is missing, builds everything, and
# runs the whole test suite (unit, golden, end-to-end, Python client).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-2}" "$@"
