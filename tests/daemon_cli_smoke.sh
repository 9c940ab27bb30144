#!/bin/sh
# The daemon and the CLI end to end: flowliftd on a configuration of dummy
# ports, driven through its control socket by flowlift, then stopped by
# SIGTERM. Checks what a user would: the commands' output, the megaflow the
# injected packet created, the frame that left the other port, the error
# paths (unknown bridge, a second daemon on the same socket, a bad
# configuration), and that a clean stop leaves no socket and no pidfile.
#
# usage: daemon_cli_smoke.sh FLOWLIFTD FLOWLIFT
set -eu

flowliftd=$1
flowlift=$2
work=$(mktemp -d /tmp/flowlift-smoke-XXXXXX)
socket=$work/run/flowliftd.sock
pidfile=$work/flowliftd.pid
daemon_pid=

cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$work/daemon.log" ]; then
    echo "--- flowliftd's log:" >&2
    cat "$work/daemon.log" >&2
  fi
  exit 1
}

fl() { "$flowlift" --control "$socket" "$@"; }

cat >"$work/config.json" <<'JSON'
{
  "flowlift_config": 1,
  "datapath": {"max_idle_ms": 60000},
  "bridges": [
    {
      "name": "br0",
      "ports": [
        {"name": "p1", "type": "dummy", "ofport": 1},
        {"name": "p2", "type": "dummy", "ofport": 2}
      ],
      "flows": ["priority=0,actions=drop"]
    }
  ]
}
JSON
printf '{"flowlift_config": 1,\n "bridges": [ {"name": "br0",} ]}\n' >"$work/broken.json"

# --check-config: a good file passes, a broken one is named with its line.
"$flowliftd" --check-config --config "$work/config.json" 2>"$work/check.log" ||
  { cat "$work/check.log" >&2; fail "--check-config refused a valid configuration"; }
if "$flowliftd" --check-config --config "$work/broken.json" 2>"$work/check.log"; then
  fail "--check-config accepted a broken configuration"
fi
grep -q "broken.json: parse error at line 2" "$work/check.log" ||
  { cat "$work/check.log" >&2; fail "the configuration error does not name the file and line"; }

"$flowliftd" --config "$work/config.json" --control "$socket" --pidfile "$pidfile" --log-level debug \
  2>"$work/daemon.log" &
daemon_pid=$!

# Wait for the socket to answer (the daemon applies its configuration first).
tries=0
until fl counters >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ $tries -lt 100 ] || fail "flowliftd did not answer on $socket"
  kill -0 "$daemon_pid" 2>/dev/null || fail "flowliftd exited at start"
  sleep 0.1
done

[ "$(stat -c %a "$socket")" = 600 ] || fail "the socket's mode is $(stat -c %a "$socket"), not 600"
[ "$(cat "$pidfile")" = "$daemon_pid" ] || fail "the pidfile does not hold the daemon's pid"

# A second daemon on the same socket is refused, and the first keeps serving.
if "$flowliftd" --config "$work/config.json" --control "$socket" 2>"$work/second.log"; then
  fail "a second flowliftd started on a live socket"
fi
grep -q "another flowliftd is listening on $socket" "$work/second.log" ||
  { cat "$work/second.log" >&2; fail "the second daemon's error does not say why"; }

fl show | grep -q "p1" || fail "show does not list port p1"
fl add-flow br0 "priority=10,ip,nw_dst=10.0.0.2,actions=output:2" || fail "add-flow failed"

# An unknown bridge: exit status 1 and the daemon's reason on stderr.
status=0
fl add-flow br9 "actions=drop" 2>"$work/error.txt" || status=$?
[ $status -eq 1 ] || fail "add-flow on a missing bridge exited $status, not 1"
grep -q "^flowlift: .*br9" "$work/error.txt" || fail "the error does not name bridge br9: $(cat "$work/error.txt")"

# A usage error: exit status 2 without asking the daemon.
status=0
fl add-flow br0 2>/dev/null || status=$?
[ $status -eq 2 ] || fail "a usage error exited $status, not 2"

packet="in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)"
fl inject p1 "$packet" || fail "inject failed"

# The miss goes through a handler thread: wait for its megaflow.
tries=0
until fl dump-megaflows >"$work/megaflows.txt" && grep -q "ipv4(" "$work/megaflows.txt"; do
  tries=$((tries + 1))
  [ $tries -lt 100 ] || { cat "$work/megaflows.txt" >&2; fail "no megaflow appeared for the injected packet"; }
  sleep 0.1
done
grep -q "dst=10.0.0.2" "$work/megaflows.txt" || { cat "$work/megaflows.txt" >&2; fail "the megaflow does not match nw_dst"; }
fl --json dump-megaflows | grep -q '"megaflows"' || fail "dump-megaflows --json has no megaflows key"

# The frame left on p2.
fl --json capture p2 >"$work/capture.json" || fail "capture failed"
grep -q '"hex"' "$work/capture.json" || { cat "$work/capture.json" >&2; fail "p2 transmitted nothing"; }

# The revalidator credits the megaflow's packet to the rule.
fl revalidate || fail "revalidate failed"
fl dump-flows br0 >"$work/flows.txt" || fail "dump-flows failed"
grep "priority=10,ip,nw_dst=10.0.0.2" "$work/flows.txt" | grep -q "n_packets=1," ||
  { cat "$work/flows.txt" >&2; fail "dump-flows does not credit the rule with the injected packet"; }
fl dump-flows br0 --no-stats | grep -q "^ *priority=10,ip,nw_dst=10.0.0.2 actions=output:2" ||
  fail "dump-flows --no-stats does not show the rule as ovs-ofctl would"

kill -TERM "$daemon_pid"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=
[ $status -eq 0 ] || fail "flowliftd exited $status after SIGTERM"
[ ! -e "$socket" ] || fail "the socket $socket is still there after the stop"
[ ! -e "$pidfile" ] || fail "the pidfile is still there after the stop"
grep -q "received SIGTERM" "$work/daemon.log" || fail "the log does not record the stop signal"
grep -q "|info|stopped" "$work/daemon.log" || fail "the log does not record a complete stop"
echo "daemon_cli_smoke: ok"
