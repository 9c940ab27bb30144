// The pedit field table: names map to the header bits the protocols define,
// and no two fields of one header claim the same bit.
#include "offload/tc_pedit_fields.h"

#include <gtest/gtest.h>
#include <linux/tc_act/tc_pedit.h>

namespace flowlift {
namespace {

TEST(TcPeditFields, NoTwoFieldsOfAHeaderShareABit) {
  for (const TcPeditFieldInfo& a : tc_pedit_fields()) {
    EXPECT_LE(a.offset + a.length, 40) << a.name;
    for (const TcPeditFieldInfo& b : tc_pedit_fields()) {
      if (&a == &b || a.header != b.header) continue;
      for (int byte = 0; byte < 40; ++byte) {
        const bool in_a = byte >= a.offset && byte < a.offset + a.length;
        const bool in_b = byte >= b.offset && byte < b.offset + b.length;
        if (!in_a || !in_b) continue;
        EXPECT_EQ(a.bits[byte - a.offset] & b.bits[byte - b.offset], 0) << a.name << " " << b.name;
      }
    }
  }
}

TEST(TcPeditFields, TheTosByteSplitsIntoDscpAndEcn) {
  const uint16_t ip4 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP4;
  ASSERT_NE(tc_pedit_field_at(ip4, 1, 0x80), nullptr);
  EXPECT_EQ(tc_pedit_field_at(ip4, 1, 0x80)->name, "ip_dscp");
  EXPECT_EQ(tc_pedit_field_at(ip4, 1, 0x04)->name, "ip_dscp");
  EXPECT_EQ(tc_pedit_field_at(ip4, 1, 0x01)->name, "ip_ecn");
  EXPECT_EQ(tc_pedit_field_at(ip4, 8, 0x01)->name, "ip_ttl");
  EXPECT_EQ(tc_pedit_field_at(ip4, 19, 0x01)->name, "ipv4_dst");
  EXPECT_EQ(tc_pedit_field_at(ip4, 10, 0xff), nullptr);  // the header checksum
  const uint16_t ip6 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP6;
  EXPECT_EQ(tc_pedit_field_at(ip6, 0, 0x08)->name, "ipv6_dscp");  // traffic class bit 7
  EXPECT_EQ(tc_pedit_field_at(ip6, 1, 0x20)->name, "ipv6_ecn");
  EXPECT_EQ(tc_pedit_field_at(ip6, 1, 0x08)->name, "ipv6_label");
  EXPECT_EQ(tc_pedit_field_at(ip6, 0, 0x80), nullptr);  // the version
  EXPECT_EQ(tc_pedit_field_at(ip6, 7, 0x01)->name, "ipv6_hlimit");
}

TEST(TcPeditFields, HeaderNamesAreTcs) {
  EXPECT_EQ(tc_pedit_header_name(TCA_PEDIT_KEY_EX_HDR_TYPE_UDP), "udp");
  EXPECT_EQ(tc_pedit_header_by_name("ip6"), TCA_PEDIT_KEY_EX_HDR_TYPE_IP6);
  EXPECT_FALSE(tc_pedit_header_by_name("ipv6"));
  EXPECT_EQ(tc_pedit_header_name(9), "");
  EXPECT_EQ(tc_pedit_field_by_name(TCA_PEDIT_KEY_EX_HDR_TYPE_TCP, "udp_dst"), nullptr);
}

}  // namespace
}  // namespace flowlift
