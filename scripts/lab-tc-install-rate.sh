#!/usr/bin/env bash
# Filters installed per second, flowlift against `tc -b` and Open vSwitch
# 3.1, as ratios from one run in the lab VM (issue 6, section 5; method in
# bench/tc_install_rate_vs_ovs_bench.cc, figures in BENCHMARKS.md).
#
#   scripts/lab-tc-install-rate.sh [N...]     (default: 2000 5000)
#
# Environment: FLOWLIFT_BUILD (default build/ beside the sources),
# FLOWLIFT_LAB_DIR (the lab from tests/lab/setup.sh; lab-run's default when
# unset). Exits 77 when the lab cannot run here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/.." && pwd)
build=${FLOWLIFT_BUILD:-$source_root/build}
program=$build/bench/tc_install_rate_vs_ovs_bench
[ -x "$program" ] || { echo "lab-tc-install-rate: $program not built (cmake -DFLOWLIFT_BENCH=ON, ninja)" >&2; exit 2; }
"$source_root/tests/lab/lab-run" --check >/dev/null || { "$source_root/tests/lab/lab-run" --check; exit 77; }
cd "$source_root"
exec "$source_root/tests/lab/lab-run" -t 1500 -- "$program" "$@"
