// The actions codec: byte-exact encoding against hand-built uapi structs,
// round trips of every action, and every malformed stream named in the task.
#include "kmod/netlink_actions.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using testing::AttrBytes;
using ::testing::HasSubstr;
using testing::ip4;
using testing::ip6;
using testing::ipv4_struct;
using testing::zero;

std::vector<uint8_t> encoded(const ActionList& actions) {
  Result<std::vector<uint8_t>> bytes = encode_actions(actions);
  EXPECT_TRUE(bytes) << bytes.status().message();
  return bytes ? *bytes : std::vector<uint8_t>{};
}

ActionList decoded(const AttrBytes& bytes) {
  Result<ActionList> actions = decode_actions(bytes.span());
  EXPECT_TRUE(actions) << actions.status().message();
  return actions ? *actions : ActionList{};
}

// bytes -> ActionList -> bytes gives the same bytes, and the list decodes again to itself.
void expect_round_trip(const AttrBytes& bytes) {
  ActionList actions = decoded(bytes);
  EXPECT_EQ(encoded(actions), bytes.bytes);
  Result<ActionList> again = decode_actions(encoded(actions));
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_EQ(*again, actions);
}

void expect_error(const AttrBytes& bytes, const std::string& fragment, int code = EINVAL) {
  Result<ActionList> actions = decode_actions(bytes.span());
  ASSERT_FALSE(actions) << "accepted; expected an error containing: " << fragment;
  EXPECT_EQ(actions.status().code(), code);
  EXPECT_THAT(actions.status().message(), HasSubstr(fragment));
}

// ---------------------------------------------------------------------------
// Byte-exact encoding

TEST(ActionEncoding, FixedSizeActionsAreByteExact) {
  ActionList actions = {
      OutputAction{1},
      PushVlanAction{htons(0x8100), htons(0x1000 | 100)},
      PopVlanAction{},
      RecircAction{5},
      HashAction{OVS_HASH_ALG_L4, 7},
      TruncAction{100},
      PushMplsAction{htonl(20 << 12 | 1 << 8 | 64), htons(0x8847)},
      PopMplsAction{htons(0x0800)},
      DropAction{3},
  };
  ovs_action_push_vlan push_vlan;
  zero(push_vlan);
  push_vlan.vlan_tpid = htons(0x8100);
  push_vlan.vlan_tci = htons(0x1064);
  ovs_action_hash hash;
  zero(hash);
  hash.hash_alg = OVS_HASH_ALG_L4;
  hash.hash_basis = 7;
  ovs_action_trunc trunc;
  zero(trunc);
  trunc.max_len = 100;
  ovs_action_push_mpls push_mpls;
  zero(push_mpls);
  push_mpls.mpls_lse = htonl(20 << 12 | 1 << 8 | 64);
  push_mpls.mpls_ethertype = htons(0x8847);

  AttrBytes expected;
  expected.u32(OVS_ACTION_ATTR_OUTPUT, 1);
  expected.put(OVS_ACTION_ATTR_PUSH_VLAN, push_vlan);
  expected.flag(OVS_ACTION_ATTR_POP_VLAN);
  expected.u32(OVS_ACTION_ATTR_RECIRC, 5);
  expected.put(OVS_ACTION_ATTR_HASH, hash);
  expected.put(OVS_ACTION_ATTR_TRUNC, trunc);
  expected.put(OVS_ACTION_ATTR_PUSH_MPLS, push_mpls);
  expected.u16(OVS_ACTION_ATTR_POP_MPLS, htons(0x0800));
  expected.u32(24, 3);  // OVS_ACTION_ATTR_DROP

  EXPECT_EQ(encoded(actions), expected.bytes);
  EXPECT_EQ(decoded(expected), actions);
}

TEST(ActionEncoding, SetAndMaskedSetAreByteExact) {
  AttrBytes expected;
  ovs_key_ipv4 ipv4 = ipv4_struct(ip4(10, 0, 0, 1), ip4(10, 0, 0, 9), 6, 0, 63);
  expected.nest(OVS_ACTION_ATTR_SET, AttrBytes().put(OVS_KEY_ATTR_IPV4, ipv4));
  struct {
    ovs_key_tcp value;
    ovs_key_tcp mask;
  } tcp;
  zero(tcp);
  tcp.value.tcp_dst = htons(8080);
  tcp.mask.tcp_dst = 0xffff;
  expected.nest(OVS_ACTION_ATTR_SET_MASKED, AttrBytes().put(OVS_KEY_ATTR_TCP, tcp));

  SetAction set_ipv4;
  set_ipv4.attr = OVS_KEY_ATTR_IPV4;
  set_ipv4.value->ipv4_src = ip4(10, 0, 0, 1);
  set_ipv4.value->ipv4_dst = ip4(10, 0, 0, 9);
  set_ipv4.value->ip_proto = 6;
  set_ipv4.value->ip_ttl = 63;
  SetAction set_tcp;
  set_tcp.attr = OVS_KEY_ATTR_TCP;
  set_tcp.masked = true;
  set_tcp.value->tp_dst = htons(8080);
  set_tcp.mask->tp_dst = 0xffff;
  EXPECT_EQ(encoded({set_ipv4, set_tcp}), expected.bytes);

  ActionList back = decoded(expected);
  ASSERT_EQ(back.size(), 2u);
  const auto& ipv4_back = back[0].as<SetAction>();
  EXPECT_FALSE(ipv4_back.masked);
  EXPECT_EQ(ipv4_back.value->ipv4_dst, ip4(10, 0, 0, 9));
  EXPECT_EQ(ipv4_back.mask->ipv4_dst, ~0u) << "an unmasked set writes the whole attribute";
  EXPECT_EQ(ipv4_back.mask->ip_frag, 0xff);
  EXPECT_EQ(ipv4_back.mask->tp_dst, 0) << "nothing outside the attribute";
  EXPECT_EQ(back[1].as<SetAction>(), set_tcp);
}

TEST(ActionEncoding, UserspaceIsByteExact) {
  UserspaceAction userspace;
  userspace.pid = 4242;
  userspace.userdata = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  userspace.has_userdata = true;
  userspace.has_egress_tun_port = true;
  userspace.egress_tun_port = 3;
  userspace.actions = true;

  AttrBytes nested;
  nested.u32(OVS_USERSPACE_ATTR_PID, 4242);
  uint8_t cookie[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  nested.put(OVS_USERSPACE_ATTR_USERDATA, cookie, sizeof cookie);
  nested.u32(OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, 3);
  nested.flag(OVS_USERSPACE_ATTR_ACTIONS);
  AttrBytes expected;
  expected.nest(OVS_ACTION_ATTR_USERSPACE, nested);

  EXPECT_EQ(encoded({userspace}), expected.bytes);
  EXPECT_EQ(decoded(expected), ActionList{userspace});
}

TEST(ActionEncoding, SampleCloneAndCheckPktLenNestAsTheKernelDumpsThem) {
  SampleAction sample;
  sample.probability = 0x80000000;
  sample.actions = {OutputAction{2}};
  CloneAction clone;
  clone.actions = {PopVlanAction{}, OutputAction{3}};
  CheckPktLenAction check;
  check.pkt_len = 1500;
  check.if_greater = {OutputAction{4}};
  check.if_less_equal = {OutputAction{5}};

  AttrBytes expected;
  expected.nest(OVS_ACTION_ATTR_SAMPLE,
                AttrBytes()
                    .u32(OVS_SAMPLE_ATTR_PROBABILITY, 0x80000000)
                    .nest(OVS_SAMPLE_ATTR_ACTIONS, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 2)));
  expected.nest(OVS_ACTION_ATTR_CLONE,
                AttrBytes().flag(OVS_ACTION_ATTR_POP_VLAN).u32(OVS_ACTION_ATTR_OUTPUT, 3));
  // The kernel dumps ACTIONS_IF_LESS_EQUAL before ACTIONS_IF_GREATER.
  expected.nest(
      OVS_ACTION_ATTR_CHECK_PKT_LEN,
      AttrBytes()
          .u16(OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, 1500)
          .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 5))
          .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 4)));

  ActionList actions = {sample, clone, check};
  EXPECT_EQ(encoded(actions), expected.bytes);
  EXPECT_EQ(decoded(expected), actions);
}

TEST(ActionEncoding, SetTunnelIsANestedTunnelKey) {
  AttrBytes tunnel;
  tunnel.u64(OVS_TUNNEL_KEY_ATTR_ID, htobe64(77));
  tunnel.u32(OVS_TUNNEL_KEY_ATTR_IPV4_SRC, ip4(1, 1, 1, 1))
      .u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(2, 2, 2, 2));
  tunnel.u8(OVS_TUNNEL_KEY_ATTR_TTL, 64).flag(OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
  tunnel.u16(OVS_TUNNEL_KEY_ATTR_TP_DST, htons(4789));
  tunnel.nest(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS, AttrBytes().u32(OVS_VXLAN_EXT_GBP, 0x00400010));
  AttrBytes expected;
  expected.nest(OVS_ACTION_ATTR_SET, AttrBytes().nest(OVS_KEY_ATTR_TUNNEL, tunnel));

  ActionList actions = decoded(expected);
  ASSERT_EQ(actions.size(), 1u);
  const TunnelKey& value = actions[0].as<SetAction>().value->tunnel;
  EXPECT_EQ(value.tun_id, htobe64(77));
  EXPECT_EQ(value.ipv4_dst, ip4(2, 2, 2, 2));
  EXPECT_EQ(value.flags, kTunnelKey | kTunnelDontFragment);
  EXPECT_EQ(value.vxlan_gbp, 0x00400010u);
  Ipv6Addr all_ones;
  all_ones.fill(0xff);
  EXPECT_EQ(actions[0].as<SetAction>().mask->tunnel.ipv6_dst, all_ones)
      << "a tunnel set replaces the whole tunnel key";
  EXPECT_EQ(encoded(actions), expected.bytes);
}

// ---------------------------------------------------------------------------
// Round trips

TEST(ActionRoundTrip, EverySetTarget) {
  AttrBytes bytes;
  uint8_t mac12[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().put(OVS_KEY_ATTR_ETHERNET, mac12, 12));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_PRIORITY, 7));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_SKB_MARK, 0xabc));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_CT_MARK, 0x1));
  uint8_t labels[16] = {9};
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().put(OVS_KEY_ATTR_CT_LABELS, labels, 16));
  ovs_key_ipv6 ipv6;
  zero(ipv6);
  std::array<uint8_t, 16> dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 5});
  std::memcpy(ipv6.ipv6_dst, dst.data(), 16);
  ipv6.ipv6_label = htonl(0x12345);
  ipv6.ipv6_proto = 17;
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().put(OVS_KEY_ATTR_IPV6, ipv6));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_UDP, htons(1) | htons(2) << 16));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_SCTP, htons(3)));
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(OVS_KEY_ATTR_MPLS, htonl(30 << 12 | 1 << 8)));
  bytes.nest(OVS_ACTION_ATTR_SET_MASKED,
             AttrBytes().u64(OVS_KEY_ATTR_MPLS, htonl(30 << 12) | uint64_t{htonl(0xfffff000)} << 32));
  struct {
    ovs_key_ipv6 value;
    ovs_key_ipv6 mask;
  } masked_ipv6;
  zero(masked_ipv6);
  masked_ipv6.value.ipv6_hlimit = 10;
  masked_ipv6.mask.ipv6_hlimit = 0xff;
  masked_ipv6.mask.ipv6_label = htonl(0xfffff);
  bytes.nest(OVS_ACTION_ATTR_SET_MASKED, AttrBytes().put(OVS_KEY_ATTR_IPV6, masked_ipv6));
  // The datapath refuses these in validation, but they have an attribute form.
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().u16(OVS_KEY_ATTR_ICMP, 0x0003));
  ovs_key_arp arp;
  zero(arp);
  arp.arp_op = htons(2);
  bytes.nest(OVS_ACTION_ATTR_SET, AttrBytes().put(OVS_KEY_ATTR_ARP, arp));
  expect_round_trip(bytes);

  ActionList actions = decoded(bytes);
  const SetAction& ipv6_set = actions[5].as<SetAction>();
  EXPECT_EQ(ipv6_set.value->ipv6_dst, dst);
  EXPECT_EQ(ipv6_set.mask->ipv6_label, htonl(0x000fffff))
      << "like the kernel's SET_TO_MASKED, only the label's 20 bits are written";
  const SetAction& icmp_set = actions[11].as<SetAction>();
  EXPECT_EQ(icmp_set.value->tp_src, htons(3));
  EXPECT_EQ(icmp_set.mask->tp_src, htons(0xff));
}

TEST(ActionRoundTrip, NestedListsAndEveryOtherAction) {
  AttrBytes inner;
  inner.u32(OVS_ACTION_ATTR_OUTPUT, 9);
  inner.nest(OVS_ACTION_ATTR_USERSPACE,
             AttrBytes().u32(OVS_USERSPACE_ATTR_PID, 1).put(OVS_USERSPACE_ATTR_USERDATA, nullptr, 0));
  AttrBytes bytes;
  bytes.nest(OVS_ACTION_ATTR_CLONE, AttrBytes().nest(OVS_ACTION_ATTR_CLONE, inner));
  bytes.nest(OVS_ACTION_ATTR_SAMPLE,
             AttrBytes().u32(OVS_SAMPLE_ATTR_PROBABILITY, 1).nest(OVS_SAMPLE_ATTR_ACTIONS, AttrBytes()));
  bytes.nest(OVS_ACTION_ATTR_CHECK_PKT_LEN,
             AttrBytes()
                 .u16(OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, 64)
                 .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL, AttrBytes())
                 .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, inner));
  bytes.u32(OVS_ACTION_ATTR_RECIRC, 1);
  bytes.u32(24, 0);  // drop
  expect_round_trip(bytes);
  ActionList actions = decoded(bytes);
  const auto& userspace =
      actions[0].as<CloneAction>().actions[0].as<CloneAction>().actions[1].as<UserspaceAction>();
  EXPECT_TRUE(userspace.has_userdata) << "an empty USERDATA is still present";
  EXPECT_TRUE(userspace.userdata.empty());
}

TEST(ActionRoundTrip, AcceptsCheckPktLenBranchesInEitherOrder) {
  AttrBytes bytes;
  bytes.nest(
      OVS_ACTION_ATTR_CHECK_PKT_LEN,
      AttrBytes()
          .u16(OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, 64)
          .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 1))
          .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL, AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 2)));
  ActionList actions = decoded(bytes);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].as<CheckPktLenAction>().if_greater, ActionList{OutputAction{1}});
  EXPECT_EQ(actions[0].as<CheckPktLenAction>().if_less_equal, ActionList{OutputAction{2}});
}

TEST(ActionRoundTrip, EmptyListIsEmpty) {
  EXPECT_EQ(decoded(AttrBytes()), ActionList{});
  EXPECT_EQ(encoded({}), std::vector<uint8_t>{});
}

// ---------------------------------------------------------------------------
// Malformed streams

TEST(MalformedActions, TruncatedAttributeHeader) {
  AttrBytes bytes;
  bytes.u32(OVS_ACTION_ATTR_OUTPUT, 1).raw({0x04, 0x00});
  expect_error(bytes, "attribute at byte 8: truncated header");
}

TEST(MalformedActions, LengthOverrun) {
  AttrBytes bytes;
  bytes.raw({0x10, 0x00, OVS_ACTION_ATTR_OUTPUT, 0x00, 1, 0, 0, 0});
  expect_error(bytes, "nla_len 16 overruns the 8 bytes left");
}

TEST(MalformedActions, WrongLengthForTheActionType) {
  expect_error(AttrBytes().u16(OVS_ACTION_ATTR_OUTPUT, 1),
               "actions[0]: OVS_ACTION_ATTR_OUTPUT: length 2, expected 4");
  expect_error(AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 1).u32(OVS_ACTION_ATTR_POP_VLAN, 0),
               "actions[1]: OVS_ACTION_ATTR_POP_VLAN: length 4, expected 0");
  expect_error(AttrBytes().u32(OVS_ACTION_ATTR_PUSH_MPLS, 0),
               "OVS_ACTION_ATTR_PUSH_MPLS: length 4, expected 8");
  expect_error(AttrBytes().u32(OVS_ACTION_ATTR_HASH, 0), "OVS_ACTION_ATTR_HASH: length 4, expected 8");
  expect_error(AttrBytes().u64(24, 0), "OVS_ACTION_ATTR_DROP: length 8, expected 4");
}

TEST(MalformedActions, UnknownActionType) {
  expect_error(AttrBytes().u32(OVS_ACTION_ATTR_OUTPUT, 1).u32(77, 5), "actions[1]: unknown action type 77");
  expect_error(AttrBytes().flag(OVS_ACTION_ATTR_UNSPEC), "OVS_ACTION_ATTR_UNSPEC: type 0 is not an action");
}

TEST(MalformedActions, KernelActionsFlowliftDoesNotModel) {
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_CT, AttrBytes()),
               "OVS_ACTION_ATTR_CT: not supported by flowlift");
  expect_error(AttrBytes().u32(OVS_ACTION_ATTR_METER, 1), "OVS_ACTION_ATTR_METER: not supported by flowlift");
}

AttrBytes nested_clones(int levels) {
  AttrBytes list;
  list.u32(OVS_ACTION_ATTR_OUTPUT, 1);
  for (int i = 0; i < levels; ++i) {
    AttrBytes outer;
    outer.nest(OVS_ACTION_ATTR_CLONE, list);
    list = outer;
  }
  return list;
}

TEST(MalformedActions, NestedTooDeep) {
  EXPECT_TRUE(decode_actions(nested_clones(16).span())) << "16 nested lists are what the kernel allows";
  expect_error(nested_clones(17), "actions nest 17 levels deep; the datapath allows 16", EOVERFLOW);
}

TEST(MalformedActions, TotalSizeLimit) {
  AttrBytes bytes;
  while (bytes.bytes.size() <= kMaxActionsBytes) bytes.u32(OVS_ACTION_ATTR_OUTPUT, 1);
  expect_error(bytes, "exceed the datapath's 32768-byte limit (MAX_ACTIONS_BUFSIZE)", EMSGSIZE);
}

TEST(MalformedActions, BadUserspaceNest) {
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE, AttrBytes().flag(OVS_USERSPACE_ATTR_ACTIONS)),
               "OVS_ACTION_ATTR_USERSPACE: OVS_USERSPACE_ATTR_PID missing");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE, AttrBytes().u16(OVS_USERSPACE_ATTR_PID, 1)),
               "OVS_USERSPACE_ATTR_PID: length 2, expected 4");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE,
                                AttrBytes().u32(OVS_USERSPACE_ATTR_PID, 1).u32(OVS_USERSPACE_ATTR_PID, 2)),
               "OVS_USERSPACE_ATTR_PID: duplicate attribute");
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE, AttrBytes().u32(OVS_USERSPACE_ATTR_PID, 1).u32(9, 0)),
      "unknown OVS_USERSPACE_ATTR type 9");
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE,
                       AttrBytes().u32(OVS_USERSPACE_ATTR_PID, 1).u8(OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, 1)),
      "OVS_USERSPACE_ATTR_EGRESS_TUN_PORT: length 1, expected 4");
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_USERSPACE, AttrBytes().u32(OVS_USERSPACE_ATTR_PID, 1).raw({1, 0})),
      "OVS_ACTION_ATTR_USERSPACE: attribute at byte 8: truncated header");
}

TEST(MalformedActions, BadSampleAndCheckPktLenNests) {
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_SAMPLE, AttrBytes().nest(OVS_SAMPLE_ATTR_ACTIONS, AttrBytes())),
      "OVS_SAMPLE_ATTR_PROBABILITY missing");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SAMPLE, AttrBytes().u32(OVS_SAMPLE_ATTR_PROBABILITY, 1)),
               "OVS_SAMPLE_ATTR_ACTIONS missing");
  expect_error(
      AttrBytes().nest(
          OVS_ACTION_ATTR_SAMPLE,
          AttrBytes().u16(OVS_SAMPLE_ATTR_PROBABILITY, 1).nest(OVS_SAMPLE_ATTR_ACTIONS, AttrBytes())),
      "OVS_SAMPLE_ATTR_PROBABILITY: length 2, expected 4");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_CHECK_PKT_LEN,
                                AttrBytes()
                                    .u16(OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, 100)
                                    .nest(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, AttrBytes())),
               "both OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER and _IF_LESS_EQUAL must be present");
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_SAMPLE,
                       AttrBytes()
                           .u32(OVS_SAMPLE_ATTR_PROBABILITY, 1)
                           .nest(OVS_SAMPLE_ATTR_ACTIONS, AttrBytes().u16(OVS_ACTION_ATTR_OUTPUT, 1))),
      "OVS_ACTION_ATTR_SAMPLE: OVS_SAMPLE_ATTR_ACTIONS: actions[0]: OVS_ACTION_ATTR_OUTPUT: length 2");
}

TEST(MalformedActions, SetWithAnythingButOneKeyAttribute) {
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes()),
               "key attribute: attribute at byte 0: truncated");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET,
                                AttrBytes().u32(OVS_KEY_ATTR_PRIORITY, 1).u32(OVS_KEY_ATTR_SKB_MARK, 1)),
               "must carry exactly one key attribute (payload 16 bytes, the first key attribute fills 8)");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes().u32(50, 1)),
               "unknown key attribute type 50");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes().u16(OVS_KEY_ATTR_PRIORITY, 1)),
               "OVS_ACTION_ATTR_SET: OVS_KEY_ATTR_PRIORITY: length 2, expected 4");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes().nest(OVS_KEY_ATTR_ENCAP, AttrBytes())),
               "OVS_KEY_ATTR_ENCAP: cannot be the target of a set action");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET, AttrBytes().u16(OVS_KEY_ATTR_MPLS, 1)),
               "OVS_KEY_ATTR_MPLS: 2 bytes per value, expected 1 to 3 label stack entries");
}

TEST(MalformedActions, SetMaskedWithWrongLength) {
  uint8_t thirteen[13] = {};
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET_MASKED, AttrBytes().put(OVS_KEY_ATTR_IPV4, thirteen, 13)),
               "OVS_KEY_ATTR_IPV4: length 13 is odd");
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET_MASKED,
                                AttrBytes().put(OVS_KEY_ATTR_IPV4, ipv4_struct(0, 0, 0, 0, 0))),
               "OVS_ACTION_ATTR_SET_MASKED: OVS_KEY_ATTR_IPV4: length 12, expected 24 (value and mask of 12 "
               "bytes each)");
}

TEST(MalformedActions, SetMaskedValueOutsideItsMask) {
  struct {
    ovs_key_ipv4 value;
    ovs_key_ipv4 mask;
  } ipv4;
  zero(ipv4);
  ipv4.value.ipv4_dst = ip4(10, 0, 0, 1);
  ipv4.mask.ipv4_dst = ip4(255, 255, 255, 0);
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET_MASKED, AttrBytes().put(OVS_KEY_ATTR_IPV4, ipv4)),
               "OVS_KEY_ATTR_IPV4: value byte 7 has bits outside the mask");
}

TEST(MalformedActions, SetTunnelMustBeWholeAndValid) {
  AttrBytes tunnel;
  tunnel.u32(OVS_TUNNEL_KEY_ATTR_IPV4_DST, ip4(1, 2, 3, 4)).u8(OVS_TUNNEL_KEY_ATTR_TTL, 1);
  expect_error(AttrBytes().nest(OVS_ACTION_ATTR_SET_MASKED, AttrBytes().nest(OVS_KEY_ATTR_TUNNEL, tunnel)),
               "OVS_KEY_ATTR_TUNNEL: a masked tunnel set is not supported by the datapath");
  expect_error(
      AttrBytes().nest(OVS_ACTION_ATTR_SET,
                       AttrBytes().nest(OVS_KEY_ATTR_TUNNEL, AttrBytes().u8(OVS_TUNNEL_KEY_ATTR_TTL, 1))),
      "OVS_KEY_ATTR_TUNNEL: no tunnel destination address");
}

// ---------------------------------------------------------------------------
// Encoding errors

TEST(ActionEncodingErrors, MaskedTunnelSetHasNoAttributeForm) {
  SetAction set;
  set.attr = OVS_KEY_ATTR_TUNNEL;
  set.masked = true;
  Result<std::vector<uint8_t>> bytes = encode_actions({set});
  ASSERT_FALSE(bytes);
  EXPECT_THAT(bytes.status().message(), HasSubstr("no masked tunnel set"));
}

TEST(ActionEncodingErrors, OversizedUserdataOverflowsTheAttribute) {
  UserspaceAction userspace;
  userspace.pid = 1;
  userspace.userdata.assign(70000, 0xaa);
  Result<std::vector<uint8_t>> bytes = encode_actions({userspace});
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.status().code(), EMSGSIZE);
}

TEST(ActionEncodingErrors, ListsNestedTooDeep) {
  ActionList list = {OutputAction{1}};
  for (int i = 0; i < 17; ++i) list = {CloneAction{list}};
  Result<std::vector<uint8_t>> bytes = encode_actions(list);
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.status().code(), EOVERFLOW);
}

}  // namespace
}  // namespace flowlift
