// Loaders for the Open vSwitch 3.1 oracle files (tests/oracle/ovs-3.1, see
// its README): the per-packet ofproto/trace results, the 5,000-packet trace,
// the topology and the counters OVS reported. They exist so that tests (and
// tools that compare flowlift against OVS) read these files one way, with
// errors that name the file, the line and what was wrong with it.
//
// Shaped as plain records of strings and numbers, as the files hold them:
// turning flow strings into OfFlow/OfMatch is the caller's business
// (parse_of_match with the topology's port names), so that a loader never
// hides a parse failure of the thing under test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

// One line of traces.jsonl / traces-prefixes-none.jsonl.
struct OracleTrace {
  std::string name;
  std::string flow;              // ofproto/trace flow string, ports by name
  std::string megaflow;          // the "Megaflow:" line, OpenFlow syntax, OpenFlow port numbers
  std::string datapath_actions;  // the "Datapath actions:" line, datapath port numbers
  std::string prefixes;          // "default(ip_dst,ip_src)" or "none"
  std::string full;              // the whole ofproto/trace output
};
Result<std::vector<OracleTrace>> load_oracle_traces(const std::filesystem::path& path);

// One line of packets.txt: "<name> | <flow>".
struct OraclePacket {
  std::string name;
  std::string flow;
};
Result<std::vector<OraclePacket>> load_oracle_packets(const std::filesystem::path& path);

// One line of trace.txt.
struct OracleTracePacket {
  uint32_t seq = 0;
  std::string port;    // the dummy port it was injected on ("p1", "ul50")
  std::string flow;    // ofproto/trace syntax (for encapsulated packets: the inner flow, in_port=vx1/vx2)
  std::string packet;  // ODP flow string, or the whole frame in hex
  // The frame, when `packet` is hex (the VXLAN-encapsulated packets); empty otherwise.
  std::vector<uint8_t> frame;
  bool is_frame() const { return !frame.empty(); }
};
Result<std::vector<OracleTracePacket>> load_oracle_trace(const std::filesystem::path& path);

// One line of trace-flows-megaflows.jsonl.
struct OracleFlowMegaflow {
  uint32_t seq = 0;  // first occurrence in trace.txt
  std::string port;
  std::string flow;
  std::string megaflow;
  std::string datapath_actions;
};
Result<std::vector<OracleFlowMegaflow>> load_oracle_flow_megaflows(const std::filesystem::path& path);

// topology.json, the parts flowlift uses.
struct OracleTopologyPort {
  std::string bridge;
  std::string name;
  std::string type;                                         // "dummy", "vxlan", "internal"
  uint32_t of_port = 0;                                     // OpenFlow port; LOCAL is 0xfffe
  uint32_t datapath_port = 0;                               // for vxlan ports, the shared tunnel port
  std::map<std::string, std::string, std::less<>> options;  // "remote_ip" -> "192.0.2.2", "key" -> "flow"
};
struct OracleNeighbour {
  Be32 ip = 0;
  EthAddr mac{};
  std::string bridge;
};
struct OracleTopology {
  std::string ovs_version;
  std::vector<OracleTopologyPort> ports;  // every bridge's, in file order
  uint32_t tunnel_datapath_port = 0;      // from "tnl_ports": vxlan_sys_4789 (4789)
  std::string tunnel_port_name;           // "vxlan_sys_4789"
  Be32 local_ip = 0;                      // the route's preferred source (SRC 192.0.2.1)
  std::vector<OracleNeighbour> neighbours;

  const OracleTopologyPort* find(std::string_view bridge, std::string_view name) const;
};
Result<OracleTopology> load_oracle_topology(const std::filesystem::path& path);

// trace-summary.json.
struct OracleTraceSummary {
  std::string ovs_version;
  uint64_t packets = 0;
  uint64_t megaflows = 0;
  uint64_t missed = 0;
  uint64_t hits = 0;
  uint64_t lost = 0;
  uint64_t upcalls = 0;
  uint64_t recirculations = 0;
  uint64_t distinct_masks = 0;
  uint64_t distinct_in_port_mask_pairs = 0;
  std::map<uint32_t, uint64_t> megaflows_by_in_port;  // datapath port -> megaflows
};
Result<OracleTraceSummary> load_oracle_trace_summary(const std::filesystem::path& path);

// The flow lines of trace-result.txt's first "dpctl/dump-flows" section
// (ODP syntax with statistics and actions, as ovs-appctl printed them).
Result<std::vector<std::string>> load_oracle_datapath_flows(const std::filesystem::path& path);

}  // namespace flowlift
