// netlink_key: FlowKey/FlowMask <-> OVS_KEY_ATTR_* attribute streams.
#include "kmod/netlink_key.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdio>

#include "flowlift/masked_words.h"
#include "kmod/netlink_key_fields.h"
#include "kmod/netlink_tunnel.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {
namespace {

constexpr uint32_t kCtStateSupported = 0xff;  // CT_SUPPORTED_MASK: every OVS_CS_F_* bit

constexpr uint64_t bit(uint16_t type) { return uint64_t{1} << type; }

// The attributes of one key or mask, collected across ENCAP levels the way
// the kernel's a[] array is: an attribute type may appear once in total.
struct KeyAttributeSet {
  std::array<Attribute, OVS_KEY_ATTR_MAX + 1> attributes{};
  uint64_t present = 0;

  bool has(uint16_t type) const { return (present & bit(type)) != 0; }
  const Attribute& operator[](uint16_t type) const { return attributes[type]; }
  void remove(uint16_t type) { present &= ~bit(type); }
};

struct MatchBuilder {
  FlowKey key{};
  FlowKey mask{};
  FlowKey& side(bool is_mask) { return is_mask ? mask : key; }
};

Status check_key_attribute_length(const Attribute& attribute) {
  return check_payload_length(attribute, key_attribute_length(attribute.type), key_attr_name(attribute.type));
}

// __parse_flow_nlattrs: one level of key or mask attributes. In a mask an
// attribute whose payload is all zero counts as absent.
Status parse_key_level(std::span<const uint8_t> bytes, bool is_mask, KeyAttributeSet& set) {
  return for_each_attribute(bytes, "", [&](const Attribute& attribute) -> Status {
    if (attribute.type > OVS_KEY_ATTR_MAX) {
      return invalid_argument("unknown key attribute type " + std::to_string(attribute.type) +
                              " (OVS_KEY_ATTR_MAX is " + std::to_string(OVS_KEY_ATTR_MAX) + ")");
    }
    if (set.has(attribute.type))
      return invalid_argument(key_attr_name(attribute.type) + ": duplicate attribute");
    if (Status s = check_key_attribute_length(attribute); !s) return s;
    if (!is_mask || !is_all_zero(attribute.payload)) {
      set.attributes[attribute.type] = attribute;
      set.present |= bit(attribute.type);
    }
    return Status::ok();
  });
}

// One VLAN level (validate_vlan_from_nlattrs / validate_vlan_mask_from_nlattrs
// and what follows): records the tag and replaces ETHERTYPE/VLAN/ENCAP in the
// set by the attributes inside ENCAP.
Status parse_one_vlan(KeyAttributeSet& set, bool is_mask, bool inner, MatchBuilder& builder) {
  const std::string tag = inner ? "inner (C-VLAN) tag" : "VLAN tag";
  if (!is_mask) {
    if (!set.has(OVS_KEY_ATTR_ETHERNET) || !set.has(OVS_KEY_ATTR_ETHERTYPE) ||
        !is_vlan_ethertype(set[OVS_KEY_ATTR_ETHERTYPE].as<Be16>())) {
      return Status::ok();
    }
    if (!set.has(OVS_KEY_ATTR_VLAN) || !set.has(OVS_KEY_ATTR_ENCAP)) {
      return invalid_argument("OVS_KEY_ATTR_ETHERTYPE " +
                              hex16(host16(set[OVS_KEY_ATTR_ETHERTYPE].as<Be16>())) + " announces a " + tag +
                              " but OVS_KEY_ATTR_VLAN and OVS_KEY_ATTR_ENCAP are not both present");
    }
    Be16 tci = set[OVS_KEY_ATTR_VLAN].as<Be16>();
    if ((tci & be16(kVlanCfi)) == 0) {
      if (tci != 0) {
        return invalid_argument("OVS_KEY_ATTR_VLAN: " + tag + " tci " + hex16(host16(tci)) +
                                " lacks the VLAN_CFI_MASK bit (0x1000)");
      }
      if (set[OVS_KEY_ATTR_ENCAP].length() != 0) {
        return invalid_argument("OVS_KEY_ATTR_ENCAP: a truncated " + tag +
                                " (tci 0) must have an empty ENCAP");
      }
    }
  } else {
    if (!set.has(OVS_KEY_ATTR_ENCAP)) return Status::ok();
    const VlanHead& key_tag = inner ? builder.key.cvlan : builder.key.vlan;
    if ((key_tag.tci & be16(kVlanCfi)) == 0) {
      return invalid_argument("OVS_KEY_ATTR_ENCAP: the mask describes a " + tag + " the key does not have");
    }
    Be16 tpid = set.has(OVS_KEY_ATTR_ETHERTYPE) ? set[OVS_KEY_ATTR_ETHERTYPE].as<Be16>() : 0;
    Be16 tci = set.has(OVS_KEY_ATTR_VLAN) ? set[OVS_KEY_ATTR_VLAN].as<Be16>() : 0;
    if (tpid != 0xffff) {
      return invalid_argument("OVS_KEY_ATTR_ETHERTYPE: the mask of a " + tag +
                              "'s TPID must be 0xffff, got " + hex16(host16(tpid)));
    }
    if ((tci & be16(kVlanCfi)) == 0) {
      return invalid_argument("OVS_KEY_ATTR_VLAN: the mask of a " + tag +
                              "'s tci must cover VLAN_CFI_MASK (0x1000), got " + hex16(host16(tci)));
    }
  }
  VlanHead& target = inner ? builder.side(is_mask).cvlan : builder.side(is_mask).vlan;
  target.tpid = set.has(OVS_KEY_ATTR_ETHERTYPE) ? set[OVS_KEY_ATTR_ETHERTYPE].as<Be16>() : 0;
  target.tci = set.has(OVS_KEY_ATTR_VLAN) ? set[OVS_KEY_ATTR_VLAN].as<Be16>() : 0;
  Attribute encap = set[OVS_KEY_ATTR_ENCAP];
  set.remove(OVS_KEY_ATTR_ENCAP);
  set.remove(OVS_KEY_ATTR_VLAN);
  set.remove(OVS_KEY_ATTR_ETHERTYPE);
  return parse_key_level(encap.payload, is_mask, set).with_context("OVS_KEY_ATTR_ENCAP");
}

Status parse_vlans(KeyAttributeSet& set, bool is_mask, MatchBuilder& builder) {
  if (Status s = parse_one_vlan(set, is_mask, false, builder); !s) return s;
  // As in the kernel, the inner level is looked at only when the key has a
  // complete outer tag, for the mask as well.
  if (builder.key.vlan.tci & be16(kVlanCfi)) return parse_one_vlan(set, is_mask, true, builder);
  return Status::ok();
}

Status parse_eth_type(const KeyAttributeSet& set, bool is_mask, MatchBuilder& builder) {
  Be16 type = set[OVS_KEY_ATTR_ETHERTYPE].as<Be16>();
  if (is_mask) {
    builder.mask.eth_type = 0xffff;  // the kernel always matches the ethertype exactly
    return Status::ok();
  }
  if (host16(type) < kEthTypeMinimum) {
    return invalid_argument("OVS_KEY_ATTR_ETHERTYPE: " + hex16(host16(type)) +
                            " is below 0x0600, the smallest Ethernet II type (802.3 frames are keyed by "
                            "leaving OVS_KEY_ATTR_ETHERTYPE out)");
  }
  builder.key.eth_type = type;
  return Status::ok();
}

// metadata_from_nlattrs: everything the packet itself does not carry.
Status metadata_from_attributes(const KeyAttributeSet& set, uint64_t& remaining, bool is_mask,
                                MatchBuilder& builder) {
  FlowKey& target = builder.side(is_mask);
  for (uint16_t type :
       {OVS_KEY_ATTR_DP_HASH, OVS_KEY_ATTR_RECIRC_ID, OVS_KEY_ATTR_PRIORITY, OVS_KEY_ATTR_SKB_MARK,
        OVS_KEY_ATTR_CT_ZONE, OVS_KEY_ATTR_CT_MARK, OVS_KEY_ATTR_CT_LABELS, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4,
        OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6}) {
    if (!set.has(type)) continue;
    key_attribute_to_fields(type, set[type].payload, target);
    remaining &= ~bit(type);
  }
  if (set.has(OVS_KEY_ATTR_IN_PORT)) {
    uint32_t port = set[OVS_KEY_ATTR_IN_PORT].as<uint32_t>();
    if (is_mask) {
      port = 0xffffffff;  // in_port is always matched exactly
    } else if (port >= kNoInPort) {
      return invalid_argument("OVS_KEY_ATTR_IN_PORT: port " + std::to_string(port) +
                              " is out of range (DP_MAX_PORTS is " + std::to_string(kNoInPort) + ")");
    }
    target.in_port = port;
    remaining &= ~bit(OVS_KEY_ATTR_IN_PORT);
  } else if (!is_mask) {
    target.in_port = kNoInPort;
  }
  if (set.has(OVS_KEY_ATTR_TUNNEL)) {
    if (Status s = decode_tunnel_attributes(set[OVS_KEY_ATTR_TUNNEL].payload, is_mask, target.tunnel); !s) {
      return s.with_context("OVS_KEY_ATTR_TUNNEL");
    }
    remaining &= ~bit(OVS_KEY_ATTR_TUNNEL);
  }
  if (set.has(OVS_KEY_ATTR_CT_STATE)) {
    uint32_t state = set[OVS_KEY_ATTR_CT_STATE].as<uint32_t>();
    if (state & ~kCtStateSupported) {
      char flags[16];
      std::snprintf(flags, sizeof flags, "0x%08x", state & ~kCtStateSupported);
      return invalid_argument("OVS_KEY_ATTR_CT_STATE: unsupported flags " + std::string(flags));
    }
    target.ct_state = state;
    remaining &= ~bit(OVS_KEY_ATTR_CT_STATE);
  }
  // ETHERTYPE without ETHERNET is a layer-3 packet: the ethertype names it
  // and no MAC header precedes it. The mask decides this on its own
  // attributes, as the kernel does; either way the mask matches mac_proto
  // exactly, so an Ethernet frame never hits a layer-3 flow or the reverse.
  bool layer3 = !set.has(OVS_KEY_ATTR_ETHERNET) && set.has(OVS_KEY_ATTR_ETHERTYPE);
  target.mac_proto = is_mask ? 0xff : (layer3 ? kMacProtoNone : kMacProtoEthernet);
  if (layer3) {
    remaining &= ~bit(OVS_KEY_ATTR_ETHERTYPE);
    return parse_eth_type(set, is_mask, builder);
  }
  return Status::ok();
}

std::string attribute_list(uint64_t attributes) {
  std::string names;
  for (uint16_t type = 0; type <= OVS_KEY_ATTR_MAX; ++type) {
    if (!(attributes & bit(type))) continue;
    if (!names.empty()) names += ", ";
    names += key_attr_name(type);
  }
  return names;
}

// ovs_key_from_nlattrs.
Status key_from_attributes(const KeyAttributeSet& set, bool is_mask, MatchBuilder& builder) {
  uint64_t remaining = set.present;
  if (Status s = metadata_from_attributes(set, remaining, is_mask, builder); !s) return s;
  FlowKey& target = builder.side(is_mask);

  auto take = [&](uint16_t type) {
    if (!(remaining & bit(type))) return false;
    remaining &= ~bit(type);
    return true;
  };

  if (take(OVS_KEY_ATTR_ETHERNET)) {
    key_attribute_to_fields(OVS_KEY_ATTR_ETHERNET, set[OVS_KEY_ATTR_ETHERNET].payload, target);
    if (remaining & bit(OVS_KEY_ATTR_VLAN)) {
      return invalid_argument(
          "OVS_KEY_ATTR_VLAN: only valid after OVS_KEY_ATTR_ETHERTYPE 0x8100/0x88a8 together with "
          "OVS_KEY_ATTR_ENCAP");
    }
    if (take(OVS_KEY_ATTR_ETHERTYPE)) {
      if (Status s = parse_eth_type(set, is_mask, builder); !s) return s;
    } else if (!is_mask) {
      target.eth_type = be16(kEthType802_2);
    }
  } else if (builder.key.eth_type == 0) {
    return invalid_argument("neither OVS_KEY_ATTR_ETHERNET nor OVS_KEY_ATTR_ETHERTYPE is present");
  }

  if (take(OVS_KEY_ATTR_IPV4)) {
    auto ipv4 = read_payload<ovs_key_ipv4>(set[OVS_KEY_ATTR_IPV4].payload);
    if (!is_mask && ipv4.ipv4_frag > OVS_FRAG_TYPE_MAX) {
      return invalid_argument("OVS_KEY_ATTR_IPV4: fragment type " + std::to_string(ipv4.ipv4_frag) +
                              " is out of range (max " + std::to_string(OVS_FRAG_TYPE_MAX) + ")");
    }
    key_attribute_to_fields(OVS_KEY_ATTR_IPV4, set[OVS_KEY_ATTR_IPV4].payload, target);
  }
  if (take(OVS_KEY_ATTR_IPV6)) {
    auto ipv6 = read_payload<ovs_key_ipv6>(set[OVS_KEY_ATTR_IPV6].payload);
    if (!is_mask && ipv6.ipv6_frag > OVS_FRAG_TYPE_MAX) {
      return invalid_argument("OVS_KEY_ATTR_IPV6: fragment type " + std::to_string(ipv6.ipv6_frag) +
                              " is out of range (max " + std::to_string(OVS_FRAG_TYPE_MAX) + ")");
    }
    if (!is_mask && (ipv6.ipv6_label & be32(0xfff00000))) {
      return invalid_argument("OVS_KEY_ATTR_IPV6: flow label " + std::to_string(host32(ipv6.ipv6_label)) +
                              " does not fit in 20 bits");
    }
    key_attribute_to_fields(OVS_KEY_ATTR_IPV6, set[OVS_KEY_ATTR_IPV6].payload, target);
  }
  if (take(OVS_KEY_ATTR_IPV6_EXTHDRS) && is_mask) {
    return invalid_argument(
        "OVS_KEY_ATTR_IPV6_EXTHDRS: matching on IPv6 extension headers is not supported (FlowKey has no "
        "exthdrs field)");
  }
  if (take(OVS_KEY_ATTR_ARP)) {
    auto arp = read_payload<ovs_key_arp>(set[OVS_KEY_ATTR_ARP].payload);
    if (!is_mask && (arp.arp_op & be16(0xff00))) {
      return invalid_argument("OVS_KEY_ATTR_ARP: opcode " + std::to_string(host16(arp.arp_op)) +
                              " does not fit in 8 bits");
    }
    key_attribute_to_fields(OVS_KEY_ATTR_ARP, set[OVS_KEY_ATTR_ARP].payload, target);
  }
  if (take(OVS_KEY_ATTR_NSH)) {
    return invalid_argument("OVS_KEY_ATTR_NSH: NSH flows are not supported by flowlift");
  }
  if (take(OVS_KEY_ATTR_MPLS)) {
    std::span<const uint8_t> payload = set[OVS_KEY_ATTR_MPLS].payload;
    size_t labels = payload.size() / sizeof(ovs_key_mpls);
    if (labels == 0 || labels > static_cast<size_t>(kMaxMplsLabels) ||
        payload.size() % sizeof(ovs_key_mpls) != 0) {
      return invalid_argument("OVS_KEY_ATTR_MPLS: length " + std::to_string(payload.size()) +
                              ", expected 1 to 3 label stack entries of 4 bytes");
    }
    if (is_mask && labels != builder.key.mpls_depth) {
      return invalid_argument("OVS_KEY_ATTR_MPLS: the mask has " + std::to_string(labels) +
                              " label stack entries, the key " + std::to_string(builder.key.mpls_depth));
    }
    key_attribute_to_fields(OVS_KEY_ATTR_MPLS, payload, target);
    if (is_mask) target.mpls_depth = 0xff;  // the stack depth is matched exactly
  }
  for (uint16_t type : {OVS_KEY_ATTR_TCP, OVS_KEY_ATTR_TCP_FLAGS, OVS_KEY_ATTR_UDP, OVS_KEY_ATTR_SCTP,
                        OVS_KEY_ATTR_ICMP, OVS_KEY_ATTR_ICMPV6, OVS_KEY_ATTR_ND}) {
    if (take(type)) key_attribute_to_fields(type, set[type].payload, target);
  }

  if (!is_mask && builder.key.mac_proto == kMacProtoNone &&
      (remaining & (bit(OVS_KEY_ATTR_VLAN) | bit(OVS_KEY_ATTR_ENCAP)))) {
    return invalid_argument(attribute_list(remaining & (bit(OVS_KEY_ATTR_VLAN) | bit(OVS_KEY_ATTR_ENCAP))) +
                            ": a key without OVS_KEY_ATTR_ETHERNET is a layer-3 packet, which has no VLAN "
                            "tags");
  }
  if (remaining & bit(OVS_KEY_ATTR_ENCAP)) {
    return invalid_argument(
        "OVS_KEY_ATTR_ENCAP: only valid after OVS_KEY_ATTR_ETHERTYPE 0x8100/0x88a8 together with "
        "OVS_KEY_ATTR_VLAN");
  }
  if (remaining != 0) return invalid_argument(attribute_list(remaining) + ": not accepted by the datapath");
  return Status::ok();
}

// --- Which L3/L4 attributes a key calls for (the kernel's match_validate). ---

constexpr uint64_t kConditionalAttributes =
    bit(OVS_KEY_ATTR_IPV4) | bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4) | bit(OVS_KEY_ATTR_IPV6) |
    bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6) | bit(OVS_KEY_ATTR_TCP) | bit(OVS_KEY_ATTR_TCP_FLAGS) |
    bit(OVS_KEY_ATTR_UDP) | bit(OVS_KEY_ATTR_SCTP) | bit(OVS_KEY_ATTR_ICMP) | bit(OVS_KEY_ATTR_ICMPV6) |
    bit(OVS_KEY_ATTR_ARP) | bit(OVS_KEY_ATTR_ND) | bit(OVS_KEY_ATTR_MPLS) | bit(OVS_KEY_ATTR_NSH);

bool is_arp(const FlowKey& key) {
  return key.eth_type == be16(kEthTypeArp) || key.eth_type == be16(kEthTypeRarp);
}
bool has_l4(const FlowKey& key) { return key.ip_frag != kFragLater; }
bool is_neighbour_discovery(const FlowKey& key) {
  return key.tp_src == be16(kNeighbourSolicitation) || key.tp_src == be16(kNeighbourAdvertisement);
}

uint64_t l4_attributes(const FlowKey& key, bool ipv6) {
  if (!has_l4(key)) return 0;
  switch (key.ip_proto) {
    case kIpProtoTcp:
      return bit(OVS_KEY_ATTR_TCP) | bit(OVS_KEY_ATTR_TCP_FLAGS);
    case kIpProtoUdp:
      return bit(OVS_KEY_ATTR_UDP);
    case kIpProtoSctp:
      return bit(OVS_KEY_ATTR_SCTP);
    case kIpProtoIcmp:
      return ipv6 ? 0 : bit(OVS_KEY_ATTR_ICMP);
    case kIpProtoIcmpv6:
      if (!ipv6) return 0;
      return bit(OVS_KEY_ATTR_ICMPV6) | (is_neighbour_discovery(key) ? bit(OVS_KEY_ATTR_ND) : 0);
    default:
      return 0;
  }
}

// key_expected of match_validate.
uint64_t expected_attributes(const FlowKey& key) {
  if (is_arp(key)) return bit(OVS_KEY_ATTR_ARP);
  if (is_mpls_ethertype(key.eth_type)) return bit(OVS_KEY_ATTR_MPLS);
  if (key.eth_type == be16(kEthTypeIpv4)) return bit(OVS_KEY_ATTR_IPV4) | l4_attributes(key, false);
  if (key.eth_type == be16(kEthTypeIpv6)) return bit(OVS_KEY_ATTR_IPV6) | l4_attributes(key, true);
  return 0;
}

std::string key_protocol(const FlowKey& key) {
  std::string text = "eth_type " + hex16(host16(key.eth_type));
  if (is_ip_ethertype(key.eth_type)) {
    text += ", ip_proto " + std::to_string(key.ip_proto);
    if (key.ip_frag == kFragLater) text += ", a later fragment";
  }
  return text;
}

Status check_key_shape(uint64_t key_attributes, const FlowKey& key) {
  uint64_t expected = expected_attributes(key);
  uint64_t permitted = expected;
  if (key.eth_type == be16(kEthTypeIpv4)) permitted |= bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4);
  if (key.eth_type == be16(kEthTypeIpv6)) {
    permitted |= bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6) | bit(OVS_KEY_ATTR_IPV6_EXTHDRS);
  }
  if (uint64_t missing = expected & ~key_attributes) {
    uint16_t type = static_cast<uint16_t>(std::countr_zero(missing));
    return invalid_argument(key_attr_name(type) + " missing: the key's " + key_protocol(key) +
                            " calls for it");
  }
  uint64_t conditional = kConditionalAttributes | bit(OVS_KEY_ATTR_IPV6_EXTHDRS);
  if (uint64_t extra = key_attributes & conditional & ~permitted) {
    uint16_t type = static_cast<uint16_t>(std::countr_zero(extra));
    return invalid_argument(key_attr_name(type) + ": does not fit the key's " + key_protocol(key));
  }
  return Status::ok();
}

// mask_allowed of match_validate.
Status check_mask_shape(uint64_t key_attributes, uint64_t mask_attributes, const MatchBuilder& builder) {
  const FlowKey& key = builder.key;
  const FlowKey& mask = builder.mask;
  uint64_t allowed = (key_attributes & ~kConditionalAttributes) | bit(OVS_KEY_ATTR_TUNNEL) |
                     bit(OVS_KEY_ATTR_IN_PORT) | bit(OVS_KEY_ATTR_ETHERTYPE);
  bool eth_type_exact = mask.eth_type == 0xffff;
  bool ip_proto_exact = mask.ip_proto == 0xff;
  if (is_arp(key) && eth_type_exact) allowed |= bit(OVS_KEY_ATTR_ARP);
  if (is_mpls_ethertype(key.eth_type) && eth_type_exact) allowed |= bit(OVS_KEY_ATTR_MPLS);
  bool ipv4 = key.eth_type == be16(kEthTypeIpv4);
  bool ipv6 = key.eth_type == be16(kEthTypeIpv6);
  if ((ipv4 || ipv6) && eth_type_exact) {
    allowed |= ipv4 ? bit(OVS_KEY_ATTR_IPV4) | bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4)
                    : bit(OVS_KEY_ATTR_IPV6) | bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
  }
  uint64_t l4 = (ipv4 || ipv6) ? l4_attributes(key, ipv6) : 0;
  if (ip_proto_exact) allowed |= l4 & ~bit(OVS_KEY_ATTR_ND);
  if (l4 & bit(OVS_KEY_ATTR_ND)) {
    // The kernel keeps ND and the IPv6 conntrack tuple in the same key bytes.
    allowed &= ~bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
    if (mask.tp_src == be16(0xff)) allowed |= bit(OVS_KEY_ATTR_ND);
  }

  uint64_t unexpected = mask_attributes & ~allowed;
  if (unexpected == 0) return Status::ok();
  uint16_t type = static_cast<uint16_t>(std::countr_zero(unexpected));
  std::string name = key_attr_name(type);
  if (!(key_attributes & bit(type)))
    return invalid_argument(name + ": the mask matches it but the key does not carry it");
  if (type == OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6 && (l4 & bit(OVS_KEY_ATTR_ND))) {
    return invalid_argument(name +
                            ": cannot be matched together with OVS_KEY_ATTR_ND (the kernel stores both in "
                            "the same key bytes)");
  }
  if (type == OVS_KEY_ATTR_ND) {
    return invalid_argument(name + ": the mask must match the ICMPv6 type exactly (mask " +
                            hex16(host16(mask.tp_src)) + ")");
  }
  if (l4 & bit(type)) {
    return invalid_argument(name + ": the mask must match ip_proto exactly (mask " + hex16(mask.ip_proto) +
                            ")");
  }
  return invalid_argument(name + ": the mask must match the ethertype exactly (mask " +
                          hex16(host16(mask.eth_type)) + ")");
}

int tunnel_family(const TunnelKey& tunnel) {
  if (tunnel.is_ipv6()) return 6;
  return tunnel.ipv4_dst != 0 ? 4 : 0;
}

// FlowKey has no tun_proto: a tunnel is recognised by its destination, so a
// mask that keeps other tunnel bits but drops the destination cannot be
// represented.
Status check_tunnel_representable(const MatchBuilder& builder) {
  int family = tunnel_family(builder.key.tunnel);
  const TunnelKey& mask = builder.mask.tunnel;
  if (family == 0 || all_bytes_zero(mask)) return Status::ok();
  // The kernel keeps IPv4 and IPv6 tunnel addresses in one union, so a mask
  // of the other family covers bytes of this one; FlowKey keeps them apart.
  bool ipv4_mask = mask.ipv4_src || mask.ipv4_dst;
  bool ipv6_mask = !all_bytes_zero(mask.ipv6_src) || !all_bytes_zero(mask.ipv6_dst);
  if ((family == 4 && ipv6_mask) || (family == 6 && ipv4_mask)) {
    return invalid_argument(std::string("OVS_KEY_ATTR_TUNNEL: the mask matches ") +
                            (family == 4 ? "IPv6" : "IPv4") + " tunnel addresses but the key's tunnel is " +
                            (family == 4 ? "IPv4" : "IPv6"));
  }
  bool destination_kept = false;
  if (family == 4) {
    destination_kept = (builder.key.tunnel.ipv4_dst & mask.ipv4_dst) != 0;
  } else {
    for (size_t i = 0; i < 16; ++i)
      destination_kept |= (builder.key.tunnel.ipv6_dst[i] & mask.ipv6_dst[i]) != 0;
  }
  if (destination_kept) return Status::ok();
  return invalid_argument(
      "OVS_KEY_ATTR_TUNNEL: the mask matches tunnel fields but wildcards the tunnel destination; flowlift "
      "tells "
      "tunnelled from untunnelled packets by that destination (FlowKey has no tun_proto)");
}

// The kernel accepts a layer-3 flow whose mask wildcards the ethertype, but
// its own dump of that flow (ETHERTYPE 0 without ETHERNET) cannot be read
// back, and the masked key no longer says which packets it describes.
// flowlift refuses it instead of keeping a flow it could not report.
Status check_layer3_ethertype_matched(const MatchBuilder& builder) {
  if (builder.key.mac_proto != kMacProtoNone || builder.mask.eth_type == 0xffff) return Status::ok();
  return invalid_argument(
      "OVS_KEY_ATTR_ETHERTYPE: a layer-3 key (no OVS_KEY_ATTR_ETHERNET) needs its ethertype matched "
      "exactly (mask " +
      hex16(host16(builder.mask.eth_type)) + "); the flow could not be dumped otherwise");
}

// mask_set_nlattr: the exact-match mask the kernel derives from the key
// attributes when no OVS_FLOW_ATTR_MASK is given.
enum class AttributeTable { kKey, kTunnel, kVxlan };

void fill_with_ones(std::span<uint8_t> bytes, AttributeTable table) {
  size_t offset = 0;
  while (offset + MNL_ATTR_HDRLEN <= bytes.size()) {
    uint16_t length, type;
    std::memcpy(&length, bytes.data() + offset, 2);
    std::memcpy(&type, bytes.data() + offset + 2, 2);
    type &= NLA_TYPE_MASK;
    if (length < MNL_ATTR_HDRLEN || length > bytes.size() - offset) return;
    std::span<uint8_t> payload = bytes.subspan(offset + MNL_ATTR_HDRLEN, length - MNL_ATTR_HDRLEN);
    if (table == AttributeTable::kKey && type == OVS_KEY_ATTR_ENCAP) {
      fill_with_ones(payload, AttributeTable::kKey);
    } else if (table == AttributeTable::kKey && type == OVS_KEY_ATTR_TUNNEL) {
      fill_with_ones(payload, AttributeTable::kTunnel);
    } else if (table == AttributeTable::kTunnel && type == OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS) {
      fill_with_ones(payload, AttributeTable::kVxlan);
    } else {
      std::fill(payload.begin(), payload.end(), 0xff);
      if (table == AttributeTable::kKey && type == OVS_KEY_ATTR_CT_STATE && payload.size() == 4) {
        uint32_t state = kCtStateSupported;
        std::memcpy(payload.data(), &state, 4);
      }
    }
    offset += MNL_ALIGN(length);
  }
}

void set_exact_tunnel_mask(int family, TunnelKey& mask) {
  mask.tun_id = ~Be64{0};
  if (family == 4) {
    mask.ipv4_src = mask.ipv4_dst = ~Be32{0};
  } else {
    mask.ipv6_src.fill(0xff);
    mask.ipv6_dst.fill(0xff);
  }
  mask.tp_src = mask.tp_dst = 0xffff;
  mask.tos = mask.ttl = 0xff;
  mask.flags = kTunnelAllFlags;
}

// --- Encoding ---

// Which attributes a key or mask carries beyond what the key's protocol
// fields decide.
struct KeyShape {
  bool key_in_port = false;
  bool mask_in_port = false;
  bool key_tunnel = false;
  bool tunnel_ipv6 = false;
  bool vxlan_options = false;
  bool outer_tag_in_mask = true;
  bool inner_tag_in_mask = true;
  bool ct_orig_tuple = false;
  int mpls_labels = 1;
};

bool ct_orig_tuple_set(const FlowKey& fields, Be16 eth_type) {
  if (fields.ct_orig_proto || fields.ct_orig_tp_src || fields.ct_orig_tp_dst) return true;
  if (eth_type == be16(kEthTypeIpv4)) return fields.ct_orig_ipv4_src || fields.ct_orig_ipv4_dst;
  if (eth_type == be16(kEthTypeIpv6)) {
    return !all_bytes_zero(fields.ct_orig_ipv6_src) || !all_bytes_zero(fields.ct_orig_ipv6_dst);
  }
  return false;
}

int mpls_labels_for(const FlowKey& key) { return std::clamp<int>(key.mpls_depth, 1, kMaxMplsLabels); }

KeyShape shape_of_packet_key(const FlowKey& key) {
  KeyShape shape;
  shape.key_in_port = key.in_port != kNoInPort;
  shape.key_tunnel = tunnel_family(key.tunnel) != 0;
  shape.tunnel_ipv6 = key.tunnel.is_ipv6();
  shape.vxlan_options = key.tunnel.vxlan_gbp != 0;
  shape.ct_orig_tuple = key.ct_orig_proto != 0;
  shape.mpls_labels = mpls_labels_for(key);
  return shape;
}

// Shape choices for a masked key follow the kernel wherever the kernel's own
// dump can be read back; where it cannot (wildcarded in_port, TPID, tunnel
// options or conntrack tuple), they keep what the match says so that
// decode_match(encode_match(m)) == m.
KeyShape shape_of_match(const Match& match) {
  const FlowKey& key = match.key;
  const FlowKey& mask = match.mask.bits();
  KeyShape shape;
  shape.key_in_port = mask.in_port != 0 && key.in_port != kNoInPort;
  shape.mask_in_port = mask.in_port != 0;
  shape.key_tunnel = tunnel_family(key.tunnel) != 0;
  shape.tunnel_ipv6 = shape.key_tunnel
                          ? key.tunnel.is_ipv6()
                          : !all_bytes_zero(mask.tunnel.ipv6_src) || !all_bytes_zero(mask.tunnel.ipv6_dst);
  shape.vxlan_options = key.tunnel.vxlan_gbp != 0 || mask.tunnel.vxlan_gbp != 0;
  shape.outer_tag_in_mask = mask.vlan.tpid != 0;
  shape.inner_tag_in_mask = shape.outer_tag_in_mask && mask.cvlan.tpid != 0;
  shape.ct_orig_tuple = ct_orig_tuple_set(key, key.eth_type) || ct_orig_tuple_set(mask, key.eth_type);
  shape.mpls_labels = mpls_labels_for(key);
  return shape;
}

void put_field(AttributeWriter& writer, uint16_t type, const FlowKey& fields, int mpls_labels = 1) {
  std::vector<uint8_t> payload = key_attribute_payload(type, fields, mpls_labels);
  writer.put(type, payload.data(), payload.size());
}

// __ovs_nla_put_key: `key` decides which attributes appear, `out` (the key
// itself or the mask) provides their values.
void put_key_attributes(AttributeWriter& writer, const FlowKey& key, const FlowKey& mask,
                        const KeyShape& shape, bool is_mask) {
  const FlowKey& out = is_mask ? mask : key;
  writer.put_u32(OVS_KEY_ATTR_RECIRC_ID, out.recirc_id);
  writer.put_u32(OVS_KEY_ATTR_DP_HASH, out.dp_hash);
  writer.put_u32(OVS_KEY_ATTR_PRIORITY, out.priority);
  if (shape.key_tunnel || is_mask) {
    size_t tunnel = writer.begin_nested(OVS_KEY_ATTR_TUNNEL);
    put_tunnel_attributes(writer, out.tunnel, shape.tunnel_ipv6, shape.vxlan_options);
    writer.end_nested(tunnel);
  }
  if (is_mask ? shape.mask_in_port : shape.key_in_port) writer.put_u32(OVS_KEY_ATTR_IN_PORT, out.in_port);
  writer.put_u32(OVS_KEY_ATTR_SKB_MARK, out.skb_mark);
  writer.put_u32(OVS_KEY_ATTR_CT_STATE, out.ct_state);
  writer.put_u16(OVS_KEY_ATTR_CT_ZONE, out.ct_zone);
  writer.put_u32(OVS_KEY_ATTR_CT_MARK, out.ct_mark);
  put_field(writer, OVS_KEY_ATTR_CT_LABELS, out);
  if (shape.ct_orig_tuple) {
    if (key.eth_type == be16(kEthTypeIpv4)) put_field(writer, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, out);
    if (key.eth_type == be16(kEthTypeIpv6)) put_field(writer, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, out);
  }
  std::array<size_t, 2> encaps{};
  int open_encaps = 0;
  auto finish = [&] {
    while (open_encaps > 0) writer.end_nested(encaps[--open_encaps]);
  };
  // One VLAN level: ETHERTYPE(tpid), VLAN(tci), then everything else inside
  // ENCAP. In the mask the level is left out when the mask does not describe
  // the tag (its TPID is wildcarded); the key then names 802.1Q for it.
  auto put_tag = [&](const VlanHead& key_tag, const VlanHead& mask_tag, bool tag_in_mask) {
    if (!is_mask) {
      writer.put_u16(OVS_KEY_ATTR_ETHERTYPE, tag_in_mask ? key_tag.tpid : be16(kEthTypeVlan));
      writer.put_u16(OVS_KEY_ATTR_VLAN, key_tag.tci);
    } else if (tag_in_mask) {
      writer.put_u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
      writer.put_u16(OVS_KEY_ATTR_VLAN, mask_tag.tci);
    } else {
      return;
    }
    encaps[open_encaps++] = writer.begin_nested(OVS_KEY_ATTR_ENCAP);
  };
  // A layer-3 key has no MAC header to describe: no ETHERNET, no tags, and
  // its ETHERTYPE is always there (decode_match refuses a layer-3 mask that
  // wildcards it).
  if (key.mac_proto != kMacProtoNone) {
    put_field(writer, OVS_KEY_ATTR_ETHERNET, out);
    if (key.vlan.tci || is_vlan_ethertype(key.eth_type)) {
      put_tag(key.vlan, mask.vlan, shape.outer_tag_in_mask);
      if (!key.vlan.tci) return finish();  // truncated tag: nothing is known past it
      if (key.cvlan.tci || is_vlan_ethertype(key.eth_type)) {
        put_tag(key.cvlan, mask.cvlan, shape.inner_tag_in_mask);
        if (!key.cvlan.tci) return finish();
      }
    }

    if (key.eth_type == be16(kEthType802_2) || (key.eth_type == 0 && !is_mask)) {
      // 802.3 frames leave ETHERTYPE out of the key; a wildcarded ethertype
      // (masked key 0) is left out as well, since 0 is not a valid key value.
      if (is_mask && out.eth_type) writer.put_u16(OVS_KEY_ATTR_ETHERTYPE, out.eth_type);
      return finish();
    }
  }
  writer.put_u16(OVS_KEY_ATTR_ETHERTYPE, out.eth_type);
  if (is_vlan_ethertype(key.eth_type)) return finish();  // a third tag: the key stops here

  bool ipv4 = key.eth_type == be16(kEthTypeIpv4);
  bool ipv6 = key.eth_type == be16(kEthTypeIpv6);
  if (ipv4) {
    put_field(writer, OVS_KEY_ATTR_IPV4, out);
  } else if (ipv6) {
    put_field(writer, OVS_KEY_ATTR_IPV6, out);
  } else if (is_arp(key)) {
    put_field(writer, OVS_KEY_ATTR_ARP, out);
  } else if (is_mpls_ethertype(key.eth_type)) {
    put_field(writer, OVS_KEY_ATTR_MPLS, out, shape.mpls_labels);
  }
  if ((ipv4 || ipv6) && has_l4(key)) {
    uint64_t l4 = l4_attributes(key, ipv6);
    for (uint16_t type : {OVS_KEY_ATTR_TCP, OVS_KEY_ATTR_TCP_FLAGS, OVS_KEY_ATTR_UDP, OVS_KEY_ATTR_SCTP,
                          OVS_KEY_ATTR_ICMP, OVS_KEY_ATTR_ICMPV6, OVS_KEY_ATTR_ND}) {
      if (l4 & bit(type)) put_field(writer, type, out);
    }
  }
  finish();
}

}  // namespace

// --- Whole keys and matches ---

void put_match_key(AttributeWriter& writer, const Match& match) {
  put_key_attributes(writer, match.key, match.mask.bits(), shape_of_match(match), false);
}

void put_match_mask(AttributeWriter& writer, const Match& match) {
  put_key_attributes(writer, match.key, match.mask.bits(), shape_of_match(match), true);
}

MatchAttributes encode_match(const Match& match) {
  AttributeWriter key, mask;
  put_match_key(key, match);
  put_match_mask(mask, match);
  return {key.to_vector(), mask.to_vector()};
}

void put_packet_key(AttributeWriter& writer, const FlowKey& key) {
  put_key_attributes(writer, key, key, shape_of_packet_key(key), false);
}

std::vector<uint8_t> encode_key(const FlowKey& key) {
  AttributeWriter writer;
  put_packet_key(writer, key);
  return writer.to_vector();
}

namespace {

// The key half of ovs_nla_get_match.
Status decode_key_into(std::span<const uint8_t> key_attributes, MatchBuilder& builder, uint64_t& key_attrs) {
  KeyAttributeSet key_set;
  Status status = parse_key_level(key_attributes, false, key_set);
  if (status) status = parse_vlans(key_set, false, builder);
  if (status) status = key_from_attributes(key_set, false, builder);
  if (status) status = check_key_shape(key_set.present, builder.key);
  key_attrs = key_set.present;
  return status.with_context("key");
}

// ovs_nla_get_match, leaving the key unmasked.
Result<MatchBuilder> decode_key_and_mask(std::span<const uint8_t> key_attributes,
                                         std::optional<std::span<const uint8_t>> mask_attributes) {
  AlignedBytes key_bytes(key_attributes);
  MatchBuilder builder;
  uint64_t key_attrs = 0;
  if (Status s = decode_key_into(key_bytes.span(), builder, key_attrs); !s) return s;

  // Without a mask the kernel matches every bit of every key attribute: it
  // copies the key attributes, fills their payloads with ones and parses
  // that as the mask.
  AlignedBytes mask_bytes(mask_attributes ? *mask_attributes : key_bytes.span());
  if (!mask_attributes) fill_with_ones(mask_bytes.mutable_span(), AttributeTable::kKey);
  std::string mask_context = mask_attributes ? "mask" : "mask (exact, derived from the key)";

  KeyAttributeSet mask_set;
  builder.mask.vlan.tci = 0xffff;  // the kernel always matches the tci unless the mask says otherwise
  builder.mask.cvlan.tci = 0xffff;
  Status status = parse_key_level(mask_bytes.span(), true, mask_set);
  if (status) status = parse_vlans(mask_set, true, builder);
  if (status) status = key_from_attributes(mask_set, true, builder);
  if (status && !mask_attributes && tunnel_family(builder.key.tunnel) != 0) {
    set_exact_tunnel_mask(tunnel_family(builder.key.tunnel), builder.mask.tunnel);
  }
  if (status) status = check_mask_shape(key_attrs, mask_set.present, builder);
  if (status) status = check_tunnel_representable(builder);
  if (status) status = check_layer3_ethertype_matched(builder);
  if (!status) return status.with_context(mask_context);
  return builder;
}

}  // namespace

Result<Match> decode_match(std::span<const uint8_t> key_attributes,
                           std::optional<std::span<const uint8_t>> mask_attributes) {
  Result<MatchBuilder> decoded = decode_key_and_mask(key_attributes, mask_attributes);
  if (!decoded) return decoded.status();
  return Match(decoded->key, FlowMask(decoded->mask));
}

Result<FlowKey> decode_key(std::span<const uint8_t> key_attributes) {
  AlignedBytes key_bytes(key_attributes);
  MatchBuilder builder;
  uint64_t key_attrs = 0;
  if (Status s = decode_key_into(key_bytes.span(), builder, key_attrs); !s) return s;
  return builder.key;
}

}  // namespace flowlift
