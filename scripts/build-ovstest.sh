#!/usr/bin/env bash
# Builds Open vSwitch 3.1's own test binary, tests/ovstest, as the peer for
# bench/classifier_vs_ovs_bench (`ovstest test-classifier benchmark`).
# ovstest is not packaged, so it is built from the source tarball in Debian's
# openvswitch-source package, in a cache directory outside the project tree (the
# OVS build is big and has nothing to do with ours). Idempotent: when ovstest is
# already built it only prints its path. Prints the ovstest path on stdout; progress
# goes to stderr. About 3 minutes on 2 cores.
#
# usage: scripts/build-ovstest.sh [cache-dir]
#   cache-dir defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/flowlift/ovs-3.1
#   FLOWLIFT_BUILD_JOBS sets make's -j (default 2).
set -euo pipefail

cache_dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/flowlift/ovs-3.1}
jobs=${FLOWLIFT_BUILD_JOBS:-2}
tarball=/usr/src/openvswitch/openvswitch.tar.gz
source_dir=$cache_dir/openvswitch
ovstest=$source_dir/tests/ovstest

if [ -x "$ovstest" ]; then
  echo "$ovstest"
  exit 0
fi

# The tarball comes with openvswitch-source; install it (and the toolchain configure
# needs) the way scripts/setup.sh installs the project's own packages.
packages=(openvswitch-source build-essential python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "build-ovstest: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -f "$tarball" ]; then
  echo "build-ovstest: $tarball not found although openvswitch-source is installed" >&2
  exit 1
fi

mkdir -p "$cache_dir"
if [ ! -f "$source_dir/configure" ]; then
  echo "build-ovstest: unpacking $tarball into $cache_dir" >&2
  rm -rf "$source_dir"
  tar -xzf "$tarball" -C "$cache_dir"
fi

cd "$source_dir"
if [ ! -f Makefile ]; then
  echo "build-ovstest: configuring (--disable-ssl, -O2 -g), log in $cache_dir/configure.log" >&2
  if ! ./configure --disable-ssl CFLAGS="-O2 -g" >"$cache_dir/configure.log" 2>&1; then
    rm -f Makefile
    echo "build-ovstest: configure failed, see $cache_dir/configure.log" >&2
    exit 1
  fi
fi

# `make tests/ovstest` alone does not build automake's BUILT_SOURCES (generated
# headers such as include/odp-netlink.h) first, so a parallel make races on them;
# build them first, as `make all` would.
built_sources=$(printf 'flowlift-print-built-sources:\n\t@echo $(BUILT_SOURCES)\n' |
  make -s -f Makefile -f - flowlift-print-built-sources)
echo "build-ovstest: make tests/ovstest -j$jobs, log in $cache_dir/make.log" >&2
# shellcheck disable=SC2086 # built_sources is a list of make targets
if ! { make -j"$jobs" $built_sources && make -j"$jobs" tests/ovstest; } \
  >"$cache_dir/make.log" 2>&1; then
  echo "build-ovstest: make failed, see $cache_dir/make.log" >&2
  exit 1
fi
echo "$ovstest"
