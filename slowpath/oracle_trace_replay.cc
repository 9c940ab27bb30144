// The oracle trace replay (see oracle_trace_replay.h).
#include "slowpath/oracle_trace_replay.h"

#include <arpa/inet.h>

#include <cstring>
#include <set>
#include <utility>

#include "kmod/flow_extract.h"
#include "kmod/vxlan.h"
#include "slowpath/of_trace_flow.h"

namespace flowlift {

namespace {

// The tunnel metadata a receive port lookup reads, as the OfFlow it reads it from.
OfFlow flow_with_tunnel(const TunnelKey& tunnel) {
  OfFlow flow{};
  flow.tun_id = tunnel.tun_id;
  flow.tun_src = tunnel.ipv4_src;
  flow.tun_dst = tunnel.ipv4_dst;
  flow.tun_ipv6_src = tunnel.ipv6_src;
  flow.tun_ipv6_dst = tunnel.ipv6_dst;
  flow.tun_flags = tunnel.flags & kTunnelAllFlags;
  flow.tun_tos = tunnel.tos;
  flow.tun_ttl = tunnel.ttl;
  return flow;
}

std::string seq_context(const OracleTracePacket& packet) {
  return "trace packet " + std::to_string(packet.seq);
}

template <typename T>
std::vector<uint8_t> bytes_of(const T& value) {
  std::vector<uint8_t> bytes(sizeof value);
  std::memcpy(bytes.data(), &value, sizeof value);
  return bytes;
}

}  // namespace

ReplayTranslate translate_with(const XlateBridge& bridge, const OfPipeline& pipeline, XlateOptions options) {
  return [&bridge, &pipeline, options](const OfFlow& packet) -> Result<ReplayTranslation> {
    XlateResult result = translate(bridge, pipeline, packet, options);
    ReplayTranslation out{result.megaflow, std::move(result.actions), {}};
    if (result.error != XlateError::kNone) {
      out.actions.clear();
      out.error = result.error_message.empty() ? xlate_error_text(result.error) : result.error_message;
    }
    return out;
  };
}

Result<XlateBridge> xlate_bridge_from_oracle_topology(const OracleTopology& topology,
                                                      std::string_view bridge_name) {
  XlateBridge bridge{std::string(bridge_name)};
  bool any = false;
  for (const OracleTopologyPort& p : topology.ports) {
    if (p.bridge != bridge_name) continue;
    any = true;
    XlatePort port;
    port.name = p.name;
    port.ofp_port = p.of_port;
    port.datapath_port = p.datapath_port;
    if (p.type == "vxlan") {
      port.type = XlatePortType::kVxlan;
      std::string text;
      for (const auto& [key, value] : p.options) text += (text.empty() ? "" : ",") + key + "=" + value;
      Result<XlateVxlanOptions> options = parse_vxlan_options(text);
      if (!options) return options.status().with_context("port " + p.name);
      port.vxlan = *options;
    } else {
      port.type = p.type == "internal" ? XlatePortType::kInternal : XlatePortType::kDummy;
    }
    if (Status s = bridge.add_port(std::move(port)); !s) return s.with_context("port " + p.name);
  }
  if (!any) return Status(ENOENT, "topology has no bridge " + std::string(bridge_name));
  return bridge;
}

DatapathToOfPort receive_port_mapping(const XlateBridge& bridge) {
  return [&bridge](uint32_t datapath_port, const TunnelKey* tunnel) -> std::optional<uint32_t> {
    // Most packets have no tunnel: they share one empty flow rather than
    // zeroing a fresh one each.
    static const OfFlow kNoTunnel{};
    Result<uint32_t> port = tunnel ? bridge.receive_port(datapath_port, flow_with_tunnel(*tunnel))
                                   : bridge.receive_port(datapath_port, kNoTunnel);
    if (!port) return std::nullopt;
    return *port;
  };
}

OfToDatapathPort datapath_port_mapping(const XlateBridge& bridge) {
  return [&bridge](uint32_t of_port) -> std::optional<uint32_t> {
    const XlatePort* port = bridge.find_port(of_port);
    if (!port) return std::nullopt;
    return port->datapath_port;
  };
}

OracleReplayConfig oracle_replay_config(const OracleTopology& topology, const XlateBridge& bridge) {
  OracleReplayConfig config;
  config.port_names = bridge.port_names();
  config.to_of_port = receive_port_mapping(bridge);
  config.to_datapath_port = datapath_port_mapping(bridge);
  config.tunnel_datapath_port = topology.tunnel_datapath_port;
  config.vxlan_udp_port = static_cast<uint16_t>(topology.tunnel_datapath_port);  // vxlan_sys_<udp port>
  config.local_ip = topology.local_ip;
  for (const XlatePort& port : bridge.ports()) {
    if (port.vxlan) {
      config.vxlan_udp_port = port.vxlan->dst_port;
      config.tunnel_datapath_port = port.datapath_port;
    }
  }
  return config;
}

OracleTraceReplay::OracleTraceReplay(OracleReplayConfig config, ReplayTranslate translate)
    : config_(std::move(config)),
      translate_(std::move(translate)),
      context_(std::make_unique<LookupContext>(table_)) {}

Result<FlowKey> OracleTraceReplay::key_of(const OracleTracePacket& trace_packet) {
  if (!trace_packet.is_frame()) {
    Result<OfFlow> flow = parse_trace_flow(trace_packet.flow, config_.port_names);
    if (!flow) return flow.status().with_context("flow");
    return key_from_of_flow(*flow, config_.to_datapath_port);
  }
  if (trace_packet.port != config_.underlay_port)
    return invalid_argument("a frame arrived on " + trace_packet.port + ", not on the underlay port " +
                            config_.underlay_port);
  // As the datapath does before it decapsulates: an unfragmented IPv4/UDP
  // frame to our VTEP address and port, without a VLAN tag.
  Packet packet(trace_packet.frame);
  FlowKey outer = flow_key_extract(packet);
  if (outer.eth_type != htons(0x0800) || outer.ip_proto != 17 || outer.ip_frag != kFragNone ||
      outer.vlan.tpid != 0 || outer.ipv4_dst != config_.local_ip ||
      outer.tp_dst != htons(config_.vxlan_udp_port))
    return invalid_argument("frame is not VXLAN for the local VTEP (IPv4/UDP to the local address and port)");
  Result<TunnelKey> tunnel = vxlan_decapsulate(packet, config_.vxlan_udp_port);
  if (!tunnel) return tunnel.status().with_context("vxlan");
  packet.md = PacketMetadata{};
  packet.md.in_port = config_.tunnel_datapath_port;
  packet.md.tunnel = *tunnel;
  packet.md.has_tunnel = true;
  ++counts_.decapsulated;
  return flow_key_extract(packet);
}

Status OracleTraceReplay::process(const OracleTracePacket& trace_packet) {
  ++counts_.packets;
  Result<FlowKey> key = key_of(trace_packet);
  if (!key) return key.status().with_context(seq_context(trace_packet));

  LookupResult found = table_.lookup(*context_, *key, 0);
  if (found.flow) {
    ++counts_.hits;
    found.flow->record_packet(0, ntohs(key->tcp_flags), 0);
    context_->quiescent();
    return Status::ok();
  }
  context_->quiescent();
  ++counts_.misses;

  Result<OfFlow> flow = of_flow_from_key(*key, config_.to_of_port);
  if (!flow) return flow.status().with_context(seq_context(trace_packet) + ": the packet's OfFlow");
  Result<ReplayTranslation> translation = translate_(*flow);
  if (!translation) return translation.status().with_context(seq_context(trace_packet) + ": translation");
  if (!translation->error.empty()) ++counts_.translation_errors;
  Result<Match> match = datapath_match_from_megaflow(translation->megaflow, *key, config_.to_datapath_port);
  if (!match) return match.status().with_context(seq_context(trace_packet) + ": megaflow");
  Megaflow megaflow;
  megaflow.match = *match;
  megaflow.actions = std::move(translation->actions);
  Result<InsertOutcome> inserted =
      table_.insert(megaflow, MaskedFlowTable::kCreate | MaskedFlowTable::kExclusive);
  if (!inserted) return inserted.status().with_context(seq_context(trace_packet) + ": install");
  ++counts_.megaflows;
  ++counts_.megaflows_by_in_port[key->in_port];
  return Status::ok();
}

Status OracleTraceReplay::replay(std::span<const OracleTracePacket> packets) {
  for (const OracleTracePacket& packet : packets)
    if (Status s = process(packet); !s) return s;
  return Status::ok();
}

OracleReplayCounts OracleTraceReplay::counts() const {
  OracleReplayCounts counts = counts_;
  std::set<std::vector<uint8_t>> masks, port_masks;
  for (const Megaflow& flow : table_.dump()) {
    std::vector<uint8_t> mask = bytes_of(flow.match.mask.bits());
    masks.insert(mask);
    std::vector<uint8_t> port = bytes_of(flow.match.key.in_port);
    mask.insert(mask.end(), port.begin(), port.end());
    port_masks.insert(std::move(mask));
  }
  counts.distinct_masks = masks.size();
  counts.distinct_in_port_mask_pairs = port_masks.size();
  return counts;
}

}  // namespace flowlift
