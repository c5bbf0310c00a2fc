#!/usr/bin/env bash
# The whole ctest suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ (clang, -O1 -g, no benchmarks). scripts/test.sh runs it after the normal suite
# (TILERENDER_SANITIZERS=0 skips it there); alone it assumes scripts/install-deps.sh has run.
# Arguments go to ctest. A leak, an ASan error or any UB fails the run.
#
# Every sanitized process -- the test binaries and the tilerenderd and tilerender CLI that the tests
# start -- writes its reports to build-asan/sanitizer-logs/{asan,ubsan}.PID instead of stderr: a
# daemon's stderr goes to a log its test deletes, and a test may not check the daemon's exit status
# after SIGTERM (tilerenderd returns 0 from main then, so LeakSanitizer runs). The run fails if any
# report file exists, whatever ctest said. (clang, not gcc: with gcc's separate libubsan, UBSan
# ignores log_path next to ASan and would write only to the daemon's stderr.)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ASAN_BUILD_DIR:-build-asan}
supp=$PWD/tests/sanitizers
logs=$PWD/$build_dir/sanitizer-logs

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DTILERENDER_SANITIZE=ON -DTILERENDER_BUILD_BENCH=OFF >/dev/null

symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/asan${symbolizer:+:external_symbolizer_path=$symbolizer}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
rm -rf "$logs"
mkdir -p "$logs"
# Low priority: a long build on a machine others may be building on. (The build runs the test
# binaries too, to list their tests: those are sanitized runs as well.)
nice -n 19 cmake --build "$build_dir"

export TEST_OUTPUT_DIR=${TEST_OUTPUT_DIR:-$PWD/$build_dir/test-output}
mkdir -p "$TEST_OUTPUT_DIR"
rc=0
ctest --test-dir "$build_dir" --output-on-failure -j2 "$@" || rc=$?

reports=$(find "$logs" -type f -size +0 | sort)
if [ -n "$reports" ]; then
  for f in $reports; do
    echo "==== $f"
    cat "$f"
  done
  echo "test-sanitizers: $(echo "$reports" | wc -l) sanitizer report(s) in $logs (above)" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
echo "test-sanitizers: the suite passed with no sanitizer report"
