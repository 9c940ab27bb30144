// Jenkins hash against lookup3's published values; flow hash field coverage.
#include "kmod/packet_hash.h"

#include <gtest/gtest.h>

#include <string_view>

#include "kmod/execute_test_frames.h"

namespace flowlift {
namespace {

using execute_testing::FrameBuilder;

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::vector<uint8_t> frame_bytes(FrameBuilder builder) {
  auto built = builder.build();
  auto bytes = built.packet.bytes();
  return {bytes.begin(), bytes.end()};
}

TEST(Jhash, MatchesLookup3HashlittleVectors) {
  // Values printed by lookup3.c's driver5 (hashlittle).
  EXPECT_EQ(jhash_bytes({}, 0), 0xdeadbeefu);
  EXPECT_EQ(jhash_bytes({}, 0xdeadbeef), 0xbd5b7ddeu);
  EXPECT_EQ(jhash_bytes(as_bytes("Four score and seven years ago"), 0), 0x17770551u);
  EXPECT_EQ(jhash_bytes(as_bytes("Four score and seven years ago"), 1), 0xcd628161u);
}

TEST(Jhash, OneWordEqualsHashOfItsFourLittleEndianBytes) {
  for (uint32_t word : {0u, 1u, 0x12345678u, 0xffffffffu}) {
    const uint8_t le[4] = {static_cast<uint8_t>(word), static_cast<uint8_t>(word >> 8),
                           static_cast<uint8_t>(word >> 16), static_cast<uint8_t>(word >> 24)};
    EXPECT_EQ(jhash_1word(word, 77), jhash_bytes(le, 77));
  }
}

TEST(PacketFlowHash, DependsOnPortsAddressesAndProtocol) {
  auto base = frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1000, 80).payload(10));
  auto other_port =
      frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1001, 80).payload(10));
  auto other_addr =
      frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.3", "10.0.0.2").tcp(1000, 80).payload(10));
  auto udp = frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").udp(1000, 80).payload(10));
  auto other_payload =
      frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1000, 80).payload(10, 9));
  EXPECT_NE(packet_flow_hash(base), packet_flow_hash(other_port));
  EXPECT_NE(packet_flow_hash(base), packet_flow_hash(other_addr));
  EXPECT_NE(packet_flow_hash(base), packet_flow_hash(udp));
  EXPECT_EQ(packet_flow_hash(base), packet_flow_hash(other_payload));
}

TEST(PacketFlowHash, IgnoresPortsOfFragments) {
  auto first = frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", 0, 64, 0x2000).udp(1, 2));
  auto other = frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", 0, 64, 0x2000).udp(3, 4));
  EXPECT_EQ(packet_flow_hash(first), packet_flow_hash(other));
}

TEST(PacketFlowHash, Ipv6FlowLabelStandsInForPorts) {
  auto a = frame_bytes(FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2", 0, 0x12345).udp(1, 2));
  auto b = frame_bytes(FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2", 0, 0x12345).udp(3, 4));
  auto unlabelled_a = frame_bytes(FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2));
  auto unlabelled_b = frame_bytes(FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4));
  EXPECT_EQ(packet_flow_hash(a), packet_flow_hash(b));
  EXPECT_NE(packet_flow_hash(unlabelled_a), packet_flow_hash(unlabelled_b));
  EXPECT_NE(packet_symmetric_flow_hash(a), packet_symmetric_flow_hash(b));
}

TEST(PacketFlowHash, SymmetricHashIsTheSameBothWays) {
  auto forward = frame_bytes(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1000, 80));
  auto reverse = frame_bytes(
      FrameBuilder().ethernet(execute_testing::kMacA, execute_testing::kMacB).ipv4("10.0.0.2", "10.0.0.1").tcp(80, 1000));
  EXPECT_EQ(packet_symmetric_flow_hash(forward), packet_symmetric_flow_hash(reverse));
  EXPECT_NE(packet_flow_hash(forward), packet_flow_hash(reverse));
}

TEST(PacketFlowHash, MplsPacketHashesOnEthertypeOnly) {
  auto a =
      frame_bytes(FrameBuilder().ethernet().mpls(100, 0, true, 64).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2));
  auto b =
      frame_bytes(FrameBuilder().ethernet().mpls(200, 0, true, 64).ipv4("10.9.0.1", "10.0.0.2").udp(1, 2));
  EXPECT_EQ(packet_flow_hash(a), packet_flow_hash(b));
}

TEST(PacketFlowHash, TruncatedFramesHashWithoutReadingPastTheEnd) {
  auto full = frame_bytes(FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2));
  for (size_t n = 0; n <= full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_NE(packet_flow_hash(prefix), 0u);
    EXPECT_NE(packet_symmetric_flow_hash(prefix), 0u);
  }
}

}  // namespace
}  // namespace flowlift
