// ofproto/trace text: flow lines, the trace tree, megaflow and datapath actions.
#include "slowpath/xlate_trace.h"

#include <cstring>
#include <string_view>

#include "kmod/odp_text_actions.h"
#include "kmod/protocol_numbers.h"
#include "slowpath/controller_cookie.h"
#include "slowpath/of_flow_syntax.h"
#include "slowpath/xlate_headers.h"

namespace flowlift {

namespace {

std::vector<std::string> split_items(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::string join_items(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Inserts `extra` after the last item that starts with `prefix`; false if none does.
bool insert_after(std::vector<std::string>& items, std::string_view prefix,
                  const std::vector<std::string>& extra) {
  for (size_t i = items.size(); i-- > 0;) {
    if (starts_with(items[i], prefix)) {
      items.insert(items.begin() + static_cast<long>(i) + 1, extra.begin(), extra.end());
      return true;
    }
  }
  return false;
}

bool tunnel_destination_set(const OfFlow& f) {
  if (f.tun_dst) return true;
  for (uint8_t b : f.tun_ipv6_dst)
    if (b) return true;
  return false;
}

// OVS's flow_wildcards_init_for_packet() plus flow_format()'s pruning of
// zero-valued metadata.
OfFlow packet_fields_mask(const OfFlow& flow) {
  OfFlow m{};
  if (tunnel_destination_set(flow)) {
    if (flow.tun_flags & kTunnelKey) m.tun_id = ~Be64{0};
    m.tun_src = m.tun_dst = 0xffffffffu;
    m.tun_ipv6_src.fill(0xff);
    m.tun_ipv6_dst.fill(0xff);
    m.tun_flags = kTunnelAllFlags;
    m.tun_tos = m.tun_ttl = 0xff;
  } else if (flow.tun_id) {
    m.tun_id = ~Be64{0};
  }
  if (flow.skb_priority) m.skb_priority = 0xffffffffu;
  if (flow.pkt_mark) m.pkt_mark = 0xffffffffu;
  if (flow.recirc_id) m.recirc_id = 0xffffffffu;
  if (flow.in_port) m.in_port = 0xffff;
  for (int i = 0; i < kOfRegisterCount; ++i)
    if (flow.regs[i]) m.regs[i] = 0xffffffffu;
  if (flow.metadata) m.metadata = ~uint64_t{0};

  m.dl_dst.fill(0xff);
  m.dl_src.fill(0xff);
  m.dl_type = 0xffff;
  m.vlan_tci = 0xffff;
  uint16_t type = host16(flow.dl_type);
  if (type == kEthTypeIpv4) {
    m.nw_src = m.nw_dst = 0xffffffffu;
  } else if (type == kEthTypeIpv6) {
    m.ipv6_src.fill(0xff);
    m.ipv6_dst.fill(0xff);
    m.ipv6_label = be32(0xfffff);
    bool nd = flow.nw_proto == kIpProtoIcmpv6 && flow.tp_dst == 0 &&
              (flow.tp_src == be16(kNeighbourSolicitation) || flow.tp_src == be16(kNeighbourAdvertisement));
    if (nd) {
      m.arp_sha.fill(0xff);
      m.arp_tha.fill(0xff);
      m.nd_target.fill(0xff);
    }
  } else if (type == kEthTypeArp || type == kEthTypeRarp) {
    m.nw_src = m.nw_dst = 0xffffffffu;
    m.nw_proto = 0xff;
    m.arp_sha.fill(0xff);
    m.arp_tha.fill(0xff);
    return m;
  } else if (type == kEthTypeMplsUnicast || type == kEthTypeMplsMulticast) {
    m.mpls_lse = 0xffffffffu;
    return m;
  } else {
    return m;
  }
  m.nw_frag = kOfFragMask;
  m.nw_tos = m.nw_ttl = m.nw_proto = 0xff;
  bool has_ports = flow.nw_proto == kIpProtoIcmp || flow.nw_proto == kIpProtoIcmpv6 ||
                   flow.nw_proto == kIpProtoTcp || flow.nw_proto == kIpProtoUdp ||
                   flow.nw_proto == kIpProtoSctp || flow.nw_proto == 2 /* IGMP */;
  if (!(flow.nw_frag & kOfFragLater) && has_ports) {
    m.tp_src = m.tp_dst = 0xffff;
    if (flow.nw_proto == kIpProtoTcp) m.tcp_flags = be16(0x0fff);
  }
  return m;
}

void print_nodes(std::string& out, const std::vector<XlateTraceNode>& nodes, int level) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    const XlateTraceNode& node = nodes[i];
    using Kind = XlateTraceNode::Kind;
    bool terminal = node.kind != Kind::kBridge && node.kind != Kind::kTable;
    if (node.kind == Kind::kBridge) out += '\n';
    // The last nested node of a list is not indented further (OVS's "more").
    int more = (i + 1 < nodes.size() || terminal) ? 1 : 0;
    std::string indent(static_cast<size_t>((level + more) * 4), ' ');
    out += indent;
    switch (node.kind) {
      case Kind::kDetail:
        out += " -> " + node.text + "\n";
        break;
      case Kind::kWarning:
        out += " >> " + node.text + "\n";
        break;
      case Kind::kError:
        out += " >>>> " + node.text + " <<<<\n";
        break;
      case Kind::kBridge:
        out += node.text + "\n" + indent + std::string(node.text.size(), '-') + "\n";
        break;
      case Kind::kTable:
      case Kind::kAction:
        out += node.text + "\n";
        break;
    }
    print_nodes(out, node.children, level + 2 * more);
  }
}

}  // namespace

std::string format_trace_flow(const OfFlow& flow) {
  std::vector<std::string> items =
      split_items(format_of_match(OfMatch(flow, OfMask(packet_fields_mask(flow)))));
  // Fields of OVS's struct flow that OfFlow has not: they print as zero.
  if (tunnel_destination_set(flow)) {
    insert_after(items, "tun_ipv6_dst=", {"tun_gbp_id=0", "tun_gbp_flags=0"});
    insert_after(items, "tun_ttl=", {"tun_erspan_ver=0", "gtpu_flags=0", "gtpu_msgtype=0"});
  }
  if (host16(flow.vlan_tci) & kVlanCfi) {
    if (!insert_after(items, "dl_vlan_pcp=", {"vlan_tci1=0x0000"}))
      insert_after(items, "vlan_tci=", {"vlan_tci1=0x0000"});
  }
  return join_items(items);
}

std::string format_megaflow(const OfMatch& megaflow) {
  std::vector<std::string> items = split_items(format_of_match(megaflow));
  // OVS prints the packet type ("eth") of a megaflow right after the switch
  // metadata that precedes it.
  size_t at = 0;
  while (at < items.size() && (starts_with(items[at], "pkt_mark=") || starts_with(items[at], "recirc_id=") ||
                               starts_with(items[at], "skb_priority=")))
    ++at;
  items.insert(items.begin() + static_cast<long>(at), "eth");
  return join_items(items);
}

std::string format_datapath_actions(const ActionList& actions) {
  if (actions.empty()) return "drop";
  std::string out;
  for (const Action& action : actions) {
    if (!out.empty()) out += ',';
    if (action.is<UserspaceAction>()) {
      const UserspaceAction& u = action.as<UserspaceAction>();
      if (std::optional<ControllerCookie> cookie = decode_controller_cookie(u.userdata)) {
        out += "userspace(pid=" + std::to_string(u.pid) + "," + format_controller_cookie(*cookie);
        if (u.actions) out += ",actions";
        if (u.has_egress_tun_port) out += ",tunnel_out_port=" + std::to_string(u.egress_tun_port);
        out += ")";
        continue;
      }
    }
    out += format_actions(ActionList{action});
  }
  return out;
}

std::string format_trace_tree(const std::vector<XlateTraceNode>& nodes) {
  std::string out;
  print_nodes(out, nodes, 0);
  return out;
}

std::string format_trace(const OfFlow& flow, const XlateResult& result) {
  std::string out = "Flow: " + format_trace_flow(flow) + "\n";
  out += format_trace_tree(result.trace);
  out += "\nFinal flow: ";
  out += result.final_flow == flow ? std::string("unchanged") : format_trace_flow(result.final_flow);
  out += "\nMegaflow: " + format_megaflow(result.megaflow);
  out += "\nDatapath actions: " + format_datapath_actions(result.actions);
  if (result.error != XlateError::kNone) {
    out += "\nTranslation failed (" + std::string(xlate_error_text(result.error)) + "), packet is dropped.";
  } else if (result.slow_path & kXlateSlowAction) {
    out +=
        "\nThis flow is handled by the userspace slow path because it:\n"
        "  - Uses action(s) not supported by datapath.";
  }
  // ovs-appctl ends the reply with a newline.
  return out + "\n";
}

std::string ofproto_trace(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& flow) {
  XlateOptions options;
  options.record_trace = true;
  options.controller_dont_send = true;
  return format_trace(flow, translate(bridge, pipeline, flow, options));
}

}  // namespace flowlift
