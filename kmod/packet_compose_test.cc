// compose_packet is the inverse of flow_key_extract: a frame composed from a
// key extracts back to that key, for every protocol the composer writes.
#include "kmod/packet_compose.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "kmod/flow_extract.h"

namespace flowlift {
namespace {

FlowKey base(uint16_t eth_type) {
  FlowKey k{};
  k.in_port = 7;
  k.eth_src = {2, 0, 0, 0, 0, 1};
  k.eth_dst = {2, 0, 0, 0, 0, 2};
  k.eth_type = htons(eth_type);
  return k;
}

FlowKey ipv4(uint8_t proto, uint8_t frag = kFragNone) {
  FlowKey k = base(0x0800);
  k.ip_proto = proto;
  k.ip_tos = 0x2e;
  k.ip_ttl = 61;
  k.ip_frag = frag;
  k.ipv4_src = htonl(0x0a000001);
  k.ipv4_dst = htonl(0xc0a8010a);
  return k;
}

FlowKey ipv6(uint8_t proto, uint8_t frag = kFragNone) {
  FlowKey k = base(0x86dd);
  k.ip_proto = proto;
  k.ip_tos = 0x10;
  k.ip_ttl = 255;
  k.ip_frag = frag;
  k.ipv6_label = htonl(0x12345);
  k.ipv6_src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  k.ipv6_dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  return k;
}

FlowKey with_ports(FlowKey k, uint16_t src, uint16_t dst) {
  k.tp_src = htons(src);
  k.tp_dst = htons(dst);
  return k;
}

void expect_round_trip(const FlowKey& key, size_t payload = 0) {
  Packet p = compose_packet(key, payload);
  FlowKey got = flow_key_extract(p);
  EXPECT_EQ(got, key);
  EXPECT_GE(p.size(), 60u);
}

TEST(PacketCompose, Ipv4TransportsRoundTrip) {
  FlowKey tcp = with_ports(ipv4(6), 40000, 80);
  tcp.tcp_flags = htons(0x012);  // SYN+ACK
  expect_round_trip(tcp, 10);
  expect_round_trip(with_ports(ipv4(17), 5353, 53), 33);
  expect_round_trip(with_ports(ipv4(132), 1000, 2000));
  expect_round_trip(with_ports(ipv4(1), 8, 0), 56);
  expect_round_trip(ipv4(47));  // GRE: no L4 fields
}

TEST(PacketCompose, Ipv4FragmentsRoundTrip) {
  expect_round_trip(with_ports(ipv4(17, kFragFirst), 1, 2), 100);
  expect_round_trip(ipv4(17, kFragLater), 100);
}

TEST(PacketCompose, Ipv6TransportsAndNeighborDiscoveryRoundTrip) {
  expect_round_trip(with_ports(ipv6(6), 1, 2));
  expect_round_trip(with_ports(ipv6(17), 3, 4), 7);
  FlowKey ns = with_ports(ipv6(58), 135, 0);
  ns.nd_target = ns.ipv6_dst;
  ns.nd_sll = {2, 0, 0, 0, 0, 1};
  expect_round_trip(ns);
  FlowKey na = with_ports(ipv6(58), 136, 0);
  na.nd_target = na.ipv6_src;
  na.nd_tll = {2, 0, 0, 0, 0, 9};
  expect_round_trip(na);
  expect_round_trip(with_ports(ipv6(58), 128, 0), 32);
  expect_round_trip(with_ports(ipv6(17, kFragFirst), 5, 6), 64);
}

TEST(PacketCompose, VlanAndQinQRoundTrip) {
  FlowKey k = with_ports(ipv4(17), 1, 2);
  k.vlan = {htons(0x8100), htons(kVlanCfi | 100)};
  expect_round_trip(k);
  k.vlan = {htons(0x88a8), htons(kVlanCfi | 0x2000 | 10)};
  k.cvlan = {htons(0x8100), htons(kVlanCfi | 20)};
  expect_round_trip(k);
}

TEST(PacketCompose, ArpAndMplsRoundTrip) {
  FlowKey arp = base(0x0806);
  arp.arp_op = htons(2);
  arp.arp_sip = htonl(0x0a000001);
  arp.arp_tip = htonl(0x0a000002);
  arp.arp_sha = {2, 0, 0, 0, 0, 1};
  arp.arp_tha = {2, 0, 0, 0, 0, 2};
  expect_round_trip(arp);
  FlowKey mpls = base(0x8847);
  mpls.mpls_depth = 2;
  mpls.mpls_lse[0] = htonl(100u << 12 | 64);
  mpls.mpls_lse[1] = htonl(200u << 12 | 1u << 8 | 64);
  expect_round_trip(mpls, 20);
}

TEST(PacketCompose, MetadataGoesToPacketMetadata) {
  FlowKey k = with_ports(ipv4(6), 1, 2);
  k.recirc_id = 3;
  k.skb_mark = 9;
  k.tunnel.tun_id = htobe64(0x64);
  k.tunnel.ipv4_src = htonl(0xc0000202);
  k.tunnel.ipv4_dst = htonl(0xc0000201);
  k.tunnel.flags = kTunnelKey;
  Packet p = compose_packet(k);
  EXPECT_TRUE(p.md.has_tunnel);
  EXPECT_EQ(p.md.recirc_id, 3u);
  EXPECT_EQ(flow_key_extract(p), k);
}

}  // namespace
}  // namespace flowlift
