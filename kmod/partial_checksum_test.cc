// Completing CHECKSUM_PARTIAL TCP/UDP checksums: the result must be what a
// receiver verifies (checksum_verify), for IPv4 and IPv6, tagged or not, and
// frames that carry no such checksum must be left alone.
#include "kmod/partial_checksum.h"

#include <gtest/gtest.h>

#include "kmod/checksum_verify.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"

namespace flowlift {
namespace {

Packet composed(std::string_view key_text, size_t payload = 37) {
  Result<Match> match = parse_match(key_text);
  EXPECT_TRUE(match) << match.status().message();
  return compose_packet(match->key, payload);
}

std::vector<uint8_t> bytes_of(const Packet& packet) { return {packet.bytes().begin(), packet.bytes().end()}; }

// Overwrites the checksum at `offset` the way a sender with offload leaves it.
void spoil_checksum(Packet& packet, size_t offset) {
  packet.data()[offset] = 0x15;
  packet.data()[offset + 1] = 0x3a;
}

TEST(PartialChecksum, UdpOverIpv4IsCompletedToWhatAReceiverVerifies) {
  Packet packet = composed(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.99.0.2,dst=10.99.0.1,proto=17,ttl=64,frag=no),udp(src=40000,dst=4789)");
  ASSERT_TRUE(verify_frame_checksums(packet).is_ok());
  std::vector<uint8_t> correct = bytes_of(packet);
  spoil_checksum(packet, 14 + 20 + 6);
  ASSERT_FALSE(verify_frame_checksums(packet).is_ok());
  EXPECT_TRUE(complete_partial_checksum(packet));
  EXPECT_EQ(bytes_of(packet), correct);
}

TEST(PartialChecksum, TcpOverIpv6IsCompleted) {
  Packet packet = composed(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x86dd),"
      "ipv6(src=2001:db8::1,dst=2001:db8::2,proto=6,hlimit=64,frag=no),tcp(src=1,dst=80)");
  std::vector<uint8_t> correct = bytes_of(packet);
  spoil_checksum(packet, 14 + 40 + 16);
  EXPECT_TRUE(complete_partial_checksum(packet));
  EXPECT_EQ(bytes_of(packet), correct);
  EXPECT_TRUE(verify_frame_checksums(packet).is_ok());
}

TEST(PartialChecksum, TcpBehindAVlanTagIsCompleted) {
  Packet packet = composed(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x8100),vlan(vid=10,pcp=0),"
      "encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,ttl=64,frag=no),tcp(src=5,dst=6))");
  std::vector<uint8_t> correct = bytes_of(packet);
  spoil_checksum(packet, 18 + 20 + 16);
  EXPECT_TRUE(complete_partial_checksum(packet));
  EXPECT_EQ(bytes_of(packet), correct);
}

TEST(PartialChecksum, FramesWithoutAnL4ChecksumAreLeftAlone) {
  Packet arp = composed(
      "eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),"
      "arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=02:00:00:00:00:01,tha=00:00:00:00:00:00)");
  std::vector<uint8_t> before = bytes_of(arp);
  EXPECT_FALSE(complete_partial_checksum(arp));
  EXPECT_EQ(bytes_of(arp), before);

  Packet fragment = composed(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=later)");
  before = bytes_of(fragment);
  EXPECT_FALSE(complete_partial_checksum(fragment));
  EXPECT_EQ(bytes_of(fragment), before);

  Packet runt(std::vector<uint8_t>(20, 0x08));
  EXPECT_FALSE(complete_partial_checksum(runt));
}

TEST(PartialChecksum, IpLengthsPointingPastTheFrameAreLeftAlone) {
  Packet packet = composed(
      "eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=no),udp(src=1,dst=2)");
  packet.data()[14 + 2] = 0xff;  // total length 65535+
  std::vector<uint8_t> before = bytes_of(packet);
  EXPECT_FALSE(complete_partial_checksum(packet));
  EXPECT_EQ(bytes_of(packet), before);
}

}  // namespace
}  // namespace flowlift
