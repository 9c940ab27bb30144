#!/usr/bin/env bash
# Instructions per flow setup, in-process: the instructions the upcall
# handler executes (Udpif::handle_upcalls and everything it calls, counted by
# valgrind's callgrind) divided by the number of misses it prepared. Unlike
# a timing it does not move with the machine's load, which is why the
# BENCHMARKS.md rounds on flow setup quote it beside the times.
#
#   scripts/flow-setup-instructions.sh [BUILD_DIR] [BENCHMARK_FILTER]
#
# Defaults: build/ beside the sources, BM_FlowSetupBatch64/10000 (the other
# benchmarks of bench/flow_setup_bench.cc work as well, e.g.
# BM_FlowSetupBatch64UserspaceDpif/10000). Needs valgrind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../build}")
filter=${2:-BM_FlowSetupBatch64/10000}
program=$build/bench/flow_setup_bench
[ -x "$program" ] || { echo "flow-setup-instructions: $program not built (ninja -C $build flow_setup_bench)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "flow-setup-instructions: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  --toggle-collect='flowlift::Udpif::handle_upcalls*' \
  "$program" --benchmark_filter="$filter" --benchmark_min_time=0.3 >/dev/null 2>&1)
python3 - "$work/callgrind.out" "$filter" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
names, total, setups = {}, 0, 0
for line in lines:
    m = re.match(r'c?fn=\((\d+)\) (.*)$', line)
    if m:
        names[m.group(1)] = m.group(2)
    if line.startswith('summary:') or line.startswith('totals:'):
        total = int(line.split()[1])
# The function itself, not the lambdas inside it whose names contain it.
prepare = {k for k, v in names.items() if v.startswith('flowlift::Udpif::State::prepare_miss(')}
for i, line in enumerate(lines[:-1]):
    m = re.match(r'cfn=\((\d+)\)', line)
    if m and m.group(1) in prepare and lines[i + 1].startswith('calls='):
        setups += int(lines[i + 1].split()[0][len('calls='):])
if setups == 0:
    sys.exit('flow-setup-instructions: no miss was prepared (wrong filter?)')
print(f'{sys.argv[2]}: {total} instructions, {setups} setups, {total / setups:.0f} per setup')
PY
