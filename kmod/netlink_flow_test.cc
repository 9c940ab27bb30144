// The whole-flow codec: attribute order of a dump reply, round trips, and the
// checks of a flow put (match, actions against the match).
#include "kmod/netlink_flow.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kmod/netlink_actions.h"
#include "kmod/netlink_key.h"
#include "kmod/odp_text_flow.h"
#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using testing::AttrBytes;
using ::testing::HasSubstr;
using testing::ip4;
using testing::zero;

Match udp_match() {
  FlowKey k{};
  k.in_port = 3;
  k.eth_type = htons(0x0800);
  k.ip_proto = 17;
  k.ipv4_dst = ip4(10, 0, 0, 1);
  k.tp_dst = htons(53);
  FlowKey m{};
  m.in_port = ~0u;
  m.eth_type = 0xffff;
  m.vlan.tci = m.cvlan.tci = 0xffff;
  m.mac_proto = 0xff;  // the kernel always matches mac_proto exactly
  m.ip_proto = 0xff;
  m.ipv4_dst = ~0u;
  m.tp_dst = 0xffff;
  return Match(k, FlowMask(m));
}

Megaflow sample_flow() {
  Megaflow flow;
  for (uint8_t i = 0; i < 16; ++i) flow.ufid.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  flow.match = udp_match();
  SetAction mark;
  mark.attr = OVS_KEY_ATTR_SKB_MARK;
  mark.value->skb_mark = 5;
  mark.mask->skb_mark = ~0u;
  flow.actions = {mark, OutputAction{2}};
  flow.stats = {10, 1500, 123456, 0x0112};
  return flow;
}

TEST(FlowEncoding, DumpOrderIsUfidKeyMaskUsedStatsTcpFlagsActions) {
  Megaflow flow = sample_flow();
  MatchAttributes match = encode_match(flow.match);
  Result<std::vector<uint8_t>> actions = encode_actions(flow.actions);
  ASSERT_TRUE(actions);
  ovs_flow_stats stats;
  zero(stats);
  stats.n_packets = 10;
  stats.n_bytes = 1500;

  AttrBytes expected;
  expected.put(OVS_FLOW_ATTR_UFID, flow.ufid.bytes.data(), 16);
  expected.put(OVS_FLOW_ATTR_KEY, match.key.data(), match.key.size());
  expected.put(OVS_FLOW_ATTR_MASK, match.mask.data(), match.mask.size());
  expected.u64(OVS_FLOW_ATTR_USED, 123456);
  expected.put(OVS_FLOW_ATTR_STATS, stats);
  expected.u8(OVS_FLOW_ATTR_TCP_FLAGS, 0x12);  // only the low 8 flag bits travel
  expected.put(OVS_FLOW_ATTR_ACTIONS, actions->data(), actions->size());

  Result<std::vector<uint8_t>> bytes = encode_flow(flow);
  ASSERT_TRUE(bytes) << bytes.status().message();
  EXPECT_EQ(*bytes, expected.bytes);
}

TEST(FlowEncoding, FlowWithoutUfidOrStatsIsKeyMaskActions) {
  Megaflow flow;
  flow.match = udp_match();
  flow.actions = {OutputAction{1}};
  MatchAttributes match = encode_match(flow.match);
  AttrBytes expected;
  expected.put(OVS_FLOW_ATTR_KEY, match.key.data(), match.key.size());
  expected.put(OVS_FLOW_ATTR_MASK, match.mask.data(), match.mask.size());
  expected.nest(OVS_FLOW_ATTR_ACTIONS, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 1));
  Result<std::vector<uint8_t>> bytes = encode_flow(flow);
  ASSERT_TRUE(bytes) << bytes.status().message();
  EXPECT_EQ(*bytes, expected.bytes);
}

TEST(FlowRoundTrip, EncodedFlowDecodesToTheSameMegaflow) {
  Megaflow flow = sample_flow();
  flow.stats.tcp_flags = 0x12;  // what survives the u8 attribute
  Result<std::vector<uint8_t>> bytes = encode_flow(flow);
  ASSERT_TRUE(bytes) << bytes.status().message();
  Result<Megaflow> back = decode_flow(*bytes);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->ufid, flow.ufid);
  EXPECT_EQ(back->match, flow.match);
  EXPECT_EQ(back->actions, flow.actions);
  EXPECT_EQ(back->stats, flow.stats);
}

TEST(FlowDecoding, PutWithoutMaskIsExact) {
  AttrBytes put;
  std::vector<uint8_t> key = encode_key(udp_match().key);
  put.put(OVS_FLOW_ATTR_KEY, key.data(), key.size());
  put.nest(OVS_FLOW_ATTR_ACTIONS, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 1));
  put.flag(OVS_FLOW_ATTR_PROBE).flag(OVS_FLOW_ATTR_PAD);
  Result<Megaflow> flow = decode_flow(put.span());
  ASSERT_TRUE(flow) << flow.status().message();
  EXPECT_EQ(flow->match.mask.bits().in_port, ~0u);
  EXPECT_TRUE(flow->ufid.is_zero());
  EXPECT_EQ(flow->actions, ActionList{OutputAction{1}});
}

// Linux 5.18 and later answer every dump and get of an IPv6 flow with
// OVS_KEY_ATTR_IPV6_EXTHDRS in key and mask (wildcarded: flowlift never
// matches it). FlowKey has no room for it; the flow keeps it, and prints it
// as Debian's ovs-dpctl 3.1 does (seen in the lab: "ipv6(frag=no),key32(00 00/00 00)").
TEST(FlowDecoding, KernelsIpv6ExtensionHeaderAttributeIsKeptForTheDump) {
  FlowKey k{};
  k.in_port = 1;
  k.eth_type = htons(0x86dd);
  k.ip_frag = 0;
  FlowKey m{};
  m.in_port = ~0u;
  m.eth_type = 0xffff;
  m.vlan.tci = m.cvlan.tci = 0xffff;
  m.mac_proto = 0xff;
  m.recirc_id = ~0u;
  m.ip_frag = 0xff;
  const Match match(k, FlowMask(m));
  AttributeWriter writer;
  size_t key = writer.begin_nested(OVS_FLOW_ATTR_KEY);
  put_match_key(writer, match);
  writer.put_u16(OVS_KEY_ATTR_IPV6_EXTHDRS, 0);
  writer.end_nested(key);
  size_t mask = writer.begin_nested(OVS_FLOW_ATTR_MASK);
  put_match_mask(writer, match);
  writer.put_u16(OVS_KEY_ATTR_IPV6_EXTHDRS, 0);
  writer.end_nested(mask);
  size_t actions = writer.begin_nested(OVS_FLOW_ATTR_ACTIONS);
  writer.put_u32(OVS_ACTION_ATTR_OUTPUT, 2);
  writer.end_nested(actions);

  Result<Megaflow> flow = decode_flow(writer.bytes());
  ASSERT_TRUE(flow) << flow.status().message();
  EXPECT_EQ(flow->match, match);
  ASSERT_EQ(flow->unheld_key_attributes.size(), 1u);
  EXPECT_EQ(flow->unheld_key_attributes[0], (UnheldKeyAttribute{OVS_KEY_ATTR_IPV6_EXTHDRS, {0, 0}, {0, 0}}));
  EXPECT_EQ(format_megaflow_match(*flow),
            "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no),key32(00 00/00 00)");

  // An exact mask is left out, as odp-util's format_unknown_key does; a
  // flow without the attribute prints as before.
  Megaflow exact = *flow;
  exact.unheld_key_attributes[0].mask = {0xff, 0xff};
  exact.unheld_key_attributes[0].key = {0x00, 0x41};
  EXPECT_EQ(format_megaflow_match(exact),
            "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no),key32(00 41)");
  Megaflow plain = *flow;
  plain.unheld_key_attributes.clear();
  EXPECT_EQ(format_megaflow_match(plain), format_match(match));
}

TEST(FlowDecoding, MalformedPuts) {
  std::vector<uint8_t> key = encode_key(udp_match().key);
  auto expect_error = [](const AttrBytes& put, const std::string& fragment) {
    Result<Megaflow> flow = decode_flow(put.span());
    ASSERT_FALSE(flow) << "accepted; expected an error containing: " << fragment;
    EXPECT_THAT(flow.status().message(), HasSubstr(fragment));
  };
  expect_error(AttrBytes().nest(OVS_FLOW_ATTR_ACTIONS, AttrBytes()), "OVS_FLOW_ATTR_KEY missing");
  AttrBytes twice;
  twice.put(OVS_FLOW_ATTR_KEY, key.data(), key.size()).put(OVS_FLOW_ATTR_KEY, key.data(), key.size());
  expect_error(twice, "OVS_FLOW_ATTR_KEY: duplicate attribute");
  AttrBytes short_ufid;
  short_ufid.u64(OVS_FLOW_ATTR_UFID, 1).put(OVS_FLOW_ATTR_KEY, key.data(), key.size());
  expect_error(short_ufid, "OVS_FLOW_ATTR_UFID: length 8, expected 16");
  AttrBytes unknown;
  unknown.put(OVS_FLOW_ATTR_KEY, key.data(), key.size()).u32(40, 0);
  expect_error(unknown, "unknown flow attribute type 40");
  AttrBytes bad_key;
  bad_key.nest(OVS_FLOW_ATTR_KEY, AttrBytes().u16(OVS_KEY_ATTR_IN_PORT, 1));
  expect_error(bad_key, "key: OVS_KEY_ATTR_IN_PORT: length 2, expected 4");
  AttrBytes bad_actions;
  bad_actions.put(OVS_FLOW_ATTR_KEY, key.data(), key.size());
  bad_actions.nest(OVS_FLOW_ATTR_ACTIONS,
                   AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_TCP, 0)));
  expect_error(bad_actions,
               "OVS_FLOW_ATTR_ACTIONS: actions[0]: set(OVS_KEY_ATTR_TCP): flow ip_proto is 17, not 6");
  AttrBytes bad_stats;
  bad_stats.put(OVS_FLOW_ATTR_KEY, key.data(), key.size()).u64(OVS_FLOW_ATTR_STATS, 1);
  expect_error(bad_stats, "OVS_FLOW_ATTR_STATS: length 8, expected 16");
}

}  // namespace
}  // namespace flowlift
