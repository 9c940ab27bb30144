// VXLAN encapsulation byte for byte, decapsulation round trips and every
// reason a received VXLAN packet is refused.
#include "kmod/vxlan.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "kmod/execute_test_frames.h"

namespace flowlift {
namespace {

using execute_testing::FrameBuilder;
using ::testing::HasSubstr;
using execute_testing::ip4;
using execute_testing::ip6;
using execute_testing::rd16;
using execute_testing::rd32;
using execute_testing::reference_checksum;
using execute_testing::wr16;
using execute_testing::wr32;

constexpr EthAddr kUnderlaySrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr EthAddr kUnderlayDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

VxlanEndpoint endpoint() {
  VxlanEndpoint e;
  e.src_mac = kUnderlaySrcMac;
  e.dst_mac = kUnderlayDstMac;
  e.local_ipv4 = ip4("192.0.2.1");
  e.local_ipv6 = ip6("2001:db8:1::1");
  return e;
}

TunnelKey ipv4_tunnel(uint16_t flags = kTunnelKey) {
  TunnelKey t{};
  t.tun_id = htobe64(0x123456);
  t.ipv4_dst = ip4("198.51.100.7");
  t.flags = flags;
  return t;
}

TunnelKey ipv6_tunnel(uint16_t flags = kTunnelKey) {
  TunnelKey t{};
  t.tun_id = htobe64(0xabcdef);
  t.ipv6_dst = ip6("2001:db8:2::7");
  t.flags = flags;
  return t;
}

std::vector<uint8_t> inner_frame(uint8_t inner_tos = 0) {
  auto built =
      FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", inner_tos).udp(5000, 53).payload(22).build();
  auto bytes = built.packet.bytes();
  return {bytes.begin(), bytes.end()};
}

std::vector<uint8_t> bytes_of(const Packet& p) { return {p.data(), p.data() + p.size()}; }

void append(std::vector<uint8_t>& out, std::initializer_list<uint8_t> bytes) { out.insert(out.end(), bytes); }

TEST(VxlanEncapsulate, Ipv4OuterHeadersAreExactlyAsSpecified) {
  const auto inner = inner_frame();
  Packet packet(inner);
  TunnelKey tunnel = ipv4_tunnel();
  tunnel.tos = 0x10;
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint(), 0x4242).is_ok());

  const auto out = bytes_of(packet);
  ASSERT_EQ(out.size(), 14 + 20 + 8 + 8 + inner.size());
  const uint16_t src_port = rd16(&out[34]);
  EXPECT_GE(src_port, 32768);
  EXPECT_LT(src_port, 60999);

  std::vector<uint8_t> expected;
  append(expected, {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00});
  const uint16_t total = static_cast<uint16_t>(20 + 8 + 8 + inner.size());
  append(expected, {0x45,
                    0x10,
                    static_cast<uint8_t>(total >> 8),
                    static_cast<uint8_t>(total),
                    0x42,
                    0x42,
                    0x00,
                    0x00,
                    64,
                    17,
                    0x00,
                    0x00,
                    192,
                    0,
                    2,
                    1,
                    198,
                    51,
                    100,
                    7});
  const uint16_t ip_check = reference_checksum({&expected[14], 20});
  expected[24] = static_cast<uint8_t>(ip_check >> 8);
  expected[25] = static_cast<uint8_t>(ip_check);
  const uint16_t udp_len = static_cast<uint16_t>(16 + inner.size());
  append(expected, {static_cast<uint8_t>(src_port >> 8), static_cast<uint8_t>(src_port), 0x12, 0xb5,
                    static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len), 0x00, 0x00});
  append(expected, {0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00});
  expected.insert(expected.end(), inner.begin(), inner.end());
  EXPECT_EQ(out, expected);

  EXPECT_EQ(packet.l3_ofs, 14);
  EXPECT_EQ(packet.l4_ofs, 34);
  EXPECT_EQ(packet.l2_5_ofs, Packet::kNoOffset);
  EXPECT_FALSE(packet.md.has_tunnel);
}

TEST(VxlanEncapsulate, DontFragmentTtlTosAndChecksumFollowTheTunnelKey) {
  Packet packet(inner_frame(/*inner_tos=*/0x01));  // inner ECT(1)
  TunnelKey tunnel = ipv4_tunnel(kTunnelKey | kTunnelDontFragment | kTunnelCsum);
  tunnel.ttl = 9;
  tunnel.tos = 0xb8;
  tunnel.ipv4_src = ip4("203.0.113.9");
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint(), 1).is_ok());
  const uint8_t* ip = packet.data() + 14;
  EXPECT_EQ(ip[1], 0xb9) << "DSCP from the key, ECN from the inner header";
  EXPECT_EQ(rd16(ip + 6), 0x4000);
  EXPECT_EQ(ip[8], 9);
  EXPECT_EQ(rd32(ip + 12), 0xcb007109u);
  EXPECT_TRUE(execute_testing::ipv4_header_checksum_ok(packet, 14));
  EXPECT_NE(rd16(packet.data() + 34 + 6), 0);
  EXPECT_TRUE(execute_testing::l4_checksum_ok(packet, 14, 34, 17));
}

TEST(VxlanEncapsulate, InnerCongestionMarkLeavesAsEct0) {
  Packet packet(inner_frame(/*inner_tos=*/0x03));
  TunnelKey tunnel = ipv4_tunnel();
  tunnel.tos = 0x03;  // the key's own ECN bits are replaced
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint()).is_ok());
  EXPECT_EQ(packet.data()[15], 0x02);
}

TEST(VxlanEncapsulate, Ipv6UnderlayHeadersAndMandatedChecksum) {
  const auto inner = inner_frame(0x02);
  Packet packet(inner);
  TunnelKey tunnel = ipv6_tunnel(kTunnelKey | kTunnelCsum);
  tunnel.tos = 0x20;
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint()).is_ok());
  const auto out = bytes_of(packet);
  ASSERT_EQ(out.size(), 14 + 40 + 16 + inner.size());
  EXPECT_EQ(rd16(&out[12]), 0x86dd);
  EXPECT_EQ(rd32(&out[14]), 0x60000000u | 0x22u << 20) << "version 6, tclass 0x20 | inner ECT(0), label 0";
  EXPECT_EQ(rd16(&out[18]), 16 + inner.size());
  EXPECT_EQ(out[20], 17);
  EXPECT_EQ(out[21], 64);
  const Ipv6Addr src = ip6("2001:db8:1::1"), dst = ip6("2001:db8:2::7");
  EXPECT_TRUE(std::equal(src.begin(), src.end(), &out[22]));
  EXPECT_TRUE(std::equal(dst.begin(), dst.end(), &out[38]));
  EXPECT_EQ(rd16(&out[56]), 4789);
  EXPECT_EQ(rd32(&out[62]), 0x08000000u);
  EXPECT_EQ(rd32(&out[66]), 0xabcdef00u);
  EXPECT_TRUE(execute_testing::l4_checksum_ok(packet, 14, 54, 17));
  EXPECT_NE(rd16(&out[60]), 0);
  EXPECT_EQ(packet.l4_ofs, 54);
}

TEST(VxlanEncapsulate, Ipv6WithoutCsumFlagSendsZeroChecksumAsTheDriverDoes) {
  Packet packet(inner_frame());
  ASSERT_TRUE(vxlan_encapsulate(packet, ipv6_tunnel(), endpoint()).is_ok());
  EXPECT_EQ(rd16(packet.data() + 54 + 6), 0);
}

TEST(VxlanEncapsulate, GroupPolicyWrittenOnlyWhenThePortHasTheExtension) {
  TunnelKey tunnel = ipv4_tunnel();
  tunnel.vxlan_gbp = (0x40u | 0x08u) << 16 | 0x1234;  // D and A flags, policy 0x1234
  VxlanEndpoint with_gbp = endpoint();
  with_gbp.gbp_extension = true;
  Packet a(inner_frame()), b(inner_frame());
  ASSERT_TRUE(vxlan_encapsulate(a, tunnel, with_gbp).is_ok());
  ASSERT_TRUE(vxlan_encapsulate(b, tunnel, endpoint()).is_ok());
  EXPECT_EQ(rd32(a.data() + 42), 0x88481234u);
  EXPECT_EQ(rd32(b.data() + 42), 0x08000000u);
}

TEST(VxlanEncapsulate, TunnelDestinationPortOverridesTheEndpointPort) {
  TunnelKey tunnel = ipv4_tunnel();
  tunnel.tp_dst = htons(8472);
  Packet packet(inner_frame());
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint()).is_ok());
  EXPECT_EQ(rd16(packet.data() + 36), 8472);
}

TEST(VxlanEncapsulate, SourcePortStaysInTheConfiguredRange) {
  VxlanEndpoint narrow = endpoint();
  narrow.src_port_min = 1000;
  narrow.src_port_max = 1001;
  EXPECT_EQ(vxlan_udp_source_port(inner_frame(), narrow), 1000);
  VxlanEndpoint wide = endpoint();
  wide.src_port_min = 40000;
  wide.src_port_max = 40100;
  for (int port = 0; port < 50; ++port) {
    auto frame =
        FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").udp(static_cast<uint16_t>(port), 53).build();
    uint16_t chosen = vxlan_udp_source_port(frame.packet.bytes(), wide);
    EXPECT_GE(chosen, 40000);
    EXPECT_LT(chosen, 40100);
  }
}

TEST(VxlanEncapsulate, RefusesKeysWithoutDestinationOrSource) {
  Packet packet(inner_frame());
  const auto before = bytes_of(packet);
  TunnelKey no_dst = ipv4_tunnel();
  no_dst.ipv4_dst = 0;
  Status s = vxlan_encapsulate(packet, no_dst, endpoint());
  EXPECT_FALSE(s.is_ok());
  EXPECT_THAT(s.message(), HasSubstr("no destination"));
  VxlanEndpoint no_local = endpoint();
  no_local.local_ipv4 = 0;
  s = vxlan_encapsulate(packet, ipv4_tunnel(), no_local);
  EXPECT_THAT(s.message(), HasSubstr("no IPv4 source address"));
  EXPECT_EQ(bytes_of(packet), before);
}

Packet encapsulated(uint16_t flags = kTunnelKey, uint8_t inner_tos = 0) {
  Packet packet(inner_frame(inner_tos));
  TunnelKey tunnel = ipv4_tunnel(flags);
  tunnel.ttl = 33;
  tunnel.tos = 0x28;
  EXPECT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint(), 7).is_ok());
  return packet;
}

TEST(VxlanDecapsulate, RoundTripRestoresTheInnerFrameAndTunnelKey) {
  Packet packet = encapsulated(kTunnelKey | kTunnelCsum | kTunnelDontFragment);
  const uint16_t src_port = rd16(packet.data() + 34);
  Result<TunnelKey> key = vxlan_decapsulate(packet, 4789);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  EXPECT_EQ(bytes_of(packet), inner_frame());
  EXPECT_EQ(be64toh(key->tun_id), 0x123456u);
  EXPECT_EQ(key->ipv4_src, ip4("192.0.2.1"));
  EXPECT_EQ(key->ipv4_dst, ip4("198.51.100.7"));
  EXPECT_EQ(key->tos, 0x28);
  EXPECT_EQ(key->ttl, 33);
  EXPECT_EQ(ntohs(key->tp_src), src_port);
  EXPECT_EQ(ntohs(key->tp_dst), 4789);
  EXPECT_EQ(key->flags, kTunnelKey | kTunnelCsum | kTunnelDontFragment);
  EXPECT_EQ(key->vxlan_gbp, 0u);
  EXPECT_TRUE(packet.md.has_tunnel);
  EXPECT_EQ(be64toh(packet.md.tunnel.tun_id), 0x123456u);
  EXPECT_EQ(packet.l3_ofs, Packet::kNoOffset);
}

TEST(VxlanDecapsulate, ZeroUdpChecksumGivesNoCsumFlag) {
  Packet packet = encapsulated(kTunnelKey);
  Result<TunnelKey> key = vxlan_decapsulate(packet);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  EXPECT_EQ(key->flags, kTunnelKey);
}

TEST(VxlanDecapsulate, Ipv6RoundTrip) {
  Packet packet(inner_frame());
  TunnelKey tunnel = ipv6_tunnel(kTunnelKey | kTunnelCsum);
  tunnel.ttl = 5;
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, endpoint()).is_ok());
  Result<TunnelKey> key = vxlan_decapsulate(packet);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  EXPECT_EQ(bytes_of(packet), inner_frame());
  EXPECT_EQ(key->ipv6_src, ip6("2001:db8:1::1"));
  EXPECT_EQ(key->ipv6_dst, ip6("2001:db8:2::7"));
  EXPECT_EQ(key->ttl, 5);
  EXPECT_EQ(key->flags, kTunnelKey | kTunnelCsum);
  EXPECT_EQ(be64toh(key->tun_id), 0xabcdefu);
}

TEST(VxlanDecapsulate, GroupPolicyParsedWhenTheExtensionIsEnabled) {
  TunnelKey tunnel = ipv4_tunnel();
  tunnel.vxlan_gbp = 0x40u << 16 | 0x0777;
  VxlanEndpoint with_gbp = endpoint();
  with_gbp.gbp_extension = true;
  Packet packet(inner_frame());
  ASSERT_TRUE(vxlan_encapsulate(packet, tunnel, with_gbp).is_ok());
  Packet copy = packet;
  Result<TunnelKey> key = vxlan_decapsulate(packet, 4789, /*gbp_extension=*/true);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  EXPECT_EQ(key->vxlan_gbp, 0x40u << 16 | 0x0777);
  Result<TunnelKey> refused = vxlan_decapsulate(copy, 4789, /*gbp_extension=*/false);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("reserved flag bits 0x80400777"));
}

TEST(VxlanDecapsulate, OuterCongestionMarkReachesAnEcnCapableInnerHeader) {
  Packet packet = encapsulated(kTunnelKey, /*inner_tos=*/0x02);
  packet.data()[15] |= 0x03;  // CE on the outer header
  wr16(packet.data() + 24, 0);
  wr16(packet.data() + 24, reference_checksum({packet.data() + 14, 20}));
  ASSERT_TRUE(vxlan_decapsulate(packet).is_ok());
  EXPECT_EQ(packet.data()[15], 0x03);
  EXPECT_TRUE(execute_testing::ipv4_header_checksum_ok(packet, 14));
}

TEST(VxlanDecapsulate, TrailingEthernetPaddingIsDropped) {
  Packet packet = encapsulated();
  const std::vector<uint8_t> padding(6, 0);
  packet.append(padding);
  ASSERT_TRUE(vxlan_decapsulate(packet).is_ok());
  EXPECT_EQ(bytes_of(packet), inner_frame());
}

// One malformed input per case: how to break a good packet, and what the error must say.
struct Breakage {
  const char* name;
  void (*mutate)(Packet&);
  const char* message;
  uint16_t flags = kTunnelKey;
};

void fix_ip_checksum(Packet& p) {
  wr16(p.data() + 24, 0);
  wr16(p.data() + 24, reference_checksum({p.data() + 14, size_t{p.data()[14] & 0x0fu} * 4}));
}

Packet prefix(const Packet& p, size_t n) { return Packet(std::span<const uint8_t>(p.data(), n)); }

class VxlanDecapsulateRefuses : public ::testing::TestWithParam<Breakage> {};

TEST_P(VxlanDecapsulateRefuses, NamingTheProblemAndLeavingThePacketAlone) {
  const Breakage& breakage = GetParam();
  Packet packet = encapsulated(breakage.flags);
  breakage.mutate(packet);
  const auto before = bytes_of(packet);
  Result<TunnelKey> key = vxlan_decapsulate(packet, 4789);
  ASSERT_FALSE(key.is_ok());
  EXPECT_THAT(key.status().message(), HasSubstr(breakage.message));
  EXPECT_EQ(key.status().message().rfind("vxlan: ", 0), 0u);
  EXPECT_EQ(bytes_of(packet), before);
  EXPECT_FALSE(packet.md.has_tunnel);
}

const Breakage kBreakages[] = {
    {"ShortEthernet", [](Packet& p) { p = prefix(p, 10); }, "truncated outer Ethernet header"},
    {"NotIp", [](Packet& p) { wr16(p.data() + 12, 0x0806); }, "outer ethertype 0x0806 is not IPv4"},
    {"ShortIpv4", [](Packet& p) { p = prefix(p, 24); }, "truncated outer IPv4 header"},
    {"Ipv4Version",
     [](Packet& p) {
       p.data()[14] = 0x55;
       fix_ip_checksum(p);
     },
     "outer IPv4 header has version 5"},
    {"Ipv4HeaderLength", [](Packet& p) { p.data()[14] = 0x44; }, "outer IPv4 header length 16 is below 20"},
    {"Ipv4Checksum", [](Packet& p) { p.data()[25] ^= 1; }, "outer IPv4 header checksum"},
    {"Ipv4TotalLength",
     [](Packet& p) {
       wr16(p.data() + 16, static_cast<uint16_t>(p.size()));
       fix_ip_checksum(p);
     },
     "outer IPv4 total length"},
    {"Ipv4Fragment",
     [](Packet& p) {
       wr16(p.data() + 20, 0x2000);
       fix_ip_checksum(p);
     },
     "is a fragment"},
    {"NotUdp",
     [](Packet& p) {
       p.data()[23] = 6;
       fix_ip_checksum(p);
     },
     "outer IPv4 protocol 6 is not UDP"},
    {"ShortUdp",
     [](Packet& p) {
       wr16(p.data() + 16, 24);
       fix_ip_checksum(p);
     },
     "truncated outer UDP header"},
    {"UdpLength", [](Packet& p) { wr16(p.data() + 38, 2000); }, "UDP length 2000 does not fit"},
    {"WrongPort", [](Packet& p) { wr16(p.data() + 36, 1234); }, "vxlan: UDP port 1234 is not 4789"},
    {"UdpChecksum", [](Packet& p) { p.data()[p.size() - 1] ^= 0xff; }, "outer UDP checksum",
     kTunnelKey | kTunnelCsum},
    {"ShortVxlan",
     [](Packet& p) {
       wr16(p.data() + 38, 12);
       wr16(p.data() + 16, 20 + 12);
       fix_ip_checksum(p);
     },
     "truncated VXLAN header"},
    {"NoIFlag", [](Packet& p) { wr32(p.data() + 42, 0); }, "vxlan: I flag not set"},
    {"ReservedFlags", [](Packet& p) { wr32(p.data() + 42, 0x08000100); }, "reserved flag bits 0x00000100"},
    {"ReservedVniByte", [](Packet& p) { p.data()[49] = 0x01; }, "reserved low byte of the VNI word is 0x01"},
    {"GbpWithoutExtension", [](Packet& p) { wr32(p.data() + 42, 0x88000005); },
     "reserved flag bits 0x80000005"},
    {"ShortInner",
     [](Packet& p) {
       wr16(p.data() + 38, 16 + 10);
       wr16(p.data() + 16, 20 + 16 + 10);
       fix_ip_checksum(p);
     },
     "inner frame of 10 bytes is shorter than an Ethernet header"},
    {"MulticastInnerSource", [](Packet& p) { p.data()[50 + 6] = 0x01; },
     "inner source MAC is not a valid unicast"},
    {"ZeroInnerSource", [](Packet& p) { std::fill(p.data() + 56, p.data() + 62, 0); }, "inner source MAC"},
    {"CeOverNotEct",
     [](Packet& p) {
       p.data()[15] |= 0x03;
       fix_ip_checksum(p);
     },
     "marked CE but the inner packet is not ECN-capable"},
};

INSTANTIATE_TEST_SUITE_P(AllCases, VxlanDecapsulateRefuses, ::testing::ValuesIn(kBreakages),
                         [](const ::testing::TestParamInfo<Breakage>& info) { return info.param.name; });

TEST(VxlanDecapsulate, RefusesTruncatedAndForeignIpv6) {
  Packet packet(inner_frame());
  ASSERT_TRUE(vxlan_encapsulate(packet, ipv6_tunnel(), endpoint()).is_ok());
  Packet short_packet = prefix(packet, 14 + 30);
  Result<TunnelKey> key = vxlan_decapsulate(short_packet);
  EXPECT_THAT(key.status().message(), HasSubstr("truncated outer IPv6 header"));
  packet.data()[14 + 6] = 0;  // hop-by-hop options in front of UDP
  key = vxlan_decapsulate(packet);
  EXPECT_THAT(key.status().message(), HasSubstr("outer IPv6 next header 0 is not UDP"));
}

}  // namespace
}  // namespace flowlift
