// OvsSandbox: a private Open vSwitch 3.1 (Debian's ovsdb-server and
// ovs-vswitchd --enable-dummy) in a temporary directory, for benchmarks that
// run OVS beside flowlift on the same machine in the same run. It never
// touches the system's OVS service: every daemon it starts has its own
// database, sockets and pidfiles under the sandbox directory, and only those
// pids are stopped.
//
// The unixctl channel is OVS's JSON-RPC over a unix socket (what ovs-appctl
// speaks), used directly so that no process is started per call: one
// netdev-dummy/receive costs one request, as it does for ../shared/ovs-bench's
// setup_rate.py whose method this follows.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift::bench {

// Runs `command` through /bin/sh; returns its standard output, or an error
// naming the command and its exit status.
Result<std::string> run_shell(const std::string& command);

// How ovs-vswitchd is started. The default is the dummy-only daemon the
// flow-setup benchmarks use; system ports (netdev-linux on real devices,
// AF_PACKET in the userspace datapath) need the flags left out and, for
// devices inside a network namespace, the daemon started in it.
struct OvsSandboxOptions {
  // false: --enable-dummy --disable-system (no device of the machine can be
  // opened). true: neither flag, so `type=system` ports work.
  bool system_ports = false;
  // Non-empty: ovs-vswitchd runs under `ip netns exec NETNS` (ovsdb-server
  // stays in the caller's namespace; the two talk over a unix socket).
  // Required with system_ports: with the system dpif enabled, ovs-vswitchd
  // deletes every kernel datapath its database does not name
  // (bridge_delete_ofprotos), which outside a private namespace would be the
  // machine's own OVS datapaths.
  std::string netns;
};

class OvsSandbox {
 public:
  // Checks the programs exist, creates the directory and database, starts
  // ovsdb-server and ovs-vswitchd (as `options` say).
  static Result<std::unique_ptr<OvsSandbox>> start(const OvsSandboxOptions& options = {});
  ~OvsSandbox();  // stops the two daemons it started and removes the directory
  OvsSandbox(const OvsSandbox&) = delete;
  OvsSandbox& operator=(const OvsSandbox&) = delete;

  // ovs-vsctl / ovs-ofctl against this sandbox ("--bundle add-flows brb F").
  Result<std::string> vsctl(const std::string& arguments);
  Result<std::string> ofctl(const std::string& arguments);
  // One unixctl call (ovs-appctl METHOD PARAMS...) over JSON-RPC.
  Result<std::string> appctl(const std::string& method, const std::vector<std::string>& params);
  const std::string& directory() const { return directory_; }
  pid_t vswitchd_pid() const { return vswitchd_pid_; }

 private:
  OvsSandbox() = default;
  Status connect_unixctl();
  std::string environment() const;

  std::string directory_;
  pid_t vswitchd_pid_ = 0;
  pid_t ovsdb_pid_ = 0;
  int unixctl_fd_ = -1;
  uint64_t next_id_ = 1;
  std::string pending_;  // bytes read past the previous reply
};

}  // namespace flowlift::bench
