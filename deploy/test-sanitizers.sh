#!/usr/bin/env bash
# The unit and end-to-end tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, in the clang build directory the fuzzers use
# (build-fuzz, -DTC_FUZZ=ON: every library there is already built with
# ASan + UBSan, so the tests reuse it instead of a third full build).
# Called by deploy/test.sh after fuzz/run.sh; arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$BUILD_DIR"
# The Python client test drives the same server binary with Debian's
# python, which cannot load ASan; it already ran in the normal build.
ctest --output-on-failure -j "${JOBS:-2}" -E 'python' --timeout 600 "$@"
