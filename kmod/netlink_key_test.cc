// The key/mask codec: byte-exact encoding against hand-built uapi structs,
// round trips for every protocol, ovs_nla_get_match semantics, and every
// malformed input named in the task.
#include "kmod/netlink_key.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using testing::AttrBytes;
using ::testing::HasSubstr;
using testing::ip4;
using testing::ip6;
using testing::ipv4_struct;
using testing::mac;
using testing::zero;
using testing::zeroed_struct;

const EthAddr kSrcMac = mac(0x00, 0x11, 0x22, 0x33, 0x44, 0x55);
const EthAddr kDstMac = mac(0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb);

FlowKey ethernet_key(uint32_t in_port, uint16_t eth_type) {
  FlowKey k{};
  k.in_port = in_port;
  k.eth_src = kSrcMac;
  k.eth_dst = kDstMac;
  k.eth_type = htons(eth_type);
  return k;
}

FlowKey ipv4_tcp_key() {
  FlowKey k = ethernet_key(1, 0x0800);
  k.ipv4_src = ip4(10, 0, 0, 1);
  k.ipv4_dst = ip4(10, 0, 0, 2);
  k.ip_proto = 6;
  k.ip_ttl = 64;
  k.tp_src = htons(12345);
  k.tp_dst = htons(80);
  k.tcp_flags = htons(0x002);
  return k;
}

FlowKey ipv4_udp_key() {
  FlowKey k = ethernet_key(1, 0x0800);
  k.ipv4_src = ip4(192, 168, 1, 10);
  k.ipv4_dst = ip4(192, 168, 1, 20);
  k.ip_proto = 17;
  k.ip_tos = 0x10;
  k.ip_ttl = 63;
  k.tp_src = htons(5353);
  k.tp_dst = htons(53);
  return k;
}

ovs_key_ethernet ethernet_struct(const EthAddr& src, const EthAddr& dst) {
  ovs_key_ethernet eth;
  zero(eth);
  std::memcpy(eth.eth_src, src.data(), 6);
  std::memcpy(eth.eth_dst, dst.data(), 6);
  return eth;
}

template <typename T>
T all_ones() {
  T value;
  std::memset(&value, 0xff, sizeof value);
  return value;
}

// The attributes the kernel always emits ahead of the Ethernet header, for a
// packet without a tunnel and with all-zero metadata.
AttrBytes metadata(uint32_t in_port) {
  AttrBytes b;
  b.u32(OVS_KEY_ATTR_RECIRC_ID, 0).u32(OVS_KEY_ATTR_DP_HASH, 0).u32(OVS_KEY_ATTR_PRIORITY, 0);
  b.u32(OVS_KEY_ATTR_IN_PORT, in_port).u32(OVS_KEY_ATTR_SKB_MARK, 0);
  b.u32(OVS_KEY_ATTR_CT_STATE, 0).u16(OVS_KEY_ATTR_CT_ZONE, 0).u32(OVS_KEY_ATTR_CT_MARK, 0);
  b.put(OVS_KEY_ATTR_CT_LABELS, zeroed_struct<ovs_key_ct_labels>());
  return b;
}

// ---------------------------------------------------------------------------
// Byte-exact encoding

TEST(KeyEncoding, Ipv4TcpKeyIsByteExact) {
  AttrBytes expected = metadata(1);
  expected.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  expected.put(OVS_KEY_ATTR_IPV4,
               ipv4_struct(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 6, 0, 64, OVS_FRAG_TYPE_NONE));
  ovs_key_tcp tcp;
  zero(tcp);
  tcp.tcp_src = htons(12345);
  tcp.tcp_dst = htons(80);
  expected.put(OVS_KEY_ATTR_TCP, tcp);
  expected.u16(OVS_KEY_ATTR_TCP_FLAGS, htons(0x002));

  EXPECT_EQ(encode_key(ipv4_tcp_key()), expected.bytes);
}

TEST(KeyEncoding, ExactMaskOfIpv4TcpFlowIsByteExact) {
  Result<Match> match = decode_match(encode_key(ipv4_tcp_key()), std::nullopt);
  ASSERT_TRUE(match) << match.status().message();

  // ovs_nla_put_mask: the same shape as the key, with the mask's values; the
  // tunnel nest is always present in a mask (here only its TTL, zero).
  AttrBytes expected;
  expected.u32(OVS_KEY_ATTR_RECIRC_ID, ~0u).u32(OVS_KEY_ATTR_DP_HASH, ~0u).u32(OVS_KEY_ATTR_PRIORITY, ~0u);
  expected.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u8(OVS_TUNNEL_KEY_ATTR_TTL, 0));
  expected.u32(OVS_KEY_ATTR_IN_PORT, ~0u).u32(OVS_KEY_ATTR_SKB_MARK, ~0u);
  expected.u32(OVS_KEY_ATTR_CT_STATE, 0xff).u16(OVS_KEY_ATTR_CT_ZONE, 0xffff).u32(OVS_KEY_ATTR_CT_MARK, ~0u);
  expected.put(OVS_KEY_ATTR_CT_LABELS, all_ones<ovs_key_ct_labels>());
  expected.put(OVS_KEY_ATTR_ETHERNET, all_ones<ovs_key_ethernet>());
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  expected.put(OVS_KEY_ATTR_IPV4, all_ones<ovs_key_ipv4>());
  expected.put(OVS_KEY_ATTR_TCP, all_ones<ovs_key_tcp>());
  expected.u16(OVS_KEY_ATTR_TCP_FLAGS, 0xffff);

  MatchAttributes encoded = encode_match(*match);
  EXPECT_EQ(encoded.mask, expected.bytes);
  EXPECT_EQ(encoded.key, encode_key(ipv4_tcp_key()));
}

// A layer-3 packet (mac_proto none, e.g. from an L3 tunnel): as
// __ovs_nla_put_key writes it, no OVS_KEY_ATTR_ETHERNET, the ethertype
// straight after the metadata.
FlowKey layer3_ipv4_udp_key() {
  FlowKey k{};
  k.mac_proto = kMacProtoNone;
  k.in_port = 5;
  k.eth_type = htons(0x0800);
  k.ipv4_src = ip4(192, 168, 1, 10);
  k.ipv4_dst = ip4(192, 168, 1, 20);
  k.ip_proto = 17;
  k.ip_ttl = 63;
  k.tp_src = htons(5353);
  k.tp_dst = htons(53);
  return k;
}

TEST(KeyEncoding, Layer3KeyHasNoEthernetAttribute) {
  ovs_key_udp udp;
  zero(udp);
  udp.udp_src = htons(5353);
  udp.udp_dst = htons(53);
  AttrBytes expected = metadata(5);
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  expected.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(192, 168, 1, 10), ip4(192, 168, 1, 20), 17, 0, 63, 0));
  expected.put(OVS_KEY_ATTR_UDP, udp);

  EXPECT_EQ(encode_key(layer3_ipv4_udp_key()), expected.bytes);
}

TEST(KeyEncoding, ExactMaskOfLayer3FlowIsByteExact) {
  Result<Match> match = decode_match(encode_key(layer3_ipv4_udp_key()), std::nullopt);
  ASSERT_TRUE(match) << match.status().message();
  EXPECT_EQ(match->key.mac_proto, kMacProtoNone);
  EXPECT_EQ(match->mask.bits().mac_proto, 0xff);

  AttrBytes expected;
  expected.u32(OVS_KEY_ATTR_RECIRC_ID, ~0u).u32(OVS_KEY_ATTR_DP_HASH, ~0u).u32(OVS_KEY_ATTR_PRIORITY, ~0u);
  expected.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u8(OVS_TUNNEL_KEY_ATTR_TTL, 0));
  expected.u32(OVS_KEY_ATTR_IN_PORT, ~0u).u32(OVS_KEY_ATTR_SKB_MARK, ~0u);
  expected.u32(OVS_KEY_ATTR_CT_STATE, 0xff).u16(OVS_KEY_ATTR_CT_ZONE, 0xffff).u32(OVS_KEY_ATTR_CT_MARK, ~0u);
  expected.put(OVS_KEY_ATTR_CT_LABELS, all_ones<ovs_key_ct_labels>());
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  expected.put(OVS_KEY_ATTR_IPV4, all_ones<ovs_key_ipv4>());
  expected.put(OVS_KEY_ATTR_UDP, all_ones<ovs_key_udp>());

  MatchAttributes encoded = encode_match(*match);
  EXPECT_EQ(encoded.mask, expected.bytes);
  EXPECT_EQ(encoded.key, encode_key(layer3_ipv4_udp_key()));
}

TEST(KeyDecoding, KeyWithoutEthernetIsALayer3Packet) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 2).u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 0, 0, 64, 0));
  Result<FlowKey> packet = decode_key(key.span());
  ASSERT_TRUE(packet) << packet.status().message();
  EXPECT_EQ(packet->mac_proto, kMacProtoNone);
  EXPECT_EQ(packet->eth_type, htons(0x0800));
  EXPECT_EQ(packet->eth_src, EthAddr{});

  key = AttrBytes();
  key.u32(OVS_KEY_ATTR_IN_PORT, 2).put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 0, 0, 64, 0));
  packet = decode_key(key.span());
  ASSERT_TRUE(packet) << packet.status().message();
  EXPECT_EQ(packet->mac_proto, kMacProtoEthernet);
}

TEST(KeyEncoding, VlanTaggedKeyNestsEverythingAfterTheTagInEncap) {
  FlowKey key = ipv4_udp_key();
  key.in_port = 2;
  key.vlan.tpid = htons(0x8100);
  key.vlan.tci = htons(0x1000 | 100);

  ovs_key_udp udp;
  zero(udp);
  udp.udp_src = htons(5353);
  udp.udp_dst = htons(53);
  AttrBytes inner;
  inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  inner.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(192, 168, 1, 10), ip4(192, 168, 1, 20), 17, 0x10, 63, 0));
  inner.put(OVS_KEY_ATTR_UDP, udp);
  AttrBytes expected = metadata(2);
  expected.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100));
  expected.u16(OVS_KEY_ATTR_VLAN, htons(0x1064));
  expected.nest(OVS_KEY_ATTR_ENCAP, inner);

  EXPECT_EQ(encode_key(key), expected.bytes);
}

TEST(KeyEncoding, QinqKeyNestsTwice) {
  FlowKey key = ethernet_key(3, 0x0806);
  key.vlan = {htons(0x88a8), htons(0x1000 | 10)};
  key.cvlan = {htons(0x8100), htons(0x1000 | 20)};
  key.arp_op = htons(1);
  key.arp_sip = ip4(10, 0, 0, 1);
  key.arp_tip = ip4(10, 0, 0, 2);
  key.arp_sha = kSrcMac;

  ovs_key_arp arp;
  zero(arp);
  arp.arp_sip = ip4(10, 0, 0, 1);
  arp.arp_tip = ip4(10, 0, 0, 2);
  arp.arp_op = htons(1);
  std::memcpy(arp.arp_sha, kSrcMac.data(), 6);
  AttrBytes innermost;
  innermost.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0806)).put(OVS_KEY_ATTR_ARP, arp);
  AttrBytes inner;
  inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1014));
  inner.nest(OVS_KEY_ATTR_ENCAP, innermost);
  AttrBytes expected = metadata(3);
  expected.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  expected.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88a8)).u16(OVS_KEY_ATTR_VLAN, htons(0x100a));
  expected.nest(OVS_KEY_ATTR_ENCAP, inner);

  EXPECT_EQ(encode_key(key), expected.bytes);
}

TEST(KeyEncoding, VxlanTunnelKeyIsByteExact) {
  FlowKey key = ipv4_udp_key();
  key.tunnel.tun_id = htobe64(5000);
  key.tunnel.ipv4_src = ip4(172, 16, 0, 1);
  key.tunnel.ipv4_dst = ip4(172, 16, 0, 2);
  key.tunnel.ttl = 64;
  key.tunnel.tp_src = htons(49152);
  key.tunnel.tp_dst = htons(4789);
  key.tunnel.flags = kTunnelKey | kTunnelDontFragment;
  key.tunnel.vxlan_gbp = 0x00800042;

  AttrBytes tunnel;
  tunnel.u64(OVS_TUNNEL_KEY_ATTR_ID, htobe64(5000));
  tunnel.u32(OVS_TUNNEL_KEY_ATTR_IPV4_SRC, ip4(172, 16, 0, 1))
      .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(172, 16, 0, 2));
  tunnel.u8(OVS_TUNNEL_KEY_ATTR_TTL, 64).flag(OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
  tunnel.u16(OVS_TUNNEL_KEY_ATTR_TP_SRC, htons(49152)).u16(OVS_TUNNEL_KEY_ATTR_TP_DST, htons(4789));
  tunnel.nest(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS, AttrBytes().u32(OVS_VXLAN_EXT_GBP, 0x00800042));
  AttrBytes expected;
  expected.u32(OVS_KEY_ATTR_RECIRC_ID, 0).u32(OVS_KEY_ATTR_DP_HASH, 0).u32(OVS_KEY_ATTR_PRIORITY, 0);
  expected.nest(OVS_KEY_ATTR_TUNNEL, tunnel);
  std::vector<uint8_t> encoded = encode_key(key);
  ASSERT_GE(encoded.size(), expected.bytes.size());
  EXPECT_EQ(std::vector<uint8_t>(encoded.begin(), encoded.begin() + expected.bytes.size()), expected.bytes);
}

TEST(KeyEncoding, KeyWithoutPortLeavesInPortOut) {
  FlowKey key = ipv4_tcp_key();
  key.in_port = kNoInPort;
  std::vector<uint8_t> encoded = encode_key(key);
  Result<Match> match = decode_match(encoded, std::nullopt);
  ASSERT_TRUE(match) << match.status().message();
  EXPECT_EQ(match->mask.bits().in_port, 0u);  // no IN_PORT attribute to make exact
}

TEST(KeyEncoding, Llc802_2FrameOmitsEthertype) {
  FlowKey key = ethernet_key(4, 0x05ff);
  AttrBytes expected = metadata(4);
  expected.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  EXPECT_EQ(encode_key(key), expected.bytes);
}

// ---------------------------------------------------------------------------
// Round trips

// A megaflow mask as OVS builds them: in_port, recirc_id, ethertype and tci
// exact, mac_proto as the kernel forces it, plus whatever `edit` adds.
template <typename Edit>
FlowMask megaflow_mask(Edit edit) {
  FlowKey m{};
  m.in_port = ~0u;
  m.recirc_id = ~0u;
  m.eth_type = 0xffff;
  m.vlan.tci = 0xffff;
  m.cvlan.tci = 0xffff;
  m.mac_proto = 0xff;  // every megaflow the kernel installs matches mac_proto exactly
  edit(m);
  return FlowMask(m);
}

void expect_exact_round_trip(const FlowKey& key) {
  std::vector<uint8_t> bytes = encode_key(key);
  Result<Match> match = decode_match(bytes, std::nullopt);
  ASSERT_TRUE(match) << match.status().message();
  EXPECT_EQ(match->key, key);
  MatchAttributes again = encode_match(*match);
  EXPECT_EQ(again.key, bytes);
  Result<Match> back = decode_match(again.key, again.mask);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, *match);
}

void expect_match_round_trip(const Match& match) {
  MatchAttributes encoded = encode_match(match);
  Result<Match> back = decode_match(encoded.key, encoded.mask);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->key, match.key);
  EXPECT_EQ(back->mask, match.mask);
}

TEST(KeyRoundTrip, Ipv4Tcp) { expect_exact_round_trip(ipv4_tcp_key()); }

TEST(KeyRoundTrip, Layer3Ipv4Udp) { expect_exact_round_trip(layer3_ipv4_udp_key()); }

TEST(MatchRoundTrip, WildcardedLayer3Megaflow) {
  FlowKey key = layer3_ipv4_udp_key();
  expect_match_round_trip(Match(key, megaflow_mask([](FlowKey& m) {
                                  m.ip_proto = 0xff;
                                  m.ip_frag = 0xff;
                                  m.ipv4_dst = htonl(0xffffff00);
                                  m.tp_dst = 0xffff;
                                })));
}

TEST(KeyRoundTrip, Ipv6Udp) {
  FlowKey key = ethernet_key(7, 0x86dd);
  key.ipv6_src = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  key.ipv6_dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 2});
  key.ipv6_label = htonl(0xabcde);
  key.ip_proto = 17;
  key.ip_tos = 0x28;
  key.ip_ttl = 255;
  key.tp_src = htons(546);
  key.tp_dst = htons(547);
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, IcmpEcho) {
  FlowKey key = ethernet_key(1, 0x0800);
  key.ipv4_src = ip4(10, 0, 0, 1);
  key.ipv4_dst = ip4(10, 0, 0, 2);
  key.ip_proto = 1;
  key.ip_ttl = 64;
  key.tp_src = htons(8);  // echo request
  key.tp_dst = htons(0);
  expect_exact_round_trip(key);

  // The attribute carries type and code as single bytes.
  ovs_key_icmp icmp;
  zero(icmp);
  icmp.icmp_type = 8;
  AttrBytes attribute;
  attribute.put(OVS_KEY_ATTR_ICMP, icmp);
  std::vector<uint8_t> encoded = encode_key(key);
  EXPECT_EQ(std::vector<uint8_t>(encoded.end() - attribute.bytes.size(), encoded.end()), attribute.bytes);
}

TEST(KeyRoundTrip, Icmpv6NeighbourSolicitationCarriesNd) {
  FlowKey key = ethernet_key(1, 0x86dd);
  key.ipv6_src = ip6({0xfe80, 0, 0, 0, 0, 0, 0, 1});
  key.ipv6_dst = ip6({0xff02, 0, 0, 0, 0, 1, 0xff00, 2});
  key.ip_proto = 58;
  key.ip_ttl = 255;
  key.tp_src = htons(135);
  key.nd_target = ip6({0xfe80, 0, 0, 0, 0, 0, 0, 2});
  key.nd_sll = kSrcMac;
  expect_exact_round_trip(key);

  std::vector<uint8_t> encoded = encode_key(key);
  ovs_key_nd nd;
  zero(nd);
  std::memcpy(nd.nd_target, key.nd_target.data(), 16);
  std::memcpy(nd.nd_sll, kSrcMac.data(), 6);
  AttrBytes tail;
  ovs_key_icmpv6 icmpv6;
  zero(icmpv6);
  icmpv6.icmpv6_type = 135;
  tail.put(OVS_KEY_ATTR_ICMPV6, icmpv6).put(OVS_KEY_ATTR_ND, nd);
  EXPECT_EQ(std::vector<uint8_t>(encoded.end() - tail.bytes.size(), encoded.end()), tail.bytes);
}

TEST(KeyRoundTrip, Icmpv6EchoHasNoNd) {
  FlowKey key = ethernet_key(1, 0x86dd);
  key.ipv6_src = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  key.ip_proto = 58;
  key.tp_src = htons(128);
  expect_exact_round_trip(key);
  Result<Match> match = decode_match(encode_key(key), std::nullopt);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->mask.bits().nd_target, Ipv6Addr{});
}

TEST(KeyRoundTrip, Arp) {
  FlowKey key = ethernet_key(9, 0x0806);
  key.arp_op = htons(2);
  key.arp_sip = ip4(10, 1, 1, 1);
  key.arp_tip = ip4(10, 1, 1, 2);
  key.arp_sha = kSrcMac;
  key.arp_tha = kDstMac;
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, Rarp) {
  FlowKey key = ethernet_key(9, 0x8035);
  key.arp_op = htons(3);
  key.arp_sha = kSrcMac;
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, VlanTagged) {
  FlowKey key = ipv4_tcp_key();
  key.vlan = {htons(0x8100), htons(0x1000 | 0x2000 | 42)};
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, Qinq) {
  FlowKey key = ipv4_udp_key();
  key.vlan = {htons(0x88a8), htons(0x1000 | 300)};
  key.cvlan = {htons(0x8100), htons(0x1000 | 400)};
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, ThirdTagStopsTheKey) {
  FlowKey key = ethernet_key(1, 0x8100);
  key.vlan = {htons(0x88a8), htons(0x1000 | 1)};
  key.cvlan = {htons(0x8100), htons(0x1000 | 2)};
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, MplsThreeLabels) {
  FlowKey key = ethernet_key(5, 0x8847);
  key.mpls_depth = 3;
  key.mpls_lse[0] = htonl(100 << 12 | 64);
  key.mpls_lse[1] = htonl(200 << 12 | 64);
  key.mpls_lse[2] = htonl(300 << 12 | 1 << 8 | 64);
  expect_exact_round_trip(key);

  AttrBytes tail;
  tail.put(OVS_KEY_ATTR_MPLS, key.mpls_lse);  // three ovs_key_mpls, outermost first
  std::vector<uint8_t> encoded = encode_key(key);
  EXPECT_EQ(std::vector<uint8_t>(encoded.end() - tail.bytes.size(), encoded.end()), tail.bytes);
}

TEST(KeyRoundTrip, MplsOneLabelMulticast) {
  FlowKey key = ethernet_key(5, 0x8848);
  key.mpls_depth = 1;
  key.mpls_lse[0] = htonl(16 << 12 | 1 << 8 | 5);
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, Ipv4TunnelWithGbp) {
  FlowKey key = ipv4_udp_key();
  key.tunnel.tun_id = htobe64(0x123456);
  key.tunnel.ipv4_src = ip4(172, 16, 0, 1);
  key.tunnel.ipv4_dst = ip4(172, 16, 0, 2);
  key.tunnel.tos = 0x10;
  key.tunnel.ttl = 64;
  key.tunnel.tp_src = htons(40000);
  key.tunnel.tp_dst = htons(4789);
  key.tunnel.flags = kTunnelKey | kTunnelCsum | kTunnelOam;
  key.tunnel.vxlan_gbp = 0x00c80010;
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, Ipv6TunnelWithoutKey) {
  FlowKey key = ipv4_tcp_key();
  key.tunnel.ipv6_src = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa});
  key.tunnel.ipv6_dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xb});
  key.tunnel.ttl = 32;
  key.tunnel.tp_dst = htons(6081);
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, ConntrackFieldsWithIpv4OriginalTuple) {
  FlowKey key = ipv4_tcp_key();
  key.recirc_id = 7;
  key.dp_hash = 0xdeadbeef;
  key.priority = 3;
  key.skb_mark = 0x55;
  key.ct_state = kCtTracked | kCtEstablished | kCtReplyDir;
  key.ct_zone = 12;
  key.ct_mark = 0xcafe;
  key.ct_labels[0] = 0x01;
  key.ct_labels[15] = 0x80;
  key.ct_orig_proto = 6;
  key.ct_orig_ipv4_src = ip4(10, 0, 0, 2);
  key.ct_orig_ipv4_dst = ip4(10, 0, 0, 1);
  key.ct_orig_tp_src = htons(80);
  key.ct_orig_tp_dst = htons(12345);
  expect_exact_round_trip(key);

  ovs_key_ct_tuple_ipv4 tuple;
  zero(tuple);
  tuple.ipv4_src = ip4(10, 0, 0, 2);
  tuple.ipv4_dst = ip4(10, 0, 0, 1);
  tuple.src_port = htons(80);
  tuple.dst_port = htons(12345);
  tuple.ipv4_proto = 6;
  AttrBytes attribute;
  attribute.put(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, tuple);
  std::vector<uint8_t> encoded = encode_key(key);
  auto found = std::search(encoded.begin(), encoded.end(), attribute.bytes.begin(), attribute.bytes.end());
  EXPECT_NE(found, encoded.end());
}

TEST(KeyRoundTrip, ConntrackIpv6OriginalTuple) {
  FlowKey key = ethernet_key(1, 0x86dd);
  key.ipv6_src = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  key.ip_proto = 17;
  key.ct_state = kCtTracked | kCtNew;
  key.ct_orig_proto = 17;
  key.ct_orig_ipv6_src = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  key.ct_orig_ipv6_dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 9});
  key.ct_orig_tp_dst = htons(53);
  expect_exact_round_trip(key);
}

TEST(KeyRoundTrip, SctpAndLaterFragment) {
  FlowKey sctp = ipv4_tcp_key();
  sctp.ip_proto = 132;
  sctp.tcp_flags = 0;
  expect_exact_round_trip(sctp);

  FlowKey fragment = ipv4_tcp_key();
  fragment.ip_frag = kFragLater;
  fragment.tp_src = fragment.tp_dst = fragment.tcp_flags = 0;
  expect_exact_round_trip(fragment);
  std::vector<uint8_t> encoded = encode_key(fragment);
  AttrBytes ipv4_last;
  ipv4_last.put(OVS_KEY_ATTR_IPV4,
                ipv4_struct(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 6, 0, 64, OVS_FRAG_TYPE_LATER));
  EXPECT_EQ(std::vector<uint8_t>(encoded.end() - ipv4_last.bytes.size(), encoded.end()), ipv4_last.bytes)
      << "a later fragment has no L4 attributes";
}

TEST(KeyRoundTrip, Llc802_2NeedsAnExplicitEthertypeMask) {
  FlowKey key = ethernet_key(4, 0x05ff);
  // As in the kernel, the mask derived from an 802.3 key has no ETHERTYPE
  // attribute to make exact, so the ethertype ends up wildcarded...
  Result<Match> derived = decode_match(encode_key(key), std::nullopt);
  ASSERT_TRUE(derived) << derived.status().message();
  EXPECT_EQ(derived->mask.bits().eth_type, 0);
  // ...and OVS sends ETHERTYPE 0xffff in the mask to match 802.3 frames only.
  MatchAttributes encoded = encode_match(Match(key, megaflow_mask([](FlowKey& m) { m.eth_src.fill(0xff); })));
  Result<Match> back = decode_match(encoded.key, encoded.mask);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->key.eth_type, htons(0x05ff));
  EXPECT_EQ(back->mask.bits().eth_type, 0xffff);
  expect_match_round_trip(*back);
}

TEST(MatchRoundTrip, WildcardedIpv4TcpMegaflow) {
  FlowMask mask = megaflow_mask([](FlowKey& m) {
    m.ip_proto = 0xff;
    m.ip_frag = 0xff;
    m.ipv4_dst = htonl(0xffffff00);
    m.tp_dst = 0xffff;
  });
  expect_match_round_trip(Match(ipv4_tcp_key(), mask));
}

TEST(MatchRoundTrip, WildcardedEthTypeKeepsOnlyMetadata) {
  FlowMask mask = megaflow_mask([](FlowKey& m) {
    m.eth_type = 0;
    m.eth_dst = EthAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  });
  Match match(ipv4_tcp_key(), mask);
  expect_match_round_trip(match);
  MatchAttributes encoded = encode_match(match);
  AttrBytes ipv4_type;
  ipv4_type.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  EXPECT_EQ(
      std::search(encoded.key.begin(), encoded.key.end(), ipv4_type.bytes.begin(), ipv4_type.bytes.end()),
      encoded.key.end());
}

TEST(MatchRoundTrip, VlanWithPartialTciMask) {
  FlowKey key = ipv4_udp_key();
  key.vlan = {htons(0x8100), htons(0x1000 | 0xe000 | 77)};
  FlowMask mask = megaflow_mask([](FlowKey& m) {
    m.vlan.tpid = 0xffff;
    m.vlan.tci = htons(0x1fff);  // VID and CFI, any PCP
    m.ip_proto = 0xff;
    m.tp_dst = 0xffff;
  });
  expect_match_round_trip(Match(key, mask));
}

TEST(MatchRoundTrip, TunnelMatchOnIdAndDestination) {
  FlowKey key = ipv4_udp_key();
  key.tunnel.tun_id = htobe64(99);
  key.tunnel.ipv4_dst = ip4(172, 16, 0, 2);
  key.tunnel.ipv4_src = ip4(172, 16, 0, 1);
  key.tunnel.ttl = 64;
  key.tunnel.flags = kTunnelKey;
  FlowMask mask = megaflow_mask([](FlowKey& m) {
    m.tunnel.tun_id = ~Be64{0};
    m.tunnel.ipv4_dst = ~0u;
    m.tunnel.flags = kTunnelKey | kTunnelDontFragment | kTunnelCsum;
  });
  expect_match_round_trip(Match(key, mask));
}

TEST(MatchRoundTrip, MplsStackMatchedOnTopLabelOnly) {
  FlowKey key = ethernet_key(5, 0x8847);
  key.mpls_depth = 2;
  key.mpls_lse[0] = htonl(100 << 12);
  key.mpls_lse[1] = htonl(200 << 12 | 1 << 8);
  FlowMask mask = megaflow_mask([](FlowKey& m) {
    m.mpls_depth = 0xff;
    m.mpls_lse[0] = htonl(0xfffff000);
  });
  expect_match_round_trip(Match(key, mask));
}

// ---------------------------------------------------------------------------
// ovs_nla_get_match semantics

AttrBytes minimal_udp_key() {
  ovs_key_udp udp;
  zero(udp);
  udp.udp_dst = htons(53);
  AttrBytes b;
  b.u32(OVS_KEY_ATTR_IN_PORT, 1);
  b.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  b.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  b.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 17, 0, 64, 0));
  b.put(OVS_KEY_ATTR_UDP, udp);
  return b;
}

TEST(MatchDecoding, MissingMaskMatchesExactlyWhatTheKeyCarries) {
  Result<Match> match = decode_match(minimal_udp_key().span(), std::nullopt);
  ASSERT_TRUE(match) << match.status().message();
  const FlowKey& m = match->mask.bits();
  EXPECT_EQ(m.in_port, ~0u);
  EXPECT_EQ(m.eth_type, 0xffff);
  EXPECT_EQ(m.ipv4_dst, ~0u);
  EXPECT_EQ(m.ip_frag, 0xff);
  EXPECT_EQ(m.tp_dst, 0xffff);
  EXPECT_EQ(m.recirc_id, 0u) << "no RECIRC_ID attribute, so not matched";
  EXPECT_EQ(m.tcp_flags, 0) << "UDP has no flags attribute";
  EXPECT_EQ(m.vlan.tci, 0xffff) << "the kernel always matches the tci";
}

TEST(MatchDecoding, MaskInPortAndEthertypeAreAlwaysExact) {
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_IN_PORT, 0x0000ff00).u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0f00));
  Result<Match> match = decode_match(minimal_udp_key().span(), mask.span());
  ASSERT_TRUE(match) << match.status().message();
  EXPECT_EQ(match->mask.bits().in_port, ~0u);
  EXPECT_EQ(match->mask.bits().eth_type, 0xffff);
  EXPECT_EQ(match->mask.bits().ipv4_dst, 0u);
}

TEST(MatchDecoding, AllZeroMaskAttributesCountAsAbsent) {
  // A zero TCP mask for a UDP key would be "unexpected" if it counted.
  AttrBytes mask;
  mask.put(OVS_KEY_ATTR_TCP, zeroed_struct<ovs_key_tcp>()).u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  Result<Match> match = decode_match(minimal_udp_key().span(), mask.span());
  EXPECT_TRUE(match) << match.status().message();
}

TEST(MatchDecoding, KeyWithoutInPortHasNoPort) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc));
  Result<FlowKey> decoded = decode_key(key.span());
  ASSERT_TRUE(decoded) << decoded.status().message();
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_IN_PORT, ~0u).u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  Result<Match> match = decode_match(key.span(), mask.span());
  ASSERT_TRUE(match) << match.status().message();
  EXPECT_EQ(match->key.in_port, kNoInPort);
}

TEST(MatchDecoding, EthernetWithoutEthertypeIs802_2) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  Result<FlowKey> decoded = decode_key(key.span());
  ASSERT_TRUE(decoded) << decoded.status().message();
  EXPECT_EQ(decoded->eth_type, htons(0x05ff));
}

TEST(KeyDecoding, PacketKeysThatNoFlowCouldMatchStillDecode) {
  // A truncated VLAN header: the kernel reports the tag it could not parse.
  AttrBytes truncated;
  truncated.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  truncated.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, 0);
  truncated.nest(OVS_KEY_ATTR_ENCAP, AttrBytes());
  Result<FlowKey> key = decode_key(truncated.span());
  ASSERT_TRUE(key) << key.status().message();
  EXPECT_EQ(key->vlan.tpid, htons(0x8100));
  EXPECT_EQ(key->vlan.tci, 0);
  EXPECT_FALSE(decode_match(truncated.span(), std::nullopt));

  // Linux 5.16+ reports IPv6 extension headers, which FlowKey does not keep.
  ovs_key_ipv6 ipv6;
  zero(ipv6);
  ipv6.ipv6_proto = 59;
  AttrBytes exthdrs;
  exthdrs.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  exthdrs.put(OVS_KEY_ATTR_IPV6, ipv6).u16(OVS_KEY_ATTR_IPV6_EXTHDRS, 0x0001);
  key = decode_key(exthdrs.span());
  ASSERT_TRUE(key) << key.status().message();
  EXPECT_EQ(key->ip_proto, 59);
}

TEST(MatchDecoding, AttributesMayBeInAnyOrder) {
  AttrBytes shuffled;
  ovs_key_udp udp;
  zero(udp);
  shuffled.put(OVS_KEY_ATTR_UDP, udp);
  shuffled.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 17, 0, 64, 0));
  shuffled.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  shuffled.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  EXPECT_TRUE(decode_key(shuffled.span()));
}

TEST(MatchDecoding, LastAttributeMayOmitItsPadding) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc));
  key.bytes.resize(key.bytes.size() - 2);  // the ETHERTYPE attribute is 6 bytes, padded to 8
  EXPECT_TRUE(decode_key(key.span()));
}

// ---------------------------------------------------------------------------
// Malformed keys and masks

void expect_key_error(const AttrBytes& key, const std::string& fragment) {
  Result<Match> match = decode_match(key.span(), std::nullopt);
  ASSERT_FALSE(match) << "accepted; expected an error containing: " << fragment;
  EXPECT_EQ(match.status().code(), EINVAL);
  EXPECT_THAT(match.status().message(), HasSubstr(fragment));
}

void expect_mask_error(const AttrBytes& key, const AttrBytes& mask, const std::string& fragment) {
  Result<Match> match = decode_match(key.span(), mask.span());
  ASSERT_FALSE(match) << "accepted; expected an error containing: " << fragment;
  EXPECT_THAT(match.status().message(), HasSubstr(fragment));
}

TEST(MalformedKey, TruncatedAttributeHeader) {
  AttrBytes key = minimal_udp_key();
  key.raw({0x08, 0x00});
  expect_key_error(key, "truncated header");
}

TEST(MalformedKey, LengthOverrunsTheBuffer) {
  AttrBytes key = minimal_udp_key();
  key.raw({0x20, 0x00, OVS_KEY_ATTR_SKB_MARK, 0x00, 1, 2, 3, 4});
  expect_key_error(key, "nla_len 32 overruns the 8 bytes left");
}

TEST(MalformedKey, NlaLenBelowHeaderSize) {
  AttrBytes key = minimal_udp_key();
  key.raw({0x02, 0x00, OVS_KEY_ATTR_SKB_MARK, 0x00});
  expect_key_error(key, "nla_len 2 is smaller than its 4-byte header");
}

TEST(MalformedKey, WrongLengthPerAttributeType) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  uint8_t ten[10] = {};
  key.put(OVS_KEY_ATTR_IPV4, ten, sizeof ten);
  expect_key_error(key, "OVS_KEY_ATTR_IPV4: length 10, expected 12");

  AttrBytes in_port;
  in_port.u16(OVS_KEY_ATTR_IN_PORT, 1);
  expect_key_error(in_port, "OVS_KEY_ATTR_IN_PORT: length 2, expected 4");

  AttrBytes ethernet;
  uint8_t eleven[11] = {};
  ethernet.put(OVS_KEY_ATTR_ETHERNET, eleven, sizeof eleven);
  expect_key_error(ethernet, "OVS_KEY_ATTR_ETHERNET: length 11, expected 12");
}

TEST(MalformedKey, DuplicateAttribute) {
  AttrBytes key = minimal_udp_key();
  key.u32(OVS_KEY_ATTR_IN_PORT, 2);
  expect_key_error(key, "OVS_KEY_ATTR_IN_PORT: duplicate attribute");
}

TEST(MalformedKey, DuplicateAcrossEncapLevels) {
  AttrBytes inner;
  inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc)).u32(OVS_KEY_ATTR_SKB_MARK, 1);
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_SKB_MARK, 1).put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1001));
  key.nest(OVS_KEY_ATTR_ENCAP, inner);
  expect_key_error(key, "OVS_KEY_ATTR_ENCAP: OVS_KEY_ATTR_SKB_MARK: duplicate attribute");
}

TEST(MalformedKey, UnknownAttributeType) {
  AttrBytes key = minimal_udp_key();
  key.u32(40, 0);
  expect_key_error(key, "unknown key attribute type 40");
}

TEST(MalformedKey, AttributeTheKernelDoesNotAccept) {
  AttrBytes key = minimal_udp_key();
  key.flag(OVS_KEY_ATTR_PACKET_TYPE);
  expect_key_error(key, "OVS_KEY_ATTR_PACKET_TYPE: not accepted by the datapath");
}

TEST(MalformedKey, EncapWithoutVlan) {
  AttrBytes key = minimal_udp_key();
  key.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u32(OVS_KEY_ATTR_SKB_MARK, 1));
  expect_key_error(key, "OVS_KEY_ATTR_ENCAP: only valid after OVS_KEY_ATTR_ETHERTYPE 0x8100/0x88a8");
}

TEST(MalformedKey, VlanEthertypeWithoutEncap) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1001));
  expect_key_error(key, "OVS_KEY_ATTR_VLAN and OVS_KEY_ATTR_ENCAP are not both present");
}

TEST(MalformedKey, VlanOutsideATag) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc)).u16(OVS_KEY_ATTR_VLAN, htons(0x1001));
  expect_key_error(key, "OVS_KEY_ATTR_VLAN: only valid after");
}

TEST(MalformedKey, VlanTciWithoutCfiBit) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(100));
  key.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc)));
  expect_key_error(key, "lacks the VLAN_CFI_MASK bit");
}

TEST(MalformedKey, TruncatedTagWithNonEmptyEncap) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, 0);
  key.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc)));
  expect_key_error(key, "must have an empty ENCAP");
}

TEST(MalformedKey, TruncatedTagCannotBeInstalled) {
  // The kernel accepts the key but drops the empty ENCAP from the mask it
  // derives and then trips over the VLAN mask attribute.
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, 0);
  key.nest(OVS_KEY_ATTR_ENCAP, AttrBytes());
  expect_key_error(key, "mask (exact, derived from the key): OVS_KEY_ATTR_VLAN: only valid after");
}

TEST(MalformedKey, Ipv4AttributeWithoutIpv4Ethertype) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0806));
  ovs_key_arp arp;
  zero(arp);
  key.put(OVS_KEY_ATTR_ARP, arp);
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 17, 0, 64, 0));
  expect_key_error(key, "OVS_KEY_ATTR_IPV4: does not fit the key's eth_type 0x0806");
}

TEST(MalformedKey, TransportAttributeForAnotherProtocol) {
  AttrBytes key = minimal_udp_key();
  key.put(OVS_KEY_ATTR_TCP, zeroed_struct<ovs_key_tcp>());
  expect_key_error(key, "OVS_KEY_ATTR_TCP: does not fit the key's eth_type 0x0800, ip_proto 17");
}

TEST(MalformedKey, MissingTransportAttribute) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 6, 0, 64, 0));
  key.put(OVS_KEY_ATTR_TCP, zeroed_struct<ovs_key_tcp>());
  expect_key_error(key, "OVS_KEY_ATTR_TCP_FLAGS missing: the key's eth_type 0x0800, ip_proto 6 calls for it");
}

TEST(MalformedKey, MissingL3Attribute) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  expect_key_error(key, "OVS_KEY_ATTR_IPV6 missing");
}

TEST(MalformedKey, NdForAnIcmpv6EchoRequest) {
  ovs_key_ipv6 ipv6;
  zero(ipv6);
  ipv6.ipv6_proto = 58;
  ovs_key_icmpv6 icmpv6;
  zero(icmpv6);
  icmpv6.icmpv6_type = 128;
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  key.put(OVS_KEY_ATTR_IPV6, ipv6)
      .put(OVS_KEY_ATTR_ICMPV6, icmpv6)
      .put(OVS_KEY_ATTR_ND, zeroed_struct<ovs_key_nd>());
  expect_key_error(key, "OVS_KEY_ATTR_ND: does not fit");
}

TEST(MalformedKey, EthertypeBelow0x0600) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x05dc));
  expect_key_error(key, "OVS_KEY_ATTR_ETHERTYPE: 0x05dc is below 0x0600");
}

TEST(MalformedKey, InPortOutOfRange) {
  AttrBytes key = minimal_udp_key();
  key.bytes.erase(key.bytes.begin(), key.bytes.begin() + 8);
  key.u32(OVS_KEY_ATTR_IN_PORT, 65535);
  expect_key_error(key, "OVS_KEY_ATTR_IN_PORT: port 65535 is out of range");
}

TEST(MalformedKey, FieldValuesTheKernelRefuses) {
  AttrBytes frag;
  frag.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  frag.put(OVS_KEY_ATTR_IPV4, ipv4_struct(0, 0, 0, 0, 0, 3));
  expect_key_error(frag, "OVS_KEY_ATTR_IPV4: fragment type 3 is out of range");

  ovs_key_ipv6 ipv6;
  zero(ipv6);
  ipv6.ipv6_label = htonl(0x100000);
  AttrBytes label;
  label.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  label.put(OVS_KEY_ATTR_IPV6, ipv6);
  expect_key_error(label, "OVS_KEY_ATTR_IPV6: flow label 1048576 does not fit in 20 bits");

  ovs_key_arp arp;
  zero(arp);
  arp.arp_op = htons(0x0101);
  AttrBytes opcode;
  opcode.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0806));
  opcode.put(OVS_KEY_ATTR_ARP, arp);
  expect_key_error(opcode, "OVS_KEY_ATTR_ARP: opcode 257 does not fit in 8 bits");

  AttrBytes ct = minimal_udp_key();
  ct.u32(OVS_KEY_ATTR_CT_STATE, 0x100);
  expect_key_error(ct, "OVS_KEY_ATTR_CT_STATE: unsupported flags 0x00000100");
}

TEST(MalformedKey, MplsLengthNotWholeLabels) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8847));
  uint8_t six[6] = {};
  key.put(OVS_KEY_ATTR_MPLS, six, sizeof six);
  expect_key_error(key, "OVS_KEY_ATTR_MPLS: length 6, expected 1 to 3 label stack entries");

  AttrBytes four_labels;
  four_labels.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  four_labels.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8847));
  uint8_t sixteen[16] = {};
  four_labels.put(OVS_KEY_ATTR_MPLS, sixteen, sizeof sixteen);
  expect_key_error(four_labels, "OVS_KEY_ATTR_MPLS: length 16");
}

// The kernel puts mac_proto into every mask ("always exact match mac_proto"),
// Ethernet or not, even when the mask names nothing about the MAC header.
TEST(KeyDecoding, EveryDecodedMaskMatchesMacProtoExactly) {
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_IN_PORT, ~0u);
  Result<Match> ethernet = decode_match(minimal_udp_key().span(), mask.span());
  ASSERT_TRUE(ethernet) << ethernet.status().message();
  EXPECT_EQ(ethernet->key.mac_proto, kMacProtoEthernet);
  EXPECT_EQ(ethernet->mask.bits().mac_proto, 0xff);

  FlowKey layer3_packet = ethernet->key;
  layer3_packet.mac_proto = kMacProtoNone;
  EXPECT_FALSE(ethernet->matches(layer3_packet));
}

TEST(MalformedKey, KeyWithNeitherEthernetNorEthertype) {
  expect_key_error(AttrBytes().u32(OVS_KEY_ATTR_IN_PORT, 1), "neither OVS_KEY_ATTR_ETHERNET nor");
}

// A layer-3 key (no OVS_KEY_ATTR_ETHERNET): the VLAN attributes have no MAC
// header to belong to. The kernel leaves them over and refuses the key.
TEST(MalformedKey, Layer3KeyWithVlanTag) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 1);
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1005));
  key.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800)));
  expect_key_error(key,
                   "OVS_KEY_ATTR_ENCAP, OVS_KEY_ATTR_VLAN: a key without OVS_KEY_ATTR_ETHERNET is a layer-3 "
                   "packet, which has no VLAN tags");
}

TEST(MalformedKey, Layer3KeyWithAnEtherTypeBelow0x0600) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 1).u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x05ff));
  expect_key_error(key, "OVS_KEY_ATTR_ETHERTYPE: 0x05ff is below 0x0600");
}

// OVS_KEY_ATTR_PACKET_TYPE as userspace OVS would write it (be32 ns << 16 |
// id): the kernel has no length for it in ovs_key_lens and refuses it.
TEST(MalformedKey, PacketTypeAttributeOfUserspaceOvs) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 1).u32(OVS_KEY_ATTR_PACKET_TYPE, htonl(0x00010800));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 0, 0, 64, 0));
  expect_key_error(key, "OVS_KEY_ATTR_PACKET_TYPE");
}

TEST(MalformedMask, Layer3MaskThatWildcardsTheEthertype) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 1).u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 0, 0, 64, 0));
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_IN_PORT, ~0u);
  expect_mask_error(key, mask,
                    "OVS_KEY_ATTR_ETHERTYPE: a layer-3 key (no OVS_KEY_ATTR_ETHERNET) needs its ethertype "
                    "matched exactly (mask 0x0000)");
}

TEST(MalformedMask, EthernetMaskForALayer3Key) {
  AttrBytes key;
  key.u32(OVS_KEY_ATTR_IN_PORT, 1).u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  key.put(OVS_KEY_ATTR_IPV4, ipv4_struct(ip4(1, 1, 1, 1), ip4(2, 2, 2, 2), 0, 0, 64, 0));
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_IN_PORT, ~0u).put(OVS_KEY_ATTR_ETHERNET, all_ones<ovs_key_ethernet>());
  mask.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  expect_mask_error(key, mask, "OVS_KEY_ATTR_ETHERNET: the mask matches it but the key does not carry it");
}

TEST(MalformedKey, NestedTruncatedHeaderInsideEncap) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1001));
  AttrBytes inner;
  inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc)).raw({0x01, 0x00});
  key.nest(OVS_KEY_ATTR_ENCAP, inner);
  expect_key_error(key, "OVS_KEY_ATTR_ENCAP: attribute at byte 8: truncated header");
}

TEST(MalformedTunnel, KeyTunnelNeedsDestinationAndTtl) {
  AttrBytes no_dst = minimal_udp_key();
  no_dst.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u8(OVS_TUNNEL_KEY_ATTR_TTL, 64));
  expect_key_error(no_dst, "OVS_KEY_ATTR_TUNNEL: no tunnel destination address");

  AttrBytes zero_dst = minimal_udp_key();
  zero_dst.nest(OVS_KEY_ATTR_TUNNEL,
                AttrBytes().u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, 0).u8(OVS_TUNNEL_KEY_ATTR_TTL, 64));
  expect_key_error(zero_dst, "OVS_TUNNEL_KEY_ATTR_IPV4_DST: the destination is zero");

  AttrBytes no_ttl = minimal_udp_key();
  no_ttl.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4)));
  expect_key_error(no_ttl, "OVS_TUNNEL_KEY_ATTR_TTL missing");
}

TEST(MalformedTunnel, MixedFamiliesWrongLengthsAndUnsupportedOptions) {
  AttrBytes mixed = minimal_udp_key();
  auto v6 = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  mixed.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes()
                                      .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4))
                                      .put(OVS_TUNNEL_KEY_ATTR_IPV6_DST, v6)
                                      .u8(OVS_TUNNEL_KEY_ATTR_TTL, 1));
  expect_key_error(mixed, "both IPv4 and IPv6 tunnel addresses");

  AttrBytes ttl = minimal_udp_key();
  ttl.nest(OVS_KEY_ATTR_TUNNEL,
           AttrBytes().u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4)).u16(OVS_TUNNEL_KEY_ATTR_TTL, 64));
  expect_key_error(ttl, "OVS_TUNNEL_KEY_ATTR_TTL: length 2, expected 1");

  AttrBytes geneve = minimal_udp_key();
  geneve.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes()
                                       .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4))
                                       .u8(OVS_TUNNEL_KEY_ATTR_TTL, 64)
                                       .u64(OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS, 0));
  expect_key_error(geneve, "OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS: not supported by flowlift");

  AttrBytes vxlan = minimal_udp_key();
  vxlan.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes()
                                      .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4))
                                      .u8(OVS_TUNNEL_KEY_ATTR_TTL, 64)
                                      .nest(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS, AttrBytes().u32(2, 0)));
  expect_key_error(vxlan, "unknown VXLAN extension attribute type 2");

  AttrBytes unknown = minimal_udp_key();
  unknown.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u32(30, 0));
  expect_key_error(unknown, "unknown tunnel attribute type 30");
}

// --- Masks ---

TEST(MalformedMask, MaskAttributeTheKeyDoesNotCarry) {
  AttrBytes mask;
  mask.u32(OVS_KEY_ATTR_SKB_MARK, 0xff);
  expect_mask_error(minimal_udp_key(), mask,
                    "mask: OVS_KEY_ATTR_SKB_MARK: the mask matches it but the key does not");
}

TEST(MalformedMask, TransportMaskWithoutExactProtocol) {
  ovs_key_udp udp;
  zero(udp);
  udp.udp_dst = 0xffff;
  AttrBytes mask;
  mask.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  mask.put(OVS_KEY_ATTR_IPV4, ipv4_struct(~0u, 0, 0x0f, 0, 0, 0));
  mask.put(OVS_KEY_ATTR_UDP, udp);
  expect_mask_error(minimal_udp_key(), mask,
                    "OVS_KEY_ATTR_UDP: the mask must match ip_proto exactly (mask 0x000f)");
}

TEST(MalformedMask, L3MaskWithoutEthertype) {
  AttrBytes mask;
  mask.put(OVS_KEY_ATTR_IPV4, ipv4_struct(~0u, 0, 0, 0, 0, 0));
  expect_mask_error(minimal_udp_key(), mask, "OVS_KEY_ATTR_IPV4: the mask must match the ethertype exactly");
}

TEST(MalformedMask, MaskWithWrongLength) {
  AttrBytes mask;
  mask.u16(OVS_KEY_ATTR_SKB_MARK, 1);
  expect_mask_error(minimal_udp_key(), mask, "mask: OVS_KEY_ATTR_SKB_MARK: length 2, expected 4");
}

AttrBytes tagged_key() {
  AttrBytes inner;
  inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x88cc));
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac));
  key.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8100)).u16(OVS_KEY_ATTR_VLAN, htons(0x1005));
  key.nest(OVS_KEY_ATTR_ENCAP, inner);
  return key;
}

TEST(MalformedMask, EncapForAnUntaggedKey) {
  AttrBytes mask;
  mask.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff).u16(OVS_KEY_ATTR_VLAN, 0xffff);
  mask.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff));
  expect_mask_error(minimal_udp_key(), mask,
                    "OVS_KEY_ATTR_ENCAP: the mask describes a VLAN tag the key does not have");
}

TEST(MalformedMask, TagMaskNeedsExactTpidAndCfi) {
  AttrBytes tpid;
  tpid.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0xff00)).u16(OVS_KEY_ATTR_VLAN, 0xffff);
  tpid.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff));
  expect_mask_error(tagged_key(), tpid, "the mask of a VLAN tag's TPID must be 0xffff, got 0xff00");

  AttrBytes cfi;
  cfi.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff).u16(OVS_KEY_ATTR_VLAN, htons(0x0fff));
  cfi.nest(OVS_KEY_ATTR_ENCAP, AttrBytes().u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff));
  expect_mask_error(tagged_key(), cfi, "must cover VLAN_CFI_MASK (0x1000), got 0x0fff");
}

TEST(MalformedMask, MplsMaskWithAnotherLabelCount) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x8847));
  key.u32(OVS_KEY_ATTR_MPLS, htonl(100 << 12 | 1 << 8));
  AttrBytes mask;
  mask.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff).u64(OVS_KEY_ATTR_MPLS, ~0ull);
  expect_mask_error(key, mask, "OVS_KEY_ATTR_MPLS: the mask has 2 label stack entries, the key 1");
}

TEST(MalformedMask, NdAndIpv6OriginalTupleTogether) {
  ovs_key_ipv6 ipv6;
  zero(ipv6);
  ipv6.ipv6_proto = 58;
  ovs_key_icmpv6 icmpv6;
  zero(icmpv6);
  icmpv6.icmpv6_type = 136;
  ovs_key_ct_tuple_ipv6 tuple;
  zero(tuple);
  tuple.ipv6_proto = 58;
  AttrBytes key;
  key.put(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, tuple);
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  key.put(OVS_KEY_ATTR_IPV6, ipv6)
      .put(OVS_KEY_ATTR_ICMPV6, icmpv6)
      .put(OVS_KEY_ATTR_ND, zeroed_struct<ovs_key_nd>());
  expect_key_error(key, "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6: cannot be matched together with OVS_KEY_ATTR_ND");
}

TEST(MalformedMask, TunnelMaskThatDropsTheDestination) {
  AttrBytes key = minimal_udp_key();
  key.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes()
                                    .u64(OVS_TUNNEL_KEY_ATTR_ID, htobe64(7))
                                    .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4))
                                    .u8(OVS_TUNNEL_KEY_ATTR_TTL, 64));
  AttrBytes mask;
  mask.nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u64(OVS_TUNNEL_KEY_ATTR_ID, ~0ull));
  expect_mask_error(key, mask, "wildcards the tunnel destination");

  AttrBytes keep_destination;
  keep_destination.nest(
      OVS_KEY_ATTR_TUNNEL,
      AttrBytes().u64(OVS_TUNNEL_KEY_ATTR_ID, ~0ull).u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ~0u));
  EXPECT_TRUE(decode_match(key.span(), keep_destination.span()));
}

TEST(MalformedMask, Ipv6ExtensionHeaderMaskIsNotSupported) {
  ovs_key_ipv6 ipv6;
  zero(ipv6);
  ipv6.ipv6_proto = 59;
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x86dd));
  key.put(OVS_KEY_ATTR_IPV6, ipv6).u16(OVS_KEY_ATTR_IPV6_EXTHDRS, 1);
  AttrBytes wildcarded;
  wildcarded.u16(OVS_KEY_ATTR_ETHERTYPE, 0xffff);
  EXPECT_TRUE(decode_match(key.span(), wildcarded.span()));
  AttrBytes matched = wildcarded;
  matched.u16(OVS_KEY_ATTR_IPV6_EXTHDRS, 0xffff);
  expect_mask_error(key, matched,
                    "OVS_KEY_ATTR_IPV6_EXTHDRS: matching on IPv6 extension headers is not supported");
}

TEST(MalformedKey, NshIsNotSupported) {
  AttrBytes key;
  key.put(OVS_KEY_ATTR_ETHERNET, ethernet_struct(kSrcMac, kDstMac))
      .u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x894f));
  key.nest(OVS_KEY_ATTR_NSH, AttrBytes());
  expect_key_error(key, "OVS_KEY_ATTR_NSH: NSH flows are not supported");
}

}  // namespace
}  // namespace flowlift
