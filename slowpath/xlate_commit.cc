// commit_header_changes(): OVS's commit_odp_actions() over XlateHeaders.
//
// Each settable key attribute is described as a list of fields, each mapping
// an OfFlow field to its place in FlowKey (where SetAction keeps values). The
// attribute-independent part of odp-util's commit() then works on those
// lists: compare, decide set versus set_masked, update base and wildcards.
#include "slowpath/xlate_commit.h"

#include <cstring>
#include <span>

#include "kmod/odp_text_key_attrs.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {

namespace {

// How a field's bytes differ between OfFlow and the datapath key.
enum class CommitConversion : uint8_t {
  kSame,       // same size and byte order
  kFrag,       // OfFlow's nw_frag bits <-> OVS_FRAG_TYPE_*
  kArpOp,      // 8-bit OfFlow nw_proto <-> 16-bit ARP opcode
  kIcmpByte,   // ICMP type/code: only the low byte of the 16-bit unit exists
  kIpv6Label,  // 20 bits of a 32-bit unit
};

struct CommitField {
  uint16_t flow_offset;
  uint16_t key_offset;
  uint8_t size;  // bytes in FlowKey
  CommitConversion conversion;
  bool writable;  // the datapath can set it (IP protocol and fragment type it cannot)
};

#define FLOW_AT(field) static_cast<uint16_t>(offsetof(OfFlow, field))
#define KEY_AT(field) static_cast<uint16_t>(offsetof(FlowKey, field))
using C = CommitConversion;

constexpr CommitField kEthernetFields[] = {
    {FLOW_AT(dl_src), KEY_AT(eth_src), 6, C::kSame, true},
    {FLOW_AT(dl_dst), KEY_AT(eth_dst), 6, C::kSame, true},
};
constexpr CommitField kIpv4Fields[] = {
    {FLOW_AT(nw_src), KEY_AT(ipv4_src), 4, C::kSame, true},
    {FLOW_AT(nw_dst), KEY_AT(ipv4_dst), 4, C::kSame, true},
    {FLOW_AT(nw_proto), KEY_AT(ip_proto), 1, C::kSame, false},
    {FLOW_AT(nw_tos), KEY_AT(ip_tos), 1, C::kSame, true},
    {FLOW_AT(nw_ttl), KEY_AT(ip_ttl), 1, C::kSame, true},
    {FLOW_AT(nw_frag), KEY_AT(ip_frag), 1, C::kFrag, false},
};
constexpr CommitField kIpv6Fields[] = {
    {FLOW_AT(ipv6_src), KEY_AT(ipv6_src), 16, C::kSame, true},
    {FLOW_AT(ipv6_dst), KEY_AT(ipv6_dst), 16, C::kSame, true},
    {FLOW_AT(ipv6_label), KEY_AT(ipv6_label), 4, C::kIpv6Label, true},
    {FLOW_AT(nw_proto), KEY_AT(ip_proto), 1, C::kSame, false},
    {FLOW_AT(nw_tos), KEY_AT(ip_tos), 1, C::kSame, true},
    {FLOW_AT(nw_ttl), KEY_AT(ip_ttl), 1, C::kSame, true},
    {FLOW_AT(nw_frag), KEY_AT(ip_frag), 1, C::kFrag, false},
};
constexpr CommitField kPortFields[] = {
    {FLOW_AT(tp_src), KEY_AT(tp_src), 2, C::kSame, true},
    {FLOW_AT(tp_dst), KEY_AT(tp_dst), 2, C::kSame, true},
};
constexpr CommitField kIcmpFields[] = {
    {FLOW_AT(tp_src), KEY_AT(tp_src), 2, C::kIcmpByte, true},
    {FLOW_AT(tp_dst), KEY_AT(tp_dst), 2, C::kIcmpByte, true},
};
constexpr CommitField kArpFields[] = {
    {FLOW_AT(nw_src), KEY_AT(arp_sip), 4, C::kSame, true},
    {FLOW_AT(nw_dst), KEY_AT(arp_tip), 4, C::kSame, true},
    {FLOW_AT(nw_proto), KEY_AT(arp_op), 2, C::kArpOp, true},
    {FLOW_AT(arp_sha), KEY_AT(arp_sha), 6, C::kSame, true},
    {FLOW_AT(arp_tha), KEY_AT(arp_tha), 6, C::kSame, true},
};
constexpr CommitField kNdFields[] = {
    {FLOW_AT(nd_target), KEY_AT(nd_target), 16, C::kSame, true},
    {FLOW_AT(arp_sha), KEY_AT(nd_sll), 6, C::kSame, true},
    {FLOW_AT(arp_tha), KEY_AT(nd_tll), 6, C::kSame, true},
};
constexpr CommitField kPriorityFields[] = {{FLOW_AT(skb_priority), KEY_AT(priority), 4, C::kSame, true}};
constexpr CommitField kMarkFields[] = {{FLOW_AT(pkt_mark), KEY_AT(skb_mark), 4, C::kSame, true}};

#undef FLOW_AT
#undef KEY_AT

uint8_t* bytes_of(FlowKey& key) { return reinterpret_cast<uint8_t*>(&key); }
const uint8_t* bytes_of(const FlowKey& key) { return reinterpret_cast<const uint8_t*>(&key); }
uint8_t* bytes_of(OfFlow& flow) { return reinterpret_cast<uint8_t*>(&flow); }
const uint8_t* bytes_of(const OfFlow& flow) { return reinterpret_cast<const uint8_t*>(&flow); }

// OfFlow -> key bytes (odp-util's get_*_key()).
void to_key(const CommitField& f, const OfFlow& from, FlowKey& to, bool is_mask) {
  const uint8_t* src = bytes_of(from) + f.flow_offset;
  uint8_t* dst = bytes_of(to) + f.key_offset;
  switch (f.conversion) {
    case C::kSame:
      std::memcpy(dst, src, f.size);
      return;
    case C::kFrag: {
      uint8_t frag = *src;
      if (is_mask) {
        *dst = (frag & kOfFragAny) ? 0xff : 0;
      } else {
        *dst = !(frag & kOfFragAny) ? kFragNone : (frag & kOfFragLater) ? kFragLater : kFragFirst;
      }
      return;
    }
    case C::kArpOp: {
      Be16 op = *src == 0xff ? 0xffff : be16(*src);
      std::memcpy(dst, &op, 2);
      return;
    }
    case C::kIcmpByte: {
      Be16 unit;
      std::memcpy(&unit, src, 2);
      Be16 low = be16(host16(unit) & 0xff);
      std::memcpy(dst, &low, 2);
      return;
    }
    case C::kIpv6Label: {
      Be32 label;
      std::memcpy(&label, src, 4);
      if (is_mask) label &= be32(0xfffff);
      std::memcpy(dst, &label, 4);
      return;
    }
  }
}

// Key bytes -> OfFlow (odp-util's put_*_key()); a mask is ORed in.
void from_key(const CommitField& f, const FlowKey& from, OfFlow& to, bool is_mask) {
  const uint8_t* src = bytes_of(from) + f.key_offset;
  uint8_t* dst = bytes_of(to) + f.flow_offset;
  uint8_t converted[16];
  size_t n = f.size;
  switch (f.conversion) {
    case C::kSame:
    case C::kIpv6Label:
      std::memcpy(converted, src, n);
      break;
    case C::kFrag: {
      static constexpr uint8_t kToBits[] = {0, kOfFragAny, kOfFragAny | kOfFragLater};
      converted[0] = is_mask ? (*src ? kOfFragMask : 0) : kToBits[*src <= 2 ? *src : 0];
      n = 1;
      break;
    }
    case C::kArpOp: {
      Be16 op;
      std::memcpy(&op, src, 2);
      converted[0] = static_cast<uint8_t>(host16(op));
      n = 1;
      break;
    }
    case C::kIcmpByte: {
      Be16 unit;
      std::memcpy(&unit, src, 2);
      Be16 low = be16(host16(unit) & 0xff);
      std::memcpy(converted, &low, 2);
      break;
    }
  }
  for (size_t i = 0; i < n; ++i) dst[i] = is_mask ? (dst[i] | converted[i]) : converted[i];
}

// Every bit of the field matters (odp_mask_is_exact(), per field).
bool field_mask_is_full(const CommitField& f, const FlowKey& mask) {
  const uint8_t* m = bytes_of(mask) + f.key_offset;
  switch (f.conversion) {
    case C::kIcmpByte:
      return m[1] == 0xff;  // the low byte of a big-endian unit
    case C::kIpv6Label: {
      Be32 label;
      std::memcpy(&label, m, 4);
      return (host32(label) & 0xfffff) == 0xfffff;
    }
    default:
      for (size_t i = 0; i < f.size; ++i)
        if (m[i] != 0xff) return false;
      return true;
  }
}

void set_field_mask_full(const CommitField& f, FlowKey& mask) {
  uint8_t* m = bytes_of(mask) + f.key_offset;
  switch (f.conversion) {
    case C::kIcmpByte:
      m[0] = 0;
      m[1] = 0xff;
      return;
    case C::kIpv6Label: {
      Be32 label = be32(0xfffff);
      std::memcpy(m, &label, 4);
      return;
    }
    default:
      std::memset(m, 0xff, f.size);
  }
}

// The mask a plain (unmasked) SetAction carries, as the netlink and text
// codecs build it.
FlowKey plain_set_mask(ovs_key_attr attr) {
  FlowKey mask{};
  if (const odp_text::FieldListSpec* spec = odp_text::find_field_list(attr)) {
    odp_text::set_field_list_mask_full(*spec, mask);
  } else if (attr == OVS_KEY_ATTR_PRIORITY) {
    mask.priority = 0xffffffffu;
  } else if (attr == OVS_KEY_ATTR_SKB_MARK) {
    mask.skb_mark = 0xffffffffu;
  }
  return mask;
}

// Whether the base packet has tunnel metadata the datapath will encapsulate
// with (then an unchanged ECN field is left out of IP sets: the tunnel
// output sets the outer ECN from it, so it must not be clobbered).
bool base_has_tunnel(const OfFlow& base) { return base.tun_dst || !all_bytes_zero(base.tun_ipv6_dst); }

// odp-util's commit(): returns whether an action was added.
bool commit_attribute(ovs_key_attr attr, bool use_masked_set, std::span<const CommitField> fields,
                      const OfFlow& flow, OfFlow& base, OfFlow& wc, ActionList& actions,
                      bool keep_unchanged_ecn_out = false) {
  // Most translations change no header: when every field's OfFlow bytes are
  // the same in `flow` and `base`, so are their key forms (to_key() reads
  // nothing else), and the three FlowKeys below need not be built.
  bool any_source_differs = false;
  for (const CommitField& f : fields) {
    const size_t source_size = f.conversion == C::kArpOp ? 1 : f.size;
    if (std::memcmp(bytes_of(flow) + f.flow_offset, bytes_of(base) + f.flow_offset, source_size) != 0) {
      any_source_differs = true;
      break;
    }
  }
  if (!any_source_differs) return false;

  FlowKey key{}, base_key{}, mask{};
  for (const CommitField& f : fields) {
    to_key(f, flow, key, false);
    to_key(f, base, base_key, false);
    if (f.writable) to_key(f, wc, mask, true);
  }
  if (keep_unchanged_ecn_out) mask.ip_tos &= static_cast<uint8_t>(~0x03);

  bool differ = false;
  for (const CommitField& f : fields) {
    if (std::memcmp(bytes_of(key) + f.key_offset, bytes_of(base_key) + f.key_offset, f.size) == 0) {
      std::memset(bytes_of(mask) + f.key_offset, 0, f.size);
    } else {
      differ = true;
    }
  }
  if (!differ) return false;

  bool fully_masked = true;
  for (const CommitField& f : fields) fully_masked = fully_masked && field_mask_is_full(f, mask);

  SetAction set;
  set.attr = attr;
  if (use_masked_set && !fully_masked) {
    set.masked = true;
    for (const CommitField& f : fields) {
      for (size_t i = 0; i < f.size; ++i) {
        size_t at = f.key_offset + i;
        bytes_of(*set.value)[at] = bytes_of(key)[at] & bytes_of(mask)[at];
        bytes_of(*set.mask)[at] = bytes_of(mask)[at];
      }
    }
  } else {
    if (!fully_masked)
      for (const CommitField& f : fields) set_field_mask_full(f, mask);
    set.masked = false;
    set.value = key;
    set.mask = plain_set_mask(attr);
  }
  actions.push_back(std::move(set));

  for (const CommitField& f : fields) {
    from_key(f, key, base, false);
    from_key(f, mask, wc, true);
  }
  return true;
}

bool is_icmp_packet(const OfFlow& f) {
  return (f.dl_type == be16(kEthTypeIpv4) && f.nw_proto == kIpProtoIcmp) ||
         (f.dl_type == be16(kEthTypeIpv6) && f.nw_proto == kIpProtoIcmpv6);
}

uint32_t commit_network_header(const OfFlow& flow, OfFlow& base, OfFlow& wc, bool use_masked_set,
                               ActionList& actions) {
  if (!flow.nw_proto) return 0;  // no L3 header (e.g. after push_mpls)
  bool ecn_out = base_has_tunnel(base) && ((base.nw_tos ^ flow.nw_tos) & 0x03) == 0;
  switch (host16(base.dl_type)) {
    case kEthTypeIpv4:
      commit_attribute(OVS_KEY_ATTR_IPV4, use_masked_set, kIpv4Fields, flow, base, wc, actions, ecn_out);
      return 0;
    case kEthTypeIpv6:
      commit_attribute(OVS_KEY_ATTR_IPV6, use_masked_set, kIpv6Fields, flow, base, wc, actions, ecn_out);
      if (base.nw_proto == kIpProtoIcmpv6 &&
          commit_attribute(OVS_KEY_ATTR_ND, use_masked_set, kNdFields, flow, base, wc, actions))
        return kXlateSlowAction;
      return 0;
    case kEthTypeArp:
      // odp-util always offers a masked ARP set; the kernel has none at all.
      if (commit_attribute(OVS_KEY_ATTR_ARP, true, kArpFields, flow, base, wc, actions))
        return kXlateSlowAction;
      return 0;
    default:
      return 0;
  }
}

void commit_transport_ports(const OfFlow& flow, OfFlow& base, OfFlow& wc, bool use_masked_set,
                            ActionList& actions) {
  if (!flow.nw_proto || !is_ip_packet(base)) return;
  ovs_key_attr attr;
  switch (flow.nw_proto) {
    case kIpProtoTcp:
      attr = OVS_KEY_ATTR_TCP;
      break;
    case kIpProtoUdp:
      attr = OVS_KEY_ATTR_UDP;
      break;
    case kIpProtoSctp:
      attr = OVS_KEY_ATTR_SCTP;
      break;
    default:
      return;
  }
  commit_attribute(attr, use_masked_set, kPortFields, flow, base, wc, actions);
}

uint32_t commit_icmp(const OfFlow& flow, OfFlow& base, OfFlow& wc, ActionList& actions) {
  if (!is_icmp_packet(flow)) return 0;
  ovs_key_attr attr = flow.dl_type == be16(kEthTypeIpv4) ? OVS_KEY_ATTR_ICMP : OVS_KEY_ATTR_ICMPV6;
  // ICMP sets are never masked in odp-util.
  return commit_attribute(attr, false, kIcmpFields, flow, base, wc, actions) ? uint32_t{kXlateSlowAction}
                                                                             : 0u;
}

// Label stack entries common to both, counted from the innermost.
int count_common_mpls_labels(const XlateHeaders& a, int an, const XlateHeaders& b, int bn) {
  int min_n = an < bn ? an : bn;
  int common = 0;
  for (int i = 0; i < min_n; ++i) {
    if (a.mpls(an - 1 - i) != b.mpls(bn - 1 - i)) break;
    ++common;
  }
  return common;
}

void commit_mpls(const XlateHeaders& flow, XlateHeaders& base, ActionList& actions) {
  int base_n = count_mpls_labels(base, nullptr);
  int flow_n = count_mpls_labels(flow, nullptr);
  int common_n = count_common_mpls_labels(flow, flow_n, base, base_n);
  while (base_n > common_n) {
    if (base_n - 1 == common_n && flow_n > common_n) {
      // One entry more in base than in common, and flow has one to put in
      // its place: rewrite the top entry instead of popping and pushing.
      Be32 lse = flow.mpls(flow_n - base_n);
      SetAction set;
      set.attr = OVS_KEY_ATTR_MPLS;
      set.value->mpls_lse[0] = lse;
      set.mask->mpls_lse[0] = 0xffffffffu;
      actions.push_back(std::move(set));
      base.set_mpls(0, lse);
      ++common_n;
    } else {
      // Popping the last entry of a stack whose packet is not MPLS any
      // more: the intermediate pops must still name an MPLS ethertype.
      Be16 ethertype =
          (!is_mpls_packet(flow.flow) && base_n > 1) ? be16(kEthTypeMplsUnicast) : flow.flow.dl_type;
      actions.push_back(PopMplsAction{ethertype});
      pop_mpls_header(base, base_n, flow.flow.dl_type, nullptr);
      --base_n;
    }
  }
  while (base_n < flow_n) {
    Be32 lse = flow.mpls(flow_n - base_n - 1);
    actions.push_back(PushMplsAction{lse, flow.flow.dl_type});
    // The base keeps its L3 fields: a later commit may need them.
    push_mpls_header(base, base_n, flow.flow.dl_type, nullptr, false);
    base.set_mpls(0, lse);
    ++base_n;
  }
}

void commit_vlans(const XlateHeaders& flow, XlateHeaders& base, OfFlow& wc, ActionList& actions) {
  int base_i = base.vlan_count() - 1, flow_i = flow.vlan_count() - 1;
  // Skip the tags both have, comparing from the innermost.
  for (; base_i >= 0 && flow_i >= 0; --base_i, --flow_i) {
    VlanHead a = base.vlan(base_i), b = flow.vlan(flow_i);
    if (a.tpid != b.tpid || a.tci != b.tci) break;
  }
  for (; base_i >= 0; --base_i) {
    actions.push_back(PopVlanAction{});
    if (base_i == 0) {
      wc.vlan_tci = 0xffff;
      wc.vlan_tpid = 0xffff;
    }
  }
  for (; flow_i >= 0; --flow_i) {
    VlanHead tag = flow.vlan(flow_i);
    actions.push_back(PushVlanAction{tag.tpid, tag.tci});
  }
  base.set_vlan(0, flow.vlan(0));
  base.set_vlan(1, flow.vlan(1));
}

TunnelKey tunnel_of(const OfFlow& f) {
  TunnelKey t{};
  t.tun_id = f.tun_id;
  t.ipv4_src = f.tun_src;
  t.ipv4_dst = f.tun_dst;
  t.ipv6_src = f.tun_ipv6_src;
  t.ipv6_dst = f.tun_ipv6_dst;
  t.tp_src = f.tun_tp_src;
  t.tp_dst = f.tun_tp_dst;
  t.flags = f.tun_flags;
  t.tos = f.tun_tos;
  t.ttl = f.tun_ttl;
  return t;
}

}  // namespace

uint32_t commit_header_changes(const XlateHeaders& flow, XlateHeaders& base, OfFlow& wc, bool use_masked_set,
                               ActionList& actions) {
  // Most outputs follow no header change at all (one comparison of the two
  // header sets, where the steps below compare field by field): with nothing
  // different, no step adds an action or a wildcard bit.
  if (flow == base) return 0;
  commit_attribute(OVS_KEY_ATTR_ETHERNET, use_masked_set, kEthernetFields, flow.flow, base.flow, wc, actions);
  // Make the packet a non-MPLS one before L3/L4 sets, which it needs first.
  bool mpls_done = false;
  if (is_mpls_packet(base.flow) && !is_mpls_packet(flow.flow)) {
    commit_mpls(flow, base, actions);
    mpls_done = true;
  }
  uint32_t slow = commit_network_header(flow.flow, base.flow, wc, use_masked_set, actions);
  commit_transport_ports(flow.flow, base.flow, wc, use_masked_set, actions);
  uint32_t icmp_slow = commit_icmp(flow.flow, base.flow, wc, actions);
  if (!mpls_done) commit_mpls(flow, base, actions);
  commit_vlans(flow, base, wc, actions);
  commit_attribute(OVS_KEY_ATTR_PRIORITY, use_masked_set, kPriorityFields, flow.flow, base.flow, wc, actions);
  commit_attribute(OVS_KEY_ATTR_SKB_MARK, use_masked_set, kMarkFields, flow.flow, base.flow, wc, actions);
  return slow ? slow : icmp_slow;
}

void commit_tunnel_metadata(const OfFlow& flow, OfFlow& base, ActionList& actions) {
  if (!base_has_tunnel(flow)) return;  // a tunnel needs a destination
  TunnelKey wanted = tunnel_of(flow);
  TunnelKey current = tunnel_of(base);
  if (std::memcmp(&wanted, &current, sizeof wanted) == 0) return;
  base.tun_id = flow.tun_id;
  base.tun_src = flow.tun_src;
  base.tun_dst = flow.tun_dst;
  base.tun_ipv6_src = flow.tun_ipv6_src;
  base.tun_ipv6_dst = flow.tun_ipv6_dst;
  base.tun_tp_src = flow.tun_tp_src;
  base.tun_tp_dst = flow.tun_tp_dst;
  base.tun_flags = flow.tun_flags;
  base.tun_tos = flow.tun_tos;
  base.tun_ttl = flow.tun_ttl;

  SetAction set;
  set.attr = OVS_KEY_ATTR_TUNNEL;
  set.value->tunnel = wanted;
  // The mask a plain tunnel set carries in the codecs: the whole key.
  std::memset(&set.mask->tunnel, 0xff, offsetof(TunnelKey, pad));
  set.mask->tunnel.flags = kTunnelAllFlags;
  actions.push_back(std::move(set));
}

}  // namespace flowlift
