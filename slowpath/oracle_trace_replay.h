// Replays the OVS 3.1 oracle's 5,000-packet trace (tests/oracle/ovs-3.1/
// trace.txt) through flowlift's datapath rules and a translation function,
// counting what OVS counted: megaflows installed, hits, misses. It is the
// end-to-end evidence that translation plus the datapath conversion yields no
// more megaflows than OVS's 801 for the same traffic.
//
// Per packet, in trace order:
//  - a VXLAN frame (the trace's hex packets, injected on the underlay port
//    ul50) is decapsulated as the userspace datapath does it (kmod/vxlan.h:
//    the frame must be IPv4/UDP to the local VTEP address and port), and the
//    inner packet enters on the tunnel datapath port with its tunnel
//    metadata. Unlike OVS's tnl_pop, the outer packet needs no megaflow of
//    its own: our datapath terminates the tunnel before lookup;
//  - any other packet is the OfFlow its ofproto/trace flow string describes
//    (parse_trace_flow), keyed as the datapath would key it (key_from_of_flow);
//  - the key is looked up in a kmod MaskedFlowTable; a miss calls the
//    translation, converts its megaflow for this packet's key
//    (datapath_match_from_megaflow) and installs it with its actions.
//
// The translation is a function object so that the replay does not care
// who translates (flowlift's translate() through translate_with(), or a
// test's stand-in).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/status.h"
#include "kmod/flow_table.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/of_pipeline.h"
#include "slowpath/oracle_data.h"
#include "slowpath/xlate.h"
#include "slowpath/xlate_bridge.h"

namespace flowlift {

// What a translation gives the replay: the megaflow and its datapath actions.
struct ReplayTranslation {
  OfMatch megaflow;
  ActionList actions;
  // Non-empty when the translation failed in a way that still yields a
  // megaflow (OVS installs it with drop actions): the reason, for the report.
  std::string error;
};
using ReplayTranslate = std::function<Result<ReplayTranslation>(const OfFlow& packet)>;

// flowlift's translate() on `bridge` and `pipeline` (both must outlive the
// function). A translation error (recursion too deep, ...) installs the
// megaflow with no actions, as OVS installs a drop flow for it.
ReplayTranslate translate_with(const XlateBridge& bridge, const OfPipeline& pipeline,
                               XlateOptions options = {});

// The OpenFlow bridge `bridge_name` of the oracle topology, as translation
// sees it: ports with their OpenFlow and datapath numbers, VXLAN options.
Result<XlateBridge> xlate_bridge_from_oracle_topology(const OracleTopology& topology,
                                                      std::string_view bridge_name);

// The port mappings a bridge defines: a received packet's OpenFlow port
// (tunnel packets by their metadata, XlateBridge::receive_port) and an
// OpenFlow port's datapath port.
DatapathToOfPort receive_port_mapping(const XlateBridge& bridge);
OfToDatapathPort datapath_port_mapping(const XlateBridge& bridge);

struct OracleReplayConfig {
  PortNames port_names;         // OpenFlow port names the flow strings use (p1, vx1)
  DatapathToOfPort to_of_port;  // for decapsulated packets
  OfToDatapathPort to_datapath_port;
  std::string underlay_port = "ul50";  // trace.txt's port column for VXLAN frames
  uint32_t tunnel_datapath_port = 4789;
  uint16_t vxlan_udp_port = 4789;
  Be32 local_ip = 0;  // the VTEP address the frames must be sent to
};

// The oracle topology's replay configuration for `bridge`.
OracleReplayConfig oracle_replay_config(const OracleTopology& topology, const XlateBridge& bridge);

struct OracleReplayCounts {
  uint64_t packets = 0;
  uint64_t decapsulated = 0;  // VXLAN frames whose inner packet was looked up
  uint64_t hits = 0;
  uint64_t misses = 0;  // = upcalls = translations
  uint64_t megaflows = 0;
  uint64_t translation_errors = 0;  // translations that reported an error (installed as drop)
  std::map<uint32_t, uint64_t> megaflows_by_in_port;  // datapath port -> megaflows
  size_t distinct_masks = 0;
  size_t distinct_in_port_mask_pairs = 0;  // dpif-netdev's subtables (one classifier per in_port)
};

class OracleTraceReplay {
 public:
  OracleTraceReplay(OracleReplayConfig config, ReplayTranslate translate);

  // One trace packet. An error (a packet that cannot be keyed, a failed
  // translation, a megaflow the datapath cannot take or that does not match
  // its packet) names the packet's seq and stops nothing else: the caller
  // decides whether to go on.
  Status process(const OracleTracePacket& packet);
  // Every packet in order; stops at the first error.
  Status replay(std::span<const OracleTracePacket> packets);

  // Counts so far (masks computed from the table).
  OracleReplayCounts counts() const;
  const MaskedFlowTable& flow_table() const { return table_; }

 private:
  Result<FlowKey> key_of(const OracleTracePacket& packet);

  OracleReplayConfig config_;
  ReplayTranslate translate_;
  MaskedFlowTable table_;
  std::unique_ptr<LookupContext> context_;
  OracleReplayCounts counts_;
};

}  // namespace flowlift
