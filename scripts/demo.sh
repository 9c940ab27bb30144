#!/usr/bin/env bash
# The main job, until the daemon exists: installs what is missing, builds, and
# runs the userspace datapath demo on examples/demo-datapath.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[1/3] checking packages" >&2
bash scripts/setup.sh
echo "[2/3] building (g++, build/)" >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build flowlift-dp-demo | tail -1 >&2
echo "[3/3] running the datapath demo" >&2
exec build/tools/flowlift-dp-demo "${1:-examples/demo-datapath.conf}"
