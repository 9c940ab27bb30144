// The ovs_datapath, ovs_vport, ovs_flow and ovs_packet messages of the
// kernel Dpif, against payloads written attribute by attribute as
// <linux/openvswitch.h> lays them out (struct ovs_header, then attributes),
// and replies that are truncated, incomplete or carry attributes a newer
// kernel might add.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kmod/flow_extract.h"
#include "kmod/frame_builder_for_tests.h"
#include "kmod/kernel_dpif_datapath.h"
#include "kmod/kernel_dpif_families.h"
#include "kmod/kernel_dpif_flow.h"
#include "kmod/kernel_dpif_packet.h"
#include "kmod/kernel_dpif_vport.h"
#include "kmod/netlink_actions.h"
#include "kmod/netlink_flow.h"
#include "kmod/netlink_key.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using testing::AttrBytes;

// struct ovs_header (dp_ifindex) followed by `attributes`.
std::vector<uint8_t> with_header(int dp_ifindex, const AttrBytes& attributes) {
  // Sized once and filled with memcpy: g++ 12 misreads a vector growing
  // from 4 bytes as an out-of-bounds copy (-Warray-bounds).
  std::vector<uint8_t> bytes(sizeof(int32_t) + attributes.bytes.size());
  std::memcpy(bytes.data(), &dp_ifindex, sizeof dp_ifindex);
  if (!attributes.bytes.empty())
    std::memcpy(bytes.data() + sizeof(int32_t), attributes.bytes.data(), attributes.bytes.size());
  return bytes;
}

AttrBytes& put_string(AttrBytes& attributes, uint16_t type, const std::string& text) {
  return attributes.put(type, text.c_str(), text.size() + 1);
}

Match match_of(const std::string& text) {
  auto match = parse_match(text);
  EXPECT_TRUE(match) << text << ": " << match.status().message();
  return match ? *match : Match{};
}

ActionList actions_of(const std::string& text) {
  auto actions = parse_actions(text);
  EXPECT_TRUE(actions) << text << ": " << actions.status().message();
  return actions ? *actions : ActionList{};
}

// ---- ovs_datapath ----

TEST(KernelDatapathMessages, CreateNamesTheDatapathAndAsksForFeaturesAndPerCpuPids) {
  KernelDatapathCreate create;
  create.name = "dp0";
  create.upcall_pid = 1001;
  create.user_features = OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS | OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
  create.per_cpu_pids = {1001, 1002, 1001};
  AttrBytes expected;
  put_string(expected, OVS_DP_ATTR_NAME, "dp0");
  expected.u32(OVS_DP_ATTR_UPCALL_PID, 1001);
  expected.u32(OVS_DP_ATTR_USER_FEATURES, 0xb);
  uint32_t pids[] = {1001, 1002, 1001};
  expected.put(OVS_DP_ATTR_PER_CPU_PIDS, pids, sizeof pids);
  EXPECT_EQ(build_datapath_with_features(create), with_header(0, expected));
}

TEST(KernelDatapathMessages, WithoutPerCpuDispatchNoPidArrayIsWritten) {
  KernelDatapathCreate create;
  create.name = "dp0";
  create.upcall_pid = 7;
  create.per_cpu_pids = {7, 8};  // ignored: the feature is not asked for
  AttrBytes expected;
  put_string(expected, OVS_DP_ATTR_NAME, "dp0");
  expected.u32(OVS_DP_ATTR_UPCALL_PID, 7);
  expected.u32(OVS_DP_ATTR_USER_FEATURES, OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS);
  EXPECT_EQ(build_datapath_with_features(create), with_header(0, expected));
}

TEST(KernelDatapathMessages, GetAndDeleteNameTheDatapath) {
  AttrBytes expected;
  put_string(expected, OVS_DP_ATTR_NAME, "system0");
  EXPECT_EQ(build_datapath_by_name("system0"), with_header(0, expected));
}

AttrBytes datapath_reply_attributes() {
  AttrBytes reply;
  put_string(reply, OVS_DP_ATTR_NAME, "dp0");
  ovs_dp_stats stats{};
  stats.n_hit = 10;
  stats.n_missed = 4;
  stats.n_lost = 1;
  stats.n_flows = 3;
  reply.put(OVS_DP_ATTR_STATS, stats);
  ovs_dp_megaflow_stats megaflow{};
  megaflow.n_mask_hit = 17;
  megaflow.n_masks = 2;
  megaflow.n_cache_hit = 9;
  reply.put(OVS_DP_ATTR_MEGAFLOW_STATS, megaflow);
  reply.u32(OVS_DP_ATTR_USER_FEATURES, OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU);
  reply.u32(OVS_DP_ATTR_MASKS_CACHE_SIZE, 256);
  return reply;
}

TEST(KernelDatapathMessages, AReplyGivesIfindexNameFeaturesAndCounters) {
  AttrBytes attributes = datapath_reply_attributes();
  attributes.u32(200, 5);  // an attribute from a future kernel is skipped
  auto info = parse_datapath_reply(with_header(12, attributes));
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->dp_ifindex, 12);
  EXPECT_EQ(info->name, "dp0");
  EXPECT_EQ(info->user_features, OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU);
  EXPECT_EQ(info->hit, 10u);
  EXPECT_EQ(info->missed, 4u);
  EXPECT_EQ(info->lost, 1u);
  EXPECT_EQ(info->flows, 3u);
  EXPECT_TRUE(info->has_megaflow_stats);
  EXPECT_EQ(info->mask_hit, 17u);
  EXPECT_EQ(info->masks, 2u);
  EXPECT_EQ(info->cache_hit, 9u);
}

TEST(KernelDatapathMessages, MalformedRepliesAreEprotoNamingWhatWasWrong) {
  std::vector<uint8_t> short_header = {1, 0};
  EXPECT_EQ(parse_datapath_reply(short_header).status().code(), EPROTO);

  AttrBytes no_stats;
  put_string(no_stats, OVS_DP_ATTR_NAME, "dp0");
  auto missing = parse_datapath_reply(with_header(1, no_stats));
  EXPECT_EQ(missing.status().code(), EPROTO);
  EXPECT_NE(missing.status().message().find("OVS_DP_ATTR_STATS"), std::string::npos);

  AttrBytes short_stats;
  put_string(short_stats, OVS_DP_ATTR_NAME, "dp0");
  short_stats.u64(OVS_DP_ATTR_STATS, 1);
  auto wrong_length = parse_datapath_reply(with_header(1, short_stats));
  EXPECT_EQ(wrong_length.status().code(), EPROTO);
  EXPECT_NE(wrong_length.status().message().find("OVS_DP_ATTR_STATS has length 8"), std::string::npos)
      << wrong_length.status().message();

  std::vector<uint8_t> truncated = with_header(1, datapath_reply_attributes());
  truncated.resize(truncated.size() - 6);
  EXPECT_EQ(parse_datapath_reply(truncated).status().code(), EPROTO);
}

// ---- ovs_vport ----

TEST(KernelVportMessages, ANetdevPortLetsTheKernelPickItsNumber) {
  KernelVportCreate create;
  create.dp_ifindex = 5;
  create.name = "veth1";
  create.upcall_pids = {11, 12};
  AttrBytes expected;
  expected.u32(OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_NETDEV);
  put_string(expected, OVS_VPORT_ATTR_NAME, "veth1");
  uint32_t pids[] = {11, 12};
  expected.put(OVS_VPORT_ATTR_UPCALL_PID, pids, sizeof pids);
  EXPECT_EQ(build_vport_new(create), with_header(5, expected));
}

TEST(KernelVportMessages, AVxlanPortCarriesItsUdpPortInHostOrderAndItsNumber) {
  KernelVportCreate create;
  create.dp_ifindex = 5;
  create.name = "vxlan_sys_4789";
  create.type = OVS_VPORT_TYPE_VXLAN;
  create.number = 9;
  create.upcall_pids = {11};
  create.vxlan_udp_port = 4789;
  AttrBytes options;
  options.raw({6, 0, OVS_TUNNEL_ATTR_DST_PORT, 0, 0xb5, 0x12, 0, 0});  // 4789 = 0x12b5, little endian
  AttrBytes expected;
  expected.u32(OVS_VPORT_ATTR_PORT_NO, 9);
  expected.u32(OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_VXLAN);
  put_string(expected, OVS_VPORT_ATTR_NAME, "vxlan_sys_4789");
  expected.nest(OVS_VPORT_ATTR_OPTIONS, options);
  expected.u32(OVS_VPORT_ATTR_UPCALL_PID, 11);
  EXPECT_EQ(build_vport_new(create), with_header(5, expected));
}

TEST(KernelVportMessages, RequestsByNumberByNameDumpAndPidUpdate) {
  AttrBytes by_number;
  by_number.u32(OVS_VPORT_ATTR_PORT_NO, 3);
  EXPECT_EQ(build_vport_by_number(5, 3), with_header(5, by_number));
  AttrBytes by_name;
  put_string(by_name, OVS_VPORT_ATTR_NAME, "veth1");
  EXPECT_EQ(build_vport_by_name("veth1"), with_header(0, by_name));
  EXPECT_EQ(build_vport_dump(5), with_header(5, AttrBytes{}));
  AttrBytes set;
  set.u32(OVS_VPORT_ATTR_PORT_NO, 3);
  uint32_t pids[] = {21, 22, 23};
  set.put(OVS_VPORT_ATTR_UPCALL_PID, pids, sizeof pids);
  EXPECT_EQ(build_vport_set_upcall_pids(5, 3, pids), with_header(5, set));
}

AttrBytes vport_reply_attributes() {
  AttrBytes reply;
  reply.u32(OVS_VPORT_ATTR_PORT_NO, 2);
  reply.u32(OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_VXLAN);
  put_string(reply, OVS_VPORT_ATTR_NAME, "vxlan_sys_4790");
  AttrBytes options;
  options.u16(OVS_TUNNEL_ATTR_DST_PORT, 4790);
  reply.nest(OVS_VPORT_ATTR_OPTIONS, options);
  uint32_t pids[] = {31, 32};
  reply.put(OVS_VPORT_ATTR_UPCALL_PID, pids, sizeof pids);
  ovs_vport_stats stats{};
  stats.rx_packets = 5;
  stats.tx_packets = 6;
  stats.rx_bytes = 500;
  stats.tx_bytes = 600;
  stats.rx_errors = 1;
  stats.tx_dropped = 2;
  reply.put(OVS_VPORT_ATTR_STATS, stats);
  reply.u32(OVS_VPORT_ATTR_IFINDEX, 44);
  reply.u32(OVS_VPORT_ATTR_NETNSID, 0);
  return reply;
}

TEST(KernelVportMessages, AReplyGivesNumberTypeNamePidsCountersAndUdpPort) {
  auto info = parse_vport_reply(with_header(5, vport_reply_attributes()));
  ASSERT_TRUE(info) << info.status().message();
  EXPECT_EQ(info->dp_ifindex, 5);
  EXPECT_EQ(info->number, 2u);
  EXPECT_EQ(info->type, static_cast<uint32_t>(OVS_VPORT_TYPE_VXLAN));
  EXPECT_EQ(kernel_vport_type_name(info->type), "vxlan");
  EXPECT_EQ(info->name, "vxlan_sys_4790");
  EXPECT_EQ(info->upcall_pids, (std::vector<uint32_t>{31, 32}));
  EXPECT_EQ(info->stats.rx_packets, 5u);
  EXPECT_EQ(info->stats.tx_bytes, 600u);
  EXPECT_EQ(info->stats.rx_errors, 1u);
  EXPECT_EQ(info->stats.tx_dropped, 2u);
  ASSERT_TRUE(info->vxlan_udp_port);
  EXPECT_EQ(*info->vxlan_udp_port, 4790);
  EXPECT_EQ(info->ifindex, 44u);
}

TEST(KernelVportMessages, MalformedRepliesAreEproto) {
  AttrBytes odd_pids;
  odd_pids.u32(OVS_VPORT_ATTR_PORT_NO, 2);
  odd_pids.raw({7, 0, OVS_VPORT_ATTR_UPCALL_PID, 0, 1, 2, 3, 0});  // 3 payload bytes
  auto odd = parse_vport_reply(with_header(5, odd_pids));
  EXPECT_EQ(odd.status().code(), EPROTO);
  EXPECT_NE(odd.status().message().find("not a multiple of 4"), std::string::npos) << odd.status().message();

  AttrBytes no_name;
  no_name.u32(OVS_VPORT_ATTR_PORT_NO, 2);
  no_name.u32(OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_NETDEV);
  no_name.put(OVS_VPORT_ATTR_STATS, ovs_vport_stats{});
  auto missing = parse_vport_reply(with_header(5, no_name));
  EXPECT_EQ(missing.status().code(), EPROTO);
  EXPECT_NE(missing.status().message().find("OVS_VPORT_ATTR_NAME"), std::string::npos);

  AttrBytes wide_udp_port;
  wide_udp_port.u32(OVS_TUNNEL_ATTR_DST_PORT, 4789);
  AttrBytes bad_options = vport_reply_attributes();
  bad_options.nest(OVS_VPORT_ATTR_OPTIONS, wide_udp_port);
  EXPECT_EQ(parse_vport_reply(with_header(5, bad_options)).status().code(), EPROTO);

  std::vector<uint8_t> truncated = with_header(5, vport_reply_attributes());
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(parse_vport_reply(truncated).status().code(), EPROTO);
}

// ---- ovs_flow ----

Megaflow udp_flow() {
  Megaflow flow;
  for (uint8_t i = 0; i < 16; ++i) flow.ufid.bytes[i] = static_cast<uint8_t>(i + 1);
  flow.match = match_of("in_port(1),eth(),eth_type(0x0800),ipv4(dst=10.0.0.2,proto=17,frag=no),udp(dst=53)");
  flow.actions = actions_of("set(ipv4(ttl=9)),2");
  return flow;
}

TEST(KernelFlowMessages, APutIsUfidKeyMaskActionsThroughTheDatapathCodec) {
  Megaflow flow = udp_flow();
  auto payload = build_flow_put(7, flow, false);
  ASSERT_TRUE(payload) << payload.status().message();
  MatchAttributes match = encode_match(flow.match);
  auto actions = encode_actions(flow.actions);
  ASSERT_TRUE(actions);
  AttrBytes expected;
  expected.put(OVS_FLOW_ATTR_UFID, flow.ufid.bytes.data(), 16);
  expected.put(OVS_FLOW_ATTR_KEY, match.key.data(), match.key.size());
  expected.put(OVS_FLOW_ATTR_MASK, match.mask.data(), match.mask.size());
  expected.put(OVS_FLOW_ATTR_ACTIONS, actions->data(), actions->size());
  EXPECT_EQ(*payload, with_header(7, expected));
}

TEST(KernelFlowMessages, ClearingStatisticsAddsTheClearFlagAndADropFlowHasAnEmptyActionsNest) {
  Megaflow flow = udp_flow();
  flow.actions.clear();
  auto payload = build_flow_put(7, flow, true);
  ASSERT_TRUE(payload);
  MatchAttributes match = encode_match(flow.match);
  AttrBytes expected;
  expected.put(OVS_FLOW_ATTR_UFID, flow.ufid.bytes.data(), 16);
  expected.put(OVS_FLOW_ATTR_KEY, match.key.data(), match.key.size());
  expected.put(OVS_FLOW_ATTR_MASK, match.mask.data(), match.mask.size());
  expected.flag(OVS_FLOW_ATTR_ACTIONS);  // the kernel requires the attribute, even empty
  expected.flag(OVS_FLOW_ATTR_CLEAR);
  EXPECT_EQ(*payload, with_header(7, expected));
}

TEST(KernelFlowMessages, GetDeleteDumpAndFlushRequests) {
  Ufid ufid = udp_flow().ufid;
  AttrBytes by_ufid;
  by_ufid.put(OVS_FLOW_ATTR_UFID, ufid.bytes.data(), 16);
  EXPECT_EQ(build_flow_by_ufid(7, ufid, 0), with_header(7, by_ufid));
  by_ufid.u32(OVS_FLOW_ATTR_UFID_FLAGS, OVS_UFID_F_OMIT_ACTIONS);
  EXPECT_EQ(build_flow_by_ufid(7, ufid, OVS_UFID_F_OMIT_ACTIONS), with_header(7, by_ufid));
  AttrBytes ufid_only;
  ufid_only.u32(OVS_FLOW_ATTR_UFID_FLAGS, 7);  // OMIT_KEY | OMIT_MASK | OMIT_ACTIONS
  EXPECT_EQ(build_flow_dump(7, kUfidOnlyFlags), with_header(7, ufid_only));
  EXPECT_EQ(build_flow_dump(7, 0), with_header(7, AttrBytes{}));
  EXPECT_EQ(build_flow_flush(7), with_header(7, AttrBytes{}));
}

TEST(KernelFlowMessages, AFlowReplyDecodesToTheFlowWithItsStatistics) {
  Megaflow flow = udp_flow();
  flow.stats = {3, 300, 123456, 0x12};
  auto attributes = encode_flow(flow);
  ASSERT_TRUE(attributes);
  AttrBytes raw;
  raw.bytes = *attributes;
  auto parsed = parse_flow_reply(with_header(7, raw));
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->ufid, flow.ufid);
  EXPECT_EQ(parsed->match, flow.match);
  EXPECT_EQ(parsed->actions, flow.actions);
  EXPECT_EQ(parsed->stats, flow.stats);
}

TEST(KernelFlowMessages, AFlowReplyWithoutKeyOrWithABadKeyIsAnErrorNamingIt) {
  AttrBytes no_key;
  Ufid ufid = udp_flow().ufid;
  no_key.put(OVS_FLOW_ATTR_UFID, ufid.bytes.data(), 16);
  auto missing = parse_flow_reply(with_header(7, no_key));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("OVS_FLOW_ATTR_KEY missing"), std::string::npos);
  AttrBytes bad_key_inner;
  bad_key_inner.u16(OVS_KEY_ATTR_IN_PORT, 1);  // a u32 attribute
  AttrBytes bad_key;
  bad_key.nest(OVS_FLOW_ATTR_KEY, bad_key_inner);
  auto bad = parse_flow_reply(with_header(7, bad_key));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("OVS_KEY_ATTR_IN_PORT"), std::string::npos) << bad.status().message();
  EXPECT_EQ(parse_flow_reply(std::vector<uint8_t>{0, 0}).status().code(), EPROTO);
}

TEST(KernelFlowMessages, AUfidOnlyReplyGivesTheUfidAndStatistics) {
  Ufid ufid = udp_flow().ufid;
  AttrBytes reply;
  reply.put(OVS_FLOW_ATTR_UFID, ufid.bytes.data(), 16);
  ovs_flow_stats stats{};
  stats.n_packets = 4;
  stats.n_bytes = 400;
  reply.put(OVS_FLOW_ATTR_STATS, stats);
  reply.u64(OVS_FLOW_ATTR_USED, 999);
  reply.u8(OVS_FLOW_ATTR_TCP_FLAGS, 0x02);
  auto identity = parse_flow_identity_reply(with_header(7, reply));
  ASSERT_TRUE(identity) << identity.status().message();
  EXPECT_EQ(identity->ufid, ufid);
  EXPECT_EQ(identity->stats, (FlowStats{4, 400, 999, 0x02}));

  AttrBytes no_ufid;
  no_ufid.put(OVS_FLOW_ATTR_STATS, stats);
  EXPECT_EQ(parse_flow_identity_reply(with_header(7, no_ufid)).status().code(), EPROTO);
  AttrBytes short_ufid;
  short_ufid.put(OVS_FLOW_ATTR_UFID, ufid.bytes.data(), 8);
  EXPECT_EQ(parse_flow_identity_reply(with_header(7, short_ufid)).status().code(), EPROTO);
}

// ---- ovs_packet ----

std::vector<uint8_t> udp_frame() {
  testing::Ipv4Fields ip;
  ip.total_length = 28;
  ip.protocol = 17;
  ip.src = testing::ipv4_address(10, 0, 0, 1);
  ip.dst = testing::ipv4_address(10, 0, 0, 2);
  testing::FrameBuilder frame;
  frame.ethernet({2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, 0x0800).ipv4(ip).udp(1000, 53);
  return frame.frame();
}

TEST(KernelPacketMessages, ExecuteIsPacketKeyActions) {
  std::vector<uint8_t> frame = udp_frame();
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  key.in_port = 3;
  ActionList actions = actions_of("2");
  auto payload = build_packet_execute(7, Packet(frame), key, actions);
  ASSERT_TRUE(payload) << payload.status().message();
  std::vector<uint8_t> key_attributes = encode_key(key);
  auto action_attributes = encode_actions(actions);
  ASSERT_TRUE(action_attributes);
  AttrBytes expected;
  expected.put(OVS_PACKET_ATTR_PACKET, frame.data(), frame.size());
  expected.put(OVS_PACKET_ATTR_KEY, key_attributes.data(), key_attributes.size());
  expected.put(OVS_PACKET_ATTR_ACTIONS, action_attributes->data(), action_attributes->size());
  EXPECT_EQ(*payload, with_header(7, expected));
}

GenlMessage upcall_message(uint8_t command, const AttrBytes& attributes) {
  GenlMessage message;
  message.family = 0x22;
  message.command = command;
  message.version = OVS_PACKET_VERSION;
  message.payload = with_header(7, attributes);
  return message;
}

TEST(KernelPacketMessages, AMissUpcallGivesPacketKeyAndTheLow32BitsOfTheHash) {
  std::vector<uint8_t> frame = udp_frame();
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  key.in_port = 3;
  std::vector<uint8_t> key_attributes = encode_key(key);
  AttrBytes attributes;
  attributes.put(OVS_PACKET_ATTR_PACKET, frame.data(), frame.size());
  attributes.put(OVS_PACKET_ATTR_KEY, key_attributes.data(), key_attributes.size());
  attributes.u64(OVS_PACKET_ATTR_HASH, (uint64_t{1} << 32) | 0xdeadbeef);  // software hash bit set
  attributes.u16(OVS_PACKET_ATTR_MRU, 1500);
  attributes.u32(OVS_PACKET_ATTR_LEN, static_cast<uint32_t>(frame.size()));
  auto upcall = parse_upcall(upcall_message(OVS_PACKET_CMD_MISS, attributes));
  ASSERT_TRUE(upcall) << upcall.status().message();
  EXPECT_EQ(upcall->dp_ifindex, 7);
  EXPECT_EQ(upcall->upcall.kind, DpifUpcall::Kind::kMiss);
  EXPECT_EQ(upcall->upcall.hash, 0xdeadbeefu);
  EXPECT_EQ(upcall->upcall.key, key);
  EXPECT_EQ(upcall->upcall.packet.md.in_port, 3u);
  EXPECT_EQ(std::vector<uint8_t>(upcall->upcall.packet.bytes().begin(), upcall->upcall.packet.bytes().end()),
            frame);
  EXPECT_FALSE(upcall->upcall.action);
}

TEST(KernelPacketMessages, AnActionUpcallCarriesTheUserspaceActionsUserdata) {
  std::vector<uint8_t> frame = udp_frame();
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  key.in_port = 1;
  std::vector<uint8_t> key_attributes = encode_key(key);
  AttrBytes attributes;
  attributes.put(OVS_PACKET_ATTR_PACKET, frame.data(), frame.size());
  attributes.put(OVS_PACKET_ATTR_KEY, key_attributes.data(), key_attributes.size());
  attributes.raw({12, 0, OVS_PACKET_ATTR_USERDATA, 0, 1, 2, 3, 4, 5, 6, 7, 8});
  auto upcall = parse_upcall(upcall_message(OVS_PACKET_CMD_ACTION, attributes));
  ASSERT_TRUE(upcall) << upcall.status().message();
  EXPECT_EQ(upcall->upcall.kind, DpifUpcall::Kind::kAction);
  ASSERT_TRUE(upcall->upcall.action);
  EXPECT_TRUE(upcall->upcall.action->has_userdata);
  EXPECT_EQ(upcall->upcall.action->userdata, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(KernelPacketMessages, MalformedUpcallsAreEprotoNamingWhatWasWrong) {
  std::vector<uint8_t> frame = udp_frame();
  AttrBytes no_key;
  no_key.put(OVS_PACKET_ATTR_PACKET, frame.data(), frame.size());
  auto missing = parse_upcall(upcall_message(OVS_PACKET_CMD_MISS, no_key));
  EXPECT_EQ(missing.status().code(), EPROTO);
  EXPECT_NE(missing.status().message().find("OVS_PACKET_ATTR_KEY"), std::string::npos);

  AttrBytes bad_key_inner;
  bad_key_inner.u16(OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
  bad_key_inner.u8(OVS_KEY_ATTR_IN_PORT, 1);
  AttrBytes bad_key = no_key;
  bad_key.nest(OVS_PACKET_ATTR_KEY, bad_key_inner);
  auto bad = parse_upcall(upcall_message(OVS_PACKET_CMD_MISS, bad_key));
  EXPECT_EQ(bad.status().code(), EPROTO);
  EXPECT_NE(bad.status().message().find("OVS_KEY_ATTR_IN_PORT"), std::string::npos) << bad.status().message();

  AttrBytes short_hash = no_key;
  short_hash.u32(OVS_PACKET_ATTR_HASH, 5);
  EXPECT_EQ(parse_upcall(upcall_message(OVS_PACKET_CMD_MISS, short_hash)).status().code(), EPROTO);

  EXPECT_EQ(parse_upcall(upcall_message(OVS_PACKET_CMD_EXECUTE, no_key)).status().code(), EPROTO);

  GenlMessage truncated = upcall_message(OVS_PACKET_CMD_MISS, no_key);
  truncated.payload.resize(truncated.payload.size() - 5);
  EXPECT_EQ(parse_upcall(truncated).status().code(), EPROTO);
  GenlMessage headerless = upcall_message(OVS_PACKET_CMD_MISS, no_key);
  headerless.payload.resize(2);
  EXPECT_EQ(parse_upcall(headerless).status().code(), EPROTO);
}

}  // namespace
}  // namespace flowlift
