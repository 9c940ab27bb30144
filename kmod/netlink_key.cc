// netlink_key: FlowKey/FlowMask <-> OVS_KEY_ATTR_* attribute streams.
#include "kmod/netlink_key.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdio>

#include "kmod/protocol_numbers.h"

namespace flowlift {
namespace {

constexpr uint32_t kCtStateSupported = 0xff;  // CT_SUPPORTED_MASK: every OVS_CS_F_* bit
constexpr uint16_t kTunnelFlagsAll = kTunnelDontFragment | kTunnelCsum | kTunnelKey | kTunnelOam;

constexpr uint64_t bit(uint16_t type) { return uint64_t{1} << type; }

template <typename T>
T zeroed() {
  T value;
  std::memset(&value, 0, sizeof value);
  return value;
}

// A uapi struct serialised field by field into zeroed bytes. Building the
// struct itself and copying it out would leave its padding (ovs_key_arp,
// the conntrack tuples) to whatever the compiler's copies put there.
template <typename T>
struct StructBytes {
  template <typename Field>
  StructBytes&& at(size_t offset, const Field& field) && {
    std::memcpy(bytes.data() + offset, &field, sizeof field);
    return std::move(*this);
  }
  std::vector<uint8_t> bytes = std::vector<uint8_t>(sizeof(T), 0);
};

template <typename T>
std::vector<uint8_t> bytes_of(const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  return {p, p + sizeof value};
}

template <typename T>
T read_as(std::span<const uint8_t> payload) {
  T value = zeroed<T>();
  std::memcpy(&value, payload.data(), std::min(sizeof value, payload.size()));
  return value;
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}
template <typename T>
bool all_zero_value(const T& value) {
  return all_zero(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof value));
}

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

// check_attr_len: a payload of exactly `expected` bytes, any length for
// nested and variable-length attributes.
Status check_payload_length(const Attribute& attribute, int expected, const std::string& name) {
  if (expected == kNestedLength || expected == kVariableLength) return Status::ok();
  bool fits = expected == 0 ? mnl_attr_validate(attribute.raw, MNL_TYPE_FLAG) == 0
                            : mnl_attr_validate2(attribute.raw, MNL_TYPE_BINARY, expected) == 0;
  if (fits) return Status::ok();
  return invalid_argument(name + ": length " + std::to_string(attribute.length()) + ", expected " +
                          std::to_string(expected));
}

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
    if (!is_mask || !all_zero(attribute.payload)) {
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
  if (!set.has(OVS_KEY_ATTR_ETHERNET) && set.has(OVS_KEY_ATTR_ETHERTYPE)) {
    if (!is_mask) {
      return invalid_argument(
          "OVS_KEY_ATTR_ETHERTYPE without OVS_KEY_ATTR_ETHERNET describes a layer-3 packet; flowlift matches "
          "Ethernet frames only");
    }
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
    auto ipv4 = read_as<ovs_key_ipv4>(set[OVS_KEY_ATTR_IPV4].payload);
    if (!is_mask && ipv4.ipv4_frag > OVS_FRAG_TYPE_MAX) {
      return invalid_argument("OVS_KEY_ATTR_IPV4: fragment type " + std::to_string(ipv4.ipv4_frag) +
                              " is out of range (max " + std::to_string(OVS_FRAG_TYPE_MAX) + ")");
    }
    key_attribute_to_fields(OVS_KEY_ATTR_IPV4, set[OVS_KEY_ATTR_IPV4].payload, target);
  }
  if (take(OVS_KEY_ATTR_IPV6)) {
    auto ipv6 = read_as<ovs_key_ipv6>(set[OVS_KEY_ATTR_IPV6].payload);
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
    auto arp = read_as<ovs_key_arp>(set[OVS_KEY_ATTR_ARP].payload);
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
  if (family == 0 || all_zero_value(mask)) return Status::ok();
  // The kernel keeps IPv4 and IPv6 tunnel addresses in one union, so a mask
  // of the other family covers bytes of this one; FlowKey keeps them apart.
  bool ipv4_mask = mask.ipv4_src || mask.ipv4_dst;
  bool ipv6_mask = !all_zero_value(mask.ipv6_src) || !all_zero_value(mask.ipv6_dst);
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
  mask.flags = kTunnelFlagsAll;
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
    return !all_zero_value(fields.ct_orig_ipv6_src) || !all_zero_value(fields.ct_orig_ipv6_dst);
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
                          : !all_zero_value(mask.tunnel.ipv6_src) || !all_zero_value(mask.tunnel.ipv6_dst);
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
  put_field(writer, OVS_KEY_ATTR_ETHERNET, out);

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

// --- Single attributes ---

int key_attribute_length(uint16_t type) {
  switch (type) {
    case OVS_KEY_ATTR_ENCAP:
    case OVS_KEY_ATTR_TUNNEL:
    case OVS_KEY_ATTR_NSH:
      return kNestedLength;
    case OVS_KEY_ATTR_MPLS:
      return kVariableLength;
    case OVS_KEY_ATTR_PRIORITY:
    case OVS_KEY_ATTR_IN_PORT:
    case OVS_KEY_ATTR_SKB_MARK:
    case OVS_KEY_ATTR_RECIRC_ID:
    case OVS_KEY_ATTR_DP_HASH:
    case OVS_KEY_ATTR_CT_STATE:
    case OVS_KEY_ATTR_CT_MARK:
      return 4;
    case OVS_KEY_ATTR_VLAN:
    case OVS_KEY_ATTR_ETHERTYPE:
    case OVS_KEY_ATTR_TCP_FLAGS:
    case OVS_KEY_ATTR_CT_ZONE:
      return 2;
    case OVS_KEY_ATTR_ETHERNET:
      return sizeof(ovs_key_ethernet);
    case OVS_KEY_ATTR_IPV4:
      return sizeof(ovs_key_ipv4);
    case OVS_KEY_ATTR_IPV6:
      return sizeof(ovs_key_ipv6);
    case OVS_KEY_ATTR_TCP:
      return sizeof(ovs_key_tcp);
    case OVS_KEY_ATTR_UDP:
      return sizeof(ovs_key_udp);
    case OVS_KEY_ATTR_SCTP:
      return sizeof(ovs_key_sctp);
    case OVS_KEY_ATTR_ICMP:
      return sizeof(ovs_key_icmp);
    case OVS_KEY_ATTR_ICMPV6:
      return sizeof(ovs_key_icmpv6);
    case OVS_KEY_ATTR_ARP:
      return sizeof(ovs_key_arp);
    case OVS_KEY_ATTR_ND:
      return sizeof(ovs_key_nd);
    case OVS_KEY_ATTR_CT_LABELS:
      return sizeof(ovs_key_ct_labels);
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4:
      return sizeof(ovs_key_ct_tuple_ipv4);
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6:
      return sizeof(ovs_key_ct_tuple_ipv6);
    case OVS_KEY_ATTR_IPV6_EXTHDRS:
      return sizeof(ovs_key_ipv6_exthdrs);
    default:
      return 0;
  }
}

bool key_attribute_has_fields(uint16_t type) {
  switch (type) {
    case OVS_KEY_ATTR_UNSPEC:
    case OVS_KEY_ATTR_ENCAP:
    case OVS_KEY_ATTR_TUNNEL:
    case OVS_KEY_ATTR_NSH:
    case OVS_KEY_ATTR_PACKET_TYPE:
    case OVS_KEY_ATTR_ND_EXTENSIONS:
    case OVS_KEY_ATTR_TUNNEL_INFO:
    case OVS_KEY_ATTR_IPV6_EXTHDRS:
      return false;
    default:
      return type <= OVS_KEY_ATTR_MAX;
  }
}

std::vector<uint8_t> key_attribute_payload(uint16_t type, const FlowKey& f, int mpls_labels) {
  switch (type) {
    case OVS_KEY_ATTR_PRIORITY:
      return bytes_of(f.priority);
    case OVS_KEY_ATTR_IN_PORT:
      return bytes_of(f.in_port);
    case OVS_KEY_ATTR_SKB_MARK:
      return bytes_of(f.skb_mark);
    case OVS_KEY_ATTR_RECIRC_ID:
      return bytes_of(f.recirc_id);
    case OVS_KEY_ATTR_DP_HASH:
      return bytes_of(f.dp_hash);
    case OVS_KEY_ATTR_CT_STATE:
      return bytes_of(f.ct_state);
    case OVS_KEY_ATTR_CT_ZONE:
      return bytes_of(f.ct_zone);
    case OVS_KEY_ATTR_CT_MARK:
      return bytes_of(f.ct_mark);
    case OVS_KEY_ATTR_CT_LABELS:
      return bytes_of(f.ct_labels);
    case OVS_KEY_ATTR_VLAN:
      return bytes_of(f.vlan.tci);
    case OVS_KEY_ATTR_ETHERTYPE:
      return bytes_of(f.eth_type);
    case OVS_KEY_ATTR_TCP_FLAGS:
      return bytes_of(f.tcp_flags);
    case OVS_KEY_ATTR_ETHERNET:
      return StructBytes<ovs_key_ethernet>()
          .at(offsetof(ovs_key_ethernet, eth_src), f.eth_src)
          .at(offsetof(ovs_key_ethernet, eth_dst), f.eth_dst)
          .bytes;
    case OVS_KEY_ATTR_IPV4:
      return StructBytes<ovs_key_ipv4>()
          .at(offsetof(ovs_key_ipv4, ipv4_src), f.ipv4_src)
          .at(offsetof(ovs_key_ipv4, ipv4_dst), f.ipv4_dst)
          .at(offsetof(ovs_key_ipv4, ipv4_proto), f.ip_proto)
          .at(offsetof(ovs_key_ipv4, ipv4_tos), f.ip_tos)
          .at(offsetof(ovs_key_ipv4, ipv4_ttl), f.ip_ttl)
          .at(offsetof(ovs_key_ipv4, ipv4_frag), f.ip_frag)
          .bytes;
    case OVS_KEY_ATTR_IPV6:
      return StructBytes<ovs_key_ipv6>()
          .at(offsetof(ovs_key_ipv6, ipv6_src), f.ipv6_src)
          .at(offsetof(ovs_key_ipv6, ipv6_dst), f.ipv6_dst)
          .at(offsetof(ovs_key_ipv6, ipv6_label), f.ipv6_label)
          .at(offsetof(ovs_key_ipv6, ipv6_proto), f.ip_proto)
          .at(offsetof(ovs_key_ipv6, ipv6_tclass), f.ip_tos)
          .at(offsetof(ovs_key_ipv6, ipv6_hlimit), f.ip_ttl)
          .at(offsetof(ovs_key_ipv6, ipv6_frag), f.ip_frag)
          .bytes;
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP:
      // ovs_key_tcp, ovs_key_udp and ovs_key_sctp are all {src, dst}.
      return StructBytes<ovs_key_tcp>()
          .at(offsetof(ovs_key_tcp, tcp_src), f.tp_src)
          .at(offsetof(ovs_key_tcp, tcp_dst), f.tp_dst)
          .bytes;
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6:
      // The key keeps htons(type) and htons(code); the attribute one byte each.
      return StructBytes<ovs_key_icmp>()
          .at(offsetof(ovs_key_icmp, icmp_type), static_cast<uint8_t>(host16(f.tp_src)))
          .at(offsetof(ovs_key_icmp, icmp_code), static_cast<uint8_t>(host16(f.tp_dst)))
          .bytes;
    case OVS_KEY_ATTR_ARP:
      return StructBytes<ovs_key_arp>()
          .at(offsetof(ovs_key_arp, arp_sip), f.arp_sip)
          .at(offsetof(ovs_key_arp, arp_tip), f.arp_tip)
          .at(offsetof(ovs_key_arp, arp_op), f.arp_op)
          .at(offsetof(ovs_key_arp, arp_sha), f.arp_sha)
          .at(offsetof(ovs_key_arp, arp_tha), f.arp_tha)
          .bytes;
    case OVS_KEY_ATTR_ND:
      return StructBytes<ovs_key_nd>()
          .at(offsetof(ovs_key_nd, nd_target), f.nd_target)
          .at(offsetof(ovs_key_nd, nd_sll), f.nd_sll)
          .at(offsetof(ovs_key_nd, nd_tll), f.nd_tll)
          .bytes;
    case OVS_KEY_ATTR_MPLS: {
      int labels = std::clamp(mpls_labels, 1, kMaxMplsLabels);
      const auto* first = reinterpret_cast<const uint8_t*>(f.mpls_lse);
      return {first, first + labels * sizeof(ovs_key_mpls)};
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4:
      return StructBytes<ovs_key_ct_tuple_ipv4>()
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_src), f.ct_orig_ipv4_src)
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_dst), f.ct_orig_ipv4_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv4, src_port), f.ct_orig_tp_src)
          .at(offsetof(ovs_key_ct_tuple_ipv4, dst_port), f.ct_orig_tp_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv4, ipv4_proto), f.ct_orig_proto)
          .bytes;
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6:
      return StructBytes<ovs_key_ct_tuple_ipv6>()
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_src), f.ct_orig_ipv6_src)
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_dst), f.ct_orig_ipv6_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv6, src_port), f.ct_orig_tp_src)
          .at(offsetof(ovs_key_ct_tuple_ipv6, dst_port), f.ct_orig_tp_dst)
          .at(offsetof(ovs_key_ct_tuple_ipv6, ipv6_proto), f.ct_orig_proto)
          .bytes;
    default:
      return {};
  }
}

void key_attribute_to_fields(uint16_t type, std::span<const uint8_t> payload, FlowKey& f) {
  switch (type) {
    case OVS_KEY_ATTR_PRIORITY:
      f.priority = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_IN_PORT:
      f.in_port = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_SKB_MARK:
      f.skb_mark = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_RECIRC_ID:
      f.recirc_id = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_DP_HASH:
      f.dp_hash = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_STATE:
      f.ct_state = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_ZONE:
      f.ct_zone = read_as<uint16_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_MARK:
      f.ct_mark = read_as<uint32_t>(payload);
      break;
    case OVS_KEY_ATTR_CT_LABELS:
      f.ct_labels = read_as<std::array<uint8_t, 16>>(payload);
      break;
    case OVS_KEY_ATTR_VLAN:
      f.vlan.tci = read_as<Be16>(payload);
      break;
    case OVS_KEY_ATTR_ETHERTYPE:
      f.eth_type = read_as<Be16>(payload);
      break;
    case OVS_KEY_ATTR_TCP_FLAGS:
      f.tcp_flags = read_as<Be16>(payload);
      break;
    case OVS_KEY_ATTR_ETHERNET: {
      auto eth = read_as<ovs_key_ethernet>(payload);
      std::memcpy(f.eth_src.data(), eth.eth_src, 6);
      std::memcpy(f.eth_dst.data(), eth.eth_dst, 6);
      break;
    }
    case OVS_KEY_ATTR_IPV4: {
      auto ipv4 = read_as<ovs_key_ipv4>(payload);
      f.ipv4_src = ipv4.ipv4_src;
      f.ipv4_dst = ipv4.ipv4_dst;
      f.ip_proto = ipv4.ipv4_proto;
      f.ip_tos = ipv4.ipv4_tos;
      f.ip_ttl = ipv4.ipv4_ttl;
      f.ip_frag = ipv4.ipv4_frag;
      break;
    }
    case OVS_KEY_ATTR_IPV6: {
      auto ipv6 = read_as<ovs_key_ipv6>(payload);
      std::memcpy(f.ipv6_src.data(), ipv6.ipv6_src, 16);
      std::memcpy(f.ipv6_dst.data(), ipv6.ipv6_dst, 16);
      f.ipv6_label = ipv6.ipv6_label;
      f.ip_proto = ipv6.ipv6_proto;
      f.ip_tos = ipv6.ipv6_tclass;
      f.ip_ttl = ipv6.ipv6_hlimit;
      f.ip_frag = ipv6.ipv6_frag;
      break;
    }
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP: {
      auto ports = read_as<ovs_key_tcp>(payload);
      f.tp_src = ports.tcp_src;
      f.tp_dst = ports.tcp_dst;
      break;
    }
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6: {
      auto icmp = read_as<ovs_key_icmp>(payload);
      f.tp_src = be16(icmp.icmp_type);
      f.tp_dst = be16(icmp.icmp_code);
      break;
    }
    case OVS_KEY_ATTR_ARP: {
      auto arp = read_as<ovs_key_arp>(payload);
      f.arp_sip = arp.arp_sip;
      f.arp_tip = arp.arp_tip;
      f.arp_op = arp.arp_op;
      std::memcpy(f.arp_sha.data(), arp.arp_sha, 6);
      std::memcpy(f.arp_tha.data(), arp.arp_tha, 6);
      break;
    }
    case OVS_KEY_ATTR_ND: {
      auto nd = read_as<ovs_key_nd>(payload);
      std::memcpy(f.nd_target.data(), nd.nd_target, 16);
      std::memcpy(f.nd_sll.data(), nd.nd_sll, 6);
      std::memcpy(f.nd_tll.data(), nd.nd_tll, 6);
      break;
    }
    case OVS_KEY_ATTR_MPLS: {
      size_t labels = std::min<size_t>(payload.size() / sizeof(ovs_key_mpls), kMaxMplsLabels);
      std::memcpy(f.mpls_lse, payload.data(), labels * sizeof(ovs_key_mpls));
      f.mpls_depth = static_cast<uint8_t>(labels);
      break;
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4: {
      auto tuple = read_as<ovs_key_ct_tuple_ipv4>(payload);
      f.ct_orig_ipv4_src = tuple.ipv4_src;
      f.ct_orig_ipv4_dst = tuple.ipv4_dst;
      f.ct_orig_tp_src = tuple.src_port;
      f.ct_orig_tp_dst = tuple.dst_port;
      f.ct_orig_proto = tuple.ipv4_proto;
      break;
    }
    case OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6: {
      auto tuple = read_as<ovs_key_ct_tuple_ipv6>(payload);
      std::memcpy(f.ct_orig_ipv6_src.data(), tuple.ipv6_src, 16);
      std::memcpy(f.ct_orig_ipv6_dst.data(), tuple.ipv6_dst, 16);
      f.ct_orig_tp_src = tuple.src_port;
      f.ct_orig_tp_dst = tuple.dst_port;
      f.ct_orig_proto = tuple.ipv6_proto;
      break;
    }
    default:
      break;
  }
}

// --- Tunnel ---

namespace {

int tunnel_attribute_length(uint16_t type) {
  switch (type) {
    case OVS_TUNNEL_KEY_ATTR_ID:
      return 8;
    case OVS_TUNNEL_KEY_ATTR_IPV4_SRC:
    case OVS_TUNNEL_KEY_ATTR_IPV4_DST:
      return 4;
    case OVS_TUNNEL_KEY_ATTR_TOS:
    case OVS_TUNNEL_KEY_ATTR_TTL:
      return 1;
    case OVS_TUNNEL_KEY_ATTR_TP_SRC:
    case OVS_TUNNEL_KEY_ATTR_TP_DST:
      return 2;
    case OVS_TUNNEL_KEY_ATTR_IPV6_SRC:
    case OVS_TUNNEL_KEY_ATTR_IPV6_DST:
      return 16;
    case OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS:
      return kNestedLength;
    case OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS:
    case OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS:
      return kVariableLength;
    default:
      return 0;  // the flags, PAD and IPV4_INFO_BRIDGE carry nothing
  }
}

Status decode_vxlan_options(std::span<const uint8_t> nested, TunnelKey& tunnel) {
  bool have_gbp = false;
  return for_each_attribute(nested, "", [&](const Attribute& attribute) -> Status {
    if (attribute.type != OVS_VXLAN_EXT_GBP) {
      return invalid_argument("unknown VXLAN extension attribute type " + std::to_string(attribute.type) +
                              " (only OVS_VXLAN_EXT_GBP = 1 exists)");
    }
    if (have_gbp) return invalid_argument("OVS_VXLAN_EXT_GBP: duplicate attribute");
    if (Status s = check_payload_length(attribute, 4, "OVS_VXLAN_EXT_GBP"); !s) return s;
    tunnel.vxlan_gbp = attribute.as<uint32_t>();
    have_gbp = true;
    return Status::ok();
  });
}

}  // namespace

Status decode_tunnel_attributes(std::span<const uint8_t> nested, bool is_mask, TunnelKey& tunnel) {
  uint32_t seen = 0;
  bool ttl = false, ipv4 = false, ipv6 = false;
  uint16_t flags = 0;
  Status walked = for_each_attribute(nested, "", [&](const Attribute& attribute) -> Status {
    uint16_t type = attribute.type;
    if (type > OVS_TUNNEL_KEY_ATTR_MAX) {
      return invalid_argument("unknown tunnel attribute type " + std::to_string(type) +
                              " (OVS_TUNNEL_KEY_ATTR_MAX is " + std::to_string(OVS_TUNNEL_KEY_ATTR_MAX) +
                              ")");
    }
    std::string name = tunnel_attr_name(type);
    if (seen & (1u << type)) return invalid_argument(name + ": duplicate attribute");
    seen |= 1u << type;
    if (Status s = check_payload_length(attribute, tunnel_attribute_length(type), name); !s) return s;
    switch (type) {
      case OVS_TUNNEL_KEY_ATTR_ID:
        tunnel.tun_id = attribute.as<Be64>();
        flags |= kTunnelKey;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV4_SRC:
        tunnel.ipv4_src = attribute.as<Be32>();
        ipv4 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV4_DST:
        tunnel.ipv4_dst = attribute.as<Be32>();
        ipv4 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV6_SRC:
        tunnel.ipv6_src = attribute.as<Ipv6Addr>();
        ipv6 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_IPV6_DST:
        tunnel.ipv6_dst = attribute.as<Ipv6Addr>();
        ipv6 = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_TOS:
        tunnel.tos = attribute.as<uint8_t>();
        break;
      case OVS_TUNNEL_KEY_ATTR_TTL:
        tunnel.ttl = attribute.as<uint8_t>();
        ttl = true;
        break;
      case OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT:
        flags |= kTunnelDontFragment;
        break;
      case OVS_TUNNEL_KEY_ATTR_CSUM:
        flags |= kTunnelCsum;
        break;
      case OVS_TUNNEL_KEY_ATTR_OAM:
        flags |= kTunnelOam;
        break;
      case OVS_TUNNEL_KEY_ATTR_TP_SRC:
        tunnel.tp_src = attribute.as<Be16>();
        break;
      case OVS_TUNNEL_KEY_ATTR_TP_DST:
        tunnel.tp_dst = attribute.as<Be16>();
        break;
      case OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS:
        return decode_vxlan_options(attribute.payload, tunnel).with_context(name);
      case OVS_TUNNEL_KEY_ATTR_PAD:
        break;
      default:  // GENEVE_OPTS, ERSPAN_OPTS, IPV4_INFO_BRIDGE
        return invalid_argument(name + ": not supported by flowlift (TunnelKey has no field for it)");
    }
    return Status::ok();
  });
  if (!walked) return walked;
  tunnel.flags = flags;
  if (ipv4 && ipv6) return invalid_argument("both IPv4 and IPv6 tunnel addresses are present");
  if (is_mask) return Status::ok();
  if (!ipv4 && !ipv6)
    return invalid_argument("no tunnel destination address (IPV4_DST or IPV6_DST) is present");
  if (ipv4 && tunnel.ipv4_dst == 0)
    return invalid_argument("OVS_TUNNEL_KEY_ATTR_IPV4_DST: the destination is zero");
  if (ipv6 && all_zero_value(tunnel.ipv6_dst)) {
    return invalid_argument("OVS_TUNNEL_KEY_ATTR_IPV6_DST: the destination is zero");
  }
  if (!ttl) return invalid_argument("OVS_TUNNEL_KEY_ATTR_TTL missing: a tunnel key needs a TTL");
  return Status::ok();
}

void put_tunnel_attributes(AttributeWriter& writer, const TunnelKey& tunnel, bool ipv6, bool vxlan_options) {
  if (tunnel.flags & kTunnelKey) writer.put_u64(OVS_TUNNEL_KEY_ATTR_ID, tunnel.tun_id);
  if (!ipv6) {
    if (tunnel.ipv4_src) writer.put_u32(OVS_TUNNEL_KEY_ATTR_IPV4_SRC, tunnel.ipv4_src);
    if (tunnel.ipv4_dst) writer.put_u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, tunnel.ipv4_dst);
  } else {
    if (!all_zero_value(tunnel.ipv6_src))
      writer.put(OVS_TUNNEL_KEY_ATTR_IPV6_SRC, tunnel.ipv6_src.data(), 16);
    if (!all_zero_value(tunnel.ipv6_dst))
      writer.put(OVS_TUNNEL_KEY_ATTR_IPV6_DST, tunnel.ipv6_dst.data(), 16);
  }
  if (tunnel.tos) writer.put_u8(OVS_TUNNEL_KEY_ATTR_TOS, tunnel.tos);
  writer.put_u8(OVS_TUNNEL_KEY_ATTR_TTL, tunnel.ttl);
  if (tunnel.flags & kTunnelDontFragment) writer.put_flag(OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
  if (tunnel.flags & kTunnelCsum) writer.put_flag(OVS_TUNNEL_KEY_ATTR_CSUM);
  if (tunnel.tp_src) writer.put_u16(OVS_TUNNEL_KEY_ATTR_TP_SRC, tunnel.tp_src);
  if (tunnel.tp_dst) writer.put_u16(OVS_TUNNEL_KEY_ATTR_TP_DST, tunnel.tp_dst);
  if (tunnel.flags & kTunnelOam) writer.put_flag(OVS_TUNNEL_KEY_ATTR_OAM);
  if (vxlan_options) {
    size_t options = writer.begin_nested(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS);
    writer.put_u32(OVS_VXLAN_EXT_GBP, tunnel.vxlan_gbp);
    writer.end_nested(options);
  }
}

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

// ovs_nla_get_match, leaving the key unmasked.
Result<MatchBuilder> decode_key_and_mask(std::span<const uint8_t> key_attributes,
                                         std::optional<std::span<const uint8_t>> mask_attributes) {
  AlignedBytes key_bytes(key_attributes);
  MatchBuilder builder;
  KeyAttributeSet key_set;
  Status status = parse_key_level(key_bytes.span(), false, key_set);
  if (status) status = parse_vlans(key_set, false, builder);
  if (status) status = key_from_attributes(key_set, false, builder);
  if (status) status = check_key_shape(key_set.present, builder.key);
  if (!status) return status.with_context("key");

  // Without a mask the kernel matches every bit of every key attribute: it
  // copies the key attributes, fills their payloads with ones and parses
  // that as the mask.
  AlignedBytes mask_bytes(mask_attributes ? *mask_attributes : key_bytes.span());
  if (!mask_attributes) fill_with_ones(mask_bytes.mutable_span(), AttributeTable::kKey);
  std::string mask_context = mask_attributes ? "mask" : "mask (exact, derived from the key)";

  KeyAttributeSet mask_set;
  builder.mask.vlan.tci = 0xffff;  // the kernel always matches the tci unless the mask says otherwise
  builder.mask.cvlan.tci = 0xffff;
  status = parse_key_level(mask_bytes.span(), true, mask_set);
  if (status) status = parse_vlans(mask_set, true, builder);
  if (status) status = key_from_attributes(mask_set, true, builder);
  if (status && !mask_attributes && tunnel_family(builder.key.tunnel) != 0) {
    set_exact_tunnel_mask(tunnel_family(builder.key.tunnel), builder.mask.tunnel);
  }
  if (status) status = check_mask_shape(key_set.present, mask_set.present, builder);
  if (status) status = check_tunnel_representable(builder);
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
  Result<MatchBuilder> decoded = decode_key_and_mask(key_attributes, std::nullopt);
  if (!decoded) return decoded.status();
  return decoded->key;
}

}  // namespace flowlift
