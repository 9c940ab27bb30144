// validate_actions: every rule of __ovs_nla_copy_actions / validate_set that
// does not depend on attribute lengths, each accepted and rejected.
#include "kmod/actions_validate.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kmod/test_attribute_bytes.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;
using testing::ip4;
using testing::ip6;

FlowKey flow_of(uint16_t eth_type) {
  FlowKey k{};
  k.in_port = 1;
  k.eth_type = htons(eth_type);
  return k;
}

Match ipv4_flow(uint8_t proto = 6) {
  FlowKey k = flow_of(0x0800);
  k.ip_proto = proto;
  k.ipv4_src = ip4(10, 0, 0, 1);
  k.ipv4_dst = ip4(10, 0, 0, 2);
  k.ip_ttl = 64;
  return Match(k, FlowMask::exact());
}

Match ipv6_flow(uint8_t proto = 17) {
  FlowKey k = flow_of(0x86dd);
  k.ip_proto = proto;
  k.ipv6_dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  return Match(k, FlowMask::exact());
}

Match mpls_flow(uint8_t labels) {
  FlowKey k = flow_of(0x8847);
  k.mpls_depth = labels;
  for (uint8_t i = 0; i < labels; ++i)
    k.mpls_lse[i] = htonl((100u + i) << 12 | (i + 1 == labels ? 1u << 8 : 0));
  return Match(k, FlowMask::exact());
}

// The same flow arriving without an Ethernet header (mac_proto none), e.g.
// from an L3 tunnel.
Match layer3(Match match) {
  FlowKey k = match.key;
  k.mac_proto = kMacProtoNone;
  return Match(k, FlowMask::exact());
}

Match tagged(Match match) {
  FlowKey k = match.key;
  k.vlan = {htons(0x8100), htons(0x1000 | 10)};
  return Match(k, FlowMask::exact());
}

SetAction set_of(ovs_key_attr attr, FlowKey value = {}) {
  SetAction set;
  set.attr = attr;
  set.value = value;
  std::memset(&*set.mask, 0xff, sizeof(FlowKey));
  return set;
}

SetAction masked_set_of(ovs_key_attr attr, FlowKey value, FlowKey mask) {
  SetAction set;
  set.attr = attr;
  set.masked = true;
  set.value = value;
  set.mask = mask;
  return set;
}

// Every flow below is an exact match, so the key form (what an execute
// validates against) must judge each list exactly as the Match form does.
void expect_ok(const ActionList& actions, const Match& match) {
  Status status = validate_actions(actions, match);
  EXPECT_TRUE(status) << status.message();
  Status by_key = validate_actions(actions, match.key);
  EXPECT_TRUE(by_key) << "key form: " << by_key.message();
}

void expect_rejected(const ActionList& actions, const Match& match, const std::string& fragment,
                     int code = EINVAL) {
  for (bool key_form : {false, true}) {
    SCOPED_TRACE(key_form ? "validate_actions(actions, key)" : "validate_actions(actions, match)");
    Status status = key_form ? validate_actions(actions, match.key) : validate_actions(actions, match);
    ASSERT_FALSE(status) << "accepted; expected an error containing: " << fragment;
    EXPECT_EQ(status.code(), code);
    EXPECT_THAT(status.message(), HasSubstr(fragment));
  }
}

TEST(ValidateActions, TypicalActionsOnAnIpv4TcpFlowPass) {
  FlowKey ipv4 = ipv4_flow().key;
  ipv4.ipv4_dst = ip4(192, 168, 0, 1);
  FlowKey dst_only{}, dst_mask{};
  dst_only.ipv4_dst = ip4(192, 168, 0, 0);
  dst_mask.ipv4_dst = ip4(255, 255, 0, 0);
  FlowKey port{};
  port.tp_dst = htons(8080);
  FlowKey tunnel{};
  tunnel.tunnel.ipv4_dst = ip4(172, 16, 0, 1);
  tunnel.tunnel.ttl = 64;
  UserspaceAction userspace;
  userspace.pid = 77;
  CheckPktLenAction check;
  check.pkt_len = 1500;
  check.if_greater = {userspace};
  check.if_less_equal = {OutputAction{2}};

  ActionList actions = {
      set_of(OVS_KEY_ATTR_IPV4, ipv4),
      masked_set_of(OVS_KEY_ATTR_IPV4, dst_only, dst_mask),
      set_of(OVS_KEY_ATTR_TCP, port),
      set_of(OVS_KEY_ATTR_ETHERNET),
      set_of(OVS_KEY_ATTR_PRIORITY),
      set_of(OVS_KEY_ATTR_SKB_MARK),
      set_of(OVS_KEY_ATTR_CT_MARK),
      set_of(OVS_KEY_ATTR_CT_LABELS),
      set_of(OVS_KEY_ATTR_TUNNEL, tunnel),
      PushVlanAction{htons(0x88a8), htons(0x1000 | 5)},
      PopVlanAction{},
      OutputAction{65534},
      userspace,
      HashAction{OVS_HASH_ALG_L4, 0},
      HashAction{1, 0},  // OVS_HASH_ALG_SYM_L4
      TruncAction{14},
      SampleAction{0x1000, {OutputAction{3}}},
      CloneAction{{PushVlanAction{htons(0x8100), htons(0x1001)}, OutputAction{4}}},
      check,
      RecircAction{9},
      DropAction{0},
  };
  expect_ok(actions, ipv4_flow());
}

TEST(ValidateActions, OutputPortMustBeBelowDpMaxPorts) {
  expect_rejected({OutputAction{65535}}, ipv4_flow(),
                  "actions[0]: output: port 65535 is out of range (0 to 65534)");
}

TEST(ValidateActions, UserspaceNeedsANetlinkPid) {
  expect_rejected({UserspaceAction{}}, ipv4_flow(), "userspace: pid 0 is not a netlink port id");
}

TEST(ValidateActions, PushVlanNeedsAVlanTpidAndTheCfiBit) {
  expect_rejected({PushVlanAction{htons(0x0800), htons(0x1001)}}, ipv4_flow(),
                  "push_vlan: TPID 0x0800 is not 0x8100 or 0x88a8");
  expect_rejected({PushVlanAction{htons(0x8100), htons(0x0001)}}, ipv4_flow(),
                  "push_vlan: tci 0x0001 lacks the VLAN_CFI_MASK bit (0x1000)");
  expect_ok({PushVlanAction{htons(0x8100), htons(0x1001)}}, ipv4_flow());
}

TEST(ValidateActions, PushMplsNeedsAnMplsEthertype) {
  expect_rejected({PushMplsAction{0, htons(0x0800)}}, ipv4_flow(),
                  "push_mpls: ethertype 0x0800 is not MPLS (0x8847 or 0x8848)");
  expect_ok({PushMplsAction{0, htons(0x8848)}}, ipv4_flow());
}

TEST(ValidateActions, PushMplsOnlyFromIpArpRarpOrMpls) {
  expect_rejected({PushMplsAction{0, htons(0x8847)}}, Match(flow_of(0x88cc), FlowMask::exact()),
                  "push_mpls: flow eth_type 0x88cc is not IPv4, IPv6, ARP, RARP or MPLS");
  for (uint16_t type : {0x0800, 0x86dd, 0x0806, 0x8035, 0x8847}) {
    expect_ok({PushMplsAction{0, htons(0x8847)}}, Match(flow_of(type), FlowMask::exact()));
  }
}

TEST(ValidateActions, PushMplsRefusedOnATaggedPacket) {
  expect_rejected({PushMplsAction{0, htons(0x8847)}}, tagged(ipv4_flow()),
                  "push_mpls: the packet is VLAN-tagged");
  // The tag is tracked through the list: pushed tags count, popped ones do not.
  expect_rejected({PushVlanAction{htons(0x8100), htons(0x1001)}, PushMplsAction{0, htons(0x8847)}},
                  ipv4_flow(), "actions[1]: push_mpls: the packet is VLAN-tagged (tci 0x1001)");
  expect_ok({PopVlanAction{}, PushMplsAction{0, htons(0x8847)}}, tagged(ipv4_flow()));
}

TEST(ValidateActions, PopMplsOnlyOnUntaggedMplsPackets) {
  expect_rejected({PopMplsAction{htons(0x0800)}}, ipv4_flow(),
                  "pop_mpls: flow is not MPLS (eth_type 0x0800)");
  expect_rejected({PopMplsAction{htons(0x0800)}}, tagged(mpls_flow(1)),
                  "pop_mpls: the packet is VLAN-tagged");
  expect_rejected({PopMplsAction{htons(0x6558)}}, mpls_flow(1), "pop_mpls: ethertype 0x6558");
  expect_ok({PopMplsAction{htons(0x0800)}}, mpls_flow(1));
  expect_ok({PushMplsAction{0, htons(0x8847)}, PopMplsAction{htons(0x0800)}}, ipv4_flow());
}

TEST(ValidateActions, PopMplsTracksTheLabelCount) {
  expect_ok({PopMplsAction{htons(0x8847)}, PopMplsAction{htons(0x0800)}}, mpls_flow(2));
  // Popping the only label leaves the ethertype unknown: no further pops or L3 sets.
  expect_rejected({PopMplsAction{htons(0x8847)}, PopMplsAction{htons(0x0800)}}, mpls_flow(1),
                  "actions[1]: pop_mpls: flow is not MPLS (eth_type 0x0000)");
  expect_rejected({PopMplsAction{htons(0x0800)}, set_of(OVS_KEY_ATTR_IPV4, mpls_flow(1).key)}, mpls_flow(1),
                  "actions[1]: set(OVS_KEY_ATTR_IPV4): flow eth_type is 0x0000");
}

TEST(ValidateActions, SetMplsOnlyWhileThePacketIsMpls) {
  expect_ok({set_of(OVS_KEY_ATTR_MPLS)}, mpls_flow(3));
  expect_rejected({set_of(OVS_KEY_ATTR_MPLS)}, ipv4_flow(),
                  "set(OVS_KEY_ATTR_MPLS): flow eth_type is 0x0800, not MPLS");
  expect_ok({PushMplsAction{0, htons(0x8847)}, set_of(OVS_KEY_ATTR_MPLS)}, ipv4_flow());
}

TEST(ValidateActions, SetIpv4NeedsAnIpv4FlowAndKeepsProtoAndFrag) {
  expect_rejected({set_of(OVS_KEY_ATTR_IPV4)}, ipv6_flow(),
                  "set(OVS_KEY_ATTR_IPV4): flow eth_type is 0x86dd, not 0x0800 (IPv4)");
  FlowKey proto = ipv4_flow().key;
  proto.ip_proto = 17;
  expect_rejected({set_of(OVS_KEY_ATTR_IPV4, proto)}, ipv4_flow(), "ipv4_proto 17 differs from the flow's 6");
  FlowKey frag = ipv4_flow().key;
  frag.ip_frag = kFragFirst;
  expect_rejected({set_of(OVS_KEY_ATTR_IPV4, frag)}, ipv4_flow(), "ipv4_frag 1 differs from the flow's 0");
  FlowKey mask{};
  mask.ip_proto = 0xff;
  expect_rejected(
      {masked_set_of(OVS_KEY_ATTR_IPV4, {}, mask)}, ipv4_flow(),
      "set_masked(OVS_KEY_ATTR_IPV4): the mask covers ipv4_proto or ipv4_frag, which are not writable");
  FlowKey ttl_mask{};
  ttl_mask.ip_ttl = 0xff;
  expect_ok({masked_set_of(OVS_KEY_ATTR_IPV4, {}, ttl_mask)}, ipv4_flow());
}

TEST(ValidateActions, SetIpv6RulesIncludingTheFlowLabel) {
  expect_rejected({set_of(OVS_KEY_ATTR_IPV6)}, ipv4_flow(),
                  "set(OVS_KEY_ATTR_IPV6): flow eth_type is 0x0800");
  FlowKey label = ipv6_flow().key;
  label.ipv6_label = htonl(0x100000);
  expect_rejected({set_of(OVS_KEY_ATTR_IPV6, label)}, ipv6_flow(),
                  "flow label 0x100000 does not fit in 20 bits");
  FlowKey label_mask{};
  label_mask.ipv6_label = htonl(0xffffffff);
  expect_rejected({masked_set_of(OVS_KEY_ATTR_IPV6, {}, label_mask)}, ipv6_flow(),
                  "the flow label mask 0xffffffff reaches beyond the label's 20 bits");
  FlowKey frag_mask{};
  frag_mask.ip_frag = 0x01;
  expect_rejected({masked_set_of(OVS_KEY_ATTR_IPV6, {}, frag_mask)}, ipv6_flow(), "not writable");
  FlowKey proto = ipv6_flow().key;
  proto.ip_proto = 6;
  expect_rejected({set_of(OVS_KEY_ATTR_IPV6, proto)}, ipv6_flow(), "ipv6_proto 6 differs from the flow's 17");
  expect_ok({set_of(OVS_KEY_ATTR_IPV6, ipv6_flow().key)}, ipv6_flow());
}

TEST(ValidateActions, SetTransportNeedsTheMatchingIpProto) {
  expect_rejected({set_of(OVS_KEY_ATTR_TCP)}, ipv4_flow(17),
                  "set(OVS_KEY_ATTR_TCP): flow ip_proto is 17, not 6 (TCP)");
  expect_rejected({set_of(OVS_KEY_ATTR_UDP)}, Match(flow_of(0x0806), FlowMask::exact()),
                  "set(OVS_KEY_ATTR_UDP): flow eth_type is 0x0806, not IPv4 or IPv6");
  expect_ok({set_of(OVS_KEY_ATTR_UDP)}, ipv6_flow(17));
  expect_ok({set_of(OVS_KEY_ATTR_SCTP)}, ipv4_flow(132));
  expect_rejected({set_of(OVS_KEY_ATTR_SCTP)}, ipv4_flow(6), "not 132 (SCTP)");
}

TEST(ValidateActions, AttributesTheDatapathCannotSet) {
  for (ovs_key_attr attr :
       {OVS_KEY_ATTR_ICMP, OVS_KEY_ATTR_ICMPV6, OVS_KEY_ATTR_ARP, OVS_KEY_ATTR_ND, OVS_KEY_ATTR_IN_PORT,
        OVS_KEY_ATTR_CT_STATE, OVS_KEY_ATTR_ETHERTYPE, OVS_KEY_ATTR_VLAN, OVS_KEY_ATTR_TCP_FLAGS,
        OVS_KEY_ATTR_RECIRC_ID, OVS_KEY_ATTR_ENCAP}) {
    expect_rejected({set_of(attr)}, ipv4_flow(1), "the datapath cannot set this attribute");
  }
}

TEST(ValidateActions, TunnelSetMustBeUnmaskedWithADestination) {
  FlowKey tunnel{};
  tunnel.tunnel.ipv4_dst = ip4(1, 2, 3, 4);
  expect_rejected({masked_set_of(OVS_KEY_ATTR_TUNNEL, tunnel, tunnel)}, ipv4_flow(),
                  "set_masked(OVS_KEY_ATTR_TUNNEL): the datapath has no masked tunnel set");
  expect_rejected({set_of(OVS_KEY_ATTR_TUNNEL)}, ipv4_flow(),
                  "set(OVS_KEY_ATTR_TUNNEL): the tunnel destination is zero");
  tunnel.tunnel.ipv6_dst = ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  expect_rejected({set_of(OVS_KEY_ATTR_TUNNEL, tunnel)}, ipv4_flow(),
                  "both an IPv4 and an IPv6 tunnel destination");
  tunnel.tunnel.ipv4_dst = 0;
  expect_ok({set_of(OVS_KEY_ATTR_TUNNEL, tunnel)}, ipv4_flow());
}

TEST(ValidateActions, MaskedSetValueMustLieWithinItsMask) {
  FlowKey value{}, mask{};
  value.skb_mark = 0x1ff;
  mask.skb_mark = 0x0ff;
  expect_rejected(
      {masked_set_of(OVS_KEY_ATTR_SKB_MARK, value, mask)}, ipv4_flow(),
      "set_masked(OVS_KEY_ATTR_SKB_MARK): value byte 1 of the attribute has bits outside the mask");
  value.skb_mark = 0x0f0;
  expect_ok({masked_set_of(OVS_KEY_ATTR_SKB_MARK, value, mask)}, ipv4_flow());
}

TEST(ValidateActions, HashAlgorithmMustBeKnown) {
  expect_rejected({HashAction{5, 0}}, ipv4_flow(), "hash: algorithm 5 is unknown");
}

TEST(ValidateActions, TruncMustKeepAnEthernetHeader) {
  expect_rejected({TruncAction{13}}, ipv4_flow(), "trunc: max_len 13 is shorter than an Ethernet header");
}

TEST(ValidateActions, DropMustBeLast) {
  expect_rejected({DropAction{1}, OutputAction{1}}, ipv4_flow(),
                  "actions[0]: drop: must be the last action (1 follow)");
  expect_ok({CloneAction{{OutputAction{1}, DropAction{0}}}, OutputAction{2}}, ipv4_flow());
}

TEST(ValidateActions, CheckPktLenNeedsALength) {
  CheckPktLenAction check;
  expect_rejected({check}, ipv4_flow(), "check_pkt_len: pkt_len 0");
  check.pkt_len = 100;
  check.if_greater = {OutputAction{70000}};
  expect_rejected({check}, ipv4_flow(),
                  "actions[0]: check_pkt_len: if_greater: actions[0]: output: port 70000");
}

// __ovs_nla_copy_actions / validate_set refuse what needs a MAC header when
// the flow's mac_proto is not Ethernet.
TEST(ValidateActions, VlanActionsNeedAnEthernetFlow) {
  expect_rejected({PopVlanAction{}}, layer3(ipv4_flow()),
                  "actions[0]: pop_vlan: flow is not Ethernet (L3 packet)");
  expect_rejected({OutputAction{2}, PushVlanAction{htons(0x8100), htons(0x1001)}}, layer3(ipv4_flow()),
                  "actions[1]: push_vlan: flow is not Ethernet (L3 packet)");
  expect_ok({PopVlanAction{}}, ipv4_flow());
  expect_ok({PushVlanAction{htons(0x8100), htons(0x1001)}}, ipv4_flow());
}

TEST(ValidateActions, SetEthernetNeedsAnEthernetFlow) {
  expect_rejected({set_of(OVS_KEY_ATTR_ETHERNET)}, layer3(ipv4_flow()),
                  "actions[0]: set(OVS_KEY_ATTR_ETHERNET): flow is not Ethernet (L3 packet)");
  FlowKey mac{};
  mac.eth_dst = {2, 0, 0, 0, 0, 1};
  FlowKey mac_mask{};
  mac_mask.eth_dst.fill(0xff);
  expect_rejected({masked_set_of(OVS_KEY_ATTR_ETHERNET, mac, mac_mask)}, layer3(ipv4_flow()),
                  "set_masked(OVS_KEY_ATTR_ETHERNET): flow is not Ethernet (L3 packet)");
  expect_ok({set_of(OVS_KEY_ATTR_ETHERNET)}, ipv4_flow());
  expect_ok({masked_set_of(OVS_KEY_ATTR_ETHERNET, mac, mac_mask)}, ipv4_flow());
}

// Inside sample/clone/check_pkt_len the kernel starts again from the key's
// mac_proto: an L3 flow stays L3 there too.
TEST(ValidateActions, NestedListsOfAnL3FlowAreL3Too) {
  expect_rejected({CloneAction{{PopVlanAction{}}}}, layer3(ipv4_flow()),
                  "actions[0]: clone: actions[0]: pop_vlan: flow is not Ethernet (L3 packet)");
  expect_rejected({SampleAction{UINT32_MAX, {set_of(OVS_KEY_ATTR_ETHERNET)}}}, layer3(ipv4_flow()),
                  "sample: actions[0]: set(OVS_KEY_ATTR_ETHERNET): flow is not Ethernet");
}

// The kernel checks no MAC header for MPLS push/pop or L3/L4 sets: they work on
// an L3 flow as on an Ethernet one.
TEST(ValidateActions, MplsAndL3ActionsDoNotNeedAnEthernetFlow) {
  expect_ok({PushMplsAction{0, htons(0x8847)}, set_of(OVS_KEY_ATTR_MPLS)}, layer3(ipv4_flow()));
  expect_ok({PopMplsAction{htons(0x0800)}}, layer3(mpls_flow(1)));
  expect_ok({set_of(OVS_KEY_ATTR_IPV4, ipv4_flow().key), set_of(OVS_KEY_ATTR_TCP)}, layer3(ipv4_flow()));
}

// Popping to Ethernet-in-MPLS (0x6558) is the one action allowed only on a
// packet without a MAC header of its own.
TEST(ValidateActions, PopMplsToEthernetOnlyOnAnL3Flow) {
  expect_ok({PopMplsAction{htons(0x6558)}}, layer3(mpls_flow(1)));
  expect_rejected(
      {PopMplsAction{htons(0x6558)}}, mpls_flow(1),
      "pop_mpls: ethertype 0x6558 (Ethernet in MPLS) needs a packet without an Ethernet header (an L3 "
      "flow); this flow is Ethernet");
}

TEST(ValidateActions, NestingDepthIsLimited) {
  ActionList sixteen = {OutputAction{1}};
  for (int i = 0; i < 16; ++i) sixteen = {SampleAction{UINT32_MAX, sixteen}};
  expect_ok(sixteen, ipv4_flow());
  ActionList seventeen = {CloneAction{sixteen}};
  expect_rejected(seventeen, ipv4_flow(), "the datapath allows 16", EOVERFLOW);
}

TEST(ValidateActions, NestedListsSeeTheStateAtTheirActionAndDoNotLeakIt) {
  // A tag pushed inside a clone does not tag the packet after the clone...
  expect_ok({CloneAction{{PushVlanAction{htons(0x8100), htons(0x1001)}}}, PushMplsAction{0, htons(0x8847)}},
            ipv4_flow());
  // ...but a tag pushed before a sample is seen inside it.
  expect_rejected({PushVlanAction{htons(0x8100), htons(0x1001)},
                   SampleAction{UINT32_MAX, {PushMplsAction{0, htons(0x8847)}}}},
                  ipv4_flow(), "actions[1]: sample: actions[0]: push_mpls: the packet is VLAN-tagged");
  // An MPLS push before a check_pkt_len makes set(mpls) valid in both branches.
  CheckPktLenAction check;
  check.pkt_len = 64;
  check.if_greater = {set_of(OVS_KEY_ATTR_MPLS)};
  check.if_less_equal = {set_of(OVS_KEY_ATTR_MPLS)};
  expect_ok({PushMplsAction{0, htons(0x8847)}, check}, ipv4_flow());
}

TEST(ValidateActions, UsesTheMaskedKeyOfTheMatch) {
  // With ip_proto wildcarded the flow's masked proto is 0, so set(tcp) is refused.
  FlowKey key = ipv4_flow().key;
  FlowKey mask{};
  mask.eth_type = 0xffff;
  expect_rejected({set_of(OVS_KEY_ATTR_TCP)}, Match(key, FlowMask(mask)), "flow ip_proto is 0, not 6");
}

TEST(ValidateActions, TheKeyFormReadsTheWholeKeyAsAnExecuteGivesIt) {
  // An execute validates against the packet's full key: the same TCP key
  // that a proto-wildcarding match refuses set(tcp) for accepts it as a key,
  // and a UDP key refuses it.
  FlowKey tcp = ipv4_flow(6).key;
  EXPECT_TRUE(validate_actions({set_of(OVS_KEY_ATTR_TCP)}, tcp));
  Status udp = validate_actions({set_of(OVS_KEY_ATTR_TCP)}, ipv4_flow(17).key);
  ASSERT_FALSE(udp);
  EXPECT_EQ(udp.code(), EINVAL);
  EXPECT_THAT(udp.message(), HasSubstr("flow ip_proto is 17, not 6"));
}

}  // namespace
}  // namespace flowlift
