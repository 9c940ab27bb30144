// The pedit field table (see tc_pedit_fields.h). Offsets are the protocol
// headers' own (RFC 791, 8200, 793, 768 and Ethernet II); the kernel's
// extended pedit keys count offsets from the start of the header the key's
// type names (net/sched/act_pedit.c pedit_skb_hdr_offset).
#include "offload/tc_pedit_fields.h"

#include <linux/tc_act/tc_pedit.h>

namespace flowlift {
namespace {

constexpr std::array<uint8_t, 16> all_bits(uint8_t length) {
  std::array<uint8_t, 16> bits{};
  for (uint8_t i = 0; i < length; ++i) bits[i] = 0xff;
  return bits;
}

constexpr uint16_t kEth = TCA_PEDIT_KEY_EX_HDR_TYPE_ETH;
constexpr uint16_t kIp4 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP4;
constexpr uint16_t kIp6 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP6;
constexpr uint16_t kTcp = TCA_PEDIT_KEY_EX_HDR_TYPE_TCP;
constexpr uint16_t kUdp = TCA_PEDIT_KEY_EX_HDR_TYPE_UDP;

constexpr TcPeditFieldInfo kTcPeditFields[] = {
    {kEth, "eth_dst", 0, 6, all_bits(6)},
    {kEth, "eth_src", 6, 6, all_bits(6)},
    {kEth, "eth_type", 12, 2, all_bits(2)},
    {kIp4, "ip_dscp", 1, 1, {0xfc}},
    {kIp4, "ip_ecn", 1, 1, {0x03}},
    {kIp4, "ip_ttl", 8, 1, all_bits(1)},
    {kIp4, "ip_proto", 9, 1, all_bits(1)},
    {kIp4, "ipv4_src", 12, 4, all_bits(4)},
    {kIp4, "ipv4_dst", 16, 4, all_bits(4)},
    // Version (4 bits), traffic class (8: DSCP 6 + ECN 2), flow label (20).
    {kIp6, "ipv6_dscp", 0, 2, {0x0f, 0xc0}},
    {kIp6, "ipv6_ecn", 1, 1, {0x30}},
    {kIp6, "ipv6_label", 1, 3, {0x0f, 0xff, 0xff}},
    {kIp6, "ipv6_proto", 6, 1, all_bits(1)},
    {kIp6, "ipv6_hlimit", 7, 1, all_bits(1)},
    {kIp6, "ipv6_src", 8, 16, all_bits(16)},
    {kIp6, "ipv6_dst", 24, 16, all_bits(16)},
    {kTcp, "tcp_src", 0, 2, all_bits(2)},
    {kTcp, "tcp_dst", 2, 2, all_bits(2)},
    {kTcp, "tcp_flags", 13, 1, all_bits(1)},
    {kUdp, "udp_src", 0, 2, all_bits(2)},
    {kUdp, "udp_dst", 2, 2, all_bits(2)},
};

constexpr std::string_view kTcPeditHeaderNames[kTcPeditHeaderCount] = {"network", "eth", "ip4",
                                                                       "ip6",     "tcp", "udp"};
static_assert(TCA_PEDIT_KEY_EX_HDR_TYPE_UDP + 1 == kTcPeditHeaderCount);

}  // namespace

std::span<const TcPeditFieldInfo> tc_pedit_fields() { return kTcPeditFields; }

const TcPeditFieldInfo* tc_pedit_field_at(uint16_t header, uint32_t offset, uint8_t bit) {
  for (const TcPeditFieldInfo& field : kTcPeditFields) {
    if (field.header != header || offset < field.offset || offset >= field.offset + field.length) continue;
    if (field.bits[offset - field.offset] & bit) return &field;
  }
  return nullptr;
}

const TcPeditFieldInfo* tc_pedit_field_by_name(uint16_t header, std::string_view name) {
  for (const TcPeditFieldInfo& field : kTcPeditFields)
    if (field.header == header && field.name == name) return &field;
  return nullptr;
}

std::string_view tc_pedit_header_name(uint16_t header) {
  return header < kTcPeditHeaderCount ? kTcPeditHeaderNames[header] : std::string_view();
}

std::optional<uint16_t> tc_pedit_header_by_name(std::string_view name) {
  for (uint16_t header = 0; header < kTcPeditHeaderCount; ++header)
    if (kTcPeditHeaderNames[header] == name) return header;
  return std::nullopt;
}

}  // namespace flowlift
