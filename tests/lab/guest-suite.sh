#!/usr/bin/env bash
# Runs inside the lab guest (run-suite hands it to lab-run): every lab test
# binary of one suite, one after the other in this one boot, each with gtest's
# brief output, then a summary. Exits 0 only when every binary passed.
#
#   guest-suite.sh SUITE BINARY...
set -uo pipefail
suite=$1
shift

# Without the marker the lab tests would all skip and the suite would pass
# having tested nothing.
if [ ! -f /run/flowlift-lab/kernel-release ]; then
  echo "lab suite $suite: not inside the lab guest (no /run/flowlift-lab/kernel-release)"
  exit 1
fi
echo "lab suite $suite: kernel $(uname -r), $(nproc) vCPUs, $# binaries"

log=$(mktemp)
failed_binaries=() tests_passed=0 tests_failed=0 tests_skipped=0
count() { sed -n "s/^\[  $1 *\] \([0-9]*\) tests\{0,1\}[,.].*/\1/p" "$log" | tail -1; }
for binary in "$@"; do
  name=$(basename "$binary")
  echo "== $name"
  if [ ! -x "$binary" ]; then
    echo "lab suite $suite: $binary is not built"
    failed_binaries+=("$name")
    continue
  fi
  "$binary" --gtest_brief=1 --gtest_color=no 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || failed_binaries+=("$name (exit $status)")
  tests_passed=$((tests_passed + $(count PASSED || true) + 0))
  tests_failed=$((tests_failed + $(count FAILED || true) + 0))
  tests_skipped=$((tests_skipped + $(count SKIPPED || true) + 0))
done
rm -f "$log"

echo "== lab suite $suite: $# binaries, ${#failed_binaries[@]} failed; tests: $tests_passed passed, $tests_failed failed, $tests_skipped skipped"
if [ ${#failed_binaries[@]} -ne 0 ]; then
  printf 'lab suite %s: FAILED: %s\n' "$suite" "${failed_binaries[*]}"
  exit 1
fi
echo "lab suite $suite: all passed"
