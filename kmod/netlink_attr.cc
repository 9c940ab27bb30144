// netlink_attr: attribute writer, strict reader and attribute names.
#include "kmod/netlink_attr.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace flowlift {

AttributeWriter::AttributeWriter() : buffer_(MNL_NLMSG_HDRLEN, 0) { header()->nlmsg_len = MNL_NLMSG_HDRLEN; }

void AttributeWriter::make_room(size_t payload_length) {
  size_t needed = MNL_ALIGN(header()->nlmsg_len) + MNL_ATTR_HDRLEN + MNL_ALIGN(payload_length);
  if (buffer_.size() < needed) buffer_.resize(std::max(needed, buffer_.size() * 2), 0);
}

void AttributeWriter::put(uint16_t type, const void* data, size_t length) {
  if (length > kMaxAttributeLength - MNL_ATTR_HDRLEN) {
    overflowed_ = true;
    return;
  }
  make_room(length);
  // libmnl memcpy()s from `data` even for a zero length; never hand it null.
  static const uint8_t kNothing = 0;
  mnl_attr_put(header(), type, length, data != nullptr ? data : &kNothing);
}

size_t AttributeWriter::begin_nested(uint16_t type) {
  // Not mnl_attr_nest_start(): it sets NLA_F_NESTED in the type, which the
  // kernel's nla_nest_start_noflag() and Open vSwitch never do, so the bytes
  // would differ from theirs. A zero-length attribute is the same header.
  size_t token = MNL_ALIGN(header()->nlmsg_len);
  put(type, nullptr, 0);
  return token;
}

void AttributeWriter::end_nested(size_t token) {
  size_t nest_length = header()->nlmsg_len - token;
  if (nest_length > kMaxAttributeLength) overflowed_ = true;
  mnl_attr_nest_end(header(), reinterpret_cast<nlattr*>(buffer_.data() + token));
}

std::span<const uint8_t> AttributeWriter::bytes() const {
  return {buffer_.data() + MNL_NLMSG_HDRLEN, header()->nlmsg_len - MNL_NLMSG_HDRLEN};
}

std::vector<uint8_t> AttributeWriter::to_vector() const {
  std::span<const uint8_t> b = bytes();
  return {b.begin(), b.end()};
}

AlignedBytes::AlignedBytes(std::span<const uint8_t> bytes)
    : words_((bytes.size() + sizeof(uint32_t) - 1) / sizeof(uint32_t), 0), size_(bytes.size()) {
  if (!bytes.empty()) std::memcpy(words_.data(), bytes.data(), bytes.size());
}

Status check_attribute_header(std::span<const uint8_t> bytes, size_t offset, std::string_view where) {
  size_t remaining = bytes.size() - offset;
  std::string at = (where.empty() ? std::string() : std::string(where) + ": ") + "attribute at byte " +
                   std::to_string(offset);
  if (remaining < MNL_ATTR_HDRLEN) {
    return invalid_argument(at + ": truncated header (" + std::to_string(remaining) +
                            " bytes left, a header needs 4)");
  }
  uint16_t length;
  std::memcpy(&length, bytes.data() + offset, sizeof length);
  if (length < MNL_ATTR_HDRLEN) {
    return invalid_argument(at + ": nla_len " + std::to_string(length) +
                            " is smaller than its 4-byte header");
  }
  if (length > remaining) {
    return invalid_argument(at + ": nla_len " + std::to_string(length) + " overruns the " +
                            std::to_string(remaining) + " bytes left");
  }
  // Same verdict as the kernel's nla_ok(); the explicit checks above only
  // exist to say which rule failed.
  if (!mnl_attr_ok(reinterpret_cast<const nlattr*>(bytes.data() + offset), static_cast<int>(remaining))) {
    return invalid_argument(at + ": malformed attribute header");
  }
  return Status::ok();
}

Status check_payload_length(const Attribute& attribute, int expected, const std::string& name) {
  if (expected == kNestedLength || expected == kVariableLength) return Status::ok();
  bool fits = expected == 0 ? mnl_attr_validate(attribute.raw, MNL_TYPE_FLAG) == 0
                            : mnl_attr_validate2(attribute.raw, MNL_TYPE_BINARY, expected) == 0;
  if (fits) return Status::ok();
  return invalid_argument(name + ": length " + std::to_string(attribute.length()) + ", expected " +
                          std::to_string(expected));
}

namespace {

std::string name_from_table(std::span<const char* const> names, std::string_view family, uint16_t type) {
  if (type < names.size() && names[type] != nullptr) return names[type];
  return std::string(family) + " type " + std::to_string(type);
}

}  // namespace

std::string key_attr_name(uint16_t type) {
  static constexpr std::array<const char*, OVS_KEY_ATTR_MAX + 1> kNames = {
      "OVS_KEY_ATTR_UNSPEC",
      "OVS_KEY_ATTR_ENCAP",
      "OVS_KEY_ATTR_PRIORITY",
      "OVS_KEY_ATTR_IN_PORT",
      "OVS_KEY_ATTR_ETHERNET",
      "OVS_KEY_ATTR_VLAN",
      "OVS_KEY_ATTR_ETHERTYPE",
      "OVS_KEY_ATTR_IPV4",
      "OVS_KEY_ATTR_IPV6",
      "OVS_KEY_ATTR_TCP",
      "OVS_KEY_ATTR_UDP",
      "OVS_KEY_ATTR_ICMP",
      "OVS_KEY_ATTR_ICMPV6",
      "OVS_KEY_ATTR_ARP",
      "OVS_KEY_ATTR_ND",
      "OVS_KEY_ATTR_SKB_MARK",
      "OVS_KEY_ATTR_TUNNEL",
      "OVS_KEY_ATTR_SCTP",
      "OVS_KEY_ATTR_TCP_FLAGS",
      "OVS_KEY_ATTR_DP_HASH",
      "OVS_KEY_ATTR_RECIRC_ID",
      "OVS_KEY_ATTR_MPLS",
      "OVS_KEY_ATTR_CT_STATE",
      "OVS_KEY_ATTR_CT_ZONE",
      "OVS_KEY_ATTR_CT_MARK",
      "OVS_KEY_ATTR_CT_LABELS",
      "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4",
      "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6",
      "OVS_KEY_ATTR_NSH",
      "OVS_KEY_ATTR_PACKET_TYPE",
      "OVS_KEY_ATTR_ND_EXTENSIONS",
      "OVS_KEY_ATTR_TUNNEL_INFO",
      "OVS_KEY_ATTR_IPV6_EXTHDRS",
  };
  static_assert(OVS_KEY_ATTR_IPV6_EXTHDRS == 32, "attribute names follow the uapi enum order");
  return name_from_table(kNames, "OVS_KEY_ATTR", type);
}

std::string tunnel_attr_name(uint16_t type) {
  static constexpr std::array<const char*, OVS_TUNNEL_KEY_ATTR_MAX + 1> kNames = {
      "OVS_TUNNEL_KEY_ATTR_ID",
      "OVS_TUNNEL_KEY_ATTR_IPV4_SRC",
      "OVS_TUNNEL_KEY_ATTR_IPV4_DST",
      "OVS_TUNNEL_KEY_ATTR_TOS",
      "OVS_TUNNEL_KEY_ATTR_TTL",
      "OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT",
      "OVS_TUNNEL_KEY_ATTR_CSUM",
      "OVS_TUNNEL_KEY_ATTR_OAM",
      "OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS",
      "OVS_TUNNEL_KEY_ATTR_TP_SRC",
      "OVS_TUNNEL_KEY_ATTR_TP_DST",
      "OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS",
      "OVS_TUNNEL_KEY_ATTR_IPV6_SRC",
      "OVS_TUNNEL_KEY_ATTR_IPV6_DST",
      "OVS_TUNNEL_KEY_ATTR_PAD",
      "OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS",
      "OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE",
  };
  static_assert(OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE == 16, "attribute names follow the uapi enum order");
  return name_from_table(kNames, "OVS_TUNNEL_KEY_ATTR", type);
}

std::string action_attr_name(uint16_t type) {
  static constexpr std::array<const char*, kActionAttrMax + 1> kNames = {
      "OVS_ACTION_ATTR_UNSPEC",    "OVS_ACTION_ATTR_OUTPUT",
      "OVS_ACTION_ATTR_USERSPACE", "OVS_ACTION_ATTR_SET",
      "OVS_ACTION_ATTR_PUSH_VLAN", "OVS_ACTION_ATTR_POP_VLAN",
      "OVS_ACTION_ATTR_SAMPLE",    "OVS_ACTION_ATTR_RECIRC",
      "OVS_ACTION_ATTR_HASH",      "OVS_ACTION_ATTR_PUSH_MPLS",
      "OVS_ACTION_ATTR_POP_MPLS",  "OVS_ACTION_ATTR_SET_MASKED",
      "OVS_ACTION_ATTR_CT",        "OVS_ACTION_ATTR_TRUNC",
      "OVS_ACTION_ATTR_PUSH_ETH",  "OVS_ACTION_ATTR_POP_ETH",
      "OVS_ACTION_ATTR_CT_CLEAR",  "OVS_ACTION_ATTR_PUSH_NSH",
      "OVS_ACTION_ATTR_POP_NSH",   "OVS_ACTION_ATTR_METER",
      "OVS_ACTION_ATTR_CLONE",     "OVS_ACTION_ATTR_CHECK_PKT_LEN",
      "OVS_ACTION_ATTR_ADD_MPLS",  "OVS_ACTION_ATTR_DEC_TTL",
      "OVS_ACTION_ATTR_DROP",      "OVS_ACTION_ATTR_PSAMPLE",
  };
  static_assert(OVS_ACTION_ATTR_DEC_TTL == 23, "attribute names follow the uapi enum order");
  return name_from_table(kNames, "OVS_ACTION_ATTR", type);
}

std::string hex16(uint16_t host_value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04x", host_value);
  return text;
}

}  // namespace flowlift
