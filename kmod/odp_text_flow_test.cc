// Dumped flow lines: ufid, match, statistics and actions together.
#include "kmod/odp_text_flow.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace flowlift {
namespace {

constexpr uint64_t kNowMs = 10'000'000;

Ufid ufid_from_words(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  // OVS keeps the UFID as four host-order 32-bit words; so does the attribute.
  uint32_t w[4] = {a, b, c, d};
  Ufid u;
  std::memcpy(u.bytes.data(), w, sizeof w);
  return u;
}

TEST(UfidText, PrintsTheFourWordsAsAUuid) {
  Ufid u = ufid_from_words(0x35ebeefa, 0xe6b44375, 0x8fdd9ef8, 0x953fb112);
  EXPECT_EQ(format_ufid(u), "ufid:35ebeefa-e6b4-4375-8fdd-9ef8953fb112");
  Result<Ufid> back = parse_ufid("ufid:35ebeefa-e6b4-4375-8fdd-9ef8953fb112");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(*back, u);
  Result<Ufid> bare = parse_ufid("35EBEEFA-E6B4-4375-8FDD-9EF8953FB112");
  ASSERT_TRUE(bare.is_ok());
  EXPECT_EQ(*bare, u);
}

TEST(UfidText, RefusesMalformedUuids) {
  for (const char* bad :
       {"ufid:", "ufid:35ebeefa-e6b4-4375-8fdd-9ef8953fb11", "ufid:35ebeefa-e6b4-4375-8fdd-9ef8953fb1123",
        "ufid:35ebeefae6b4-4375-8fdd-9ef8953fb1123", "ufid:35ebeefa-e6b4-4375-8fdd-9ef8953fb11g"}) {
    Result<Ufid> u = parse_ufid(bad);
    ASSERT_FALSE(u.is_ok()) << bad;
    EXPECT_EQ(u.status().message(), "invalid ufid \"" + std::string(bad) + "\"");
  }
}

Megaflow sample_flow() {
  FlowKey key{};
  FlowKey mask{};
  mask.recirc_id = ~0u;
  key.in_port = 1;
  mask.in_port = ~0u;
  key.eth_type = htons(0x0800);
  mask.eth_type = 0xffff;
  key.ip_proto = 6;
  mask.ip_proto = 0xff;
  mask.ip_frag = 0xff;
  key.tp_dst = htons(80);
  mask.tp_dst = 0xffff;
  // No vlan(): untagged only, as the kernel reads it (tci matched exactly as 0).
  mask.vlan.tci = 0xffff;
  mask.cvlan.tci = 0xffff;
  mask.mac_proto = 0xff;  // eth() in the text: an Ethernet packet, matched exactly as such
  Megaflow flow;
  flow.ufid = ufid_from_words(0x2c78c3bb, 0xe1944346, 0xbecbd69c, 0xcd258fca);
  flow.match = Match(key, FlowMask(mask));
  flow.actions = {SetAction{}, OutputAction{3}};
  SetAction& set = flow.actions[0].as<SetAction>();
  set.attr = OVS_KEY_ATTR_IPV4;
  set.masked = true;
  set.value->ip_ttl = 63;
  set.mask->ip_ttl = 0xff;
  flow.stats = FlowStats{22, 2596, kNowMs - 1889, 0x012};
  return flow;
}

TEST(DumpedFlowText, FormatsLikeOvsDpctlDumpFlows) {
  EXPECT_EQ(format_dumped_flow(sample_flow(), kNowMs),
            "ufid:2c78c3bb-e194-4346-becb-d69ccd258fca, recirc_id(0),in_port(1),eth(),eth_type(0x0800),"
            "ipv4(proto=6,frag=no),tcp(dst=80), packets:22, bytes:2596, used:1.889s, flags:S., "
            "actions:set(ipv4(ttl=63)),3");
}

TEST(DumpedFlowText, ParsesBackToTheSameFlow) {
  Megaflow flow = sample_flow();
  Result<Megaflow> back = parse_dumped_flow(format_dumped_flow(flow, kNowMs), kNowMs);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->ufid, flow.ufid);
  EXPECT_EQ(back->match, flow.match);
  EXPECT_EQ(back->actions, flow.actions);
  EXPECT_EQ(back->stats, flow.stats);
}

TEST(DumpedFlowText, NeverUsedFlowWithoutUfidOrTcpFlags) {
  Megaflow flow = sample_flow();
  flow.ufid = Ufid{};
  flow.stats = FlowStats{};
  flow.actions.clear();
  std::string line = format_dumped_flow(flow, kNowMs);
  EXPECT_EQ(
      line,
      "recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80), packets:0, bytes:0, "
      "used:never, actions:drop");
  Result<Megaflow> back = parse_dumped_flow(line, kNowMs);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_TRUE(back->ufid.is_zero());
  EXPECT_EQ(back->stats.used_ms, 0u);
  EXPECT_TRUE(back->actions.empty());
}

TEST(DumpedFlowText, TcpFlagLettersInTcpdumpOrder) {
  Megaflow flow = sample_flow();
  flow.stats.tcp_flags = 0xfff;
  std::string line = format_dumped_flow(flow, kNowMs);
  EXPECT_NE(line.find(", flags:SFPRU.ECN[200][400][800], "), std::string::npos) << line;
  Result<Megaflow> back = parse_dumped_flow(line, kNowMs);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->stats.tcp_flags, 0xfff);
}

TEST(DumpedFlowText, UsedInTheFuturePrintsNegative) {
  Megaflow flow = sample_flow();
  flow.stats.used_ms = kNowMs + 5;
  EXPECT_NE(format_dumped_flow(flow, kNowMs).find("used:-0.005s"), std::string::npos);
}

// `ovs-appctl dpctl/dump-flows` lines of OVS 3.1 (userspace datapath) from
// shared/oracle/ovs-3.1/trace-result.txt, whole, in userspace style. These
// lines keep their key inside the mask, so the masked Match prints them back
// unchanged. Left out of the copied sample: tnl_push(...)/tnl_pop(...)
// (userspace-datapath-only actions) and userspace(pid=0,controller(...))
// (a decoded OVS cookie); flowlift represents neither.
class OvsDumpLine : public ::testing::TestWithParam<const char*> {};

TEST_P(OvsDumpLine, ParsesAndPrintsBackUnchanged) {
  Result<Megaflow> flow = parse_dumped_flow(GetParam(), kNowMs);
  ASSERT_TRUE(flow.is_ok()) << flow.status().message();
  EXPECT_EQ(format_dumped_flow(*flow, kNowMs, OdpTextStyle::kUserspace), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Ovs31, OvsDumpLine,
    ::testing::Values(
        "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(dst=02:00:00:ed:3a:7b),eth_type(0x0800),ipv4("
        "frag=no), "
        "packets:0, bytes:0, used:never, actions:1",
        "recirc_id(0),in_port(4),packet_type(ns=0,id=0),eth_type(0x0806), packets:24, bytes:1008, "
        "used:1.827s, "
        "actions:1,2,3",
        "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=40),encap(eth_type(0x0800),"
        "ipv4(frag=no)), packets:14, bytes:1672, used:1.881s, actions:drop",
        "tunnel(tun_id=0x65,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(4789),"
        "packet_type(ns=0,id=0),eth(dst=02:00:00:00:00:05),eth_type(0x0800),ipv4(frag=no), packets:2, "
        "bytes:114, "
        "used:1.961s, flags:., actions:5",
        "tunnel(tun_id=0x65,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(4789),"
        "packet_type(ns=0,id=0),eth(dst=02:00:00:7a:dc:f8),eth_type(0x0800),ipv4(frag=no), packets:1, "
        "bytes:54, "
        "used:2.099s, flags:., actions:set(eth(dst=02:00:00:00:00:05)),5",
        "tunnel(tun_id=0x1234,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(4789),"
        "packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:7, bytes:408, used:1.942s, flags:., "
        "actions:drop",
        "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=20,pcp=5),encap(eth_type("
        "0x0800),"
        "ipv4(frag=no)), packets:15, bytes:1806, used:1.877s, actions:pop_vlan,push_vlan(vid=21,pcp=5),5"));

TEST(DumpedFlowText, OvsLineWithBitsOutsideTheMaskReadsAsTheMaskedMatch) {
  // dpif-netdev shows the unmasked key of the packet that made the flow; the
  // datapath's Match keeps key & mask, so those bits print masked away.
  const char* line =
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:54:ba:65/ff:ff:00:00:00:00),"
      "eth_type(0x0800),ipv4(src=10.15.106.251/255.248.0.1,dst=10.3.201.122/"
      "255.255.0.0,proto=6,ttl=128,frag=no),"
      "tcp(dst=22/0xff00), packets:22, bytes:2596, used:1.889s, actions:4";
  Result<Megaflow> flow = parse_dumped_flow(line, kNowMs);
  ASSERT_TRUE(flow.is_ok()) << flow.status().message();
  EXPECT_EQ(flow->match.key.ipv4_src, htonl(0x0a080001));  // 10.15.106.251 & 255.248.0.1
  EXPECT_EQ(flow->stats.packets, 22u);
  EXPECT_EQ(flow->stats.bytes, 2596u);
  EXPECT_EQ(flow->stats.used_ms, kNowMs - 1889);
  EXPECT_EQ(
      format_dumped_flow(*flow, kNowMs, OdpTextStyle::kUserspace),
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:00/ff:ff:00:00:00:00),"
      "eth_type(0x0800),ipv4(src=10.8.0.1/255.248.0.1,dst=10.3.0.0/255.255.0.0,proto=6,ttl=128,frag=no),"
      "tcp(dst=0/0xff00), packets:22, bytes:2596, used:1.889s, actions:4");
}

struct BadLine {
  const char* line;
  const char* error;
};

class DumpedFlowError : public ::testing::TestWithParam<BadLine> {};

TEST_P(DumpedFlowError, RefusedWithAMessageNamingThePart) {
  Result<Megaflow> flow = parse_dumped_flow(GetParam().line, 1000);
  ASSERT_FALSE(flow.is_ok()) << GetParam().line;
  EXPECT_EQ(flow.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, DumpedFlowError,
    ::testing::Values(BadLine{"ufid:1234, in_port(1),eth(), packets:0, bytes:0, used:never, actions:1",
                              "invalid ufid \"ufid:1234\""},
                      BadLine{"in_port(1),eth(),ipv5(), packets:0, bytes:0, used:never, actions:1",
                              "unknown key attribute \"ipv5\""},
                      BadLine{"in_port(1),eth() packets:0", "expected \", packets:\" after the match"},
                      BadLine{"in_port(1),eth(), packets:x, bytes:0, used:never, actions:1",
                              "packets:x: invalid number \"x\""},
                      BadLine{"in_port(1),eth(), packets:1, used:never, actions:1",
                              "expected \"bytes:\" at \"used:never, actions:\""},
                      BadLine{"in_port(1),eth(), packets:1, bytes:2, used:1.2345s, actions:1",
                              "used:1.2345s: expected seconds with at most 3 decimals"},
                      BadLine{"in_port(1),eth(), packets:1, bytes:2, used:2.000s, actions:1",
                              "used:2.000s: earlier than the clock's start"},
                      BadLine{"in_port(1),eth(), packets:1, bytes:2, used:never, flags:SZ, actions:1",
                              "flags:SZ: unknown TCP flag letter"},
                      BadLine{"in_port(1),eth(), packets:1, bytes:2, used:never, dp:ovs, actions:1",
                              "expected \", actions:\" at \", dp:ovs, actions:1\""},
                      BadLine{"in_port(1),eth(), packets:1, bytes:2, used:never, actions:foo",
                              "actions: unknown action \"foo\""}));

}  // namespace
}  // namespace flowlift
