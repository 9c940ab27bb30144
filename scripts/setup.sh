#!/usr/bin/env bash
# Installs every Debian package flowlift needs to build, test and run its demo.
# Idempotent and quiet: when everything is present it prints nothing and runs no apt.
set -euo pipefail

packages=(
  build-essential g++-12 cmake ninja-build pkg-config
  ccache                            # one object cache for both builds and every checkout
  clang-14 libclang-rt-14-dev       # the ASan+UBSan build and the libFuzzer targets
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libmnl-dev                        # netlink attribute encoding/decoding
  nlohmann-json3-dev                # JSON: oracle data in tests, later the control socket
  libnl-3-dev libnl-route-3-dev     # routes and neighbours from the kernel (VXLAN underlay)
  libjemalloc-dev                   # flowliftd's allocator
  iproute2 iputils-ping             # network namespaces for the demo and host tests
  netcat-openbsd                    # the demo's TCP and UDP traffic
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
