#!/usr/bin/env bash
# The whole test suite: installs what is missing, then
#   1. the g++ build (RelWithDebInfo): unit, host and demo tests, benchmarks
#      compiled;
#   2. the lab: Debian's kernel prepared under build/lab (tests/lab/setup.sh),
#      then the lab suites (ctest label "lab"), one VM boot per suite. Where
#      the lab cannot be set up the suites report SKIP with the reason; in CI
#      (CI=true) that is a failure;
#   3. the clang ASan+UBSan build: the same unit tests under sanitizers, and
#      every libFuzzer target run for a bounded time (ctest label "fuzz").
# Builds are cached in build/ and build-asan/ beside the sources.
# Ends with ctest's summary line of the last suite; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
fuzz_seconds=${FLOWLIFT_FUZZ_SECONDS:-20}

step() { printf '\n== %s\n' "$*"; }

step "g++ build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$jobs"

step "unit, host and demo tests (g++)"
(cd build && ctest -j"$jobs" --output-on-failure -LE lab)

step "lab: Debian's kernel under qemu/TCG, one boot per suite"
if ! bash tests/lab/setup.sh build/lab; then
  [ "${CI:-}" = true ] && { echo "lab setup failed, and CI needs the lab" >&2; exit 1; }
  echo "lab setup failed: the lab suites will be skipped, saying why" >&2
fi
(cd build && ctest --output-on-failure -L lab)

step "clang ASan+UBSan build with libFuzzer targets"
# The lab VM's kernel is the one setup.sh put in build/lab (lab.offload.asan).
CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DFLOWLIFT_SANITIZE=ON -DFLOWLIFT_FUZZ=ON -DFLOWLIFT_BENCH=OFF -DFLOWLIFT_LAB_DIR="$PWD/build/lab" \
  -DFLOWLIFT_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
ninja -C build-asan -j"$jobs"

step "unit tests under ASan+UBSan, the TC offload lab suite under them, then fuzzers (${fuzz_seconds}s each)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan && ctest -j"$jobs" --output-on-failure
