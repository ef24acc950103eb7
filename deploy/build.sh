#!/usr/bin/env bash
# Configures and builds tradecheck into ./build (Ninja, -j2). Incremental.
# Arguments name targets to build (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
fi
if [ $# -gt 0 ]; then
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target "$@"
else
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
fi
