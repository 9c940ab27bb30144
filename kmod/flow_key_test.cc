// The megaflow vocabulary's contracts: mask ranges, masked compare and hash.
#include "flowlift/flow_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace flowlift {
namespace {

FlowKey tcp_key(uint32_t dst) {
  FlowKey k{};
  k.in_port = 1;
  k.eth_type = htons(0x0800);
  k.ip_proto = 6;
  k.ipv4_src = htonl(0x0a000001);
  k.ipv4_dst = htonl(dst);
  k.tp_dst = htons(80);
  return k;
}

TEST(FlowMask, EmptyMaskHasEmptyRange) {
  FlowMask m;
  EXPECT_EQ(m.range(), (KeyRange{0, 0}));
}

TEST(FlowMask, RangeCoversOnlyWordsWithBitsRoundedToWords) {
  FlowKey bits{};
  bits.in_port = 0xffffffff;
  bits.ipv4_dst = htonl(0xffffff00);
  FlowMask m(bits);
  EXPECT_EQ(m.range().start, offsetof(FlowKey, in_port) / 8 * 8);
  EXPECT_EQ(m.range().end, (offsetof(FlowKey, ipv4_dst) + 4 + 7) / 8 * 8);
  EXPECT_EQ(m.range().start % 8, 0);
}

TEST(FlowMask, IPv4TcpMegaflowStaysOutOfTunnelAndConntrack) {
  FlowKey bits{};
  bits.in_port = ~0u;
  bits.eth_type = 0xffff;
  bits.ip_proto = 0xff;
  bits.ipv4_dst = ~0u;
  bits.tp_dst = 0xffff;
  bits.mac_proto = 0xff;  // every installed megaflow matches it, as in the kernel
  FlowMask m(bits);
  EXPECT_GE(m.range().start, sizeof(TunnelKey));
  EXPECT_LE(m.range().end, offsetof(FlowKey, ct_state));
  EXPECT_EQ(m.range().words(), 7u);  // [72, 128): in_port through mac_proto
}

TEST(Match, MatchesOnlyKeysEqualUnderMask) {
  FlowKey bits{};
  bits.ipv4_dst = htonl(0xffffff00);
  Match match(tcp_key(0xc0a8010a), FlowMask(bits));
  EXPECT_TRUE(match.matches(tcp_key(0xc0a801ff)));
  EXPECT_FALSE(match.matches(tcp_key(0xc0a8020a)));
}

TEST(Match, KeyIsStoredMasked) {
  FlowKey bits{};
  bits.ipv4_dst = htonl(0xffff0000);
  Match match(tcp_key(0xc0a8010a), FlowMask(bits));
  EXPECT_EQ(match.key.ipv4_dst, htonl(0xc0a80000));
  EXPECT_EQ(match.key.in_port, 0u);
}

TEST(MaskedHash, EqualUnderMaskHashEqualDifferentDiffer) {
  FlowKey bits{};
  bits.ipv4_dst = htonl(0xffffff00);
  FlowMask m(bits);
  EXPECT_EQ(masked_hash(tcp_key(0x01020304), m), masked_hash(tcp_key(0x010203ff), m));
  EXPECT_NE(masked_hash(tcp_key(0x01020304), m), masked_hash(tcp_key(0x01020404), m));
}

TEST(FlowMask, ExactCoversWholeKey) {
  EXPECT_EQ(FlowMask::exact().range(), (KeyRange{0, static_cast<uint16_t>(sizeof(FlowKey))}));
}

}  // namespace
}  // namespace flowlift
