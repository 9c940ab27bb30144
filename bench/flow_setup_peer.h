// FlowSetupPeer: a switch daemon that flow_setup_vs_ovs_bench drives through
// its control socket: forget its megaflows, inject a batch of packets on its
// input port, and say how many packets it has finished processing.
#pragma once

#include <cstdint>
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
};

// flowliftd at `program`, started with a private control socket and a bridge
// of two dummy ports holding `rules` (port 1 input, port 2 output).
Result<std::unique_ptr<FlowSetupPeer>> make_flowliftd_setup_peer(const std::string& program,
                                                                 const std::vector<std::string>& rules);

}  // namespace flowlift::bench
