// Key extraction: each test builds a frame byte by byte and checks the key and
// layer offsets against what net/openvswitch/flow.c produces for it.
#include "kmod/flow_extract.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>

#include "kmod/frame_builder_for_tests.h"

namespace flowlift {
namespace {

using testing::ArpFields;
using testing::FrameBuilder;
using testing::ipv4_address;
using testing::Ipv4Fields;
using testing::ipv6_address;
using testing::Ipv6Fields;

constexpr uint16_t kNone = Packet::kNoOffset;
constexpr EthAddr kDstMac = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr EthAddr kSrcMac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
constexpr EthAddr kOtherMac = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
const Be32 kSrcIp = ipv4_address(192, 0, 2, 1);
const Be32 kDstIp = ipv4_address(198, 51, 100, 7);
const Ipv6Addr kSrcIp6 = ipv6_address({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
const Ipv6Addr kDstIp6 = ipv6_address({0x2001, 0xdb8, 0, 0, 0, 0, 0xbeef, 2});
const Ipv6Addr kTargetIp6 = ipv6_address({0xfe80, 0, 0, 0, 0, 0, 0, 0x42});

constexpr uint8_t kTcp = 6, kUdp = 17, kSctp = 132, kIcmp = 1, kIcmpv6 = 58;
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAuth = 51, kNoNextHeader = 59,
                  kDestOptions = 60;
constexpr uint8_t kNeighborSolicit = 135, kNeighborAdvert = 136, kSourceLinkLayer = 1, kTargetLinkLayer = 2;

struct Extracted {
  Packet packet;
  FlowKey key;
};

Extracted extract(Packet packet) {
  FlowKey key = flow_key_extract(packet);
  return {std::move(packet), key};
}
Extracted extract(const FrameBuilder& frame) { return extract(frame.packet()); }

// The key every frame with an Ethernet header starts from.
FlowKey ethernet_key(uint16_t eth_type) {
  FlowKey key{};
  key.eth_dst = kDstMac;
  key.eth_src = kSrcMac;
  key.eth_type = htons(eth_type);
  return key;
}

FrameBuilder ipv4_frame(uint8_t protocol, Ipv4Fields fields = {}) {
  fields.protocol = protocol;
  fields.src = kSrcIp;
  fields.dst = kDstIp;
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_IP).ipv4(fields);
  return frame;
}

FrameBuilder ipv6_frame(uint8_t next_header, Ipv6Fields fields = {}) {
  fields.next_header = next_header;
  fields.src = kSrcIp6;
  fields.dst = kDstIp6;
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_IPV6).ipv6(fields);
  return frame;
}

// ---- Metadata and Ethernet ----

TEST(FlowExtract, FrameShorterThanEthernetHeaderGivesMetadataOnlyKey) {
  for (size_t length : {0, 1, 12, 13}) {
    FrameBuilder frame;
    frame.ethernet(kDstMac, kSrcMac, ETH_P_IP);
    Packet packet = frame.truncated_packet(length);
    packet.md.in_port = 3;
    packet.md.skb_mark = 9;
    packet.l3_ofs = 14;  // stale offsets from an earlier extraction must go
    Extracted got = extract(std::move(packet));

    FlowKey expected{};
    expected.in_port = 3;
    expected.skb_mark = 9;
    EXPECT_EQ(got.key, expected) << "length " << length;
    EXPECT_EQ(got.key.eth_type, 0) << "eth_type 0 is the caller's 'no L2 header' signal";
    EXPECT_EQ(got.packet.l2_5_ofs, kNone);
    EXPECT_EQ(got.packet.l3_ofs, kNone);
    EXPECT_EQ(got.packet.l4_ofs, kNone);
  }
}

// flowlift's ports deliver Ethernet frames only (no ARPHRD_NONE devices), so
// every extracted key is an Ethernet key, even one cut short before the
// Ethernet header ends, as the kernel's key_extract decides by the device.
TEST(FlowExtract, EveryExtractedKeyIsAnEthernetKey) {
  EXPECT_EQ(extract(ipv4_frame(kUdp)).key.mac_proto, kMacProtoEthernet);
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_IP);
  EXPECT_EQ(extract(frame.truncated_packet(5)).key.mac_proto, kMacProtoEthernet);
}

TEST(FlowExtract, MetadataAndTunnelAreCopiedFromPacket) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 0x88cc);
  Packet packet = frame.packet();
  packet.md.in_port = 7;
  packet.md.recirc_id = 0x51;
  packet.md.dp_hash = 0xabcdef01;
  packet.md.priority = 0x10002;
  packet.md.skb_mark = 0x99;
  packet.md.has_tunnel = true;
  packet.md.tunnel.tun_id = htobe64(0x1234);
  packet.md.tunnel.ipv4_src = ipv4_address(10, 0, 0, 1);
  packet.md.tunnel.ipv4_dst = ipv4_address(10, 0, 0, 2);
  packet.md.tunnel.tp_dst = htons(4789);
  packet.md.tunnel.flags = kTunnelKey | kTunnelCsum;
  packet.md.tunnel.tos = 0x20;
  packet.md.tunnel.ttl = 63;
  packet.md.tunnel.vxlan_gbp = 0x00080010;
  packet.md.tunnel.pad[1] = 0x77;  // padding never reaches the key
  Extracted got = extract(std::move(packet));

  FlowKey expected = ethernet_key(0x88cc);
  expected.in_port = 7;
  expected.recirc_id = 0x51;
  expected.dp_hash = 0xabcdef01;
  expected.priority = 0x10002;
  expected.skb_mark = 0x99;
  expected.tunnel = got.packet.md.tunnel;
  expected.tunnel.pad[1] = 0;
  EXPECT_EQ(got.key, expected);
}

TEST(FlowExtract, TunnelIgnoredWithoutHasTunnel) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 0x88cc);
  Packet packet = frame.packet();
  packet.md.tunnel.tun_id = htobe64(0x1234);
  packet.md.has_tunnel = false;
  EXPECT_EQ(extract(std::move(packet)).key, ethernet_key(0x88cc));
}

TEST(FlowExtract, UnknownEthertypeSetsL3OffsetOnly) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 0x88cc).zeros(30);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key, ethernet_key(0x88cc));
  EXPECT_EQ(got.packet.l2_5_ofs, kNone);
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, ExtractionLeavesFrameBytesUnchanged) {
  FrameBuilder frame = ipv4_frame(kTcp);
  frame.tcp(1, 2, 0x002);
  FrameBuilder tagged;
  tagged.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 5);
  tagged.bytes(std::span(frame.frame()).subspan(12));
  Extracted got = extract(tagged);
  EXPECT_EQ(std::vector<uint8_t>(got.packet.bytes().begin(), got.packet.bytes().end()), tagged.frame());
}

// ---- IPv4 ----

TEST(FlowExtract, Ipv4TcpFillsAddressesPortsAndFlags) {
  FrameBuilder frame = ipv4_frame(kTcp, {.tos = 0xb9, .ttl = 17});
  frame.tcp(34567, 443, 0x012);  // SYN|ACK
  Extracted got = extract(frame);

  FlowKey expected = ethernet_key(ETH_P_IP);
  expected.ip_proto = kTcp;
  expected.ip_tos = 0xb9;  // DSCP and ECN: the whole byte
  expected.ip_ttl = 17;
  expected.ip_frag = kFragNone;
  expected.ipv4_src = kSrcIp;
  expected.ipv4_dst = kDstIp;
  expected.tp_src = htons(34567);
  expected.tp_dst = htons(443);
  expected.tcp_flags = htons(0x012);
  EXPECT_EQ(got.key, expected);
  EXPECT_EQ(got.packet.l2_5_ofs, kNone);
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, 34);
}

TEST(FlowExtract, TcpFlagsAreLow12BitsWithoutDataOffset) {
  FrameBuilder frame = ipv4_frame(kTcp);
  frame.tcp(1, 2, 0xfff, 6).zeros(4);  // every flag bit, NS and reserved included
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.tcp_flags, htons(0x0fff));
  EXPECT_EQ(got.key.tp_src, htons(1));
}

TEST(FlowExtract, Ipv4UdpFillsPorts) {
  FrameBuilder frame = ipv4_frame(kUdp);
  frame.udp(5353, 53);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kUdp);
  EXPECT_EQ(got.key.tp_src, htons(5353));
  EXPECT_EQ(got.key.tp_dst, htons(53));
  EXPECT_EQ(got.key.tcp_flags, 0);
  EXPECT_EQ(got.packet.l4_ofs, 34);
}

TEST(FlowExtract, Ipv4SctpFillsPorts) {
  FrameBuilder frame = ipv4_frame(kSctp);
  frame.sctp(2905, 3868);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kSctp);
  EXPECT_EQ(got.key.tp_src, htons(2905));
  EXPECT_EQ(got.key.tp_dst, htons(3868));
}

TEST(FlowExtract, Ipv4IcmpTypeAndCodeGoIntoPortFields) {
  FrameBuilder frame = ipv4_frame(kIcmp);
  frame.icmp(3, 13);  // destination unreachable, administratively prohibited
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kIcmp);
  EXPECT_EQ(got.key.tp_src, htons(3));
  EXPECT_EQ(got.key.tp_dst, htons(13));
}

TEST(FlowExtract, Ipv4UnknownProtocolHasNoTransportFields) {
  FrameBuilder frame = ipv4_frame(47);  // GRE
  frame.be32(0x00006558).zeros(16);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, 47);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.key.tp_dst, 0);
  EXPECT_EQ(got.packet.l4_ofs, 34);
}

TEST(FlowExtract, Ipv4OptionsAreSkipped) {
  FrameBuilder frame = ipv4_frame(kUdp, {.header_words = 7});
  frame.bytes({0x94, 0x04, 0x00, 0x00}).bytes({0x01, 0x01, 0x01, 0x00});  // router alert, NOPs, EOL
  frame.udp(67, 68);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ipv4_src, kSrcIp);
  EXPECT_EQ(got.key.tp_src, htons(67));
  EXPECT_EQ(got.key.tp_dst, htons(68));
  EXPECT_EQ(got.packet.l4_ofs, 14 + 28);
}

TEST(FlowExtract, Ipv4FirstFragmentKeepsTransportFields) {
  FrameBuilder frame = ipv4_frame(kUdp, {.flags_and_fragment_offset = 0x2000});  // MF, offset 0
  frame.udp(1000, 2000);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_frag, kFragFirst);
  EXPECT_EQ(got.key.tp_src, htons(1000));
  EXPECT_EQ(got.key.tp_dst, htons(2000));
}

TEST(FlowExtract, Ipv4LaterFragmentHasNoTransportFields) {
  for (uint16_t flags_and_offset : {0x00b9, 0x20b9, 0x0001}) {  // last fragment, middle fragment, offset 8
    FrameBuilder frame = ipv4_frame(kTcp, {.flags_and_fragment_offset = flags_and_offset});
    frame.tcp(80, 8080, 0x018);  // payload bytes that look like a TCP header
    Extracted got = extract(frame);
    EXPECT_EQ(got.key.ip_frag, kFragLater) << std::hex << flags_and_offset;
    EXPECT_EQ(got.key.ip_proto, kTcp);
    EXPECT_EQ(got.key.ipv4_dst, kDstIp);
    EXPECT_EQ(got.key.tp_src, 0);
    EXPECT_EQ(got.key.tp_dst, 0);
    EXPECT_EQ(got.key.tcp_flags, 0);
    EXPECT_EQ(got.packet.l4_ofs, 34) << "the kernel sets the transport header before the fragment check";
  }
}

TEST(FlowExtract, Ipv4DontFragmentIsNotAFragment) {
  FrameBuilder frame = ipv4_frame(kUdp, {.flags_and_fragment_offset = 0x4000});
  frame.udp(1, 2);
  EXPECT_EQ(extract(frame).key.ip_frag, kFragNone);
}

// check_iphdr's -EINVAL: the IP part of the key is zeroed and the transport
// header is the network header; Ethernet fields survive.
void expect_ipv4_fields_zeroed(const Extracted& got) {
  EXPECT_EQ(got.key, ethernet_key(ETH_P_IP));
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, 14);
}

TEST(FlowExtract, Ipv4HeaderLengthBelowFiveZeroesIpFields) {
  for (uint8_t words : {0, 1, 4}) {
    FrameBuilder frame = ipv4_frame(kUdp, {.header_words = words});
    frame.udp(1, 2);
    SCOPED_TRACE(words);
    expect_ipv4_fields_zeroed(extract(frame));
  }
}

TEST(FlowExtract, Ipv4HeaderLengthBeyondFrameZeroesIpFields) {
  FrameBuilder frame = ipv4_frame(kUdp, {.header_words = 15});  // 60 bytes claimed
  frame.zeros(39);                                              // 59 present
  expect_ipv4_fields_zeroed(extract(frame));
}

TEST(FlowExtract, Ipv4HeaderLengthExactlyAtFrameEndIsValid) {
  FrameBuilder frame = ipv4_frame(kUdp, {.header_words = 15});
  frame.zeros(40);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kUdp);
  EXPECT_EQ(got.key.ipv4_src, kSrcIp);
  EXPECT_EQ(got.key.tp_src, 0) << "no room for the UDP header";
  EXPECT_EQ(got.packet.l4_ofs, 74);
  EXPECT_EQ(got.packet.l4_ofs, got.packet.size());
}

TEST(FlowExtract, Ipv4ShorterThanFixedHeaderZeroesIpFields) {
  FrameBuilder frame = ipv4_frame(kUdp);
  expect_ipv4_fields_zeroed(extract(frame.truncated_packet(14 + 19)));
}

TEST(FlowExtract, Ipv4TotalLengthIsNotConsulted) {
  // The kernel parses up to the end of the frame whatever the IP header claims.
  for (uint16_t total_length : {0, 20, 21, 1500}) {
    FrameBuilder frame = ipv4_frame(kTcp, {.total_length = total_length});
    frame.tcp(22, 50000, 0x010);
    Extracted got = extract(frame);
    EXPECT_EQ(got.key.tp_src, htons(22)) << total_length;
    EXPECT_EQ(got.key.tp_dst, htons(50000)) << total_length;
  }
}

TEST(FlowExtract, TruncatedTcpHeaderLeavesPortsZero) {
  FrameBuilder frame = ipv4_frame(kTcp);
  frame.tcp(22, 50000, 0x010);
  Extracted got = extract(frame.truncated_packet(frame.size() - 1));
  EXPECT_EQ(got.key.ip_proto, kTcp);
  EXPECT_EQ(got.key.ipv4_src, kSrcIp);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.key.tp_dst, 0);
  EXPECT_EQ(got.key.tcp_flags, 0);
  EXPECT_EQ(got.packet.l4_ofs, 34);
}

TEST(FlowExtract, TcpDataOffsetBelowFiveLeavesPortsZero) {
  FrameBuilder frame = ipv4_frame(kTcp);
  frame.tcp(22, 50000, 0x002, 4).zeros(20);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.key.tcp_flags, 0);
}

TEST(FlowExtract, TcpDataOffsetBeyondFrameLeavesPortsZero) {
  FrameBuilder frame = ipv4_frame(kTcp);
  frame.tcp(22, 50000, 0x002, 8).zeros(11);  // 32-byte header claimed, 31 present
  EXPECT_EQ(extract(frame).key.tp_src, 0);
  frame.zeros(1);
  EXPECT_EQ(extract(frame).key.tp_src, htons(22));
}

TEST(FlowExtract, TruncatedUdpSctpIcmpHeadersLeaveTransportZero) {
  struct Case {
    uint8_t protocol;
    size_t header_length;
  };
  for (Case c : {Case{kUdp, 8}, Case{kSctp, 12}, Case{kIcmp, 8}}) {
    FrameBuilder frame = ipv4_frame(c.protocol);
    frame.be16(0x1111).be16(0x2222).zeros(c.header_length - 4);
    Extracted full = extract(frame);
    Extracted cut = extract(frame.truncated_packet(frame.size() - 1));
    EXPECT_NE(full.key.tp_src, 0) << int{c.protocol};
    EXPECT_EQ(cut.key.tp_src, 0) << int{c.protocol};
    EXPECT_EQ(cut.key.tp_dst, 0) << int{c.protocol};
    EXPECT_EQ(cut.key.ip_proto, c.protocol);
  }
}

// ---- VLAN ----

TEST(FlowExtract, SingleVlanTagFillsOuterTag) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 0x2005);  // PCP 1, VID 5
  frame.be16(ETH_P_IP).ipv4({.protocol = kUdp, .src = kSrcIp, .dst = kDstIp}).udp(1, 2);
  Extracted got = extract(frame);

  FlowKey expected = ethernet_key(ETH_P_IP);
  expected.vlan = VlanHead{htons(ETH_P_8021Q), htons(0x2005 | kVlanCfi)};
  expected.ip_proto = kUdp;
  expected.ip_ttl = 64;
  expected.ipv4_src = kSrcIp;
  expected.ipv4_dst = kDstIp;
  expected.tp_src = htons(1);
  expected.tp_dst = htons(2);
  EXPECT_EQ(got.key, expected);
  EXPECT_EQ(got.packet.l3_ofs, 18);
  EXPECT_EQ(got.packet.l4_ofs, 38);
}

TEST(FlowExtract, PriorityTagStillMarksTagPresent) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 0).be16(0x88cc);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.vlan.tci, htons(kVlanCfi));
  EXPECT_EQ(got.key.eth_type, htons(0x88cc));
}

TEST(FlowExtract, QinqFillsOuterAndInnerTags) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021AD, 0x0064).vlan_tag(ETH_P_8021Q, 0xa00a);
  frame.be16(ETH_P_IP).ipv4({.protocol = kTcp, .src = kSrcIp, .dst = kDstIp}).tcp(1, 2, 0x004);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.vlan.tpid, htons(ETH_P_8021AD));
  EXPECT_EQ(got.key.vlan.tci, htons(0x0064 | kVlanCfi));
  EXPECT_EQ(got.key.cvlan.tpid, htons(ETH_P_8021Q));
  EXPECT_EQ(got.key.cvlan.tci, htons(0xa00a | kVlanCfi));
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_IP));
  EXPECT_EQ(got.key.tcp_flags, htons(0x004));
  EXPECT_EQ(got.packet.l3_ofs, 22);
  EXPECT_EQ(got.packet.l4_ofs, 42);
}

TEST(FlowExtract, TwoCustomerTagsAreBothParsed) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 10).vlan_tag(ETH_P_8021Q, 20).be16(0x88cc);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.vlan.tci, htons(10 | kVlanCfi));
  EXPECT_EQ(got.key.cvlan.tpid, htons(ETH_P_8021Q));
  EXPECT_EQ(got.key.cvlan.tci, htons(20 | kVlanCfi));
}

TEST(FlowExtract, ThirdTagIsLeftAsEthertype) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021AD, 1).vlan_tag(ETH_P_8021Q, 2);
  frame.vlan_tag(ETH_P_8021Q, 3).be16(ETH_P_IP).ipv4({.protocol = kUdp, .src = kSrcIp}).udp(1, 2);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_8021Q));
  EXPECT_EQ(got.key.cvlan.tci, htons(2 | kVlanCfi));
  EXPECT_EQ(got.key.ipv4_src, 0) << "nothing below the third tag is parsed";
  EXPECT_EQ(got.packet.l3_ofs, 22);
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, TruncatedOuterTagKeepsTpidAsEthertype) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 0x0123).be16(ETH_P_IP);
  // The kernel takes a tag only with the type after it: 18 bytes.
  for (size_t length : {14, 15, 16, 17}) {
    Extracted got = extract(frame.truncated_packet(length));
    EXPECT_EQ(got.key.vlan.tpid, 0) << length;
    EXPECT_EQ(got.key.vlan.tci, 0) << length;
    EXPECT_EQ(got.key.eth_type, htons(ETH_P_8021Q)) << length;
    EXPECT_EQ(got.packet.l3_ofs, 14) << length;
  }
  Extracted got = extract(frame.truncated_packet(18));
  EXPECT_EQ(got.key.vlan.tci, htons(0x0123 | kVlanCfi));
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_IP));
  EXPECT_EQ(got.packet.l3_ofs, 18);
  EXPECT_EQ(got.packet.l4_ofs, 18) << "IPv4 header missing: transport = network header";
}

TEST(FlowExtract, TruncatedInnerTagKeepsOuterTagAndInnerTpid) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac)
      .vlan_tag(ETH_P_8021AD, 7)
      .vlan_tag(ETH_P_8021Q, 8)
      .be16(ETH_P_IP);
  Extracted got = extract(frame.truncated_packet(21));
  EXPECT_EQ(got.key.vlan.tci, htons(7 | kVlanCfi));
  EXPECT_EQ(got.key.cvlan.tpid, 0);
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_8021Q));
  EXPECT_EQ(got.packet.l3_ofs, 18);
}

// ---- 802.3 / LLC / SNAP ----

TEST(FlowExtract, Ieee8023LlcFrameGets802_2Type) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 38).llc(0x42, 0x42, 0x03).zeros(35);  // spanning tree BPDU
  Extracted got = extract(frame);
  EXPECT_EQ(got.key, ethernet_key(kEthType802_2));
  EXPECT_EQ(got.packet.l3_ofs, 14) << "network header at the LLC header";
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, ShortLlcFrameGets802_2Type) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 7).snap(0, 0, 0, ETH_P_IP);
  Extracted got = extract(frame.truncated_packet(frame.size() - 1));
  EXPECT_EQ(got.key.eth_type, htons(kEthType802_2));
  EXPECT_EQ(got.packet.l3_ofs, 14);
}

TEST(FlowExtract, SnapWithZeroOuiGivesSnapEthertype) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 36).snap(0, 0, 0, ETH_P_IP);
  frame.ipv4({.protocol = kUdp, .src = kSrcIp, .dst = kDstIp}).udp(520, 520);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_IP));
  EXPECT_EQ(got.key.ipv4_dst, kDstIp);
  EXPECT_EQ(got.key.tp_dst, htons(520));
  EXPECT_EQ(got.packet.l3_ofs, 22);
  EXPECT_EQ(got.packet.l4_ofs, 42);
}

TEST(FlowExtract, SnapWithNonZeroOuiIs802_2) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 40).snap(0x00, 0x00, 0x0c, 0x2000).zeros(32);  // Cisco CDP
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.eth_type, htons(kEthType802_2));
  EXPECT_EQ(got.packet.l3_ofs, 14);
}

TEST(FlowExtract, NonSnapSapsAre802_2) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 40).llc(0xaa, 0xab, 0x03).bytes({0, 0, 0}).be16(ETH_P_IP).zeros(30);
  EXPECT_EQ(extract(frame).key.eth_type, htons(kEthType802_2));
}

TEST(FlowExtract, SnapCarryingLengthValueIs802_2PastSnapHeader) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, 40).snap(0, 0, 0, 0x0100).zeros(32);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.eth_type, htons(kEthType802_2));
  EXPECT_EQ(got.packet.l3_ofs, 22) << "the kernel pulled the SNAP header before looking at its type";
}

// ---- MPLS ----

Be32 lse(uint32_t label, uint8_t traffic_class, bool bottom, uint8_t ttl) {
  return htonl(label << 12 | uint32_t{traffic_class} << 9 | uint32_t{bottom} << 8 | ttl);
}

TEST(FlowExtract, MplsSingleLabel) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_MPLS_UC).mpls(100, 3, true, 64);
  frame.ipv4({.protocol = kUdp, .src = kSrcIp, .dst = kDstIp}).udp(1, 2);
  Extracted got = extract(frame);

  FlowKey expected = ethernet_key(ETH_P_MPLS_UC);
  expected.mpls_depth = 1;
  expected.mpls_lse[0] = lse(100, 3, true, 64);
  EXPECT_EQ(got.key, expected) << "nothing below the label stack is parsed";
  EXPECT_EQ(got.packet.l2_5_ofs, 14);
  EXPECT_EQ(got.packet.l3_ofs, 18);
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, MplsThreeLabelsOutermostFirst) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_MPLS_MC).mpls(16, 0, false, 255).mpls(17, 1, false, 254);
  frame.mpls(0xfffff, 7, true, 1).zeros(20);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.eth_type, htons(ETH_P_MPLS_MC));
  EXPECT_EQ(got.key.mpls_depth, 3);
  EXPECT_EQ(got.key.mpls_lse[0], lse(16, 0, false, 255));
  EXPECT_EQ(got.key.mpls_lse[1], lse(17, 1, false, 254));
  EXPECT_EQ(got.key.mpls_lse[2], lse(0xfffff, 7, true, 1));
  EXPECT_EQ(got.packet.l2_5_ofs, 14);
  EXPECT_EQ(got.packet.l3_ofs, 26);
}

TEST(FlowExtract, MplsDeeperStackKeepsThreeOutermost) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_MPLS_UC);
  for (uint32_t label = 1; label <= 4; ++label) frame.mpls(label, 0, label == 4, 64);
  frame.zeros(20);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.mpls_depth, 3);
  EXPECT_EQ(got.key.mpls_lse[0], lse(1, 0, false, 64));
  EXPECT_EQ(got.key.mpls_lse[2], lse(3, 0, false, 64));
  EXPECT_EQ(got.packet.l3_ofs, 14 + 16) << "the walk goes on to the bottom of stack";
}

TEST(FlowExtract, MplsStackWithoutBottomReportsDepthZero) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_MPLS_UC).mpls(100, 0, false, 64).mpls(200, 0, false, 64).u8(1);
  Extracted got = extract(frame);
  // The kernel returns before setting num_labels_mask; the entries read stay.
  EXPECT_EQ(got.key.mpls_depth, 0);
  EXPECT_EQ(got.key.mpls_lse[0], lse(100, 0, false, 64));
  EXPECT_EQ(got.key.mpls_lse[1], lse(200, 0, false, 64));
  EXPECT_EQ(got.key.mpls_lse[2], 0u);
  EXPECT_EQ(got.packet.l2_5_ofs, 14);
  EXPECT_EQ(got.packet.l3_ofs, 22);
}

TEST(FlowExtract, MplsEthertypeWithoutLabels) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_MPLS_UC).bytes({0, 1, 2});
  Extracted got = extract(frame);
  EXPECT_EQ(got.key, ethernet_key(ETH_P_MPLS_UC));
  EXPECT_EQ(got.packet.l2_5_ofs, 14);
  EXPECT_EQ(got.packet.l3_ofs, 14);
}

// ---- ARP / RARP ----

ArpFields arp_fields(uint16_t op) {
  return {.op = op, .sha = kSrcMac, .sip = kSrcIp, .tha = kOtherMac, .tip = kDstIp};
}

FlowKey expected_arp_key(uint16_t eth_type, uint16_t op) {
  FlowKey key = ethernet_key(eth_type);
  key.arp_op = htons(op);
  key.arp_sha = kSrcMac;
  key.arp_sip = kSrcIp;
  key.arp_tha = kOtherMac;
  key.arp_tip = kDstIp;
  return key;
}

TEST(FlowExtract, ArpRequestFillsArpFields) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(arp_fields(1)).zeros(18);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key, expected_arp_key(ETH_P_ARP, 1));
  EXPECT_EQ(got.key.ip_proto, 0) << "flowlift keeps the opcode in arp_op only";
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, ArpReplyFillsArpFields) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(arp_fields(2));
  EXPECT_EQ(extract(frame).key, expected_arp_key(ETH_P_ARP, 2));
}

TEST(FlowExtract, RarpFillsArpFields) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_RARP).arp(arp_fields(3));
  EXPECT_EQ(extract(frame).key, expected_arp_key(ETH_P_RARP, 3));
}

TEST(FlowExtract, ArpOpcodeAboveByteRangeBecomesZero) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(arp_fields(0x0101));
  EXPECT_EQ(extract(frame).key, expected_arp_key(ETH_P_ARP, 0));
  FrameBuilder highest;
  highest.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(arp_fields(0x00ff));
  EXPECT_EQ(extract(highest).key, expected_arp_key(ETH_P_ARP, 0xff));
}

TEST(FlowExtract, NonEthernetIpv4ArpLeavesArpFieldsZero) {
  ArpFields ieee802 = arp_fields(1);
  ieee802.hardware_type = 6;
  ArpFields ipv6_protocol = arp_fields(1);
  ipv6_protocol.protocol_type = ETH_P_IPV6;
  ArpFields long_hardware = arp_fields(1);
  long_hardware.hardware_length = 8;
  ArpFields long_protocol = arp_fields(1);
  long_protocol.protocol_length = 16;
  for (const ArpFields& fields : {ieee802, ipv6_protocol, long_hardware, long_protocol}) {
    FrameBuilder frame;
    frame.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(fields).zeros(20);
    Extracted got = extract(frame);
    EXPECT_EQ(got.key, ethernet_key(ETH_P_ARP));
    EXPECT_EQ(got.packet.l3_ofs, 14);
  }
}

TEST(FlowExtract, TruncatedArpLeavesArpFieldsZero) {
  FrameBuilder frame;
  frame.ethernet(kDstMac, kSrcMac, ETH_P_ARP).arp(arp_fields(1));
  EXPECT_EQ(extract(frame.truncated_packet(frame.size() - 1)).key, ethernet_key(ETH_P_ARP));
}

// ---- IPv6 ----

TEST(FlowExtract, Ipv6TcpFillsAddressesClassLabelAndHopLimit) {
  FrameBuilder frame = ipv6_frame(kTcp, {.traffic_class = 0xb8, .flow_label = 0xabcde, .hop_limit = 33});
  frame.tcp(40000, 22, 0x011);
  Extracted got = extract(frame);

  FlowKey expected = ethernet_key(ETH_P_IPV6);
  expected.ip_proto = kTcp;
  expected.ip_tos = 0xb8;
  expected.ip_ttl = 33;
  expected.ip_frag = kFragNone;
  expected.ipv6_src = kSrcIp6;
  expected.ipv6_dst = kDstIp6;
  expected.ipv6_label = htonl(0xabcde);
  expected.tp_src = htons(40000);
  expected.tp_dst = htons(22);
  expected.tcp_flags = htons(0x011);
  EXPECT_EQ(got.key, expected);
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, 54);
}

TEST(FlowExtract, Ipv6UdpAndSctpFillPorts) {
  FrameBuilder udp = ipv6_frame(kUdp);
  udp.udp(546, 547);
  Extracted got = extract(udp);
  EXPECT_EQ(got.key.ip_proto, kUdp);
  EXPECT_EQ(got.key.tp_src, htons(546));
  EXPECT_EQ(got.key.tp_dst, htons(547));

  FrameBuilder sctp = ipv6_frame(kSctp);
  sctp.sctp(36412, 36412);
  EXPECT_EQ(extract(sctp).key.tp_dst, htons(36412));
}

TEST(FlowExtract, Ipv6ExtensionHeadersAreWalkedToTransport) {
  FrameBuilder frame = ipv6_frame(kHopByHop);
  frame.ipv6_options_header(kRouting, 8).ipv6_options_header(kDestOptions, 24);
  frame.ipv6_options_header(kFragment, 16).ipv6_fragment_header(kTcp, 0, true);
  frame.tcp(1234, 80, 0x002);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kTcp);
  EXPECT_EQ(got.key.ip_frag, kFragFirst);
  EXPECT_EQ(got.key.tp_src, htons(1234));
  EXPECT_EQ(got.key.tp_dst, htons(80));
  EXPECT_EQ(got.key.tcp_flags, htons(0x002));
  EXPECT_EQ(got.packet.l4_ofs, 14 + 40 + 8 + 24 + 16 + 8);
}

TEST(FlowExtract, Ipv6AuthenticationHeaderLengthCountsFourByteUnits) {
  FrameBuilder frame = ipv6_frame(kAuth);
  frame.ipv6_auth_header(kUdp, 24).udp(500, 4500);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kUdp);
  EXPECT_EQ(got.key.tp_dst, htons(4500));
  EXPECT_EQ(got.packet.l4_ofs, 14 + 40 + 24);
}

TEST(FlowExtract, Ipv6AtomicFragmentIsFirstFragment) {
  FrameBuilder frame = ipv6_frame(kFragment);
  frame.ipv6_fragment_header(kUdp, 0, false).udp(1, 2);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_frag, kFragFirst);
  EXPECT_EQ(got.key.tp_src, htons(1));
}

TEST(FlowExtract, Ipv6LaterFragmentReportsFragmentProtocol) {
  FrameBuilder frame = ipv6_frame(kHopByHop);
  frame.ipv6_options_header(kFragment, 8).ipv6_fragment_header(kTcp, 185, true).tcp(1, 2, 0x010);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_frag, kFragLater);
  EXPECT_EQ(got.key.ip_proto, kFragment) << "the kernel stores NEXTHDR_FRAGMENT for later fragments";
  EXPECT_EQ(got.key.ipv6_src, kSrcIp6);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.key.tcp_flags, 0);
  EXPECT_EQ(got.packet.l4_ofs, kNone) << "the kernel leaves the transport header untouched";
}

TEST(FlowExtract, Ipv6LaterFragmentBeforeExtensionHeaderIsFirstWithoutProtocol) {
  // ipv6_find_hdr gives -ENOENT before it reports the offset, so the kernel
  // sees only the fragment flag: first fragment, protocol NONE.
  FrameBuilder frame = ipv6_frame(kFragment);
  frame.ipv6_fragment_header(kDestOptions, 10, true).ipv6_options_header(kUdp, 8).udp(1, 2);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_frag, kFragFirst);
  EXPECT_EQ(got.key.ip_proto, kNoNextHeader);
  EXPECT_EQ(got.key.ipv6_dst, kDstIp6);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.packet.l4_ofs, 14);
}

TEST(FlowExtract, Ipv6LaterFragmentOfNoNextHeaderIsLater) {
  FrameBuilder frame = ipv6_frame(kFragment);
  frame.ipv6_fragment_header(kNoNextHeader, 1, false);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_frag, kFragLater);
  EXPECT_EQ(got.key.ip_proto, kFragment);
}

TEST(FlowExtract, Ipv6NoNextHeaderEndsTheChain) {
  FrameBuilder frame = ipv6_frame(kDestOptions);
  frame.ipv6_options_header(kNoNextHeader, 8).zeros(8);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kNoNextHeader);
  EXPECT_EQ(got.key.ip_frag, kFragNone);
  EXPECT_EQ(got.packet.l4_ofs, 14 + 48);
}

TEST(FlowExtract, Ipv6TruncatedExtensionChainKeepsAddressesWithProtocolNone) {
  FrameBuilder frame = ipv6_frame(kHopByHop, {.traffic_class = 0x20, .flow_label = 5});
  frame.ipv6_options_header(kDestOptions, 8).ipv6_options_header(kTcp, 8).tcp(1, 2, 0x002);
  // Cut inside the second header's first two bytes: ipv6_find_hdr's -EBADMSG.
  Extracted got = extract(frame.truncated_packet(14 + 40 + 8 + 1));
  EXPECT_EQ(got.key.ip_proto, kNoNextHeader);
  EXPECT_EQ(got.key.ip_frag, kFragNone);
  EXPECT_EQ(got.key.ipv6_src, kSrcIp6);
  EXPECT_EQ(got.key.ipv6_label, htonl(5));
  EXPECT_EQ(got.key.ip_tos, 0x20);
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.packet.l4_ofs, 14);
}

TEST(FlowExtract, Ipv6TruncatedRoutingHeaderNeedsFourBytes) {
  FrameBuilder frame = ipv6_frame(kRouting);
  frame.ipv6_options_header(kUdp, 8).udp(1, 2);
  EXPECT_EQ(extract(frame.truncated_packet(14 + 40 + 3)).key.ip_proto, kNoNextHeader);
  // With four bytes the walk succeeds; the UDP header then lies past the end.
  Extracted got = extract(frame.truncated_packet(14 + 40 + 4));
  EXPECT_EQ(got.key.ip_proto, kUdp);
  EXPECT_EQ(got.key.tp_src, 0);
}

TEST(FlowExtract, Ipv6TruncatedFragmentHeaderIsFirstFragmentWithoutProtocol) {
  FrameBuilder frame = ipv6_frame(kFragment);
  frame.ipv6_fragment_header(kUdp, 0, true).udp(1, 2);
  Extracted got = extract(frame.truncated_packet(14 + 40 + 3));
  EXPECT_EQ(got.key.ip_frag, kFragFirst);
  EXPECT_EQ(got.key.ip_proto, kNoNextHeader);
  EXPECT_EQ(got.packet.l4_ofs, 14);
}

TEST(FlowExtract, Ipv6ExtensionLengthPastFrameLeavesNoTransportOffset) {
  FrameBuilder frame = ipv6_frame(kHopByHop);
  frame.u8(kTcp).u8(10).zeros(6);  // claims 88 bytes, 8 present
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kTcp) << "the kernel only reads each header's first bytes";
  EXPECT_EQ(got.key.tp_src, 0);
  EXPECT_EQ(got.packet.l4_ofs, kNone);
}

TEST(FlowExtract, Ipv6ShorterThanHeaderZeroesIpFields) {
  FrameBuilder frame = ipv6_frame(kTcp, {.traffic_class = 1, .flow_label = 2});
  Extracted got = extract(frame.truncated_packet(14 + 39));
  EXPECT_EQ(got.key, ethernet_key(ETH_P_IPV6));
  EXPECT_EQ(got.packet.l3_ofs, 14);
  EXPECT_EQ(got.packet.l4_ofs, 14);
}

// ---- ICMPv6 and neighbour discovery ----

TEST(FlowExtract, Icmpv6TypeAndCodeGoIntoPortFields) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.icmpv6(1, 4).zeros(40);  // destination unreachable, port unreachable
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.ip_proto, kIcmpv6);
  EXPECT_EQ(got.key.tp_src, htons(1));
  EXPECT_EQ(got.key.tp_dst, htons(4));
  EXPECT_EQ(got.key.nd_target, Ipv6Addr{});
}

TEST(FlowExtract, TruncatedIcmpv6HeaderLeavesTransportZero) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.icmpv6(128, 0);
  EXPECT_EQ(extract(frame).key.tp_src, htons(128));
  Extracted got = extract(frame.truncated_packet(frame.size() - 1));
  EXPECT_EQ(got.key.ip_proto, kIcmpv6);
  EXPECT_EQ(got.key.tp_src, 0);
}

TEST(FlowExtract, NeighborSolicitationWithSourceLinkLayerAddress) {
  FrameBuilder frame = ipv6_frame(kIcmpv6, {.hop_limit = 255});
  frame.nd_message(kNeighborSolicit, kTargetIp6).nd_link_layer_option(kSourceLinkLayer, kSrcMac);
  Extracted got = extract(frame);

  FlowKey expected = ethernet_key(ETH_P_IPV6);
  expected.ip_proto = kIcmpv6;
  expected.ip_ttl = 255;
  expected.ipv6_src = kSrcIp6;
  expected.ipv6_dst = kDstIp6;
  expected.tp_src = htons(kNeighborSolicit);
  expected.tp_dst = 0;
  expected.nd_target = kTargetIp6;
  expected.nd_sll = kSrcMac;
  EXPECT_EQ(got.key, expected);
  EXPECT_EQ(got.packet.l4_ofs, 54);
}

TEST(FlowExtract, NeighborAdvertisementWithTargetLinkLayerAddress) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborAdvert, kTargetIp6).nd_link_layer_option(kTargetLinkLayer, kOtherMac);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.tp_src, htons(kNeighborAdvert));
  EXPECT_EQ(got.key.nd_target, kTargetIp6);
  EXPECT_EQ(got.key.nd_sll, EthAddr{});
  EXPECT_EQ(got.key.nd_tll, kOtherMac);
}

TEST(FlowExtract, NdOtherOptionsAndLongLinkLayerOptionsAreSkipped) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborAdvert, kTargetIp6);
  frame.u8(5).u8(1).be16(0).be32(1500);                      // MTU option
  frame.u8(kSourceLinkLayer).u8(2).bytes(kSrcMac).zeros(8);  // 16 bytes: not an Ethernet address
  frame.nd_link_layer_option(kTargetLinkLayer, kOtherMac);
  frame.zeros(7);  // trailing bytes shorter than an option
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.nd_target, kTargetIp6);
  EXPECT_EQ(got.key.nd_sll, EthAddr{});
  EXPECT_EQ(got.key.nd_tll, kOtherMac);
}

TEST(FlowExtract, NdZeroLengthOptionStopsParsingButKeepsWhatWasRead) {
  // parse_icmpv6 returns without clearing on a bad option length.
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborSolicit, kTargetIp6).nd_link_layer_option(kSourceLinkLayer, kSrcMac);
  frame.u8(kTargetLinkLayer).u8(0).bytes(kOtherMac);
  frame.nd_link_layer_option(kTargetLinkLayer, kOtherMac);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.nd_target, kTargetIp6);
  EXPECT_EQ(got.key.nd_sll, kSrcMac);
  EXPECT_EQ(got.key.nd_tll, EthAddr{}) << "options after the bad one are not read";
}

TEST(FlowExtract, NdOptionRunningPastFrameStopsParsing) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborAdvert, kTargetIp6);
  frame.u8(kTargetLinkLayer).u8(2).bytes(kOtherMac).zeros(7);  // claims 16 bytes, 15 present
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.nd_target, kTargetIp6);
  EXPECT_EQ(got.key.nd_tll, EthAddr{});
}

TEST(FlowExtract, NdRepeatedLinkLayerOptionClearsAllNdFields) {
  for (uint8_t option : {kSourceLinkLayer, kTargetLinkLayer}) {
    FrameBuilder frame = ipv6_frame(kIcmpv6);
    frame.nd_message(kNeighborSolicit, kTargetIp6);
    frame.nd_link_layer_option(kSourceLinkLayer == option ? kTargetLinkLayer : kSourceLinkLayer, kDstMac);
    frame.nd_link_layer_option(option, kSrcMac).nd_link_layer_option(option, kOtherMac);
    Extracted got = extract(frame);
    EXPECT_EQ(got.key.tp_src, htons(kNeighborSolicit)) << int{option};
    EXPECT_EQ(got.key.nd_target, Ipv6Addr{}) << int{option};
    EXPECT_EQ(got.key.nd_sll, EthAddr{}) << int{option};
    EXPECT_EQ(got.key.nd_tll, EthAddr{}) << int{option};
  }
}

TEST(FlowExtract, NdWithNonZeroCodeHasNoNdFields) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborSolicit, kTargetIp6, 1).nd_link_layer_option(kSourceLinkLayer, kSrcMac);
  Extracted got = extract(frame);
  EXPECT_EQ(got.key.tp_dst, htons(1));
  EXPECT_EQ(got.key.nd_target, Ipv6Addr{});
  EXPECT_EQ(got.key.nd_sll, EthAddr{});
}

TEST(FlowExtract, NdMessageShorterThanTargetHasNoNdFields) {
  FrameBuilder frame = ipv6_frame(kIcmpv6);
  frame.nd_message(kNeighborSolicit, kTargetIp6);
  Extracted got = extract(frame.truncated_packet(frame.size() - 1));
  EXPECT_EQ(got.key.tp_src, htons(kNeighborSolicit));
  EXPECT_EQ(got.key.nd_target, Ipv6Addr{});
}

// ---- Every truncation ----

void expect_offsets_within_frame(const Extracted& got) {
  for (uint16_t offset : {got.packet.l2_5_ofs, got.packet.l3_ofs, got.packet.l4_ofs}) {
    if (offset != kNone) {
      EXPECT_LE(offset, got.packet.size());
    }
  }
}

TEST(FlowExtract, EveryTruncationOfTaggedIpv4TcpFrameGivesKernelPartialKey) {
  FrameBuilder frame;
  frame.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021Q, 42).be16(ETH_P_IP);
  frame.ipv4({.header_words = 6, .protocol = kTcp, .src = kSrcIp, .dst = kDstIp}).be32(0x01010100);
  frame.tcp(1111, 2222, 0x018, 6).be32(0x01010101);
  constexpr size_t kIpStart = 18, kTcpStart = 18 + 24;
  ASSERT_EQ(frame.size(), kTcpStart + 24);

  for (size_t length = 0; length <= frame.size(); ++length) {
    SCOPED_TRACE(length);
    Extracted got = extract(frame.truncated_packet(length));
    expect_offsets_within_frame(got);
    EXPECT_EQ(got.key.eth_type != 0, length >= 14);
    EXPECT_EQ(got.key.vlan.tci != 0, length >= 18);
    EXPECT_EQ(got.key.ipv4_src == kSrcIp, length >= kTcpStart);
    EXPECT_EQ(got.key.ip_proto == kTcp, length >= kTcpStart);
    EXPECT_EQ(got.packet.l4_ofs, length < 18 ? kNone : length < kTcpStart ? kIpStart : kTcpStart);
    EXPECT_EQ(got.key.tp_src == htons(1111), length == frame.size());
    EXPECT_EQ(got.key.tcp_flags == htons(0x018), length == frame.size());
  }
}

TEST(FlowExtract, EveryTruncationOfIpv6NeighborSolicitationGivesKernelPartialKey) {
  FrameBuilder frame = ipv6_frame(kHopByHop);
  frame.ipv6_options_header(kIcmpv6, 8);
  frame.nd_message(kNeighborSolicit, kTargetIp6).nd_link_layer_option(kSourceLinkLayer, kSrcMac);
  constexpr size_t kIcmpStart = 14 + 40 + 8;
  ASSERT_EQ(frame.size(), kIcmpStart + 32);

  for (size_t length = 0; length <= frame.size(); ++length) {
    SCOPED_TRACE(length);
    Extracted got = extract(frame.truncated_packet(length));
    expect_offsets_within_frame(got);
    EXPECT_EQ(got.key.ipv6_dst == kDstIp6, length >= 54);
    uint8_t expected_proto = length < 54 ? 0 : length < 54 + 2 ? kNoNextHeader : kIcmpv6;
    EXPECT_EQ(got.key.ip_proto, expected_proto);
    EXPECT_EQ(got.key.tp_src == htons(kNeighborSolicit), length >= kIcmpStart + 8);
    EXPECT_EQ(got.key.nd_target == kTargetIp6, length >= kIcmpStart + 24);
    EXPECT_EQ(got.key.nd_sll == kSrcMac, length == frame.size());
    if (length >= 54 + 2 && length < kIcmpStart) {
      EXPECT_EQ(got.packet.l4_ofs, kNone) << "the option header's length points past the frame";
    }
  }
}

TEST(FlowExtract, EveryTruncationOfMplsAndArpFramesIsSafe) {
  FrameBuilder mpls;
  mpls.ethernet_addresses(kDstMac, kSrcMac).vlan_tag(ETH_P_8021AD, 1).vlan_tag(ETH_P_8021Q, 2);
  mpls.be16(ETH_P_MPLS_UC).mpls(1, 0, false, 1).mpls(2, 0, false, 1).mpls(3, 0, false, 1).mpls(4, 0, true, 1);
  FrameBuilder arp;
  arp.ethernet(kDstMac, kSrcMac, 40).snap(0, 0, 0, ETH_P_ARP).arp(arp_fields(1));
  for (const FrameBuilder* frame : {&mpls, &arp}) {
    for (size_t length = 0; length <= frame->size(); ++length) {
      SCOPED_TRACE(length);
      expect_offsets_within_frame(extract(frame->truncated_packet(length)));
    }
  }
  EXPECT_EQ(extract(mpls).key.mpls_depth, 3);
  EXPECT_EQ(extract(arp).key.arp_tip, kDstIp);
}

}  // namespace
}  // namespace flowlift
