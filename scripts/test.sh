#!/usr/bin/env bash
# The test command: installs what the build needs, builds from scratch (or incrementally) and runs
# every test on whatever GL the machine has (Mesa llvmpipe through EGL surfaceless without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir"
# Test renders are written here for a human to look at.
export TEST_OUTPUT_DIR=${TEST_OUTPUT_DIR:-$PWD/$build_dir/test-output}
mkdir -p "$TEST_OUTPUT_DIR"
ctest --test-dir "$build_dir" --output-on-failure -j2 "$@"
# The same suite built with ASan + UBSan in build-asan/ (scripts/test-sanitizers.sh: clang; leaks,
# memory errors and UB in any test or daemon fail it). TILERENDER_SANITIZERS=0 skips it.
if [ "${TILERENDER_SANITIZERS:-1}" != 0 ]; then
  scripts/test-sanitizers.sh "$@"
fi
# Every fuzz harness for a short while (scripts/fuzz.sh; clang + libFuzzer in build-fuzz/);
# TILERENDER_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${TILERENDER_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
