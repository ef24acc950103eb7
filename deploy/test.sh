#!/usr/bin/env bash
# Command 2 of the README: installs what is missing, builds everything, and
# runs the whole test suite (unit, golden, end-to-end, Python client), then
# the fuzzers for a bounded time and the tests again under ASan + UBSan
# (both in build-fuzz, built with clang). Set TC_QUICK=1 to skip the last
# two while iterating. Arguments go to the first ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "${JOBS:-2}" "$@")
if [ "${TC_QUICK:-0}" != 1 ]; then
  fuzz/run.sh
  deploy/test-sanitizers.sh
fi
