// The action executor on constructed frames: every action's bytes, checksums
// (recomputed from scratch by building the expected frame independently) and
// flow-key effects, plus copy/consume semantics, trunc, sampling, clones,
// check_pkt_len, recirculation and VXLAN output.
#include "kmod/actions_execute.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "kmod/execute_test_frames.h"
#include "kmod/packet_hash.h"

namespace flowlift {
namespace {

using execute_testing::BuiltFrame;
using execute_testing::FrameBuilder;
using ::testing::HasSubstr;
using execute_testing::ip4;
using execute_testing::ip6;
using execute_testing::kMacA;
using execute_testing::kMacB;
using execute_testing::rd16;
using execute_testing::rd32;

constexpr EthAddr kMacC = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

std::vector<uint8_t> bytes_of(const Packet& p) { return {p.data(), p.data() + p.size()}; }

struct RecordedOutput {
  uint32_t port;
  Packet packet;
};

struct RecordedUpcall {
  UserspaceAction action;
  std::vector<uint8_t> packet;
  FlowKey key;
  bool key_valid;
  size_t original_length;
  const ActionList* actions;
  std::optional<TunnelKey> egress_tunnel;
};

struct RecordedRecirculation {
  Packet packet;
  FlowKey key;
};

class RecordingContext : public ActionContext {
 public:
  void output(uint32_t port, Packet packet) override { outputs.push_back({port, std::move(packet)}); }
  void upcall(const Upcall& u) override {
    upcalls.push_back(
        {u.action, bytes_of(u.packet), u.key, u.key_valid, u.original_length, u.actions, u.egress_tunnel});
  }
  void recirculate(Packet packet, const FlowKey& key) override {
    recirculations.push_back({std::move(packet), key});
  }
  FlowKey extract_key(Packet& packet) override {
    ++extract_calls;
    packet.l3_ofs = 77;  // proves the executor keeps what extraction set
    return extracted_key;
  }
  uint32_t random_u32() override {
    ++random_draws;
    return random_value;
  }
  uint16_t next_ipv4_id() override { return 0x0101; }
  bool is_vxlan_port(uint32_t port) override {
    return vxlan_routes.count(port) || unresolvable_ports.count(port);
  }
  Result<VxlanRoute> resolve_vxlan_route(uint32_t port, const TunnelKey& tunnel) override {
    resolved_tunnels.push_back(tunnel);
    auto it = vxlan_routes.find(port);
    if (it == vxlan_routes.end()) return Status(EHOSTUNREACH, "no route to the tunnel destination");
    return it->second;
  }

  std::vector<RecordedOutput> outputs;
  std::vector<RecordedUpcall> upcalls;
  std::vector<RecordedRecirculation> recirculations;
  FlowKey extracted_key{};
  int extract_calls = 0;
  uint32_t random_value = 0;
  int random_draws = 0;
  std::map<uint32_t, VxlanRoute> vxlan_routes;
  std::set<uint32_t> unresolvable_ports;
  std::vector<TunnelKey> resolved_tunnels;
};

Status run(RecordingContext& context, const BuiltFrame& frame, const ActionList& actions) {
  return execute_actions(frame.packet, frame.key, actions, context);
}

BuiltFrame tcp4(const char* src = "10.0.0.1", const char* dst = "10.0.0.2", uint16_t sport = 1000,
                uint16_t dport = 80) {
  return FrameBuilder().ethernet().ipv4(src, dst).tcp(sport, dport).payload(26).build();
}

BuiltFrame udp4(const char* src = "10.0.0.1", const char* dst = "10.0.0.2", bool checksum = true) {
  return FrameBuilder().ethernet().ipv4(src, dst).udp(5000, 53, checksum).payload(18).build();
}

UserspaceAction to_userspace(uint32_t pid) {
  UserspaceAction action;
  action.pid = pid;
  return action;
}

template <typename Fill>
SetAction set_masked(ovs_key_attr attr, Fill fill) {
  SetAction set;
  set.attr = attr;
  set.masked = true;
  fill(set.value, set.mask);
  return set;
}

SetAction set_ipv4_src(const char* address) {
  return set_masked(OVS_KEY_ATTR_IPV4, [&](FlowKey& v, FlowKey& m) {
    v.ipv4_src = ip4(address);
    m.ipv4_src = 0xffffffff;
  });
}
SetAction set_ipv4_dst(Be32 address) {
  return set_masked(OVS_KEY_ATTR_IPV4, [&](FlowKey& v, FlowKey& m) {
    v.ipv4_dst = address;
    m.ipv4_dst = 0xffffffff;
  });
}
SetAction set_ipv4_ttl(uint8_t ttl) {
  return set_masked(OVS_KEY_ATTR_IPV4, [&](FlowKey& v, FlowKey& m) {
    v.ip_ttl = ttl;
    m.ip_ttl = 0xff;
  });
}
SetAction set_eth_dst(EthAddr mac) {
  return set_masked(OVS_KEY_ATTR_ETHERNET, [&](FlowKey& v, FlowKey& m) {
    v.eth_dst = mac;
    m.eth_dst.fill(0xff);
  });
}
SetAction set_tcp_ports(uint16_t src, uint16_t dst) {
  return set_masked(OVS_KEY_ATTR_TCP, [&](FlowKey& v, FlowKey& m) {
    v.tp_src = htons(src);
    v.tp_dst = htons(dst);
    m.tp_src = m.tp_dst = 0xffff;
  });
}

// --- output, trunc, drop ----------------------------------------------------

TEST(ExecuteOutput, OutputBeforeMoreActionsSendsACopyAndGoesOn) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {OutputAction{1}, set_eth_dst(kMacC), OutputAction{2}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 2u);
  EXPECT_EQ(context.outputs[0].port, 1u);
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(frame.packet));
  EXPECT_EQ(context.outputs[1].port, 2u);
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(FrameBuilder()
                                                              .ethernet(kMacC, kMacA)
                                                              .ipv4("10.0.0.1", "10.0.0.2")
                                                              .tcp(1000, 80)
                                                              .payload(26)
                                                              .build()
                                                              .packet));
  EXPECT_EQ(context.drops.last_action, 0u);
}

TEST(ExecuteOutput, PacketStillHeldWhenTheListEndsIsALastActionDrop) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {OutputAction{1}, set_ipv4_ttl(3)}).is_ok());
  ASSERT_TRUE(run(context, tcp4(), {}).is_ok());
  EXPECT_EQ(context.drops.last_action, 2u);
  EXPECT_EQ(context.outputs.size(), 1u);
}

TEST(ExecuteOutput, OutputCarriesLayerOffsetsAndMetadata) {
  BuiltFrame frame = tcp4();
  frame.packet.md.skb_mark = 9;
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {OutputAction{4}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 1u);
  EXPECT_EQ(context.outputs[0].packet.l3_ofs, 14);
  EXPECT_EQ(context.outputs[0].packet.l4_ofs, 34);
  EXPECT_EQ(context.outputs[0].packet.md.skb_mark, 9u);
}

TEST(ExecuteTrunc, AppliesToTheNextOutputOnly) {
  BuiltFrame frame = tcp4();
  ASSERT_EQ(frame.packet.size(), 80u);
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {TruncAction{60}, OutputAction{1}, OutputAction{2}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 2u);
  const auto whole = bytes_of(frame.packet);
  EXPECT_EQ(bytes_of(context.outputs[0].packet), std::vector<uint8_t>(whole.begin(), whole.begin() + 60));
  EXPECT_EQ(bytes_of(context.outputs[1].packet), whole);
}

TEST(ExecuteTrunc, NeverCutsIntoTheEthernetHeader) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {TruncAction{5}, OutputAction{1}}).is_ok());
  EXPECT_EQ(context.outputs[0].packet.size(), 14u);
}

TEST(ExecuteTrunc, LongerLimitLeavesThePacketWhole) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {TruncAction{1500}, OutputAction{1}}).is_ok());
  EXPECT_EQ(context.outputs[0].packet.size(), 80u);
}

TEST(ExecuteTrunc, CutLongerThanTheShrunkPacketLeavesItWhole) {
  // trunc(2) asks to cut 78 of 80 bytes; pop_mpls leaves 76, fewer than the
  // cut, and the kernel's unsigned length arithmetic then trims nothing.
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .mpls(5, 0, true, 9)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .udp(1, 2)
                         .payload(34)
                         .build();
  ASSERT_EQ(frame.packet.size(), 80u);
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {TruncAction{2}, PopMplsAction{htons(0x0800)}, OutputAction{1}}).is_ok());
  EXPECT_EQ(context.outputs[0].packet.size(), 76u);
}

TEST(ExecuteTrunc, CountsLengthWithoutTheOffloadedVlanTag) {
  BuiltFrame frame =
      FrameBuilder().ethernet().vlan(0x8100, 10).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).payload(26).build();
  ASSERT_EQ(frame.packet.size(), 84u);
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {TruncAction{60}, OutputAction{1}}).is_ok());
  EXPECT_EQ(context.outputs[0].packet.size(), 64u) << "60 bytes of skb data plus the tag in skb->vlan_tci";
}

TEST(ExecuteTrunc, CutsTheUpcallPacketThenResets) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {TruncAction{50}, to_userspace(7), OutputAction{1}}).is_ok());
  ASSERT_EQ(context.upcalls.size(), 1u);
  EXPECT_EQ(context.upcalls[0].packet.size(), 50u);
  EXPECT_EQ(context.upcalls[0].original_length, 80u);
  EXPECT_EQ(context.outputs[0].packet.size(), 80u);
}

TEST(ExecuteTrunc, PendingCutIsCopiedIntoAClone) {
  RecordingContext context;
  ASSERT_TRUE(
      run(context, tcp4(), {TruncAction{50}, CloneAction{{OutputAction{1}}}, OutputAction{2}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 2u);
  EXPECT_EQ(context.outputs[0].packet.size(), 50u);
  EXPECT_EQ(context.outputs[1].packet.size(), 50u) << "the clone does not consume the outer packet's cut";
}

TEST(ExecuteDrop, StopsTheListAndCountsByReason) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {DropAction{0}}).is_ok());
  ASSERT_TRUE(run(context, tcp4(), {DropAction{5}, OutputAction{1}}).is_ok());
  EXPECT_EQ(context.drops.explicit_drop, 1u);
  EXPECT_EQ(context.drops.explicit_drop_with_error, 1u);
  EXPECT_EQ(context.drops.last_action, 0u);
  EXPECT_TRUE(context.outputs.empty());
}

// --- set: Ethernet, IPv4 ------------------------------------------------------

TEST(ExecuteSetEthernet, MaskedSetWritesOnlyMaskedBitsAndUpdatesTheKey) {
  RecordingContext context;
  SetAction set = set_masked(OVS_KEY_ATTR_ETHERNET, [](FlowKey& v, FlowKey& m) {
    v.eth_dst = {0xf0, 0x0f, 0xff, 0, 0, 0};
    m.eth_dst = {0xf0, 0x0f, 0xff, 0, 0, 0};
    v.eth_src = kMacC;
    m.eth_src.fill(0xff);
  });
  ASSERT_TRUE(run(context, tcp4(), {set, to_userspace(1)}).is_ok());
  const EthAddr expected_dst = {0xf6, 0x7f, 0xff, 0x99, 0xaa, 0xbb};
  const auto& packet = context.upcalls[0].packet;
  EXPECT_TRUE(std::equal(expected_dst.begin(), expected_dst.end(), packet.begin()));
  EXPECT_TRUE(std::equal(kMacC.begin(), kMacC.end(), packet.begin() + 6));
  EXPECT_EQ(context.upcalls[0].key.eth_dst, expected_dst);
  EXPECT_EQ(context.upcalls[0].key.eth_src, kMacC);
}

TEST(ExecuteSetEthernet, FrameShorterThanAnEthernetHeaderIsDroppedWithAReason) {
  BuiltFrame frame;
  const uint8_t runt[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  frame.packet = Packet(runt);
  RecordingContext context;
  Status status = run(context, frame, {set_eth_dst(kMacC), OutputAction{1}});
  EXPECT_EQ(status.code(), ENOMEM);
  EXPECT_THAT(status.message(), HasSubstr("set(eth): frame of 10 bytes is shorter than an Ethernet header"));
  EXPECT_EQ(context.drops.action_error, 1u);
  EXPECT_EQ(context.drops.last_error.message(), status.message());
  EXPECT_TRUE(context.outputs.empty());
}

TEST(ExecuteSetIpv4, SourceAddressRewritesIpAndTcpChecksums) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {set_ipv4_src("192.168.7.9"), to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(tcp4("192.168.7.9").packet));
  EXPECT_EQ(context.upcalls[0].key.ipv4_src, ip4("192.168.7.9"));
}

TEST(ExecuteSetIpv4, DestinationAddressRewritesUdpChecksum) {
  RecordingContext context;
  ASSERT_TRUE(run(context, udp4(), {set_ipv4_dst(ip4("172.16.0.200")), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(udp4("10.0.0.1", "172.16.0.200").packet));
}

TEST(ExecuteSetIpv4, ZeroUdpChecksumStaysZero) {
  RecordingContext context;
  ASSERT_TRUE(
      run(context, udp4("10.0.0.1", "10.0.0.2", false), {set_ipv4_dst(ip4("10.0.0.99")), OutputAction{1}})
          .is_ok());
  const auto out = bytes_of(context.outputs[0].packet);
  EXPECT_EQ(out, bytes_of(udp4("10.0.0.1", "10.0.0.99", false).packet));
  EXPECT_EQ(rd16(&out[34 + 6]), 0);
}

TEST(ExecuteSetIpv4, UdpChecksumThatComesOutZeroIsSentAsFfff) {
  // Find a destination for which the correct UDP checksum computes to zero.
  Be32 zero_sum_address = 0;
  for (uint32_t low = 0; low < 0x10000 && !zero_sum_address; ++low) {
    char text[32];
    std::snprintf(text, sizeof text, "10.1.%u.%u", low >> 8, low & 0xff);
    BuiltFrame candidate = udp4("10.0.0.1", text);
    if (rd16(candidate.packet.data() + 40) == 0xffff) zero_sum_address = ip4(text);
  }
  ASSERT_NE(zero_sum_address, 0u);
  RecordingContext context;
  ASSERT_TRUE(run(context, udp4(), {set_ipv4_dst(zero_sum_address), OutputAction{1}}).is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_EQ(rd16(out.data() + 40), 0xffff);
  EXPECT_TRUE(execute_testing::l4_checksum_ok(out, 14, 34, 17));
}

TEST(ExecuteSetIpv4, UnchangedAddressLeavesChecksumsAlone) {
  RecordingContext context;
  BuiltFrame frame = tcp4();
  ASSERT_TRUE(run(context, frame, {set_ipv4_src("10.0.0.1"), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(frame.packet));
}

TEST(ExecuteSetIpv4, TosAndTtlKeepTheHeaderChecksumAndUpdateTheKey) {
  SetAction set = set_masked(OVS_KEY_ATTR_IPV4, [](FlowKey& v, FlowKey& m) {
    v.ip_tos = 0xb8;
    m.ip_tos = 0xfc;  // DSCP only
    v.ip_ttl = 7;
    m.ip_ttl = 0xff;
  });
  BuiltFrame frame = FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", /*tos=*/0x03).tcp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set, to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(
      bytes_of(context.outputs[0].packet),
      bytes_of(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", 0xbb, 7).tcp(1, 2).build().packet));
  EXPECT_EQ(context.upcalls[0].key.ip_tos, 0xbb);
  EXPECT_EQ(context.upcalls[0].key.ip_ttl, 7);
}

TEST(ExecuteSetIpv4, HeaderWithOptionsFindsL4ByOffset) {
  BuiltFrame frame =
      FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2", 0, 64, 0, 8).tcp(1, 2).payload(4).build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set_ipv4_src("1.2.3.4"), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .ipv4("1.2.3.4", "10.0.0.2", 0, 64, 0, 8)
                                                              .tcp(1, 2)
                                                              .payload(4)
                                                              .build()
                                                              .packet));
}

TEST(ExecuteSetIpv4, LaterFragmentKeepsItsPayloadBytes) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .ipv4("10.0.0.1", "10.0.0.2", 0, 64, /*offset 8*8=*/0x0008)
                         .udp(1, 2)
                         .payload(8)
                         .build();
  const auto before = bytes_of(frame.packet);
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set_ipv4_src("9.9.9.9"), OutputAction{1}}).is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_TRUE(std::equal(before.begin() + 34, before.end(), out.data() + 34));
  EXPECT_TRUE(execute_testing::ipv4_header_checksum_ok(out, 14));
  EXPECT_EQ(rd32(out.data() + 26), 0x09090909u);
}

TEST(ExecuteSetIpv4, PacketThatIsNotIpv4IsRefused) {
  BuiltFrame frame = FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2).build();
  RecordingContext context;
  Status status = run(context, frame, {set_ipv4_src("1.2.3.4"), OutputAction{1}});
  EXPECT_EQ(status.code(), EINVAL);
  EXPECT_THAT(status.message(), HasSubstr("set(ipv4): packet is not IPv4 (eth_type 0x86dd)"));
  EXPECT_TRUE(context.outputs.empty());
}

TEST(ExecuteSetIpv4, TruncatedIpv4HeaderIsDroppedWithoutReadingPastIt) {
  BuiltFrame frame = FrameBuilder().ethernet().ethertype(0x0800).payload(10).build();
  frame.packet.l3_ofs = 14;
  RecordingContext context;
  Status status = run(context, frame, {set_ipv4_ttl(1), OutputAction{1}});
  EXPECT_EQ(status.code(), ENOMEM);
  EXPECT_THAT(status.message(), HasSubstr("packet of 24 bytes ends inside the IPv4 header at offset 14"));
  EXPECT_EQ(context.drops.action_error, 1u);
}

TEST(ExecuteSetIpv4, MissingNetworkOffsetIsRefused) {
  BuiltFrame frame = tcp4();
  frame.packet.l3_ofs = Packet::kNoOffset;
  RecordingContext context;
  Status status = run(context, frame, {set_ipv4_ttl(1)});
  EXPECT_THAT(status.message(), HasSubstr("no IPv4 header offset"));
}

// --- set: IPv6 -----------------------------------------------------------------

BuiltFrame ipv6_frame(const char* src, const char* dst, uint8_t proto, uint8_t tclass = 0, uint32_t label = 0,
                      uint8_t hlimit = 64) {
  FrameBuilder builder;
  builder.ethernet().ipv6(src, dst, tclass, label, hlimit);
  if (proto == 6) builder.tcp(1000, 80);
  if (proto == 17) builder.udp(1000, 53);
  if (proto == 58) builder.icmpv6(128, 0);
  return builder.payload(12).build();
}

SetAction set_ipv6_addresses(const char* src, const char* dst) {
  return set_masked(OVS_KEY_ATTR_IPV6, [&](FlowKey& v, FlowKey& m) {
    if (src) {
      v.ipv6_src = ip6(src);
      m.ipv6_src.fill(0xff);
    }
    if (dst) {
      v.ipv6_dst = ip6(dst);
      m.ipv6_dst.fill(0xff);
    }
  });
}

TEST(ExecuteSetIpv6, AddressChangesRewriteTcpUdpAndIcmpv6Checksums) {
  for (uint8_t proto : {6, 17, 58}) {
    RecordingContext context;
    BuiltFrame frame = ipv6_frame("2001:db8::1", "2001:db8::2", proto);
    ASSERT_TRUE(run(context, frame,
                    {set_ipv6_addresses("2001:db8:aa::5", "fe80::9"), to_userspace(1), OutputAction{1}})
                    .is_ok());
    EXPECT_EQ(bytes_of(context.outputs[0].packet),
              bytes_of(ipv6_frame("2001:db8:aa::5", "fe80::9", proto).packet))
        << "proto " << int{proto};
    EXPECT_EQ(context.upcalls[0].key.ipv6_src, ip6("2001:db8:aa::5"));
    EXPECT_EQ(context.upcalls[0].key.ipv6_dst, ip6("fe80::9"));
  }
}

TEST(ExecuteSetIpv6, DestinationBehindARoutingHeaderWithSegmentsLeftKeepsTheL4Checksum) {
  const std::vector<Ipv6Addr> hops = {ip6("2001:db8::99")};
  BuiltFrame pending =
      FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").ipv6_routing(1, hops).tcp(1, 2).build();
  const uint16_t before = rd16(pending.packet.data() + pending.packet.l4_ofs + 16);
  RecordingContext context;
  ASSERT_TRUE(run(context, pending, {set_ipv6_addresses(nullptr, "2001:db8::3"), OutputAction{1}}).is_ok());
  EXPECT_EQ(rd16(context.outputs[0].packet.data() + pending.packet.l4_ofs + 16), before);

  BuiltFrame done =
      FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").ipv6_routing(0, hops).tcp(1, 2).build();
  ASSERT_TRUE(run(context, done, {set_ipv6_addresses(nullptr, "2001:db8::3"), OutputAction{2}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .ipv6("2001:db8::1", "2001:db8::3")
                                                              .ipv6_routing(0, hops)
                                                              .tcp(1, 2)
                                                              .build()
                                                              .packet));
}

TEST(ExecuteSetIpv6, SourceChangeUpdatesChecksumEvenWithARoutingHeader) {
  const std::vector<Ipv6Addr> hops = {ip6("2001:db8::99")};
  BuiltFrame frame =
      FrameBuilder().ethernet().ipv6("2001:db8::1", "2001:db8::2").ipv6_routing(1, hops).udp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set_ipv6_addresses("2001:db8::7", nullptr), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .ipv6("2001:db8::7", "2001:db8::2")
                                                              .ipv6_routing(1, hops)
                                                              .udp(1, 2)
                                                              .build()
                                                              .packet));
}

TEST(ExecuteSetIpv6, TrafficClassLabelAndHopLimit) {
  SetAction set = set_masked(OVS_KEY_ATTR_IPV6, [](FlowKey& v, FlowKey& m) {
    v.ip_tos = 0x2c;
    m.ip_tos = 0xff;
    v.ipv6_label = htonl(0xabcde);
    m.ipv6_label = htonl(0xfffff);
    v.ip_ttl = 3;
    m.ip_ttl = 0xff;
  });
  RecordingContext context;
  ASSERT_TRUE(run(context, ipv6_frame("2001:db8::1", "2001:db8::2", 6, 0x51, 0x12345),
                  {set, to_userspace(1), OutputAction{1}})
                  .is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet),
            bytes_of(ipv6_frame("2001:db8::1", "2001:db8::2", 6, 0x2c, 0xabcde, 3).packet));
  const FlowKey& key = context.upcalls[0].key;
  EXPECT_EQ(key.ip_tos, 0x2c);
  EXPECT_EQ(ntohl(key.ipv6_label), 0xabcdeu);
  EXPECT_EQ(key.ip_ttl, 3);
}

TEST(ExecuteSetIpv6, MaskedLabelKeepsTrafficClassBits) {
  SetAction set = set_masked(OVS_KEY_ATTR_IPV6, [](FlowKey& v, FlowKey& m) {
    v.ipv6_label = htonl(0x000f0);
    m.ipv6_label = htonl(0x000ff);
  });
  RecordingContext context;
  ASSERT_TRUE(run(context, ipv6_frame("2001:db8::1", "2001:db8::2", 6, 0xff, 0xfffff), {set, OutputAction{1}})
                  .is_ok());
  EXPECT_EQ(rd32(context.outputs[0].packet.data() + 14), 0x6ff00000u | 0xfff00u | 0xf0u);
}

// --- set: transport ports ---------------------------------------------------------

TEST(ExecuteSetTcp, PortsRewriteTheChecksumAndKey) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {set_tcp_ports(4444, 8080), to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(tcp4("10.0.0.1", "10.0.0.2", 4444, 8080).packet));
  EXPECT_EQ(ntohs(context.upcalls[0].key.tp_src), 4444);
  EXPECT_EQ(ntohs(context.upcalls[0].key.tp_dst), 8080);
}

TEST(ExecuteSetTcp, MaskedPortWritesOnlyMaskedBits) {
  SetAction set = set_masked(OVS_KEY_ATTR_TCP, [](FlowKey& v, FlowKey& m) {
    v.tp_dst = htons(0x0011);
    m.tp_dst = htons(0x00ff);
  });
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4("10.0.0.1", "10.0.0.2", 1000, 0x1234), {set, OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(tcp4("10.0.0.1", "10.0.0.2", 1000, 0x1211).packet));
}

TEST(ExecuteSetTcp, PacketThatIsNotTcpIsRefused) {
  RecordingContext context;
  Status status = run(context, udp4(), {set_tcp_ports(1, 2)});
  EXPECT_THAT(status.message(), HasSubstr("set(tcp): packet is not TCP (ip_proto 17)"));
}

TEST(ExecuteSetTcp, TruncatedTcpHeaderIsDropped) {
  BuiltFrame frame = FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build();
  Packet shortened(std::span<const uint8_t>(frame.packet.data(), 40));
  shortened.l3_ofs = 14;
  shortened.l4_ofs = 34;
  frame.packet = shortened;
  RecordingContext context;
  Status status = run(context, frame, {set_tcp_ports(5, 6)});
  EXPECT_EQ(status.code(), ENOMEM);
  EXPECT_THAT(status.message(), HasSubstr("ends inside the TCP header at offset 34"));
}

TEST(ExecuteSetUdp, PortsRewriteTheChecksumOrLeaveAZeroOne) {
  SetAction set = set_masked(OVS_KEY_ATTR_UDP, [](FlowKey& v, FlowKey& m) {
    v.tp_src = htons(7);
    v.tp_dst = htons(9);
    m.tp_src = m.tp_dst = 0xffff;
  });
  auto expected = [](bool checksum) {
    return bytes_of(FrameBuilder()
                        .ethernet()
                        .ipv4("10.0.0.1", "10.0.0.2")
                        .udp(7, 9, checksum)
                        .payload(18)
                        .build()
                        .packet);
  };
  for (bool checksum : {true, false}) {
    RecordingContext context;
    ASSERT_TRUE(run(context, udp4("10.0.0.1", "10.0.0.2", checksum), {set, to_userspace(1), OutputAction{1}})
                    .is_ok());
    EXPECT_EQ(bytes_of(context.outputs[0].packet), expected(checksum)) << "checksum " << checksum;
    EXPECT_EQ(ntohs(context.upcalls[0].key.tp_src), 7);
    EXPECT_EQ(ntohs(context.upcalls[0].key.tp_dst), 9);
  }
}

SetAction set_sctp_ports(uint16_t src, uint16_t dst) {
  return set_masked(OVS_KEY_ATTR_SCTP, [&](FlowKey& v, FlowKey& m) {
    v.tp_src = htons(src);
    v.tp_dst = htons(dst);
    m.tp_src = m.tp_dst = 0xffff;
  });
}

BuiltFrame sctp4(uint16_t src, uint16_t dst) {
  return FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").sctp(src, dst).payload(20).build();
}

TEST(ExecuteSetSctp, PortsRecomputeTheCrc32c) {
  RecordingContext context;
  ASSERT_TRUE(
      run(context, sctp4(1, 2), {set_sctp_ports(3000, 4000), to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(sctp4(3000, 4000).packet));
  EXPECT_EQ(ntohs(context.upcalls[0].key.tp_dst), 4000);
}

TEST(ExecuteSetSctp, AWrongChecksumStaysWrongBySameBits) {
  BuiltFrame frame = sctp4(1, 2);
  frame.packet.data()[34 + 8] ^= 0x5a;
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set_sctp_ports(3000, 4000), OutputAction{1}}).is_ok());
  auto expected = bytes_of(sctp4(3000, 4000).packet);
  expected[34 + 8] ^= 0x5a;
  EXPECT_EQ(bytes_of(context.outputs[0].packet), expected);
}

// --- set: MPLS, metadata, tunnel, unsupported -----------------------------------------

TEST(ExecuteSetMpls, RewritesTheTopLabelStackEntry) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .mpls(100, 1, false, 64)
                         .mpls(200, 0, true, 64)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .udp(1, 2)
                         .build();
  SetAction set = set_masked(OVS_KEY_ATTR_MPLS, [](FlowKey& v, FlowKey& m) {
    v.mpls_lse[0] = htonl(555u << 12);
    m.mpls_lse[0] = htonl(0xfffff000u);  // label only
  });
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {set, to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .mpls(555, 1, false, 64)
                                                              .mpls(200, 0, true, 64)
                                                              .ipv4("10.0.0.1", "10.0.0.2")
                                                              .udp(1, 2)
                                                              .build()
                                                              .packet));
  EXPECT_EQ(ntohl(context.upcalls[0].key.mpls_lse[0]), 555u << 12 | 1u << 9 | 64u);
}

TEST(ExecuteSetMpls, PacketThatIsNotMplsIsRefused) {
  SetAction set = set_masked(OVS_KEY_ATTR_MPLS, [](FlowKey& v, FlowKey& m) {
    v.mpls_lse[0] = htonl(1);
    m.mpls_lse[0] = 0xffffffff;
  });
  RecordingContext context;
  EXPECT_THAT(run(context, tcp4(), {set}).message(),
              HasSubstr("set(mpls): packet is not MPLS (ethertype 0x0800)"));
}

TEST(ExecuteSetMetadata, PriorityAndMarkAreMaskedIntoPacketAndKey) {
  SetAction priority = set_masked(OVS_KEY_ATTR_PRIORITY, [](FlowKey& v, FlowKey& m) {
    v.priority = 0x50;
    m.priority = 0xf0;
  });
  SetAction mark = set_masked(OVS_KEY_ATTR_SKB_MARK, [](FlowKey& v, FlowKey& m) {
    v.skb_mark = 0xab00;
    m.skb_mark = 0xff00;
  });
  BuiltFrame frame = tcp4();
  frame.packet.md.priority = frame.key.priority = 0x0f;
  frame.packet.md.skb_mark = frame.key.skb_mark = 0x12;
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {priority, mark, to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(context.outputs[0].packet.md.priority, 0x5fu);
  EXPECT_EQ(context.outputs[0].packet.md.skb_mark, 0xab12u);
  EXPECT_EQ(context.upcalls[0].key.priority, 0x5fu);
  EXPECT_EQ(context.upcalls[0].key.skb_mark, 0xab12u);
}

TunnelKey tunnel_to(const char* destination, uint64_t vni) {
  TunnelKey t{};
  t.tun_id = htobe64(vni);
  t.ipv4_dst = ip4(destination);
  t.flags = kTunnelKey;
  return t;
}

SetAction set_tunnel(const TunnelKey& tunnel) {
  SetAction set;
  set.attr = OVS_KEY_ATTR_TUNNEL;
  set.value->tunnel = tunnel;
  std::memset(&set.mask->tunnel, 0xff, sizeof set.mask->tunnel);
  return set;
}

TEST(ExecuteSetTunnel, SetsThePacketsTunnelNotItsKey) {
  BuiltFrame frame = tcp4();
  frame.key.tunnel.tun_id = htobe64(1);  // where it came from
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame, {set_tunnel(tunnel_to("198.51.100.1", 42)), to_userspace(1), OutputAction{1}})
          .is_ok());
  EXPECT_TRUE(context.outputs[0].packet.md.has_tunnel);
  EXPECT_EQ(be64toh(context.outputs[0].packet.md.tunnel.tun_id), 42u);
  EXPECT_EQ(be64toh(context.upcalls[0].key.tunnel.tun_id), 1u);
}

TEST(ExecuteSetTunnel, MaskedTunnelSetIsRefused) {
  SetAction set = set_tunnel(tunnel_to("198.51.100.1", 42));
  set.masked = true;
  RecordingContext context;
  EXPECT_THAT(run(context, tcp4(), {set}).message(), HasSubstr("masked tunnel set is not supported"));
}

TEST(ExecuteSet, AttributesTheKernelCannotSetAreRefused) {
  for (ovs_key_attr attr :
       {OVS_KEY_ATTR_ICMP, OVS_KEY_ATTR_ICMPV6, OVS_KEY_ATTR_ARP, OVS_KEY_ATTR_ND, OVS_KEY_ATTR_CT_STATE}) {
    SetAction set;
    set.attr = attr;
    RecordingContext context;
    Status status = run(context, tcp4(), {set, OutputAction{1}});
    EXPECT_EQ(status.code(), EINVAL);
    EXPECT_THAT(status.message(), HasSubstr("the datapath cannot set this attribute"));
    EXPECT_TRUE(context.outputs.empty());
  }
}

// --- VLAN ---------------------------------------------------------------------------

TEST(ExecutePushVlan, UntaggedFrameGetsTheTagAfterTheMacsAndTheKeyTheTag) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(),
                  {PushVlanAction{htons(0x8100), htons(0x1000 | 0x2064)}, to_userspace(1), OutputAction{1}})
                  .is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_EQ(bytes_of(out), bytes_of(FrameBuilder()
                                        .ethernet()
                                        .vlan(0x8100, 0x2064)
                                        .ipv4("10.0.0.1", "10.0.0.2")
                                        .tcp(1000, 80)
                                        .payload(26)
                                        .build()
                                        .packet));
  EXPECT_EQ(out.l3_ofs, 18);
  EXPECT_EQ(out.l4_ofs, 38);
  EXPECT_EQ(context.upcalls[0].key.vlan.tpid, htons(0x8100));
  EXPECT_EQ(context.upcalls[0].key.vlan.tci, htons(0x3064));
}

TEST(ExecutePushVlan, ServiceTagOverACustomerTagBecomesOutermostAndInvalidatesTheKey) {
  BuiltFrame frame =
      FrameBuilder().ethernet().vlan(0x8100, 100).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame, {PushVlanAction{htons(0x88a8), htons(0x1005)}, OutputAction{1}, RecircAction{3}})
          .is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .vlan(0x88a8, 5)
                                                              .vlan(0x8100, 100)
                                                              .ipv4("10.0.0.1", "10.0.0.2")
                                                              .udp(1, 2)
                                                              .build()
                                                              .packet));
  EXPECT_EQ(context.extract_calls, 1) << "an invalid key is re-extracted before recirculation";
}

TEST(ExecutePushVlan, KeyStaysValidOnAnUntaggedFrame) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {PushVlanAction{htons(0x8100), htons(0x1001)}, RecircAction{3}}).is_ok());
  EXPECT_EQ(context.extract_calls, 0);
  EXPECT_EQ(context.recirculations[0].key.vlan.tci, htons(0x1001));
}

TEST(ExecutePopVlan, RemovesTheOutermostTagAndClearsTheKeyVlan) {
  BuiltFrame frame =
      FrameBuilder().ethernet().vlan(0x8100, 100).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopVlanAction{}, RecircAction{3}}).is_ok());
  const RecordedRecirculation& r = context.recirculations[0];
  EXPECT_EQ(bytes_of(r.packet),
            bytes_of(FrameBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build().packet));
  EXPECT_EQ(r.key.vlan.tci, 0);
  EXPECT_EQ(r.key.vlan.tpid, 0);
  EXPECT_EQ(r.packet.l3_ofs, 14);
  EXPECT_EQ(context.extract_calls, 0);
}

TEST(ExecutePopVlan, UncoveringAnInnerTagInvalidatesTheKey) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .vlan(0x88a8, 5)
                         .vlan(0x8100, 100)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .tcp(1, 2)
                         .build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopVlanAction{}, OutputAction{1}, RecircAction{3}}).is_ok());
  EXPECT_EQ(
      bytes_of(context.outputs[0].packet),
      bytes_of(
          FrameBuilder().ethernet().vlan(0x8100, 100).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build().packet));
  EXPECT_EQ(context.extract_calls, 1);
}

TEST(ExecutePopVlan, UntaggedFrameIsLeftAlone) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopVlanAction{}, OutputAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(frame.packet));
}

TEST(ExecutePopVlan, TagCutShortIsDropped) {
  BuiltFrame frame = FrameBuilder().ethernet().vlan(0x8100, 100).build();
  frame.packet.truncate(16);  // TPID and TCI, no ethertype after them
  RecordingContext context;
  Status status = run(context, frame, {PopVlanAction{}, OutputAction{1}});
  EXPECT_EQ(status.code(), ENOMEM);
  EXPECT_THAT(status.message(), HasSubstr("pop_vlan: frame of 16 bytes ends inside its VLAN tag"));
}

// --- MPLS -----------------------------------------------------------------------------

constexpr uint32_t lse(uint32_t label, uint8_t tc, bool bottom, uint8_t ttl) {
  return label << 12 | uint32_t{tc} << 9 | (bottom ? 1u << 8 : 0u) | ttl;
}

TEST(ExecutePushMpls, LabelGoesWhereL2EndsAndTheEthertypeChanges) {
  RecordingContext context;
  ASSERT_TRUE(
      run(context, udp4(),
          {PushMplsAction{htonl(lse(1000, 2, true, 63)), htons(0x8847)}, OutputAction{1}, RecircAction{4}})
          .is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_EQ(bytes_of(out), bytes_of(FrameBuilder()
                                        .ethernet()
                                        .mpls(1000, 2, true, 63)
                                        .ipv4("10.0.0.1", "10.0.0.2")
                                        .udp(5000, 53)
                                        .payload(18)
                                        .build()
                                        .packet));
  EXPECT_EQ(out.l2_5_ofs, 14);
  EXPECT_EQ(out.l3_ofs, Packet::kNoOffset);
  EXPECT_EQ(out.l4_ofs, Packet::kNoOffset);
  EXPECT_EQ(context.extract_calls, 1);
}

TEST(ExecutePushMpls, UpcallAfterwardsCarriesTheStaleKeyMarkedInvalid) {
  BuiltFrame frame = udp4();
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame,
          {to_userspace(1), PushMplsAction{htonl(lse(1, 0, true, 1)), htons(0x8847)}, to_userspace(2)})
          .is_ok());
  ASSERT_EQ(context.upcalls.size(), 2u);
  EXPECT_TRUE(context.upcalls[0].key_valid);
  EXPECT_FALSE(context.upcalls[1].key_valid);
  EXPECT_EQ(context.upcalls[1].key, frame.key) << "the kernel does not rewrite an invalidated key";
}

TEST(ExecutePushMpls, GoesAfterAVlanTag) {
  BuiltFrame frame = FrameBuilder().ethernet().vlan(0x8100, 7).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame, {PushMplsAction{htonl(lse(16, 0, true, 1)), htons(0x8848)}, OutputAction{1}})
          .is_ok());
  auto expected = bytes_of(FrameBuilder()
                               .ethernet()
                               .vlan(0x8100, 7)
                               .mpls(16, 0, true, 1)
                               .ipv4("10.0.0.1", "10.0.0.2")
                               .udp(1, 2)
                               .build()
                               .packet);
  expected[16] = 0x88;
  expected[17] = 0x48;  // multicast MPLS ethertype
  EXPECT_EQ(bytes_of(context.outputs[0].packet), expected);
}

TEST(ExecutePushMpls, OnAnMplsPacketTheNewEntryBecomesTheTop) {
  BuiltFrame frame =
      FrameBuilder().ethernet().mpls(200, 0, true, 64).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame, {PushMplsAction{htonl(lse(300, 0, false, 64)), htons(0x8847)}, OutputAction{1}})
          .is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(FrameBuilder()
                                                              .ethernet()
                                                              .mpls(300, 0, false, 64)
                                                              .mpls(200, 0, true, 64)
                                                              .ipv4("10.0.0.1", "10.0.0.2")
                                                              .udp(1, 2)
                                                              .build()
                                                              .packet));
}

TEST(ExecutePushMpls, NonMplsEthertypeIsRefused) {
  RecordingContext context;
  Status status = run(context, udp4(), {PushMplsAction{htonl(1), htons(0x0800)}});
  EXPECT_THAT(status.message(), HasSubstr("push_mpls: ethertype 0x0800 is not MPLS"));
}

TEST(ExecutePopMpls, LastEntryGivesBackTheNetworkHeader) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .mpls(200, 0, true, 64)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .udp(5000, 53)
                         .payload(18)
                         .build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopMplsAction{htons(0x0800)}, OutputAction{1}}).is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_EQ(bytes_of(out), bytes_of(udp4().packet));
  EXPECT_EQ(out.l3_ofs, 14);
  EXPECT_EQ(out.l2_5_ofs, Packet::kNoOffset);
}

TEST(ExecutePopMpls, InnerEntryBecomesTheTop) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .mpls(300, 0, false, 64)
                         .mpls(200, 0, true, 64)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .udp(1, 2)
                         .build();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopMplsAction{htons(0x8847)}, OutputAction{1}}).is_ok());
  const Packet& out = context.outputs[0].packet;
  EXPECT_EQ(bytes_of(out), bytes_of(FrameBuilder()
                                        .ethernet()
                                        .mpls(200, 0, true, 64)
                                        .ipv4("10.0.0.1", "10.0.0.2")
                                        .udp(1, 2)
                                        .build()
                                        .packet));
  EXPECT_EQ(out.l2_5_ofs, 14);
}

TEST(ExecutePopMpls, NonMplsPacketIsLeftAloneButItsKeyInvalidated) {
  BuiltFrame frame = udp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {PopMplsAction{htons(0x0800)}, OutputAction{1}, RecircAction{1}}).is_ok());
  EXPECT_EQ(bytes_of(context.outputs[0].packet), bytes_of(frame.packet));
  EXPECT_EQ(context.extract_calls, 1);
}

// --- recirc, hash, userspace ------------------------------------------------------------

TEST(ExecuteRecirc, LastRecircHandsOverThePacketWithItsId) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {set_ipv4_ttl(9), RecircAction{0x42}}).is_ok());
  ASSERT_EQ(context.recirculations.size(), 1u);
  const RecordedRecirculation& r = context.recirculations[0];
  EXPECT_EQ(r.packet.md.recirc_id, 0x42u);
  EXPECT_EQ(r.key.recirc_id, 0x42u);
  EXPECT_EQ(r.key.ip_ttl, 9) << "the key followed the set";
  EXPECT_EQ(context.drops.last_action, 0u);
}

TEST(ExecuteRecirc, RecircBeforeMoreActionsHandsOverACopy) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {RecircAction{5}, set_ipv4_ttl(1), RecircAction{6}}).is_ok());
  ASSERT_EQ(context.recirculations.size(), 2u);
  EXPECT_EQ(context.recirculations[0].key.ip_ttl, 64);
  EXPECT_EQ(context.recirculations[0].key.recirc_id, 5u);
  EXPECT_EQ(context.recirculations[1].key.ip_ttl, 1);
  EXPECT_EQ(context.recirculations[1].key.recirc_id, 6u);
}

TEST(ExecuteRecirc, InvalidKeyIsReExtractedKeepingItsMetadataOnce) {
  BuiltFrame frame = udp4();
  frame.key.in_port = 7;
  frame.key.skb_mark = 0x99;
  frame.key.tunnel.tun_id = htobe64(1234);
  frame.key.ct_state = kCtTracked | kCtEstablished;
  frame.key.ct_zone = 3;
  RecordingContext context;
  context.extracted_key.eth_type = htons(0x8847);
  context.extracted_key.mpls_lse[0] = htonl(lse(1000, 0, true, 64));
  context.extracted_key.in_port = 0;
  ASSERT_TRUE(
      run(context, frame,
          {PushMplsAction{htonl(lse(1000, 0, true, 64)), htons(0x8847)}, RecircAction{1}, RecircAction{2}})
          .is_ok());
  EXPECT_EQ(context.extract_calls, 1) << "the first recirc left a valid key behind";
  ASSERT_EQ(context.recirculations.size(), 2u);
  for (const RecordedRecirculation& r : context.recirculations) {
    EXPECT_EQ(r.key.eth_type, htons(0x8847));
    EXPECT_EQ(r.key.in_port, 7u);
    EXPECT_EQ(r.key.skb_mark, 0x99u);
    EXPECT_EQ(be64toh(r.key.tunnel.tun_id), 1234u);
    EXPECT_EQ(r.key.ct_state, kCtTracked | kCtEstablished);
    EXPECT_EQ(r.key.ct_zone, 3);
    EXPECT_EQ(r.packet.l3_ofs, 77) << "offsets as extraction set them";
  }
}

TEST(ExecuteHash, DpHashIsJhashOfTheFlowHashNeverZero) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {HashAction{OVS_HASH_ALG_L4, 5}, RecircAction{1}}).is_ok());
  const RecordedRecirculation& r = context.recirculations[0];
  const uint32_t expected = jhash_1word(packet_flow_hash(frame.packet.bytes()), 5);
  EXPECT_EQ(r.key.dp_hash, expected ? expected : 1u);
  EXPECT_EQ(r.packet.md.dp_hash, r.key.dp_hash);
  EXPECT_NE(r.key.dp_hash, 0u);
}

TEST(ExecuteHash, SymmetricHashMatchesBothDirectionsPlainOneDoesNot) {
  BuiltFrame forward = tcp4("10.0.0.1", "10.0.0.2", 1000, 80);
  BuiltFrame reverse = tcp4("10.0.0.2", "10.0.0.1", 80, 1000);
  auto dp_hash = [](const BuiltFrame& frame, uint32_t algorithm, uint32_t basis) {
    RecordingContext context;
    EXPECT_TRUE(run(context, frame, {HashAction{algorithm, basis}, RecircAction{1}}).is_ok());
    return context.recirculations[0].key.dp_hash;
  };
  EXPECT_EQ(dp_hash(forward, 1, 0), dp_hash(reverse, 1, 0));
  EXPECT_NE(dp_hash(forward, OVS_HASH_ALG_L4, 0), dp_hash(reverse, OVS_HASH_ALG_L4, 0));
  EXPECT_NE(dp_hash(forward, OVS_HASH_ALG_L4, 0), dp_hash(forward, OVS_HASH_ALG_L4, 1));
}

TEST(ExecuteUserspace, UpcallCarriesActionKeyListAndEgressTunnel) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  VxlanRoute route;
  route.underlay_port = 2;
  route.endpoint.local_ipv4 = ip4("192.0.2.1");
  context.vxlan_routes[10] = route;
  UserspaceAction upcall;
  upcall.pid = 77;
  upcall.userdata = {1, 2, 3};
  upcall.has_userdata = true;
  upcall.actions = true;
  upcall.has_egress_tun_port = true;
  upcall.egress_tun_port = 10;
  const ActionList actions = {set_tunnel(tunnel_to("198.51.100.1", 9)), upcall};
  ASSERT_TRUE(run(context, frame, actions).is_ok());
  ASSERT_EQ(context.upcalls.size(), 1u);
  const RecordedUpcall& u = context.upcalls[0];
  EXPECT_EQ(u.action, upcall);
  EXPECT_EQ(u.packet, bytes_of(frame.packet));
  EXPECT_EQ(u.original_length, frame.packet.size());
  EXPECT_EQ(u.key, frame.key);
  EXPECT_EQ(u.actions, &actions);
  ASSERT_TRUE(u.egress_tunnel.has_value());
  EXPECT_EQ(u.egress_tunnel->ipv4_src, ip4("192.0.2.1"));
  EXPECT_EQ(u.egress_tunnel->ipv4_dst, ip4("198.51.100.1"));
  EXPECT_EQ(ntohs(u.egress_tunnel->tp_dst), 4789);
  EXPECT_EQ(ntohs(u.egress_tunnel->tp_src), vxlan_udp_source_port(frame.packet.bytes(), route.endpoint));
  EXPECT_EQ(context.drops.last_action, 0u) << "a last userspace action consumes the packet";
}

TEST(ExecuteUserspace, NoActionsOrEgressTunnelUnlessAsked) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), {to_userspace(1), OutputAction{1}}).is_ok());
  EXPECT_EQ(context.upcalls[0].actions, nullptr);
  EXPECT_FALSE(context.upcalls[0].egress_tunnel.has_value());
}

// --- sample, clone, check_pkt_len -------------------------------------------------------

TEST(ExecuteSample, ProbabilityZeroNeverRunsAndDrawsNothing) {
  RecordingContext context;
  context.random_value = 0;
  ASSERT_TRUE(run(context, tcp4(), {SampleAction{0, {OutputAction{1}}}, OutputAction{2}}).is_ok());
  EXPECT_EQ(context.random_draws, 0);
  ASSERT_EQ(context.outputs.size(), 1u);
  EXPECT_EQ(context.outputs[0].port, 2u);
}

TEST(ExecuteSample, ProbabilityMaxAlwaysRunsWithoutDrawing) {
  RecordingContext context;
  context.random_value = UINT32_MAX;
  ASSERT_TRUE(run(context, tcp4(), {SampleAction{UINT32_MAX, {OutputAction{1}}}, OutputAction{2}}).is_ok());
  EXPECT_EQ(context.random_draws, 0);
  EXPECT_EQ(context.outputs.size(), 2u);
}

TEST(ExecuteSample, RunsWhenTheDrawIsAtMostTheProbability) {
  for (uint32_t draw : {999u, 1000u, 1001u}) {
    RecordingContext context;
    context.random_value = draw;
    ASSERT_TRUE(run(context, tcp4(), {SampleAction{1000, {OutputAction{1}}}}).is_ok());
    EXPECT_EQ(context.random_draws, 1);
    EXPECT_EQ(context.outputs.size(), draw <= 1000 ? 1u : 0u) << "draw " << draw;
    EXPECT_EQ(context.drops.last_action, 0u) << "a skipped last sample consumes the packet";
  }
}

TEST(ExecuteClone, ActionsRunOnACopyOfPacketAndKey) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(run(context, frame,
                  {CloneAction{{set_eth_dst(kMacC), set_ipv4_ttl(5), to_userspace(1), OutputAction{1}}},
                   to_userspace(2), OutputAction{2}})
                  .is_ok());
  ASSERT_EQ(context.outputs.size(), 2u);
  EXPECT_EQ(context.outputs[0].packet.data()[0], kMacC[0]);
  EXPECT_EQ(context.outputs[0].packet.data()[22], 5);
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(frame.packet));
  EXPECT_EQ(context.upcalls[0].key.ip_ttl, 5);
  EXPECT_EQ(context.upcalls[1].key.ip_ttl, 64);
  EXPECT_EQ(context.upcalls[1].key, frame.key);
}

TEST(ExecuteClone, CloneInsideSampleStaysIsolated) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ActionList inner = {CloneAction{{set_ipv4_ttl(2), OutputAction{1}}}, OutputAction{2}};
  ASSERT_TRUE(run(context, frame, {SampleAction{UINT32_MAX, inner}, OutputAction{3}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 3u);
  EXPECT_EQ(context.outputs[0].port, 1u);
  EXPECT_EQ(context.outputs[0].packet.data()[22], 2);
  EXPECT_TRUE(execute_testing::ipv4_header_checksum_ok(context.outputs[0].packet, 14));
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(frame.packet));
  EXPECT_EQ(bytes_of(context.outputs[2].packet), bytes_of(frame.packet));
}

TEST(ExecuteClone, FailureInsideDropsTheOuterPacketToo) {
  RecordingContext context;
  Status status =
      run(context, udp4(), {CloneAction{{set_tcp_ports(1, 2), OutputAction{1}}}, OutputAction{2}});
  EXPECT_FALSE(status.is_ok());
  EXPECT_TRUE(context.outputs.empty());
  EXPECT_EQ(context.drops.action_error, 2u) << "the clone and the packet it was taken from";
}

TEST(ExecuteClone, FailureInsideALastCloneDropsOnePacket) {
  RecordingContext context;
  EXPECT_FALSE(run(context, udp4(), {OutputAction{9}, CloneAction{{set_tcp_ports(1, 2)}}}).is_ok());
  EXPECT_EQ(context.drops.action_error, 1u);
  EXPECT_EQ(context.outputs.size(), 1u);
}

ActionList nested_clones(int levels) {
  ActionList actions = {OutputAction{1}};
  for (int level = 0; level < levels; ++level) actions = {CloneAction{actions}};
  return actions;
}

TEST(ExecuteClone, SixteenLevelsOfNestingRun) {
  RecordingContext context;
  ASSERT_TRUE(run(context, tcp4(), nested_clones(16)).is_ok());
  EXPECT_EQ(context.outputs.size(), 1u);
}

TEST(ExecuteClone, NestingBeyondSixteenLevelsIsAnError) {
  RecordingContext context;
  Status status = run(context, tcp4(), nested_clones(17));
  EXPECT_EQ(status.code(), ELOOP);
  EXPECT_THAT(status.message(), HasSubstr("clone: actions nested more than 16 levels deep"));
  EXPECT_TRUE(context.outputs.empty());
}

TEST(ExecuteCheckPktLen, EqualLengthTakesTheLessEqualBranchLongerTheOther) {
  BuiltFrame frame = tcp4();
  ASSERT_EQ(frame.packet.size(), 80u);
  for (uint16_t limit : {80, 79}) {
    RecordingContext context;
    CheckPktLenAction check{limit, {OutputAction{1}}, {OutputAction{2}}};
    ASSERT_TRUE(run(context, frame, {check, OutputAction{3}}).is_ok());
    ASSERT_EQ(context.outputs.size(), 2u);
    EXPECT_EQ(context.outputs[0].port, limit == 80 ? 2u : 1u) << "limit " << limit;
    EXPECT_EQ(context.outputs[1].port, 3u);
  }
}

TEST(ExecuteCheckPktLen, OffloadedVlanTagDoesNotCount) {
  BuiltFrame frame = FrameBuilder()
                         .ethernet()
                         .vlan(0x8100, 3)
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .tcp(1000, 80)
                         .payload(26)
                         .build();
  ASSERT_EQ(frame.packet.size(), 84u);
  RecordingContext context;
  ASSERT_TRUE(run(context, frame, {CheckPktLenAction{80, {OutputAction{1}}, {OutputAction{2}}}}).is_ok());
  EXPECT_EQ(context.outputs[0].port, 2u);
}

TEST(ExecuteCheckPktLen, BranchChangesStayInTheBranch) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  ASSERT_TRUE(
      run(context, frame, {CheckPktLenAction{1500, {}, {set_ipv4_ttl(1), OutputAction{1}}}, OutputAction{2}})
          .is_ok());
  EXPECT_EQ(context.outputs[0].packet.data()[22], 1);
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(frame.packet));
}

// --- VXLAN output ------------------------------------------------------------------------

VxlanRoute vxlan_route() {
  VxlanRoute route;
  route.underlay_port = 3;
  route.endpoint.src_mac = kMacA;
  route.endpoint.dst_mac = kMacB;
  route.endpoint.local_ipv4 = ip4("192.0.2.1");
  return route;
}

TEST(ExecuteVxlanOutput, EncapsulatesWithThePacketsTunnelAndSendsToTheUnderlayPort) {
  BuiltFrame frame = tcp4();
  RecordingContext context;
  context.vxlan_routes[10] = vxlan_route();
  TunnelKey tunnel = tunnel_to("198.51.100.1", 5001);
  tunnel.flags |= kTunnelCsum;
  ASSERT_TRUE(run(context, frame, {set_tunnel(tunnel), OutputAction{10}, OutputAction{2}}).is_ok());
  ASSERT_EQ(context.outputs.size(), 2u);
  EXPECT_EQ(context.outputs[0].port, 3u);
  Packet underlay = context.outputs[0].packet;
  EXPECT_EQ(rd16(underlay.data() + 18), 0x0101) << "IPv4 id from the context";
  Result<TunnelKey> received = vxlan_decapsulate(underlay);
  ASSERT_TRUE(received.is_ok()) << received.status().message();
  EXPECT_EQ(bytes_of(underlay), bytes_of(frame.packet));
  EXPECT_EQ(be64toh(received->tun_id), 5001u);
  EXPECT_EQ(received->ipv4_src, ip4("192.0.2.1"));
  EXPECT_EQ(received->ipv4_dst, ip4("198.51.100.1"));
  EXPECT_EQ(received->flags, kTunnelKey | kTunnelCsum);
  EXPECT_EQ(context.resolved_tunnels.at(0).ipv4_dst, ip4("198.51.100.1"));
  EXPECT_EQ(context.outputs[1].port, 2u);
  EXPECT_EQ(bytes_of(context.outputs[1].packet), bytes_of(frame.packet))
      << "the copy was encapsulated, not the original";
}

TEST(ExecuteVxlanOutput, TruncationAppliesToTheInnerFrame) {
  RecordingContext context;
  context.vxlan_routes[10] = vxlan_route();
  ASSERT_TRUE(
      run(context, tcp4(), {set_tunnel(tunnel_to("198.51.100.1", 1)), TruncAction{40}, OutputAction{10}})
          .is_ok());
  EXPECT_EQ(context.outputs[0].packet.size(), 50u + 40u);
}

TEST(ExecuteVxlanOutput, PacketWithoutTunnelMetadataIsDroppedAndCounted) {
  RecordingContext context;
  context.vxlan_routes[10] = vxlan_route();
  ASSERT_TRUE(run(context, tcp4(), {OutputAction{10}, OutputAction{2}}).is_ok());
  EXPECT_EQ(context.drops.tunnel_output_error, 1u);
  EXPECT_THAT(context.drops.last_error.message(),
              HasSubstr("output to VXLAN port 10: packet has no tunnel metadata"));
  ASSERT_EQ(context.outputs.size(), 1u);
  EXPECT_EQ(context.outputs[0].port, 2u);
}

TEST(ExecuteVxlanOutput, UnresolvableRouteIsDroppedAndCounted) {
  RecordingContext context;
  context.unresolvable_ports.insert(11);
  ASSERT_TRUE(run(context, tcp4(), {set_tunnel(tunnel_to("198.51.100.1", 1)), OutputAction{11}}).is_ok());
  EXPECT_EQ(context.drops.tunnel_output_error, 1u);
  EXPECT_THAT(context.drops.last_error.message(), HasSubstr("output to VXLAN port 11: no route"));
  EXPECT_TRUE(context.outputs.empty());
}

TEST(ExecuteVxlanOutput, Ipv6UnderlayTakesNoIpv4Id) {
  RecordingContext context;
  VxlanRoute route = vxlan_route();
  route.endpoint.local_ipv6 = ip6("2001:db8::1");
  context.vxlan_routes[10] = route;
  TunnelKey tunnel{};
  tunnel.ipv6_dst = ip6("2001:db8::2");
  tunnel.flags = kTunnelKey | kTunnelCsum;
  ASSERT_TRUE(run(context, tcp4(), {set_tunnel(tunnel), OutputAction{10}}).is_ok());
  Packet underlay = context.outputs[0].packet;
  EXPECT_EQ(rd16(underlay.data() + 12), 0x86dd);
  EXPECT_TRUE(vxlan_decapsulate(underlay).is_ok());
}

}  // namespace
}  // namespace flowlift
