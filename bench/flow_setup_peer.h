// FlowSetupPeer: a switch daemon that flow_setup_vs_ovs_bench drives through
// its control socket: forget its megaflows, inject a batch of packets on its
// input port, and say how many packets it has finished processing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flowlift/status.h"

namespace flowlift::bench {

class FlowSetupPeer {
 public:
  virtual ~FlowSetupPeer() = default;
  virtual std::string name() const = 0;
  // Deletes every megaflow (and whatever the upcall layer keeps about them).
  virtual Status forget_flows() = 0;
  // Packets in ovs-dpctl flow text, received on the bridge's input port.
  virtual Status inject(const std::vector<std::string>& packets) = 0;
  // Packets fully processed since the daemon started (a monotonic count).
  virtual Result<uint64_t> processed() = 0;
  virtual Result<uint64_t> flows() = 0;
  // CPU time the daemon has used so far (user + system, all its threads
  // except busy-polling ones, whose time says nothing about the work done).
  virtual Result<double> cpu_seconds() = 0;
  // The same CPU time by thread name (trailing digits dropped, so that
  // handler0 and handler1 add up as "handler"); empty when not known.
  virtual Result<std::map<std::string, double>> cpu_seconds_by_thread() {
    return std::map<std::string, double>{};
  }
};

// CPU seconds used by process `pid`'s threads, from /proc/PID/task/*/stat,
// leaving out threads whose name starts with `skip_prefix` (if not empty).
Result<double> process_cpu_seconds(pid_t pid, const std::string& skip_prefix = "");
// Per thread name, trailing digits dropped.
Result<std::map<std::string, double>> process_cpu_seconds_by_thread(pid_t pid);

// flowliftd at `program`, started with a private control socket and a bridge
// of two dummy ports holding `rules` (port 1 input, port 2 output).
Result<std::unique_ptr<FlowSetupPeer>> make_flowliftd_setup_peer(const std::string& program,
                                                                 const std::vector<std::string>& rules);

}  // namespace flowlift::bench
