#!/usr/bin/env bash
# Fuzzes every reader and parser a client can reach (tests/fuzz): builds the libFuzzer harnesses in
# build-fuzz/ (clang, ASan + UBSan) if needed, makes the seed corpus, runs each harness for SECONDS
# and prints its executions. Fails when any harness finds a crash, leak, timeout or out-of-memory;
# the input is left in build-fuzz/fuzz/<harness>/ (copy it to tests/fuzz/regressions/<harness>/
# with the fix).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      (default 60 seconds, every harness)
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10 s per input).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${FUZZ_BUILD_DIR:-build-fuzz}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
all=(png tiff npy zarr openslide ome_xml iiif batch)
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then harnesses=("${all[@]}"); fi

start=$(date +%s)
# The main build/ and this one share the machine: one build at a time (the lock).
if [ ! -f "$build/build.ninja" ]; then
  flock /tmp/tr-build.lock env CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTILERENDER_FUZZ=ON -DTILERENDER_BUILD_TESTS=OFF -DTILERENDER_BUILD_BENCH=OFF >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
# (The lock only when there is something to build: it may be held for minutes by other builds.)
if ! ninja -C "$build" -n "${targets[@]}" | grep -q 'no work to do'; then
  if ! flock /tmp/tr-build.lock ninja -C "$build" "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
    tail -n 40 "$build/fuzz-build.log" >&2
    echo "fuzz: the build failed (log $build/fuzz-build.log)" >&2
    exit 1
  fi
fi
for t in "${targets[@]}"; do
  if [ ! -x "$build/tests/fuzz/$t" ]; then echo "fuzz: $t was not built" >&2; exit 1; fi
done
built=$(date +%s)

corpus="$PWD/$build/fuzz-corpus"
tests/fuzz/make_corpus.sh "$corpus" >/dev/null

symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}${symbolizer:+:external_symbolizer_path=$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-10s %12s %8s %s\n' harness executions exec/s result
for h in "${harnesses[@]}"; do
  work="$PWD/$build/fuzz/$h"
  mkdir -p "$work/corpus"
  log="$work/log.txt"
  dict=()
  if [ -f "tests/fuzz/dicts/$h.dict" ]; then dict=("-dict=tests/fuzz/dicts/$h.dict"); fi
  # New inputs go to the first directory (the working corpus, kept between runs); the seeds and
  # the regressions are read only.
  dirs=("$work/corpus" "$corpus/$h")
  if [ -d "tests/fuzz/regressions/$h" ]; then dirs+=("$PWD/tests/fuzz/regressions/$h"); fi
  rc=0
  "$build/tests/fuzz/fuzz_$h" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" \
    -print_final_stats=1 -artifact_prefix="$work/" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc; log $log)"
    failed+=("$h")
  fi
  printf '%-10s %12s %8s %s\n' "$h" "${execs:-?}" "${rate:-?}" "$result"
  if [ "$rc" -ne 0 ]; then
    grep -E '^==[0-9]+==ERROR|SUMMARY|ALARM|out-of-memory|runtime error|Test unit written|^    #[0-9] ' "$log" | head -n 30 | sed 's/^/    /' || true
  fi
done
# Scratch directories of harnesses that died on a finding (the others remove theirs at exit).
for d in /dev/shm/tilerender-fuzz-* "${TMPDIR:-/tmp}"/tilerender-fuzz-*; do
  [ -d "$d" ] || continue
  kill -0 "${d##*-}" 2>/dev/null || rm -rf "$d"
done
end=$(date +%s)
echo "fuzz: build $((built - start)) s, runs $((end - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
