// OfFlow's storage units by name: the table that lets code walk an OfFlow
// field by field the way OVS's struct flow is named (dl_src, nw_src, tp_dst,
// vlan_tci ...), rather than by the OpenFlow fields that share a unit
// (eth_src/dl_src, ip_src/arp_spa, tcp_dst/udp_dst/icmp_code, ip_dscp/nw_ecn
// inside nw_tos, dl_vlan/vlan_pcp inside vlan_tci).
//
// Why a unit table beside the field registry (of_fields.h): comparing two
// matches as packet sets and naming what differs must happen per storage
// unit, once, whatever aliases a text used; the registry has one entry per
// name. The names are OVS's struct flow member names, which is also what
// megaflow_cmp.py of the OVS 3.1 oracle reports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "slowpath/of_fields.h"
#include "slowpath/of_flow.h"

namespace flowlift {

// How a unit's value reads in text.
enum class OfUnitText : uint8_t {
  kDecimal,
  kHex,
  kIpv4,
  kIpv6,
  kEthernet,
  kFrag,         // nw_frag keywords
  kTunnelFlags,  // +df-csum...
  kTcpFlags,
};

struct OfFlowUnit {
  std::string_view name;
  uint16_t offset;
  uint8_t size;  // bytes: 1, 2, 4, 6, 8 or 16
  bool network_order;
  OfUnitText text;
  // The bits a match can set (in_port holds 16, ipv6_label 20, tcp_flags 12,
  // nw_frag 2, tun_flags 4), as a value read the way read_unit() reads it.
  Uint128 matchable_bits;
  // False for switch metadata that never reaches the datapath (registers,
  // metadata, conj_id): OVS clears them from every megaflow.
  bool packet_field;
};

// Every named unit of OfFlow, in struct order; padding is not listed.
std::span<const OfFlowUnit> of_flow_units();
const OfFlowUnit* find_of_flow_unit(std::string_view name);

// The unit's bytes as an integer (network-order units read big-endian).
Uint128 read_unit(const OfFlow& flow, const OfFlowUnit& unit);
void write_unit(OfFlow& flow, const OfFlowUnit& unit, Uint128 value);

// "10.2.3.0/24", "0x1f40/0xfff0", "80", "no", "02:00:00:00:00:00/ff:ff:00:00:00:00":
// the value alone when the mask covers the unit's matchable bits.
std::string format_unit_value(const OfFlowUnit& unit, Uint128 value, Uint128 mask);

// The first unit where the two differ under `mask` ((a ^ b) & mask != 0), if any.
const OfFlowUnit* first_unit_differing_under(const OfFlow& a, const OfFlow& b, const OfFlow& mask);

}  // namespace flowlift
