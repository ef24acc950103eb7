#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into ./build-fuzz (ASan + UBSan,
# -DTC_FUZZ=ON), replays every regression input in fuzz/regressions/, then
# runs each target for FUZZ_SECONDS (default 15) from the seeds in
# fuzz/corpus/. New inputs go to a temporary directory, never into the
# repository. A crash fails the script and leaves its input in
# build-fuzz/artifacts/: add it to fuzz/regressions/<target>/ with the fix.
#
#   fuzz/run.sh                         # every target, 15 s each (CI)
#   FUZZ_SECONDS=600 fuzz/run.sh        # a longer run
#   fuzz/run.sh check_fuzzer            # one target
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-15}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(declaration_json_fuzzer check_fuzzer page_token_fuzzer keys_fuzzer
           rule_set_fuzzer)
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target "${TARGETS[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$BUILD_DIR/artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total=0
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/fuzz/$t"
  if [ -d "fuzz/regressions/$t" ] && [ -n "$(ls -A "fuzz/regressions/$t")" ]; then
    "$bin" -runs=0 fuzz/regressions/"$t"/* >"$work/$t.regress.log" 2>&1 ||
      { cat "$work/$t.regress.log"; echo "fuzz: $t: a regression input fails" >&2; exit 1; }
  fi
  mkdir -p "$work/$t"
  if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$BUILD_DIR/artifacts/$t-" \
       "$work/$t" "fuzz/corpus/$t" >"$work/$t.log" 2>&1; then
    tail -60 "$work/$t.log"
    echo "fuzz: $t found a crash; input in $BUILD_DIR/artifacts/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" |
         grep -o '[0-9]*$' || echo 0)
  total=$((total + runs))
  echo "fuzz: $t: $runs executions in ${SECONDS_EACH}s, no crash"
done
echo "fuzz: $total executions over ${#TARGETS[@]} targets"
