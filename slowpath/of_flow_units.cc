// OfFlow's storage units by name (see of_flow_units.h).
#include "slowpath/of_flow_units.h"

#include <arpa/inet.h>

#include <cstring>

#include "slowpath/of_field_text.h"

namespace flowlift {

namespace {

constexpr Uint128 ones(int bits) { return bits >= 128 ? ~Uint128{0} : (Uint128{1} << bits) - 1; }

#define FLOWLIFT_UNIT(member, name, network, text, bits, packet)                                          \
  OfFlowUnit {                                                                                            \
    name, offsetof(OfFlow, member), sizeof(OfFlow::member), network, OfUnitText::text, ones(bits), packet \
  }

#define FLOWLIFT_REGISTER_UNIT(index)                                                               \
  OfFlowUnit {                                                                                      \
    "reg" #index, offsetof(OfFlow, regs) + 4 * (index), 4, false, OfUnitText::kHex, ones(32), false \
  }

// Struct order (of_flow.h). Network-order units are read big-endian, so
// their matchable bits are counted from the value's low end as printed.
constexpr std::array kUnits{
    FLOWLIFT_UNIT(recirc_id, "recirc_id", false, kDecimal, 32, true),
    FLOWLIFT_UNIT(in_port, "in_port", false, kDecimal, 16, true),
    FLOWLIFT_REGISTER_UNIT(0),
    FLOWLIFT_REGISTER_UNIT(1),
    FLOWLIFT_REGISTER_UNIT(2),
    FLOWLIFT_REGISTER_UNIT(3),
    FLOWLIFT_REGISTER_UNIT(4),
    FLOWLIFT_REGISTER_UNIT(5),
    FLOWLIFT_REGISTER_UNIT(6),
    FLOWLIFT_REGISTER_UNIT(7),
    FLOWLIFT_REGISTER_UNIT(8),
    FLOWLIFT_REGISTER_UNIT(9),
    FLOWLIFT_REGISTER_UNIT(10),
    FLOWLIFT_REGISTER_UNIT(11),
    FLOWLIFT_REGISTER_UNIT(12),
    FLOWLIFT_REGISTER_UNIT(13),
    FLOWLIFT_REGISTER_UNIT(14),
    FLOWLIFT_REGISTER_UNIT(15),
    FLOWLIFT_UNIT(metadata, "metadata", false, kHex, 64, false),
    FLOWLIFT_UNIT(conj_id, "conj_id", false, kDecimal, 32, false),
    FLOWLIFT_UNIT(pkt_mark, "pkt_mark", false, kHex, 32, true),
    FLOWLIFT_UNIT(skb_priority, "skb_priority", false, kHex, 32, true),
    FLOWLIFT_UNIT(tun_flags, "tun_flags", false, kTunnelFlags, 4, true),
    FLOWLIFT_UNIT(tun_tos, "tun_tos", false, kDecimal, 8, true),
    FLOWLIFT_UNIT(tun_ttl, "tun_ttl", false, kDecimal, 8, true),
    FLOWLIFT_UNIT(tun_id, "tun_id", true, kHex, 64, true),
    FLOWLIFT_UNIT(tun_src, "tun_src", true, kIpv4, 32, true),
    FLOWLIFT_UNIT(tun_dst, "tun_dst", true, kIpv4, 32, true),
    FLOWLIFT_UNIT(tun_ipv6_src, "tun_ipv6_src", true, kIpv6, 128, true),
    FLOWLIFT_UNIT(tun_ipv6_dst, "tun_ipv6_dst", true, kIpv6, 128, true),
    FLOWLIFT_UNIT(tun_tp_src, "tun_tp_src", true, kDecimal, 16, true),
    FLOWLIFT_UNIT(tun_tp_dst, "tun_tp_dst", true, kDecimal, 16, true),
    FLOWLIFT_UNIT(dl_dst, "dl_dst", true, kEthernet, 48, true),
    FLOWLIFT_UNIT(dl_src, "dl_src", true, kEthernet, 48, true),
    FLOWLIFT_UNIT(dl_type, "dl_type", true, kHex, 16, true),
    FLOWLIFT_UNIT(vlan_tci, "vlan_tci", true, kHex, 16, true),
    FLOWLIFT_UNIT(vlan_tpid, "vlan_tpid", true, kHex, 16, true),
    FLOWLIFT_UNIT(mpls_lse, "mpls_lse", true, kHex, 32, true),
    FLOWLIFT_UNIT(nw_src, "nw_src", true, kIpv4, 32, true),
    FLOWLIFT_UNIT(nw_dst, "nw_dst", true, kIpv4, 32, true),
    FLOWLIFT_UNIT(ipv6_src, "ipv6_src", true, kIpv6, 128, true),
    FLOWLIFT_UNIT(ipv6_dst, "ipv6_dst", true, kIpv6, 128, true),
    FLOWLIFT_UNIT(ipv6_label, "ipv6_label", true, kHex, 20, true),
    FLOWLIFT_UNIT(nw_frag, "nw_frag", false, kFrag, 2, true),
    FLOWLIFT_UNIT(nw_tos, "nw_tos", false, kDecimal, 8, true),
    FLOWLIFT_UNIT(nw_ttl, "nw_ttl", false, kDecimal, 8, true),
    FLOWLIFT_UNIT(nw_proto, "nw_proto", false, kDecimal, 8, true),
    FLOWLIFT_UNIT(nd_target, "nd_target", true, kIpv6, 128, true),
    FLOWLIFT_UNIT(arp_sha, "arp_sha", true, kEthernet, 48, true),
    FLOWLIFT_UNIT(arp_tha, "arp_tha", true, kEthernet, 48, true),
    FLOWLIFT_UNIT(tp_src, "tp_src", true, kDecimal, 16, true),
    FLOWLIFT_UNIT(tp_dst, "tp_dst", true, kDecimal, 16, true),
    FLOWLIFT_UNIT(tcp_flags, "tcp_flags", true, kTcpFlags, 12, true),
};

#undef FLOWLIFT_UNIT
#undef FLOWLIFT_REGISTER_UNIT

}  // namespace

std::span<const OfFlowUnit> of_flow_units() { return kUnits; }

const OfFlowUnit* find_of_flow_unit(std::string_view name) {
  for (const OfFlowUnit& unit : kUnits)
    if (unit.name == name) return &unit;
  return nullptr;
}

Uint128 read_unit(const OfFlow& flow, const OfFlowUnit& unit) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&flow) + unit.offset;
  if (unit.network_order) return from_big_endian(std::span<const uint8_t>(bytes, unit.size));
  switch (unit.size) {
    case 1:
      return bytes[0];
    case 2: {
      uint16_t v;
      std::memcpy(&v, bytes, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, bytes, 4);
      return v;
    }
    default: {
      uint64_t v;
      std::memcpy(&v, bytes, 8);
      return v;
    }
  }
}

void write_unit(OfFlow& flow, const OfFlowUnit& unit, Uint128 value) {
  auto* bytes = reinterpret_cast<uint8_t*>(&flow) + unit.offset;
  if (unit.network_order) {
    std::array<uint8_t, 16> big = to_big_endian(value);
    std::memcpy(bytes, big.data() + 16 - unit.size, unit.size);
    return;
  }
  switch (unit.size) {
    case 1:
      bytes[0] = static_cast<uint8_t>(value);
      return;
    case 2: {
      auto v = static_cast<uint16_t>(value);
      std::memcpy(bytes, &v, 2);
      return;
    }
    case 4: {
      auto v = static_cast<uint32_t>(value);
      std::memcpy(bytes, &v, 4);
      return;
    }
    default: {
      auto v = static_cast<uint64_t>(value);
      std::memcpy(bytes, &v, 8);
      return;
    }
  }
}

std::string format_unit_value(const OfFlowUnit& unit, Uint128 value, Uint128 mask) {
  bool exact = (mask & unit.matchable_bits) == unit.matchable_bits;
  std::array<uint8_t, 16> v = to_big_endian(value), m = to_big_endian(mask);
  switch (unit.text) {
    case OfUnitText::kDecimal:
      return exact ? format_decimal(value) : format_hex(value) + "/" + format_hex(mask);
    case OfUnitText::kHex:
      return exact ? format_hex(value) : format_hex(value) + "/" + format_hex(mask);
    case OfUnitText::kIpv4:
      return format_ipv4_masked(htonl(static_cast<uint32_t>(value)), htonl(static_cast<uint32_t>(mask)));
    case OfUnitText::kIpv6:
      return format_ipv6_masked(v, m);
    case OfUnitText::kEthernet: {
      EthAddr address, address_mask;
      std::memcpy(address.data(), v.data() + 10, 6);
      std::memcpy(address_mask.data(), m.data() + 10, 6);
      return format_eth_masked(address, address_mask);
    }
    case OfUnitText::kFrag:
      return format_frag(static_cast<uint8_t>(value), static_cast<uint8_t>(mask));
    case OfUnitText::kTunnelFlags:
      return format_tunnel_flags(static_cast<uint16_t>(value), static_cast<uint16_t>(mask));
    case OfUnitText::kTcpFlags:
      return format_tcp_flags(static_cast<uint16_t>(value), static_cast<uint16_t>(mask));
  }
  return {};
}

const OfFlowUnit* first_unit_differing_under(const OfFlow& a, const OfFlow& b, const OfFlow& mask) {
  // Every flow setup asks this of a megaflow that does match its packet:
  // one pass over the words says so before any unit is read by name.
  uint64_t diff = 0;
  for (size_t i = 0; i < sizeof(OfFlow); i += 8)
    diff |= (load_word(a, i) ^ load_word(b, i)) & load_word(mask, i);
  if (diff == 0) return nullptr;
  for (const OfFlowUnit& unit : kUnits)
    if ((read_unit(a, unit) ^ read_unit(b, unit)) & read_unit(mask, unit)) return &unit;
  return nullptr;
}

}  // namespace flowlift
