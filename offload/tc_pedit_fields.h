// The header fields an act_pedit key can rewrite, by name: which bits of
// which TCA_PEDIT_KEY_EX_HDR_TYPE_* header each name covers. A pedit key is a
// 32-bit word at an offset with a mask of bits KEPT, which says nothing a
// user can act on; capability profiles list the fields a NIC can rewrite
// ("ip_dscp" but not "ip_ecn" on mlx5) and the decision maps every rewritten
// bit back to a field name to judge it and to name it in the reason.
//
// Names follow OVS's set_field vocabulary where one exists (eth_dst,
// ipv4_src, tcp_dst) and split fields at the bit where NICs split them: the
// IPv4 TOS byte is ip_dscp and ip_ecn, the IPv6 first word is ipv6_dscp,
// ipv6_ecn and ipv6_label.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace flowlift {

struct TcPeditFieldInfo {
  uint16_t header;               // TCA_PEDIT_KEY_EX_HDR_TYPE_*
  std::string_view name;         // "eth_dst", "ip_dscp", ...
  uint8_t offset;                // first byte, from the header's start
  uint8_t length;                // bytes
  std::array<uint8_t, 16> bits;  // which bits of each of those bytes belong to the field
};

// Every named field, grouped by header.
std::span<const TcPeditFieldInfo> tc_pedit_fields();
// The field of `header` that owns bit `bit` (0x80 = most significant) of
// byte `offset`; nullptr when no named field covers it (checksums, lengths).
const TcPeditFieldInfo* tc_pedit_field_at(uint16_t header, uint32_t offset, uint8_t bit);
// nullptr when `header` has no field of that name.
const TcPeditFieldInfo* tc_pedit_field_by_name(uint16_t header, std::string_view name);

// "network", "eth", "ip4", "ip6", "tcp", "udp" (tc's own words); "" for
// anything else.
std::string_view tc_pedit_header_name(uint16_t header);
std::optional<uint16_t> tc_pedit_header_by_name(std::string_view name);
inline constexpr uint16_t kTcPeditHeaderCount = 6;

}  // namespace flowlift
