// DatapathScript: a userspace datapath described in text (ports, megaflows in
// the `ovs-dpctl add-flow` form, packets described by their key), and a
// runner that builds it, sends the packets through and reports what happened.
// It is the demo until the daemon exists, and a scenario harness for tests,
// in the spirit of Open vSwitch's netdev-dummy/receive scripts.
//
// Format, one statement a line, '#' starts a comment:
//   port <n> <name> dummy
//   port <n> <name> vxlan <local_ip> <udp_port> <underlay_port> <local_mac> <next_hop_mac>
//   flow <match> actions:<actions>
//   packet <port> <key> [payload=<bytes>]
//   vxlan-packet <underlay_port> <remote_ip> <vni> <inner key> [payload=<bytes>]
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "kmod/userspace_datapath.h"

namespace flowlift {

struct ScriptPort {
  uint32_t number = 0;
  std::string name;
  PortType type = PortType::kDummy;
  std::optional<VxlanPortConfig> vxlan;
};

struct ScriptFlow {
  int line = 0;
  Match match;
  ActionList actions;
};

struct ScriptPacket {
  int line = 0;
  uint32_t port = 0;
  FlowKey key{};
  size_t payload = 0;
  bool vxlan = false;  // key is the inner frame; sent encapsulated by a remote VTEP
  Be32 remote_ip = 0;
  uint32_t vni = 0;
};

struct DatapathScript {
  std::vector<ScriptPort> ports;
  std::vector<ScriptFlow> flows;
  std::vector<ScriptPacket> packets;
};

// Errors name the line and what was wrong with it.
Result<DatapathScript> parse_datapath_script(std::string_view text);

// What the run produced, for tests and for the summary.
struct ScriptRunResult {
  struct Transmitted {
    size_t packet_index;  // which script packet caused it
    uint32_t port;
    Packet frame;
  };
  std::vector<Transmitted> transmitted;
  std::vector<size_t> missed;  // script packets that became miss upcalls
  std::vector<Megaflow> final_flows;
  DatapathStats stats;
};

// Builds the datapath, installs the flows (each validated, and checked to
// survive the trip through the kernel's netlink attributes unchanged), sends
// the packets, and writes a readable report to `out`.
Result<ScriptRunResult> run_datapath_script(const DatapathScript& script, std::ostream& out);

}  // namespace flowlift
