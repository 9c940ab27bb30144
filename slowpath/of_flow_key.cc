// FlowKey <-> OfFlow, and megaflow OfMatch -> datapath Match (see of_flow_key.h).
#include "slowpath/of_flow_key.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "flowlift/masked_words.h"
#include "slowpath/of_field_text.h"
#include "slowpath/of_flow_units.h"

namespace flowlift {

namespace {

constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeRarp = 0x8035;
constexpr uint16_t kEthTypeMpls = 0x8847;
constexpr uint16_t kEthTypeMplsMulticast = 0x8848;
constexpr uint16_t kEthTypeVlan = 0x8100;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoSctp = 132;
constexpr uint8_t kNeighborSolicit = 135;
constexpr uint8_t kNeighborAdvert = 136;

bool has_ports(uint8_t proto) { return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp; }

template <typename T>
void set_all_ones(T& value) {
  std::memset(&value, 0xff, sizeof value);
}

bool is_arp_type(uint16_t type) { return type == kEthTypeArp || type == kEthTypeRarp; }
bool is_mpls_type(uint16_t type) { return type == kEthTypeMpls || type == kEthTypeMplsMulticast; }

bool is_neighbor_discovery(uint8_t type, uint8_t code) {
  return code == 0 && (type == kNeighborSolicit || type == kNeighborAdvert);
}

bool has_tunnel(const TunnelKey& tunnel) { return tunnel.ipv4_dst != 0 || tunnel.is_ipv6(); }

uint8_t of_frag_from_datapath(uint8_t ip_frag) {
  switch (ip_frag) {
    case kFragFirst:
      return kOfFragAny;
    case kFragLater:
      return kOfFragAny | kOfFragLater;
    default:
      return 0;
  }
}

std::string port_text(uint32_t port) { return std::to_string(port); }

// Conntrack is FlowKey's tail (flow_key.h) and FlowKey has no padding, so
// "no conntrack" is one compare of that tail against zeros, which every
// upcall asks twice.
bool conntrack_is_zero(const FlowKey& key) {
  constexpr size_t kStart = offsetof(FlowKey, ct_state);
  constexpr size_t kSize = sizeof(FlowKey) - kStart;
  static constexpr std::array<uint8_t, kSize> kZeros{};
  return std::memcmp(reinterpret_cast<const uint8_t*>(&key) + kStart, kZeros.data(), kSize) == 0;
}

}  // namespace

Result<OfFlow> of_flow_from_key(const FlowKey& key, const DatapathToOfPort& to_of_port) {
  OfFlow flow;
  if (Status s = of_flow_from_key(key, to_of_port, flow); !s) return s;
  return flow;
}

Status of_flow_from_key(const FlowKey& key, const DatapathToOfPort& to_of_port, OfFlow& flow) {
  if (key.mac_proto != kMacProtoEthernet)
    return invalid_argument("layer-3 packet (mac_proto none): OfFlow describes Ethernet frames only");
  if (key.cvlan.tci != 0 || key.cvlan.tpid != 0)
    return invalid_argument("inner VLAN tag (QinQ): OfFlow holds one VLAN tag");
  if (!conntrack_is_zero(key))
    return invalid_argument("conntrack fields are set: OfFlow has no conntrack fields");
  if (key.dp_hash != 0) return invalid_argument("dp_hash is set: OfFlow has no dp_hash");
  if (key.tunnel.vxlan_gbp != 0)
    return invalid_argument("VXLAN GBP is set: OfFlow has no tun_gbp_id/tun_gbp_flags");

  flow = OfFlow{};
  bool tunnel = has_tunnel(key.tunnel);
  std::optional<uint32_t> of_port = to_of_port(key.in_port, tunnel ? &key.tunnel : nullptr);
  if (!of_port)
    return Status(ENODEV, "in_port: datapath port " + port_text(key.in_port) + " has no OpenFlow port");
  flow.in_port = *of_port;
  flow.recirc_id = key.recirc_id;
  flow.pkt_mark = key.skb_mark;
  flow.skb_priority = key.priority;
  if (tunnel) {
    flow.tun_id = key.tunnel.tun_id;
    flow.tun_src = key.tunnel.ipv4_src;
    flow.tun_dst = key.tunnel.ipv4_dst;
    flow.tun_ipv6_src = key.tunnel.ipv6_src;
    flow.tun_ipv6_dst = key.tunnel.ipv6_dst;
    flow.tun_tp_src = key.tunnel.tp_src;
    flow.tun_tp_dst = key.tunnel.tp_dst;
    flow.tun_flags = key.tunnel.flags & kTunnelAllFlags;
    flow.tun_tos = key.tunnel.tos;
    flow.tun_ttl = key.tunnel.ttl;
  }

  flow.dl_dst = key.eth_dst;
  flow.dl_src = key.eth_src;
  flow.dl_type = key.eth_type;
  flow.vlan_tci = key.vlan.tci;
  flow.vlan_tpid = key.vlan.tpid;

  uint16_t type = ntohs(key.eth_type);
  if (type == kEthTypeIpv4 || type == kEthTypeIpv6) {
    flow.nw_proto = key.ip_proto;
    flow.nw_tos = key.ip_tos;
    flow.nw_ttl = key.ip_ttl;
    flow.nw_frag = of_frag_from_datapath(key.ip_frag);
    flow.tp_src = key.tp_src;
    flow.tp_dst = key.tp_dst;
    flow.tcp_flags = key.tcp_flags;
    if (type == kEthTypeIpv4) {
      flow.nw_src = key.ipv4_src;
      flow.nw_dst = key.ipv4_dst;
    } else {
      flow.ipv6_src = key.ipv6_src;
      flow.ipv6_dst = key.ipv6_dst;
      flow.ipv6_label = key.ipv6_label;
      flow.nd_target = key.nd_target;
      flow.arp_sha = key.nd_sll;
      flow.arp_tha = key.nd_tll;
    }
  } else if (is_arp_type(type)) {
    uint16_t op = ntohs(key.arp_op);
    if (op > 0xff)
      return invalid_argument("ARP opcode " + std::to_string(op) +
                              ": OpenFlow matches only opcodes up to 255");
    flow.nw_proto = static_cast<uint8_t>(op);
    flow.nw_src = key.arp_sip;
    flow.nw_dst = key.arp_tip;
    flow.arp_sha = key.arp_sha;
    flow.arp_tha = key.arp_tha;
  } else if (is_mpls_type(type) && key.mpls_depth > 0) {
    flow.mpls_lse = key.mpls_lse[0];
  }
  return Status::ok();
}

Result<FlowKey> key_from_of_flow(const OfFlow& flow, const OfToDatapathPort& to_datapath_port) {
  FlowKey key{};
  std::optional<uint32_t> datapath_port = to_datapath_port(flow.in_port);
  if (!datapath_port)
    return Status(ENODEV, "in_port: OpenFlow port " + port_text(flow.in_port) + " has no datapath port");
  key.in_port = *datapath_port;
  key.recirc_id = flow.recirc_id;
  key.skb_mark = flow.pkt_mark;
  key.priority = flow.skb_priority;
  if (flow.tun_dst != 0 || !all_bytes_zero(flow.tun_ipv6_dst)) {
    key.tunnel.tun_id = flow.tun_id;
    key.tunnel.ipv4_src = flow.tun_src;
    key.tunnel.ipv4_dst = flow.tun_dst;
    key.tunnel.ipv6_src = flow.tun_ipv6_src;
    key.tunnel.ipv6_dst = flow.tun_ipv6_dst;
    key.tunnel.tp_src = flow.tun_tp_src;
    key.tunnel.tp_dst = flow.tun_tp_dst;
    key.tunnel.flags = flow.tun_flags & kTunnelAllFlags;
    key.tunnel.tos = flow.tun_tos;
    key.tunnel.ttl = flow.tun_ttl;
  }

  key.eth_dst = flow.dl_dst;
  key.eth_src = flow.dl_src;
  key.eth_type = flow.dl_type;
  uint16_t tci = ntohs(flow.vlan_tci);
  if (tci & kVlanCfi) {
    key.vlan.tci = flow.vlan_tci;
    key.vlan.tpid = flow.vlan_tpid ? flow.vlan_tpid : htons(kEthTypeVlan);
  } else if (tci != 0) {
    return invalid_argument("vlan_tci " + format_hex(tci) +
                            " has VLAN bits without the CFI bit 0x1000 that says a tag is present");
  }

  uint16_t type = ntohs(flow.dl_type);
  if (type == kEthTypeIpv4 || type == kEthTypeIpv6) {
    if ((flow.nw_frag & kOfFragLater) && !(flow.nw_frag & kOfFragAny))
      return invalid_argument("nw_frag: the 'later' bit without the 'fragment' bit");
    key.ip_proto = flow.nw_proto;
    key.ip_tos = flow.nw_tos;
    key.ip_ttl = flow.nw_ttl;
    key.ip_frag = !(flow.nw_frag & kOfFragAny)    ? kFragNone
                  : (flow.nw_frag & kOfFragLater) ? kFragLater
                                                  : kFragFirst;
    bool icmp = (type == kEthTypeIpv4 && flow.nw_proto == kProtoIcmp) ||
                (type == kEthTypeIpv6 && flow.nw_proto == kProtoIcmpv6);
    if (key.ip_frag != kFragLater && (icmp || has_ports(flow.nw_proto))) {
      key.tp_src = flow.tp_src;
      key.tp_dst = flow.tp_dst;
      if (flow.nw_proto == kProtoTcp) key.tcp_flags = flow.tcp_flags & htons(0x0fff);
    }
    if (type == kEthTypeIpv4) {
      key.ipv4_src = flow.nw_src;
      key.ipv4_dst = flow.nw_dst;
    } else {
      key.ipv6_src = flow.ipv6_src;
      key.ipv6_dst = flow.ipv6_dst;
      key.ipv6_label = flow.ipv6_label & htonl(0x000fffff);
      if (icmp && key.ip_frag != kFragLater &&
          is_neighbor_discovery(ntohs(flow.tp_src), ntohs(flow.tp_dst))) {
        key.nd_target = flow.nd_target;
        key.nd_sll = flow.arp_sha;
        key.nd_tll = flow.arp_tha;
      }
    }
  } else if (is_arp_type(type)) {
    key.arp_op = htons(flow.nw_proto);
    key.arp_sip = flow.nw_src;
    key.arp_tip = flow.nw_dst;
    key.arp_sha = flow.arp_sha;
    key.arp_tha = flow.arp_tha;
  } else if (is_mpls_type(type)) {
    key.mpls_lse[0] = flow.mpls_lse;
    key.mpls_depth = 1;
  }
  return key;
}

namespace {

// The OfFlow of `packet_key` as far as the megaflow check needs it: the
// in_port is whatever the megaflow says (the caller checks the port mapping
// separately, where the megaflow matches in_port at all).
Result<OfFlow> packet_flow_for_megaflow(const FlowKey& packet_key, const OfMatch& megaflow) {
  uint32_t megaflow_port = megaflow.flow.in_port;
  return of_flow_from_key(packet_key, [megaflow_port](uint32_t, const TunnelKey*) -> std::optional<uint32_t> {
    return megaflow_port;
  });
}

// Every bit of the units that are switch metadata only (registers,
// metadata, conj_id), built once from the unit table.
// The words of OfFlow that hold switch metadata bits (registers, metadata,
// conj_id), with those bits: the check below reads only these few words.
struct SwitchMetadataWord {
  uint16_t offset;
  uint64_t bits;
};
const std::vector<SwitchMetadataWord>& switch_metadata_words() {
  static const std::vector<SwitchMetadataWord> words = [] {
    OfFlow all{};
    for (const OfFlowUnit& unit : of_flow_units())
      if (!unit.packet_field) write_unit(all, unit, unit.matchable_bits);
    std::vector<SwitchMetadataWord> list;
    for (size_t i = 0; i < sizeof(OfFlow); i += 8)
      if (const uint64_t bits = load_word(all, i); bits != 0)
        list.push_back(SwitchMetadataWord{static_cast<uint16_t>(i), bits});
    return list;
  }();
  return words;
}

Status check_no_switch_metadata(const OfMask& mask) {
  // The common case, every setup: the few words that can hold them show none.
  uint64_t any = 0;
  for (const SwitchMetadataWord& word : switch_metadata_words())
    any |= load_word(mask.bits(), word.offset) & word.bits;
  if (any == 0) return Status::ok();
  for (const OfFlowUnit& unit : of_flow_units()) {
    if (unit.packet_field || read_unit(mask.bits(), unit) == 0) continue;
    return invalid_argument(std::string(unit.name) +
                            " is not a packet field: the datapath cannot match it (translation clears "
                            "registers, metadata and conj_id from megaflows)");
  }
  return Status::ok();
}

}  // namespace

Result<Match> datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                           const OfToDatapathPort& to_datapath_port) {
  Result<OfFlow> packet = packet_flow_for_megaflow(packet_key, megaflow);
  if (!packet) return packet.status().with_context("the packet's key");
  return datapath_match_from_megaflow(megaflow, packet_key, *packet, to_datapath_port);
}

Result<Match> datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                           const OfFlow& packet_flow,
                                           const OfToDatapathPort& to_datapath_port) {
  Match match;
  if (Status s = datapath_match_from_megaflow(megaflow, packet_key, packet_flow, to_datapath_port, match); !s)
    return s;
  return match;
}

Status datapath_match_from_megaflow(const OfMatch& megaflow, const FlowKey& packet_key,
                                    const OfFlow& packet_flow, const OfToDatapathPort& to_datapath_port,
                                    Match& out) {
  const OfFlow& w = megaflow.mask.bits();
  if (Status s = check_no_switch_metadata(megaflow.mask); !s) return s;

  // Whether the megaflow matches its packet: one pass over the mask's range
  // says so for every correct translation; only a difference is looked at
  // unit by unit. The port the packet came in on is judged below, against
  // the port mapping; here it is whatever the megaflow says.
  // Two words per operation, in 16-byte vectors (GCC's and clang's vector
  // extension; the loads are memcpy, so alignment does not matter): with a
  // word at a time the loop's own counting was as much work as the
  // comparison (the range is ~25 words), and this runs on every setup.
  using WordPair = uint64_t __attribute__((vector_size(16)));
  const auto pair_at = [](const OfFlow& flow, size_t offset) {
    WordPair pair;
    std::memcpy(&pair, reinterpret_cast<const uint8_t*>(&flow) + offset, sizeof pair);
    return pair;
  };
  const size_t end = megaflow.mask.range().end;
  size_t i = megaflow.mask.range().start;
  WordPair differing_pairs = {0, 0};
  for (; i + 16 <= end; i += 16)
    differing_pairs |= (pair_at(packet_flow, i) ^ pair_at(megaflow.flow, i)) & pair_at(w, i);
  uint64_t differing = differing_pairs[0] | differing_pairs[1];
  if (i < end) differing |= (load_word(packet_flow, i) ^ load_word(megaflow.flow, i)) & load_word(w, i);
  OfFlow packet_storage;
  const OfFlowUnit* unit = nullptr;
  if (differing != 0) {
    packet_storage = packet_flow;
    packet_storage.in_port = megaflow.flow.in_port;
    unit = first_unit_differing_under(packet_storage, megaflow.flow, w);
  }
  if (unit != nullptr) {
    const OfFlow* packet = &packet_storage;
    return invalid_argument(
        "the megaflow does not match the packet it was translated for: " + std::string(unit->name) + " " +
        format_unit_value(*unit, read_unit(megaflow.flow, *unit), read_unit(w, *unit)) + " vs the packet's " +
        format_unit_value(*unit, read_unit(*packet, *unit), unit->matchable_bits));
  }
  std::optional<uint32_t> datapath_port = to_datapath_port(megaflow.flow.in_port);
  if (!datapath_port)
    return Status(ENODEV,
                  "in_port: OpenFlow port " + port_text(megaflow.flow.in_port) + " has no datapath port");
  if (*datapath_port != packet_key.in_port) {
    return invalid_argument("in_port: OpenFlow port " + port_text(megaflow.flow.in_port) +
                            " is datapath port " + port_text(*datapath_port) +
                            ", the packet came in on datapath port " + port_text(packet_key.in_port));
  }

  FlowKey& m = out.mask.mutable_bits();
  m = FlowKey{};
  // Always exact in the datapath.
  m.in_port = 0xffffffff;
  m.recirc_id = 0xffffffff;
  m.eth_type = 0xffff;
  m.mac_proto = 0xff;
  m.priority = w.skb_priority;
  m.skb_mark = w.pkt_mark;

  // Tunnel: only a packet that has one can need its fields.
  if (has_tunnel(packet_key.tunnel)) {
    m.tunnel.tun_id = w.tun_id;
    m.tunnel.ipv4_src = w.tun_src;
    m.tunnel.ipv4_dst = w.tun_dst;
    m.tunnel.ipv6_src = w.tun_ipv6_src;
    m.tunnel.ipv6_dst = w.tun_ipv6_dst;
    m.tunnel.tp_src = w.tun_tp_src;
    m.tunnel.tp_dst = w.tun_tp_dst;
    m.tunnel.flags = w.tun_flags & kTunnelAllFlags;
    m.tunnel.tos = w.tun_tos;
    m.tunnel.ttl = w.tun_ttl;
    // The fields a tunnel port lookup reads (OVS's tnl_port_receive(): the
    // remote and local address, the key and whether there is one) say which
    // OpenFlow port a packet on a shared tunnel datapath port belongs to, so
    // the flow must match them whatever the megaflow looked at.
    m.tunnel.tun_id = ~Be64{0};
    m.tunnel.flags |= kTunnelKey;
    // The other family's addresses are zero in every packet the pinned
    // destination admits; the kernel keeps one family (a union).
    if (packet_key.tunnel.is_ipv6()) {
      set_all_ones(m.tunnel.ipv6_src);
      set_all_ones(m.tunnel.ipv6_dst);
      m.tunnel.ipv4_src = m.tunnel.ipv4_dst = 0;
    } else {
      m.tunnel.ipv4_src = 0xffffffff;
      m.tunnel.ipv4_dst = 0xffffffff;
      m.tunnel.ipv6_src = m.tunnel.ipv6_dst = Ipv6Addr{};
    }
  }

  m.eth_dst = w.dl_dst;
  m.eth_src = w.dl_src;
  // VLAN: presence always exact; an untagged packet's flow is untagged-only.
  if (packet_key.vlan.tci & htons(kVlanCfi)) {
    m.vlan.tpid = 0xffff;
    m.vlan.tci = w.vlan_tci | htons(kVlanCfi);
  } else {
    m.vlan.tci = 0xffff;
  }
  m.cvlan.tci = 0xffff;

  uint16_t type = ntohs(packet_key.eth_type);
  if (type == kEthTypeIpv4 || type == kEthTypeIpv6) {
    bool v6 = type == kEthTypeIpv6;
    m.ip_proto = w.nw_proto;
    m.ip_tos = w.nw_tos;
    m.ip_ttl = w.nw_ttl;
    if (w.nw_frag & kOfFragMask) m.ip_frag = 0xff;
    // Where the packet's fragment type, protocol or ICMP type decides whether
    // an OpenFlow field exists in the datapath key at all, a megaflow that
    // looks at the field pins that decision: the kernel takes L4 masks only
    // under an exact protocol, and a mask dropped because the packet has no
    // such field stays sound only if every packet the flow matches lacks it too.
    bool looks_at_l4 = w.tp_src || w.tp_dst || w.tcp_flags;
    bool looks_at_nd =
        v6 && (!all_bytes_zero(w.nd_target) || !all_bytes_zero(w.arp_sha) || !all_bytes_zero(w.arp_tha));
    if (looks_at_l4 || looks_at_nd) {
      m.ip_proto = 0xff;
      m.ip_frag = 0xff;
    }
    bool icmp = packet_key.ip_proto == (v6 ? kProtoIcmpv6 : kProtoIcmp);
    if (packet_key.ip_frag != kFragLater) {
      Be16 l4_bits = icmp ? htons(0x00ff) : 0xffff;
      m.tp_src = w.tp_src & l4_bits;
      m.tp_dst = w.tp_dst & l4_bits;
      if (packet_key.ip_proto == kProtoTcp) m.tcp_flags = w.tcp_flags & htons(0x0fff);
      if (looks_at_nd && icmp) {
        if (is_neighbor_discovery(ntohs(packet_key.tp_src), ntohs(packet_key.tp_dst))) {
          m.nd_target = w.nd_target;
          m.nd_sll = w.arp_sha;
          m.nd_tll = w.arp_tha;
          // The kernel takes ND masks only under an exactly matched ICMPv6 type.
          m.tp_src = htons(0x00ff);
        } else {
          // Not ND: only packets of this ICMPv6 type and code lack ND fields for sure.
          m.tp_src = htons(0x00ff);
          m.tp_dst = htons(0x00ff);
        }
      }
    }
    if (v6) {
      m.ipv6_src = w.ipv6_src;
      m.ipv6_dst = w.ipv6_dst;
      m.ipv6_label = w.ipv6_label & htonl(0x000fffff);
    } else {
      m.ipv4_src = w.nw_src;
      m.ipv4_dst = w.nw_dst;
    }
  } else if (is_arp_type(type)) {
    if (w.nw_proto) m.arp_op = htons(static_cast<uint16_t>(0xff00 | w.nw_proto));
    m.arp_sip = w.nw_src;
    m.arp_tip = w.nw_dst;
    m.arp_sha = w.arp_sha;
    m.arp_tha = w.arp_tha;
  } else if (is_mpls_type(type)) {
    // The kernel matches the stack depth exactly whenever it matches a label.
    m.mpls_lse[0] = w.mpls_lse;
    if (w.mpls_lse) m.mpls_depth = 0xff;
  }
  out.mask.recompute_range();
  // The key under the mask, as Match's constructor makes it: zero outside
  // the mask's range, the packet's bits under the mask inside it.
  out.key = FlowKey{};
  const KeyRange& range = out.mask.range();
  auto* key_bytes = reinterpret_cast<uint8_t*>(&out.key);
  for (size_t i = range.start; i < range.end; i += 8) {
    const uint64_t word = load_word(packet_key, i) & load_word(m, i);
    std::memcpy(key_bytes + i, &word, sizeof word);
  }
  return Status::ok();
}

Result<OfMatch> of_match_from_datapath_match(const Match& match, const DatapathToOfPort& to_of_port) {
  const FlowKey& k = match.key;
  const FlowKey& m = match.mask.bits();
  if (m.mac_proto && k.mac_proto != kMacProtoEthernet)
    return invalid_argument("layer-3 flow (mac_proto none): OfFlow describes Ethernet frames only");
  FlowKey conntrack_mask{};
  std::memcpy(&conntrack_mask.ct_state, &m.ct_state, sizeof(FlowKey) - offsetof(FlowKey, ct_state));
  if (!conntrack_is_zero(conntrack_mask))
    return invalid_argument("the flow matches conntrack fields: OfFlow has none");
  if (m.dp_hash) return invalid_argument("the flow matches dp_hash: OfFlow has no dp_hash");
  if ((m.cvlan.tci & htons(kVlanCfi)) && (k.cvlan.tci & htons(kVlanCfi)))
    return invalid_argument("the flow matches an inner VLAN tag (QinQ): OfFlow holds one VLAN tag");

  OfFlow f{}, w{};
  if (m.in_port) {
    if (m.in_port != 0xffffffff) return invalid_argument("in_port is partially masked");
    std::optional<uint32_t> port = to_of_port(k.in_port, has_tunnel(k.tunnel) ? &k.tunnel : nullptr);
    if (!port)
      return Status(ENODEV, "in_port: datapath port " + port_text(k.in_port) + " has no OpenFlow port");
    f.in_port = *port;
    w.in_port = 0xffff;
  }
  f.recirc_id = k.recirc_id;
  w.recirc_id = m.recirc_id;
  f.pkt_mark = k.skb_mark;
  w.pkt_mark = m.skb_mark;
  f.skb_priority = k.priority;
  w.skb_priority = m.priority;
  f.tun_id = k.tunnel.tun_id;
  w.tun_id = m.tunnel.tun_id;
  f.tun_src = k.tunnel.ipv4_src;
  w.tun_src = m.tunnel.ipv4_src;
  f.tun_dst = k.tunnel.ipv4_dst;
  w.tun_dst = m.tunnel.ipv4_dst;
  f.tun_ipv6_src = k.tunnel.ipv6_src;
  w.tun_ipv6_src = m.tunnel.ipv6_src;
  f.tun_ipv6_dst = k.tunnel.ipv6_dst;
  w.tun_ipv6_dst = m.tunnel.ipv6_dst;
  f.tun_tp_src = k.tunnel.tp_src;
  w.tun_tp_src = m.tunnel.tp_src;
  f.tun_tp_dst = k.tunnel.tp_dst;
  w.tun_tp_dst = m.tunnel.tp_dst;
  f.tun_flags = k.tunnel.flags & kTunnelAllFlags;
  w.tun_flags = m.tunnel.flags & kTunnelAllFlags;
  f.tun_tos = k.tunnel.tos;
  w.tun_tos = m.tunnel.tos;
  f.tun_ttl = k.tunnel.ttl;
  w.tun_ttl = m.tunnel.ttl;

  f.dl_src = k.eth_src;
  w.dl_src = m.eth_src;
  f.dl_dst = k.eth_dst;
  w.dl_dst = m.eth_dst;
  f.dl_type = k.eth_type;
  w.dl_type = m.eth_type;
  // The kernel's "no VLAN attribute" is an exact match on tci 0 (untagged only).
  f.vlan_tci = k.vlan.tci;
  w.vlan_tci = m.vlan.tci;

  uint16_t type = m.eth_type == 0xffff ? ntohs(k.eth_type) : 0;
  if (type == kEthTypeIpv4 || type == kEthTypeIpv6) {
    f.nw_proto = k.ip_proto;
    w.nw_proto = m.ip_proto;
    f.nw_tos = k.ip_tos;
    w.nw_tos = m.ip_tos;
    f.nw_ttl = k.ip_ttl;
    w.nw_ttl = m.ip_ttl;
    if (m.ip_frag) {
      if (m.ip_frag != 0xff) return invalid_argument("ip_frag is partially masked (it is an enumeration)");
      f.nw_frag = of_frag_from_datapath(k.ip_frag);
      w.nw_frag = kOfFragMask;
    }
    f.tp_src = k.tp_src;
    w.tp_src = m.tp_src;
    f.tp_dst = k.tp_dst;
    w.tp_dst = m.tp_dst;
    f.tcp_flags = k.tcp_flags;
    w.tcp_flags = m.tcp_flags;
    if (type == kEthTypeIpv4) {
      f.nw_src = k.ipv4_src;
      w.nw_src = m.ipv4_src;
      f.nw_dst = k.ipv4_dst;
      w.nw_dst = m.ipv4_dst;
    } else {
      f.ipv6_src = k.ipv6_src;
      w.ipv6_src = m.ipv6_src;
      f.ipv6_dst = k.ipv6_dst;
      w.ipv6_dst = m.ipv6_dst;
      f.ipv6_label = k.ipv6_label;
      w.ipv6_label = m.ipv6_label;
      f.nd_target = k.nd_target;
      w.nd_target = m.nd_target;
      f.arp_sha = k.nd_sll;
      w.arp_sha = m.nd_sll;
      f.arp_tha = k.nd_tll;
      w.arp_tha = m.nd_tll;
    }
  } else if (is_arp_type(type)) {
    // OpenFlow sees the opcode's low byte; a high byte matched as 0 is what
    // every packet OpenFlow can describe has.
    f.nw_proto = static_cast<uint8_t>(ntohs(k.arp_op));
    w.nw_proto = static_cast<uint8_t>(ntohs(m.arp_op));
    if (ntohs(k.arp_op) > 0xff) return invalid_argument("the flow matches an ARP opcode above 255");
    f.nw_src = k.arp_sip;
    w.nw_src = m.arp_sip;
    f.nw_dst = k.arp_tip;
    w.nw_dst = m.arp_tip;
    f.arp_sha = k.arp_sha;
    w.arp_sha = m.arp_sha;
    f.arp_tha = k.arp_tha;
    w.arp_tha = m.arp_tha;
  } else if (is_mpls_type(type)) {
    f.mpls_lse = k.mpls_lse[0];
    w.mpls_lse = m.mpls_lse[0];
  }
  return OfMatch(f, OfMask(w));
}

}  // namespace flowlift
