#!/usr/bin/env bash
# The main job: flowlift switching real traffic between network namespaces.
#
#   fl-h1 10.0.0.1 ──┐                       ┌── fl-h2 10.0.0.2
#                    │      flowliftd br0    │
#   fl-h3 10.0.0.3 ──┤  (userspace datapath) ├── vx1 ═VXLAN 42═ fl-vtep: Linux vxlan
#   (VLAN 100 trunk) │                       │   device vx0 10.0.0.4 over
#                                                192.168.50.1 ↔ 192.168.50.2
#
# Installs what is missing, builds, creates the namespaces, starts flowliftd
# with examples/demo-switch.json and examples/demo-flows.txt, sends ping, TCP
# and UDP traffic, prints the megaflows with their counters and where each
# lives, then stops flowliftd and removes everything it created, also when
# interrupted. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

steps=7
step() { printf '[%s/%s] %s\n' "$1" "$steps" "$2" >&2; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# FLOWLIFT_DEMO_BUILD=DIR: use the programs already built in DIR and skip
# setup and build (how the test suite runs this demo, in both of its builds).
prebuilt=${FLOWLIFT_DEMO_BUILD:-}
# FLOWLIFT_DEMO_DATAPATH=kernel: the same topology and flow table over Linux's
# openvswitch module (flowliftd --datapath kernel), where the kernel has it
# (the lab: tests/lab). The default is flowlift's userspace datapath.
datapath=${FLOWLIFT_DEMO_DATAPATH:-userspace}
case $datapath in
  userspace | kernel) ;;
  *) printf 'demo: FLOWLIFT_DEMO_DATAPATH=%s: expected userspace or kernel\n' "$datapath" >&2; exit 2 ;;
esac
# FLOWLIFT_DEMO_OFFLOAD=tc (with the kernel datapath): every megaflow is first
# offered to its ingress device through TC flower (flowliftd --offload tc);
# FLOWLIFT_DEMO_TC_POLICY (default skip_hw: veth devices have no hardware,
# TC's software path stands in for a NIC) is the filters' policy.
offload=${FLOWLIFT_DEMO_OFFLOAD:-none}
tc_policy=${FLOWLIFT_DEMO_TC_POLICY:-skip_hw}
case $offload in
  none) ;;
  tc) [ "$datapath" = kernel ] || { printf 'demo: FLOWLIFT_DEMO_OFFLOAD=tc needs FLOWLIFT_DEMO_DATAPATH=kernel\n' >&2; exit 2; } ;;
  *) printf 'demo: FLOWLIFT_DEMO_OFFLOAD=%s: expected none or tc\n' "$offload" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  printf 'demo: needs root (it creates network namespaces and veth pairs)\n' >&2
  [ -n "$prebuilt" ] && exit 77  # ctest's "skipped"
  exit 1
fi

if [ -z "$prebuilt" ]; then
  step 1 "checking packages"
  bash scripts/setup.sh
  step 2 "building flowliftd and flowlift (g++, build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build flowliftd flowlift vlan_tap_host | tail -1 >&2
  prebuilt=$root/build
else
  step 1 "using the programs built in $prebuilt"
  step 2 "(no build)"
fi
flowliftd=$prebuilt/tools/flowliftd
flowlift_bin=$prebuilt/tools/flowlift
vlan_tap_host=$prebuilt/tests/tools/vlan_tap_host

work=$(mktemp -d /tmp/flowlift-demo.XXXXXX)
control=$work/flowliftd.sock
namespaces=(fl-h1 fl-h2 fl-h3 fl-vtep)
daemon_pid=""
helper_pids=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  for pid in "${helper_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for link in fl-h1 fl-h2 fl-h3 fl-ul; do ip link del "$link" 2>/dev/null || true; done
  rm -rf "$work"
  [ "$status" -eq 0 ] && printf 'demo: done; everything it created is removed\n' >&2
  exit "$status"
}
trap cleanup EXIT
trap 'printf "\ndemo: interrupted, cleaning up\n" >&2; exit 130' INT TERM

flowlift() { "$flowlift_bin" --control "$control" "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# A host namespace on a veth pair: `fl-hN` in the root namespace is the
# switch port, `eth0` inside is the host's interface.
add_host() {
  local ns=$1 mac=$2
  ip netns add "$ns"
  ip link add "$ns" type veth peer name eth0 netns "$ns"
  in_ns "$ns" ip link set eth0 address "$mac"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  in_ns "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  in_ns "$ns" ip link set lo up
  in_ns "$ns" ip link set eth0 up
  sysctl -qw "net.ipv6.conf.$ns.disable_ipv6=1"
  ip link set "$ns" up
}

step 3 "creating the topology (namespaces fl-h1 fl-h2 fl-h3 fl-vtep)"
for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
add_host fl-h1 02:00:00:00:00:01
in_ns fl-h1 ip addr add 10.0.0.1/24 dev eth0
# The service address of the rewrite flows lives "behind" the switch.
in_ns fl-h1 ip neigh add 10.0.0.100 lladdr 02:00:00:00:00:64 dev eth0
add_host fl-h2 02:00:00:00:00:02
in_ns fl-h2 ip addr add 10.0.0.2/24 dev eth0
# h3 sends and receives VLAN 100 tagged frames: through an 802.1q device
# where the kernel has the module; otherwise (the development machines'
# kernel has none) its VLAN interface is a TAP whose frames a small shim tags
# and untags (tests/tools/vlan_tap_host.cc). Either way h3 is the kernel's stack.
add_host fl-h3 02:00:00:00:00:33
if modprobe 8021q 2>/dev/null; then
  in_ns fl-h3 ip link add link eth0 name vlan100 type vlan id 100
else
  in_ns fl-h3 "$vlan_tap_host" vlan100 eth0 100 >"$work/vlan-host.log" 2>&1 &
  helper_pids+=($!)
  for _ in $(seq 50); do grep -q ready "$work/vlan-host.log" && break; sleep 0.1; done
  grep -q ready "$work/vlan-host.log" || fail "VLAN host shim did not start: $(cat "$work/vlan-host.log")"
fi
in_ns fl-h3 ip link set vlan100 address 02:00:00:00:00:03
in_ns fl-h3 ip addr add 10.0.0.3/24 dev vlan100
in_ns fl-h3 ip link set vlan100 up

# The VXLAN peer: Linux's own vxlan driver is the remote VTEP. The underlay
# is a veth pair with room for the 50 bytes of VXLAN headers.
ip netns add fl-vtep
ip link add fl-ul mtu 1600 type veth peer name ul0 netns fl-vtep mtu 1600
ip addr add 192.168.50.1/24 dev fl-ul
sysctl -qw net.ipv6.conf.fl-ul.disable_ipv6=1
ip link set fl-ul up
in_ns fl-vtep sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns fl-vtep ip addr add 192.168.50.2/24 dev ul0
in_ns fl-vtep ip link set lo up
in_ns fl-vtep ip link set ul0 up
in_ns fl-vtep ip link add vx0 address 02:00:00:00:00:04 type vxlan id 42 \
  local 192.168.50.2 remote 192.168.50.1 dstport 4789 dev ul0
in_ns fl-vtep ip addr add 10.0.0.4/24 dev vx0
in_ns fl-vtep ip link set vx0 up

if [ "$offload" = tc ]; then
  step 4 "starting flowliftd (kernel datapath behind TC flower offload, policy $tc_policy)"
elif [ "$datapath" = kernel ]; then
  step 4 "starting flowliftd (kernel datapath: Linux's openvswitch module)"
else
  step 4 "starting flowliftd (userspace datapath, AF_PACKET ports)"
fi
cp examples/demo-switch.json examples/demo-flows.txt "$work/"
"$flowliftd" --config "$work/demo-switch.json" --control "$control" --pidfile "$work/flowliftd.pid" \
  --datapath "$datapath" --offload "$offload" --tc-policy "$tc_policy" 2>"$work/flowliftd.log" &
daemon_pid=$!
for _ in $(seq 100); do
  [ -S "$control" ] && flowlift show >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/flowliftd.log" >&2; fail "flowliftd exited"; }
  sleep 0.1
done
flowlift show

step 5 "sending traffic: ping, TCP, UDP"
check() {
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then
    printf '  ok    %s\n' "$what"
  else
    printf '  FAIL  %s\n' "$what"; sed 's/^/        /' "$work/out"
    failures=$((failures + 1))
  fi
}
failures=0
check "ping h1 -> h2 (dec_ttl towards h1: replies arrive with ttl=63)" \
  bash -c "ip netns exec fl-h1 ping -c 3 -i 0.2 -W 2 10.0.0.2 | grep -q 'ttl=63'"
check "ping h1 -> h3 (VLAN 100 pushed and popped)" in_ns fl-h1 ping -c 3 -i 0.2 -W 2 10.0.0.3
check "ping h2 -> h4 (VXLAN to Linux's vxlan device and back)" in_ns fl-h2 ping -c 3 -i 0.2 -W 2 10.0.0.4
in_ns fl-h2 timeout 5 nc -l 8080 >"$work/tcp-received" &
listener=$!
sleep 0.3
check "TCP h1 -> 10.0.0.100:8080 (rewritten to h2 and back)" \
  bash -c "echo hello-over-tcp | ip netns exec fl-h1 nc -w 2 -N 10.0.0.100 8080"
wait "$listener" || true
check "  ... and h2 received the bytes" grep -q hello-over-tcp "$work/tcp-received"
in_ns fl-vtep timeout 3 nc -u -l 9000 >"$work/udp-received" &
listener=$!
sleep 0.3
check "UDP h3 -> h4 (VLAN in, VXLAN out)" \
  bash -c "echo hello-over-udp | ip netns exec fl-h3 nc -u -w 1 10.0.0.4 9000"
wait "$listener" || true
check "  ... and h4 received the datagram" grep -q hello-over-udp "$work/udp-received"

step 6 "megaflows, with counters and where each lives"
flowlift dump-megaflows --table
echo
flowlift dump-flows br0
echo
flowlift counters

step 7 "stopping flowliftd and removing the topology"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "flowliftd did not stop cleanly (see $work/flowliftd.log)"
daemon_pid=""
[ "$failures" -eq 0 ] || fail "$failures traffic check(s) failed"
