// The verifier accepts what a correct sender produces and names what is wrong.
#include "kmod/checksum_verify.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "kmod/packet_compose.h"

namespace flowlift {
namespace {

FlowKey ipv4_key(uint8_t proto) {
  FlowKey k{};
  k.eth_type = htons(0x0800);
  k.ip_proto = proto;
  k.ip_ttl = 64;
  k.ipv4_src = htonl(0x0a000001);
  k.ipv4_dst = htonl(0x0a000002);
  k.tp_src = htons(proto == 1 ? 8 : 1234);
  k.tp_dst = htons(proto == 1 ? 0 : 80);
  return k;
}

TEST(ChecksumVerify, ComposedFramesVerify) {
  for (uint8_t proto : {1, 6, 17, 132}) EXPECT_TRUE(verify_frame_checksums(compose_packet(ipv4_key(proto), 21)).is_ok());
  FlowKey v6{};
  v6.eth_type = htons(0x86dd);
  v6.ip_proto = 17;
  v6.ip_ttl = 64;
  v6.ipv6_src[15] = 1;
  v6.ipv6_dst[15] = 2;
  EXPECT_TRUE(verify_frame_checksums(compose_packet(v6, 9)).is_ok());
}

TEST(ChecksumVerify, NamesTheWrongChecksum) {
  Packet ip = compose_packet(ipv4_key(6), 10);
  ip.data()[14 + 8] = 1;  // TTL changed without fixing the header checksum
  EXPECT_EQ(verify_frame_checksums(ip).message(), "IPv4 header checksum is wrong");

  Packet tcp = compose_packet(ipv4_key(6), 10);
  tcp.data()[14 + 20 + 1] ^= 0x40;  // source port changed without fixing the TCP checksum
  EXPECT_NE(verify_frame_checksums(tcp).message().find("TCP checksum"), std::string::npos);

  Packet sctp = compose_packet(ipv4_key(132), 4);
  sctp.data()[14 + 20] ^= 1;
  EXPECT_EQ(verify_frame_checksums(sctp).message(), "SCTP checksum is wrong");
}

TEST(ChecksumVerify, UdpZeroChecksumOverIpv4MeansNone) {
  Packet udp = compose_packet(ipv4_key(17), 10);
  udp.data()[14 + 20 + 6] = 0;
  udp.data()[14 + 20 + 7] = 0;
  EXPECT_TRUE(verify_frame_checksums(udp).is_ok());
}

TEST(ChecksumVerify, TruncatedIpv4IsReported) {
  Packet p = compose_packet(ipv4_key(6), 10);
  p.data()[14 + 3] = 200;  // total length beyond the frame
  p.data()[14 + 10] = p.data()[14 + 11] = 0;
  EXPECT_FALSE(verify_frame_checksums(p).is_ok());
}

}  // namespace
}  // namespace flowlift
