// megaflow_to_tc: each behaviour of the translation, with the expected
// filter written from cls_flower / act_* and Open vSwitch 3.1
// (lib/netdev-offload-tc.c) semantics. Megaflows are written in the
// ovs-dpctl text form and read by kmod's codec.
#include "offload/megaflow_to_tc.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_pedit.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"

namespace flowlift {
namespace {

using F = TcFlowerField;

// Datapath ports 1 and 2 are plain NICs, 3 and 4 VXLAN netdevs.
TcPortTable test_ports() {
  TcPortTable ports;
  ports.set(1, TcPortInfo{11, "eth0", false, 0});
  ports.set(2, TcPortInfo{12, "eth1", false, 0});
  ports.set(3, TcPortInfo{13, "vxlan_sys_4789", true, 4789});
  ports.set(4, TcPortInfo{14, "vxlan_sys_8472", true, 8472});
  return ports;
}

// "MATCH actions:ACTIONS", as `ovs-dpctl add-flow` takes them.
Megaflow megaflow(std::string_view text) {
  Megaflow flow;
  const size_t split = text.find(" actions:");
  EXPECT_NE(split, std::string_view::npos) << text;
  Result<Match> match = parse_match(text.substr(0, split));
  EXPECT_TRUE(match.is_ok()) << match.status().message();
  if (match.is_ok()) flow.match = *match;
  Result<ActionList> actions = parse_actions(text.substr(split + 9));
  EXPECT_TRUE(actions.is_ok()) << actions.status().message();
  if (actions.is_ok()) flow.actions = *actions;
  for (uint8_t i = 0; i < 16; ++i) flow.ufid.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  return flow;
}

Result<TcFlowerRule> translate(std::string_view text) { return megaflow_to_tc(megaflow(text), test_ports()); }

// ---- expected keys ----

TcFlowerKey key(F field, std::initializer_list<uint8_t> value, std::initializer_list<uint8_t> mask) {
  TcFlowerKey k;
  k.field = field;
  std::copy(value.begin(), value.end(), k.value.begin());
  std::copy(mask.begin(), mask.end(), k.mask.begin());
  return k;
}
TcFlowerKey exact8(F field, uint8_t value) { return key(field, {value}, {0xff}); }
TcFlowerKey exact16(F field, uint16_t value) {
  return key(field, {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)}, {0xff, 0xff});
}
TcFlowerKey masked16(F field, uint16_t value, uint16_t mask) {
  return key(field, {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)},
             {static_cast<uint8_t>(mask >> 8), static_cast<uint8_t>(mask)});
}
TcFlowerKey exact32(F field, uint32_t value) {
  return key(field,
             {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
              static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)},
             {0xff, 0xff, 0xff, 0xff});
}
TcFlowerKey mac(F field, const char* value, const char* mask = "ff:ff:ff:ff:ff:ff") {
  TcFlowerKey k;
  k.field = field;
  unsigned v[6], m[6];
  EXPECT_EQ(std::sscanf(value, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 6);
  EXPECT_EQ(std::sscanf(mask, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
  for (int i = 0; i < 6; ++i) {
    k.value[i] = static_cast<uint8_t>(v[i]);
    k.mask[i] = static_cast<uint8_t>(m[i]);
  }
  return k;
}
TcFlowerKey ipv4(F field, const char* value, const char* mask = "255.255.255.255") {
  TcFlowerKey k;
  k.field = field;
  EXPECT_EQ(inet_pton(AF_INET, value, k.value.data()), 1);
  EXPECT_EQ(inet_pton(AF_INET, mask, k.mask.data()), 1);
  return k;
}
TcFlowerKey ipv6(F field, const char* value, const char* mask = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") {
  TcFlowerKey k;
  k.field = field;
  EXPECT_EQ(inet_pton(AF_INET6, value, k.value.data()), 1);
  EXPECT_EQ(inet_pton(AF_INET6, mask, k.mask.data()), 1);
  return k;
}
// TCA_FLOWER_KEY_FLAGS, be32.
TcFlowerKey ip_flags(uint32_t value, uint32_t mask) {
  return key(F::kIpFlags, {0, 0, 0, static_cast<uint8_t>(value)}, {0, 0, 0, static_cast<uint8_t>(mask)});
}
// "frag=no": not a fragment.
TcFlowerKey not_a_fragment() { return ip_flags(0, kTcFlowerIsFragment); }

TcFlowerMatch match_of(std::initializer_list<TcFlowerKey> keys) {
  TcFlowerMatch match;
  for (const TcFlowerKey& k : keys) match.set(k);
  return match;
}

std::string describe(const TcFlowerMatch& match) {
  std::string text;
  for (const TcFlowerKey& k : match.keys) {
    text += std::string(tc_flower_field_info(k.field).name) + "=";
    char byte[4];
    for (int i = 0; i < k.width(); ++i) {
      std::snprintf(byte, sizeof byte, "%02x", k.value[i]);
      text += byte;
    }
    text += "/";
    for (int i = 0; i < k.width(); ++i) {
      std::snprintf(byte, sizeof byte, "%02x", k.mask[i]);
      text += byte;
    }
    text += " ";
  }
  return text;
}

#define EXPECT_MATCH(actual, ...)                                 \
  do {                                                            \
    const TcFlowerMatch expected_match = match_of({__VA_ARGS__}); \
    EXPECT_EQ(describe((actual)), describe(expected_match));      \
    EXPECT_EQ((actual), expected_match);                          \
  } while (0)

// A 32-bit pedit word from its four wire bytes.
uint32_t word(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  uint32_t w;
  std::memcpy(&w, bytes, 4);
  return w;
}

TcMirredAction redirect(uint32_t ifindex, const char* device) {
  return TcMirredAction{ifindex, device, true};
}
TcMirredAction mirror(uint32_t ifindex, const char* device) { return TcMirredAction{ifindex, device, false}; }

void expect_refused(std::string_view text, std::string_view reason) {
  Result<TcFlowerRule> rule = translate(text);
  ASSERT_FALSE(rule.is_ok()) << text;
  EXPECT_EQ(rule.status().code(), EOPNOTSUPP);
  EXPECT_EQ(rule.status().message(), reason) << text;
}

std::vector<TcAction> actions_of(std::string_view text) {
  Result<TcFlowerRule> rule = translate(text);
  EXPECT_TRUE(rule.is_ok()) << text << ": " << rule.status().message();
  return rule.is_ok() ? rule->actions : std::vector<TcAction>{};
}

constexpr const char* kIpv4Prefix = "recirc_id(0),in_port(1),eth(),eth_type(0x0800),";

// =====================================================================
// The filter's place
// =====================================================================

TEST(MegaflowToTc, InPortIsTheDeviceRecircIdTheChainEthTypeTheProtocol) {
  Megaflow flow = megaflow("recirc_id(0x5),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) actions:2");
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->ifindex, 11u);
  EXPECT_EQ(rule->device, "eth0");
  EXPECT_EQ(rule->parent, kTcIngressParent);
  EXPECT_EQ(rule->chain, 5u);
  EXPECT_EQ(rule->protocol, htons(ETH_P_IP));
  EXPECT_EQ(rule->priority, 0);
  EXPECT_EQ(rule->handle, 0u);
  EXPECT_EQ(rule->policy, TcPolicy::kNone);
  EXPECT_EQ(rule->cookie, flow.ufid);
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x0800), not_a_fragment());
  EXPECT_EQ(rule->actions, std::vector<TcAction>{redirect(12, "eth1")});
}

TEST(MegaflowToTc, UnknownInPortIsRefused) {
  expect_refused("recirc_id(0),in_port(9),eth(),eth_type(0x0800),ipv4(frag=no) actions:2",
                 "in_port 9: no such port");
}

TEST(MegaflowToTc, WildcardedRecircIdIsRefused) {
  Megaflow flow = megaflow("recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) actions:2");
  flow.match.mask.mutable_bits().recirc_id = 0;
  flow.match.mask.recompute_range();
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().message(),
            "recirc_id must be matched exactly: it is the tc chain the filter sits in (mask 0x00000000)");
}

// =====================================================================
// Ethernet and VLAN
// =====================================================================

TEST(MegaflowToTc, EthernetAddressesKeepTheirMasks) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(src=02:00:00:00:00:01/ff:ff:ff:00:00:00,dst=02:00:00:00:00:05),"
      "eth_type(0x0800),ipv4(frag=no) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, mac(F::kEthSrc, "02:00:00:00:00:00", "ff:ff:ff:00:00:00"),
               mac(F::kEthDst, "02:00:00:00:00:05"), exact16(F::kEthType, 0x0800), not_a_fragment());
}

TEST(MegaflowToTc, AlwaysMatchedMacProtoAndAbsentVlanCauseNoRefusal) {
  // Every kernel megaflow matches mac_proto and both tcis exactly; an
  // untagged frame has tci 0 in both, which the filter's protocol (the
  // ethertype itself, not a VLAN TPID) already says.
  Megaflow flow = megaflow(std::string(kIpv4Prefix) + "ipv4(frag=no) actions:2");
  ASSERT_EQ(flow.match.mask.bits().mac_proto, 0xff);
  ASSERT_EQ(flow.match.mask.bits().vlan.tci, 0xffff);
  ASSERT_EQ(flow.match.mask.bits().cvlan.tci, 0xffff);
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_IP));
  EXPECT_EQ(rule->match.find(F::kVlanId), nullptr);
}

TEST(MegaflowToTc, UntaggedFramesOfAnyEthertypeAreRefused) {
  // protocol all would also match VLAN-tagged frames, which the megaflow
  // (tci exactly 0) does not.
  expect_refused("recirc_id(0),in_port(1),eth() actions:2",
                 "the flow matches untagged frames of any ethertype: tc flower's protocol all matches "
                 "VLAN-tagged frames too; match eth_type");
}

TEST(MegaflowToTc, Layer3FlowsAreRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no) actions:2",
      "the flow matches layer-3 packets (no Ethernet header): tc flower on eth0 sees Ethernet frames");
}

TEST(MegaflowToTc, VlanTagIsProtocolTpidExactVidAndPrioAndTheInnerEthertype) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=40,pcp=5),encap(eth_type(0x0800),"
      "ipv4(frag=no)) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_8021Q));
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x8100), exact16(F::kVlanId, 40), exact8(F::kVlanPrio, 5),
               exact16(F::kVlanEthType, 0x0800), not_a_fragment());
}

TEST(MegaflowToTc, VlanPcpUnmatchedLeavesPrioOut) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=40),encap(eth_type(0x86dd),ipv6(frag=no)) "
      "actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x8100), exact16(F::kVlanId, 40),
               exact16(F::kVlanEthType, 0x86dd), not_a_fragment());
}

TEST(MegaflowToTc, PartialVlanVidMaskIsRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=16/0xff0,pcp=4/0x4),encap(eth_type(0x86dd)) "
      "actions:2",
      "vlan vid mask 0x0ff0 is partial: tc flower matches vlan_id exactly only");
}

TEST(MegaflowToTc, PartialVlanPcpMaskIsRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=16,pcp=4/0x4),encap(eth_type(0x86dd)) "
      "actions:2",
      "vlan pcp mask 0x4 is partial: tc flower matches vlan_prio exactly only");
}

TEST(MegaflowToTc, SingleTagWithoutInnerEthertypeIsRefused) {
  // cvlan tci is matched as 0 (no inner tag); flower could only say that
  // through vlan_ethtype.
  expect_refused("recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=5),encap() actions:2",
                 "the flow matches single-tagged frames of any inner ethertype: tc flower cannot tell them "
                 "from double-tagged ones without the inner eth_type");
}

TEST(MegaflowToTc, QinqIsOuterTpidThenCvlanKeys) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x88a8),vlan(vid=100),encap(eth_type(0x8100),vlan(vid=200,pcp="
      "3),"
      "encap(eth_type(0x0800),ipv4(frag=no))) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_8021AD));
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x88a8), exact16(F::kVlanId, 100),
               exact16(F::kVlanEthType, 0x8100), exact16(F::kCvlanId, 200), exact8(F::kCvlanPrio, 3),
               exact16(F::kCvlanEthType, 0x0800), not_a_fragment());
}

// =====================================================================
// MPLS
// =====================================================================

TEST(MegaflowToTc, MplsOuterLabelFieldsAreExactKeys) {
  Result<TcFlowerRule> rule =
      translate("recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=3,ttl=64,bos=1) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_MPLS_UC));
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x8847), exact32(F::kMplsLabel, 100), exact8(F::kMplsTc, 3),
               exact8(F::kMplsBos, 1), exact8(F::kMplsTtl, 64));
}

TEST(MegaflowToTc, MplsStackOfOneLabelMatchesBottomOfStack) {
  // The kernel matches the stack depth: one entry means the outermost is
  // the bottom of the stack, so a two-label packet must not match.
  Result<TcFlowerRule> rule =
      translate("recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=100) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x8847), exact32(F::kMplsLabel, 100),
               exact8(F::kMplsBos, 1));
}

TEST(MegaflowToTc, MplsLabelsBeyondTheOutermostAreRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=1,tc=0,ttl=64,bos=0,label=2,tc=0,ttl=64,bos="
      "1) "
      "actions:2",
      "tc flower matches only the outermost MPLS label; the flow matches labels beyond it");
}

TEST(MegaflowToTc, PartialMplsLabelMaskIsRefused) {
  expect_refused("recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=100/0xff) actions:2",
                 "mpls label mask 0xff is partial: tc flower matches mpls_label exactly only");
}

// =====================================================================
// IPv4, IPv6, fragments, transport
// =====================================================================

TEST(MegaflowToTc, Ipv4AddressesTosTtlProtoAndTcpPortsAndFlags) {
  Result<TcFlowerRule> rule =
      translate(std::string(kIpv4Prefix) +
                "ipv4(src=10.0.0.0/255.0.0.0,dst=10.1.2.3,proto=6,tos=0x4/0xfc,ttl=64,frag=no),"
                "tcp(src=1024/0xfc00,dst=80),tcp_flags(+syn-ack) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x0800), exact8(F::kIpProto, 6),
               key(F::kIpTos, {0x04}, {0xfc}), exact8(F::kIpTtl, 64), not_a_fragment(),
               ipv4(F::kIpv4Src, "10.0.0.0", "255.0.0.0"), ipv4(F::kIpv4Dst, "10.1.2.3"),
               masked16(F::kTcpSrc, 1024, 0xfc00), exact16(F::kTcpDst, 80),
               masked16(F::kTcpFlags, 0x002, 0x012));
}

TEST(MegaflowToTc, Ipv6AddressesTrafficClassHopLimitAndUdpPorts) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::/ffff:ffff::,"
      "proto=17,tclass=0x20/0xfc,hlimit=255,frag=no),udp(src=53) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_IPV6));
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x86dd), exact8(F::kIpProto, 17),
               key(F::kIpTos, {0x20}, {0xfc}), exact8(F::kIpTtl, 255), not_a_fragment(),
               ipv6(F::kIpv6Src, "2001:db8::1"), ipv6(F::kIpv6Dst, "2001:db8::", "ffff:ffff::"),
               exact16(F::kUdpSrc, 53));
}

TEST(MegaflowToTc, SctpPortsAreSctpKeys) {
  Result<TcFlowerRule> rule =
      translate(std::string(kIpv4Prefix) + "ipv4(proto=132,frag=no),sctp(src=5000,dst=6000) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x0800), exact8(F::kIpProto, 132), not_a_fragment(),
               exact16(F::kSctpSrc, 5000), exact16(F::kSctpDst, 6000));
}

TEST(MegaflowToTc, IcmpTypeAndCodeAreOneByteKeys) {
  Result<TcFlowerRule> rule =
      translate(std::string(kIpv4Prefix) + "ipv4(proto=1,frag=no),icmp(type=8,code=0) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x0800), exact8(F::kIpProto, 1), not_a_fragment(),
               exact8(F::kIcmpv4Type, 8), exact8(F::kIcmpv4Code, 0));
}

TEST(MegaflowToTc, Icmpv6TypeAndCodeAreIcmpv6Keys) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=128,code=0) "
      "actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x86dd), exact8(F::kIpProto, 58), not_a_fragment(),
               exact8(F::kIcmpv6Type, 128), exact8(F::kIcmpv6Code, 0));
}

TEST(MegaflowToTc, NeighborDiscoveryFieldsAreRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135,code=0),"
      "nd(target=2001:db8::2) actions:2",
      "tc flower has no key for nd_target");
}

TEST(MegaflowToTc, Ipv6FlowLabelIsRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(label=0x10000/0xf0000,proto=6,frag=no) "
      "actions:2",
      "tc flower has no key for ipv6_label");
}

TEST(MegaflowToTc, ArpFieldsAreArpKeys) {
  Result<TcFlowerRule> rule = translate(
      "recirc_id(0),in_port(1),eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2/255.255.255.0,op=1,"
      "sha=02:00:00:00:00:01,tha=00:00:00:00:00:00) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->protocol, htons(ETH_P_ARP));
  EXPECT_MATCH(rule->match, exact16(F::kEthType, 0x0806), ipv4(F::kArpSip, "10.0.0.1"),
               ipv4(F::kArpTip, "10.0.0.0", "255.255.255.0"), exact8(F::kArpOp, 1),
               mac(F::kArpSha, "02:00:00:00:00:01"), mac(F::kArpTha, "00:00:00:00:00:00"));
}

// OVS's mapping: FLOW_NW_FRAG_ANY is is_fragment; FLOW_NW_FRAG_LATER, among
// fragments, is frag_is_first clear.
struct FragmentCase {
  const char* frag;
  uint32_t flags;
  uint32_t flags_mask;
};
class MegaflowToTcFragments : public ::testing::TestWithParam<FragmentCase> {};

TEST_P(MegaflowToTcFragments, IpFragBecomesFlowerFragmentFlags) {
  Result<TcFlowerRule> rule =
      translate(std::string(kIpv4Prefix) + "ipv4(proto=17,frag=" + GetParam().frag + ") actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  const TcFlowerKey* flags = rule->match.find(F::kIpFlags);
  ASSERT_NE(flags, nullptr);
  EXPECT_EQ(*flags, ip_flags(GetParam().flags, GetParam().flags_mask));
}

INSTANTIATE_TEST_SUITE_P(Ovs, MegaflowToTcFragments,
                         ::testing::Values(FragmentCase{"no", 0, kTcFlowerIsFragment},
                                           FragmentCase{"first", kTcFlowerIsFragment | kTcFlowerFragIsFirst,
                                                        kTcFlowerIsFragment | kTcFlowerFragIsFirst},
                                           FragmentCase{"later", kTcFlowerIsFragment,
                                                        kTcFlowerIsFragment | kTcFlowerFragIsFirst}));

// Masks other than 0xff on ip_frag admit a set of fragment types.
// Found by the conformance suite in the lab: flower's dissector never reads
// a first fragment's layer 4, the datapath does; such a filter would miss.
TEST(MegaflowToTc, PortsOrTcpFlagsMatchedWhereFirstFragmentsAdmittedAreRefused) {
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=first),udp(dst=53) actions:2",
      "tc flower cannot match the layer-4 fields of a first fragment (its flow dissector stops at a "
      "fragment's IP header), and the flow matches them with ip_frag 0x01/0xff admitting first fragments");
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(proto=6),tcp_flags(+syn) actions:2",
      "tc flower cannot match the layer-4 fields of a first fragment (its flow dissector stops at a "
      "fragment's IP header), and the flow matches them with ip_frag 0x00/0x00 admitting first fragments");
  EXPECT_TRUE(translate(std::string(kIpv4Prefix) + "ipv4(proto=17,frag=first) actions:2"))
      << "without a layer-4 match a first fragment is fine";
  EXPECT_TRUE(translate(std::string(kIpv4Prefix) + "ipv4(proto=17,frag=no),udp(dst=53) actions:2"));
}

TEST(MegaflowToTc, PartialIpFragMasksBecomeTheFlagsOfTheirFragmentTypes) {
  auto with_frag = [](uint8_t value, uint8_t mask) {
    Megaflow flow = megaflow(std::string(kIpv4Prefix) + "ipv4(proto=17,frag=no) actions:2");
    flow.match.key.ip_frag = value;
    flow.match.mask.mutable_bits().ip_frag = mask;
    return megaflow_to_tc(flow, test_ports());
  };
  // Any fragment: {first, later}.
  Result<TcFlowerRule> any = with_frag(kFragFirst, kFragFirst);
  ASSERT_TRUE(any.is_ok()) << any.status().message();
  EXPECT_EQ(*any->match.find(F::kIpFlags),
            ip_flags(kTcFlowerIsFragment | kTcFlowerFragIsFirst, kTcFlowerIsFragment | kTcFlowerFragIsFirst));
  // Bit 0 clear: {none, later} is "not a first fragment".
  Result<TcFlowerRule> not_first = with_frag(0, kFragFirst);
  ASSERT_TRUE(not_first.is_ok()) << not_first.status().message();
  EXPECT_EQ(*not_first->match.find(F::kIpFlags), ip_flags(0, kTcFlowerFragIsFirst));
  // Bit 1 clear: {none, first} has no flags equivalent.
  Result<TcFlowerRule> not_later = with_frag(0, kFragLater);
  ASSERT_FALSE(not_later.is_ok());
  EXPECT_EQ(not_later.status().message(),
            "ip_frag 0x00/0x02 (not a later fragment) has no tc flower flags equivalent");
  // Mask 0xfc: every fragment type matches; no key at all.
  Result<TcFlowerRule> all = with_frag(0, 0xfc);
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  EXPECT_EQ(all->match.find(F::kIpFlags), nullptr);
}

TEST(MegaflowToTc, ZeroFieldsOfAnAbsentHeaderAreAcceptedNonZeroOnesRefused) {
  // An ARP frame has no IPv4 addresses: a mask on them with value zero
  // holds for every frame the flow admits.
  const std::string arp = "recirc_id(0),in_port(1),eth(),eth_type(0x0806),arp(op=1) actions:2";
  Megaflow flow = megaflow(arp);
  flow.match.mask.mutable_bits().ipv4_src = 0xffffffff;
  flow.match.mask.recompute_range();
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->match, translate(arp)->match);

  flow.match.key.ipv4_src = htonl(0x0a000001);
  Result<TcFlowerRule> never = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(never.is_ok());
  EXPECT_EQ(never.status().message(),
            "ipv4_src is matched to a non-zero value in a packet that has no such header: the megaflow can "
            "never match");
}

TEST(MegaflowToTc, PartialIpProtoMaskIsRefused) {
  Megaflow flow = megaflow(std::string(kIpv4Prefix) + "ipv4(proto=6,frag=no) actions:2");
  flow.match.mask.mutable_bits().ip_proto = 0xf0;
  flow.match.key.ip_proto = 0;
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().message(),
            "ip_proto mask 0xf0 is partial: tc flower matches ip_proto exactly only");
}

TEST(MegaflowToTc, MatchedKeyAttributeFlowliftDoesNotHoldIsRefused) {
  // OVS_KEY_ATTR_IPV6_EXTHDRS (32) as Linux echoes it: wildcarded, harmless.
  Megaflow flow = megaflow("recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no) actions:2");
  flow.unheld_key_attributes.push_back(UnheldKeyAttribute{32, {0, 0}, {0, 0}});
  ASSERT_TRUE(megaflow_to_tc(flow, test_ports()).is_ok());
  flow.unheld_key_attributes[0].mask = {0, 0x41};
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().message(),
            "tc flower has no key for key attribute 32 (matched by the flow, not held by flowlift)");
}

// =====================================================================
// Metadata flower has no key for
// =====================================================================

struct RefusedMatch {
  const char* text;
  const char* reason;
};
class MegaflowToTcRefusedMatch : public ::testing::TestWithParam<RefusedMatch> {};

TEST_P(MegaflowToTcRefusedMatch, RefusalNamesTheField) {
  expect_refused(std::string(GetParam().text) + " actions:2", GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Metadata, MegaflowToTcRefusedMatch,
    ::testing::Values(
        RefusedMatch{"recirc_id(0),in_port(1),skb_mark(0x1),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for skb_mark"},
        RefusedMatch{"recirc_id(0),skb_priority(0x2),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for skb_priority"},
        RefusedMatch{"recirc_id(0),dp_hash(0x5/0xf),in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for dp_hash"},
        RefusedMatch{"recirc_id(0),in_port(1),ct_state(+trk),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for ct_state"},
        RefusedMatch{"recirc_id(0),in_port(1),ct_zone(0x5),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for ct_zone"},
        RefusedMatch{"recirc_id(0),in_port(1),ct_mark(0x1),eth(),eth_type(0x0800),ipv4(frag=no)",
                     "tc flower has no key for ct_mark"}));

// =====================================================================
// Tunnel (VXLAN ingress)
// =====================================================================

TEST(MegaflowToTc, VxlanTunnelMatchIsEncKeysWithTheDevicesUdpPortExact) {
  Result<TcFlowerRule> rule = translate(
      "tunnel(tun_id=0x65,src=192.0.2.2,dst=192.0.2.1,tos=0x10/0xfc,ttl=64,tp_src=1000/0xff00,flags(+key)),"
      "recirc_id(0),in_port(3),eth(dst=02:00:00:00:00:05),eth_type(0x0800),ipv4(frag=no) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->ifindex, 13u);
  EXPECT_EQ(rule->device, "vxlan_sys_4789");
  EXPECT_MATCH(rule->match, mac(F::kEthDst, "02:00:00:00:00:05"), exact16(F::kEthType, 0x0800),
               not_a_fragment(), exact32(F::kEncKeyId, 0x65), ipv4(F::kEncIpv4Src, "192.0.2.2"),
               ipv4(F::kEncIpv4Dst, "192.0.2.1"), key(F::kEncIpTos, {0x10}, {0xfc}), exact8(F::kEncIpTtl, 64),
               masked16(F::kEncUdpSrcPort, 1000 & 0xff00, 0xff00), exact16(F::kEncUdpDstPort, 4789));
  // Decapsulation comes first.
  EXPECT_EQ(rule->actions, (std::vector<TcAction>{TcTunnelKeyUnsetAction{}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, EncDstPortIsExactEvenWhenTheMegaflowMatchesIt) {
  Result<TcFlowerRule> rule = translate(
      "tunnel(tun_id=0x65,dst=192.0.2.1,tp_dst=8472,flags(+key)),recirc_id(0),in_port(4),eth(),"
      "eth_type(0x0800),ipv4(frag=no) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(*rule->match.find(F::kEncUdpDstPort), exact16(F::kEncUdpDstPort, 8472));
}

TEST(MegaflowToTc, TunnelUdpPortOtherThanTheDevicesIsRefused) {
  expect_refused(
      "tunnel(tun_id=0x65,dst=192.0.2.1,tp_dst=4790,flags(+key)),recirc_id(0),in_port(3),eth(),"
      "eth_type(0x0800),ipv4(frag=no) actions:2",
      "tunnel tp_dst 4790 (mask 0xffff) never matches: vxlan_sys_4789 receives UDP port 4789 only");
}

TEST(MegaflowToTc, TunnelDfAndCsumFlagsAreRefused) {
  expect_refused(
      "tunnel(tun_id=0x65,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(3),eth(),"
      "eth_type(0x0800),ipv4(frag=no) actions:2",
      "tc flower has no key for the tunnel flags df and csum (the flow matches -df-csum)");
}

TEST(MegaflowToTc, TunnelMatchOnANonVxlanPortIsRefused) {
  expect_refused(
      "tunnel(tun_id=0x65,dst=192.0.2.1,flags(+key)),recirc_id(0),in_port(1),eth(),eth_type(0x0800),"
      "ipv4(frag=no) actions:2",
      "the flow matches tunnel metadata, but in_port 1 (eth0) is not a VXLAN port: the megaflow can never "
      "match");
}

TEST(MegaflowToTc, VxlanIngressFlowEndingInRecircKeepsTheTunnelForTheNextChain) {
  // The datapath keeps the tunnel metadata across recirculation and the
  // next chain's flows match it; they decapsulate themselves.
  EXPECT_EQ(actions_of("tunnel(tun_id=0x65,dst=192.0.2.1,flags(+key)),recirc_id(0),in_port(3),eth(),"
                       "eth_type(0x0800),ipv4(frag=no) actions:recirc(0x7)"),
            std::vector<TcAction>{TcGotoChainAction{7}});
  EXPECT_EQ(actions_of("tunnel(tun_id=0x65,dst=192.0.2.1,flags(+key)),recirc_id(0),in_port(3),eth(),"
                       "eth_type(0x0800),ipv4(frag=no) actions:drop"),
            (std::vector<TcAction>{TcTunnelKeyUnsetAction{}, TcDropAction{}}));
}

TEST(MegaflowToTc, Ipv6TunnelAddressesAreEncIpv6Keys) {
  Result<TcFlowerRule> rule = translate(
      "tunnel(tun_id=0x65,ipv6_src=2001:db8::2,ipv6_dst=2001:db8::1,flags(+key)),recirc_id(0),in_port(3),eth("
      "),"
      "eth_type(0x0800),ipv4(frag=no) actions:2");
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(*rule->match.find(F::kEncIpv6Src), ipv6(F::kEncIpv6Src, "2001:db8::2"));
  EXPECT_EQ(*rule->match.find(F::kEncIpv6Dst), ipv6(F::kEncIpv6Dst, "2001:db8::1"));
  EXPECT_EQ(rule->match.find(F::kEncIpv4Dst), nullptr);
}

TEST(MegaflowToTc, TunnelAddressesMatchedAsZeroAreRefused) {
  // tunnel src 0.0.0.0/8 holds for every IPv6 tunnel too; enc_src_ip
  // 0.0.0.0/8 would admit IPv4 tunnels only.
  Megaflow flow = megaflow(
      "tunnel(tun_id=0x65,flags(+key)),recirc_id(0),in_port(3),eth(),eth_type(0x0800),ipv4(frag=no) "
      "actions:2");
  flow.match.mask.mutable_bits().tunnel.ipv4_src = htonl(0xff000000);
  flow.match.mask.recompute_range();
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().message(),
            "tunnel src/dst are matched as zero, which IPv6 tunnels also satisfy: tc flower's "
            "enc_src_ip/enc_dst_ip keys admit IPv4 tunnels only");
}

TEST(MegaflowToTc, TunIdMaskCoveringTheVniIsExactPartialVniMaskIsRefused) {
  // The bits above the 24-bit VNI are zero in every VXLAN packet.
  Megaflow flow = megaflow(
      "tunnel(tun_id=0x65,dst=192.0.2.1,flags(+key)),recirc_id(0),in_port(3),eth(),eth_type(0x0800),"
      "ipv4(frag=no) actions:2");
  flow.match.mask.mutable_bits().tunnel.tun_id = htobe64(0xffffff);
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(*rule->match.find(F::kEncKeyId), exact32(F::kEncKeyId, 0x65));

  flow.match.mask.mutable_bits().tunnel.tun_id = htobe64(0xff);
  Result<TcFlowerRule> partial = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(partial.is_ok());
  EXPECT_EQ(partial.status().message(),
            "tun_id mask 0xff is partial: tc flower matches enc_key_id exactly only");
}

TEST(MegaflowToTc, VxlanGbpIsRefused) {
  expect_refused(
      "tunnel(tun_id=0x65,dst=192.0.2.1,vxlan(gbp(id=5,flags=0x1)),flags(+key)),recirc_id(0),in_port(3),eth()"
      ","
      "eth_type(0x0800),ipv4(frag=no) actions:2",
      "tc flower has no key for vxlan_gbp");
}

// =====================================================================
// Actions
// =====================================================================

const std::string kTcpFlow = std::string(kIpv4Prefix) + "ipv4(proto=6,frag=no),tcp(dst=80)";

TEST(MegaflowToTc, LastOutputIsARedirectEarlierOnesMirrors) {
  EXPECT_EQ(actions_of(kTcpFlow + " actions:2,1"),
            (std::vector<TcAction>{mirror(12, "eth1"), redirect(11, "eth0")}));
}

TEST(MegaflowToTc, OutputFollowedByAnythingIsAMirrorAndTheFilterEndsInShot) {
  EXPECT_EQ(actions_of(kTcpFlow + " actions:2,push_vlan(vid=10,pcp=0)"),
            (std::vector<TcAction>{mirror(12, "eth1"), TcVlanPushAction{htons(ETH_P_8021Q), 10, 0},
                                   TcDropAction{}}));
}

TEST(MegaflowToTc, OutputToAnUnknownPortIsRefused) {
  expect_refused(kTcpFlow + " actions:7", "output to port 7: no such port");
}

TEST(MegaflowToTc, DropAndEmptyActionsAreShot) {
  EXPECT_EQ(actions_of(kTcpFlow + " actions:drop"), std::vector<TcAction>{TcDropAction{}});
  Megaflow flow = megaflow(kTcpFlow + " actions:2");
  flow.actions.clear();
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->actions, std::vector<TcAction>{TcDropAction{}});
}

TEST(MegaflowToTc, PushAndPopVlanAreVlanActions) {
  EXPECT_EQ(actions_of(kTcpFlow + " actions:push_vlan(tpid=0x88a8,vid=10,pcp=3),2"),
            (std::vector<TcAction>{TcVlanPushAction{htons(ETH_P_8021AD), 10, 3}, redirect(12, "eth1")}));
  EXPECT_EQ(actions_of("recirc_id(0),in_port(1),eth(),eth_type(0x8100),vlan(vid=20),encap(eth_type(0x0800),"
                       "ipv4(frag=no)) actions:pop_vlan,2"),
            (std::vector<TcAction>{TcVlanPopAction{}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, PopThenPushOfAMatchedTagIsVlanModify) {
  EXPECT_EQ(
      actions_of("recirc_id(0),in_port(2),eth(),eth_type(0x8100),vlan(vid=20,pcp=5),encap(eth_type(0x0800),"
                 "ipv4(frag=no)) actions:pop_vlan,push_vlan(vid=21,pcp=5),1"),
      (std::vector<TcAction>{TcVlanModifyAction{htons(ETH_P_8021Q), 21, 5}, redirect(11, "eth0")}));
}

TEST(MegaflowToTc, PopThenPushWithoutAKnownTagStaysPopAndPush) {
  // act_vlan modify does nothing to an untagged frame; pop_vlan then
  // push_vlan tags it.
  EXPECT_EQ(actions_of(kTcpFlow + " actions:pop_vlan,push_vlan(vid=21,pcp=5),1"),
            (std::vector<TcAction>{TcVlanPopAction{}, TcVlanPushAction{htons(ETH_P_8021Q), 21, 5},
                                   redirect(11, "eth0")}));
}

TEST(MegaflowToTc, MplsPushPopAndSetAreMplsActions) {
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:push_mpls(label=100,tc=2,ttl=64,bos=1,eth_type=0x8847),2"),
      (std::vector<TcAction>{TcMplsPushAction{htons(ETH_P_MPLS_UC), 100, 2, 64, 1}, redirect(12, "eth1")}));
  const std::string mpls = "recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1)";
  EXPECT_EQ(actions_of(mpls + " actions:pop_mpls(eth_type=0x800),2"),
            (std::vector<TcAction>{TcMplsPopAction{htons(ETH_P_IP)}, redirect(12, "eth1")}));
  EXPECT_EQ(actions_of(mpls + " actions:set(mpls(label=1,tc=0,ttl=63,bos=1)),2"),
            (std::vector<TcAction>{TcMplsModifyAction{1, 0, 63, 1}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, MplsActionsActMplsCannotTakeAreRefused) {
  expect_refused(kTcpFlow + " actions:push_mpls(label=100,tc=0,ttl=0,bos=1,eth_type=0x8847),2",
                 "push_mpls with ttl 0 cannot be offloaded: act_mpls needs a ttl of 1 to 255");
  expect_refused(
      "recirc_id(0),in_port(1),eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1) "
      "actions:set(mpls(label=5/0xfffff,tc=0/0,ttl=63/0xff,bos=0/0)),2",
      "set_masked(mpls(...)) of part of a label stack entry cannot be offloaded: act_mpls modify is "
      "given the whole outermost entry");
}

TEST(MegaflowToTc, SetEthIsAnEthPeditWithoutChecksum) {
  // new = (old & mask) ^ value: the mask keeps the bytes not written.
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:set(eth(dst=02:00:00:00:00:05)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 0, word(0x02, 0, 0, 0), word(0, 0, 0, 0)},
                         {TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 4, word(0, 0x05, 0, 0), word(0, 0, 0xff, 0xff)}}},
          redirect(12, "eth1")}));
}

TEST(MegaflowToTc, SetIpv4AddressNeedsIpv4HeaderAndTcpChecksums) {
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:set(ipv4(src=10.0.0.9)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 12, word(10, 0, 0, 9), word(0, 0, 0, 0)}}},
          TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR | TCA_CSUM_UPDATE_FLAG_TCP}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, SetIpv4TtlNeedsOnlyTheIpv4HeaderChecksum) {
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:set(ipv4(ttl=9)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 8, word(9, 0, 0, 0), word(0, 0xff, 0xff, 0xff)}}},
          TcCsumAction{TCA_CSUM_UPDATE_FLAG_IPV4HDR}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, SetIpv6HopLimitNeedsNoChecksum) {
  EXPECT_EQ(
      actions_of("recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(proto=17,frag=no) "
                 "actions:set(ipv6(hlimit=254)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 4, word(0, 0, 0, 254), word(0xff, 0xff, 0xff, 0)}}},
          redirect(12, "eth1")}));
}

TEST(MegaflowToTc, SetIpv6AddressOfIcmpv6NeedsTheIcmpChecksum) {
  std::vector<TcAction> actions = actions_of(
      "recirc_id(0),in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58,frag=no) "
      "actions:set(ipv6(dst=2001:db8::9)),2");
  ASSERT_EQ(actions.size(), 3u);
  const auto& pedit = std::get<TcPeditAction>(actions[0]);
  ASSERT_EQ(pedit.keys.size(), 4u);
  EXPECT_EQ(pedit.keys[0], (TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 24, word(0x20, 0x01, 0x0d, 0xb8), 0}));
  EXPECT_EQ(pedit.keys[3], (TcPeditKey{TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 36, word(0, 0, 0, 9), 0}));
  EXPECT_EQ(actions[1], TcAction{TcCsumAction{TCA_CSUM_UPDATE_FLAG_ICMP}});
}

TEST(MegaflowToTc, SetTcpAndUdpPortsNeedTheirChecksum) {
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:set(tcp(dst=8080)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_TCP, 0, word(0, 0, 0x1f, 0x90), word(0xff, 0xff, 0, 0)}}},
          TcCsumAction{TCA_CSUM_UPDATE_FLAG_TCP}, redirect(12, "eth1")}));
  EXPECT_EQ(
      actions_of(std::string(kIpv4Prefix) + "ipv4(proto=17,frag=no),udp(dst=53) actions:set(udp(src=53)),2"),
      (std::vector<TcAction>{
          TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_UDP, 0, word(0, 53, 0, 0), word(0, 0, 0xff, 0xff)}}},
          TcCsumAction{TCA_CSUM_UPDATE_FLAG_UDP}, redirect(12, "eth1")}));
}

TEST(MegaflowToTc, ConsecutiveSetsShareOnePeditAndMergeTheirWords) {
  EXPECT_EQ(
      actions_of(kTcpFlow + " actions:set(eth(dst=02:00:00:00:00:05)),set(eth(src=02:00:00:00:00:06)),2"),
      (std::vector<TcAction>{TcPeditAction{{{TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 0, word(0x02, 0, 0, 0), 0},
                                            {TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 4, word(0, 0x05, 0x02, 0), 0},
                                            {TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 8, word(0, 0, 0, 0x06), 0}}},
                             redirect(12, "eth1")}));
}

TEST(MegaflowToTc, SetAfterAnOutputStartsANewPedit) {
  std::vector<TcAction> actions = actions_of(kTcpFlow + " actions:set(ipv4(ttl=9)),2,set(ipv4(ttl=8)),1");
  ASSERT_EQ(actions.size(), 6u);
  EXPECT_EQ(actions[2], TcAction{mirror(12, "eth1")});
  EXPECT_EQ(std::get<TcPeditAction>(actions[3]).keys[0].value, word(8, 0, 0, 0));
  EXPECT_EQ(actions[5], TcAction{redirect(11, "eth0")});
}

TEST(MegaflowToTc, AddressRewriteWithoutAnExactIpProtoIsRefused) {
  expect_refused(std::string(kIpv4Prefix) + "ipv4(frag=no) actions:set(ipv4(src=10.0.0.9)),2",
                 "set(ipv4(src/dst)) changes a transport pseudo-header: match ip_proto exactly so the right "
                 "checksum is fixed");
}

TEST(MegaflowToTc, TunnelSetThenOutputToAVxlanPortIsTunnelKeySetAndMirred) {
  TcTunnelKeySetAction set;
  set.key_id = htonl(0x2a);
  set.ipv4_src = htonl(0xc0a84d01);  // 192.168.77.1
  set.ipv4_dst = htonl(0xc0a84d02);
  set.dst_port = htons(4789);
  set.ttl = 64;
  set.dont_fragment = true;
  set.checksum = false;
  EXPECT_EQ(actions_of(kTcpFlow +
                       " actions:set(tunnel(tun_id=0x2a,src=192.168.77.1,dst=192.168.77.2,ttl=64,tp_dst=4789,"
                       "flags(df|key))),3"),
            (std::vector<TcAction>{set, redirect(13, "vxlan_sys_4789")}));
}

TEST(MegaflowToTc, TunnelSetWithoutTpDstTakesTheVxlanPortsUdpPort) {
  std::vector<TcAction> actions =
      actions_of(kTcpFlow + " actions:set(tunnel(tun_id=0x2a,dst=192.168.77.2,ttl=64,flags(csum|key))),4");
  ASSERT_EQ(actions.size(), 2u);
  const auto& set = std::get<TcTunnelKeySetAction>(actions[0]);
  EXPECT_EQ(set.dst_port, htons(8472));
  EXPECT_TRUE(set.checksum);
  EXPECT_FALSE(set.dont_fragment);
  EXPECT_EQ(actions[1], TcAction{redirect(14, "vxlan_sys_8472")});
}

TEST(MegaflowToTc, TunnelSetFollowedByANonVxlanOutputIsRefused) {
  expect_refused(kTcpFlow + " actions:set(tunnel(tun_id=0x2a,dst=192.168.77.2,flags(key))),1",
                 "set(tunnel(...)) is followed by output to port 1 (eth0), which is not a VXLAN port");
}

TEST(MegaflowToTc, OneTunnelSetOutputToTwoVxlanPortsKeepsOneTunnelKeySet) {
  // The tunnel metadata stays on the packet for every later output, in the
  // datapath and after act_tunnel_key alike.
  std::vector<TcAction> actions =
      actions_of(kTcpFlow + " actions:set(tunnel(tun_id=0x2a,dst=192.168.77.2,tp_dst=4789,flags(key))),3,4");
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<TcTunnelKeySetAction>(actions[0]));
  EXPECT_EQ(actions[1], TcAction{mirror(13, "vxlan_sys_4789")});
  EXPECT_EQ(actions[2], TcAction{redirect(14, "vxlan_sys_8472")});
  // Without tp_dst each VXLAN port would use its own UDP port; one
  // tunnel_key set cannot.
  expect_refused(
      kTcpFlow + " actions:set(tunnel(tun_id=0x2a,dst=192.168.77.2,flags(key))),3,4",
      "set(tunnel(...)) without tp_dst is output to VXLAN ports with different UDP ports (4789 and "
      "8472): one tunnel_key set cannot carry both");
}

TEST(MegaflowToTc, Ieee8022FramesWithoutEthertypeAreRefused) {
  Megaflow flow = megaflow(std::string(kIpv4Prefix) + "ipv4(frag=no) actions:2");
  flow.match.key = FlowKey{};
  flow.match.key.in_port = 1;
  flow.match.key.eth_type = htons(0x05ff);
  FlowKey mask{};
  mask.in_port = mask.recirc_id = 0xffffffff;
  mask.mac_proto = 0xff;
  mask.eth_type = 0xffff;
  mask.vlan.tci = mask.cvlan.tci = 0xffff;
  flow.match.mask = FlowMask(mask);
  Result<TcFlowerRule> rule = megaflow_to_tc(flow, test_ports());
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().message(),
            "the flow matches 802.2 frames without an EtherType: tc flower has no protocol for them");
}

TEST(MegaflowToTc, RecircIsGotoChainAndMustBeLast) {
  EXPECT_EQ(actions_of(kTcpFlow + " actions:recirc(0x5)"), std::vector<TcAction>{TcGotoChainAction{5}});
  expect_refused(kTcpFlow + " actions:recirc(0x5),2",
                 "recirc must be the last action to become a tc goto chain");
}

struct RefusedActions {
  const char* actions;
  const char* reason;
};
class MegaflowToTcRefusedActions : public ::testing::TestWithParam<RefusedActions> {};

TEST_P(MegaflowToTcRefusedActions, RefusalNamesTheAction) {
  expect_refused(kTcpFlow + " actions:" + GetParam().actions, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Unsupported, MegaflowToTcRefusedActions,
    ::testing::Values(
        RefusedActions{"userspace(pid=1)", "action userspace cannot be offloaded"},
        RefusedActions{"sample(sample=50.0%,actions(1))", "action sample cannot be offloaded"},
        RefusedActions{"clone(2),1", "action clone cannot be offloaded"},
        RefusedActions{"hash(l4(0)),recirc(0x1)", "action hash cannot be offloaded"},
        RefusedActions{"trunc(100),2", "action trunc cannot be offloaded"},
        RefusedActions{"check_pkt_len(size=200,gt(2),le(1))", "action check_pkt_len cannot be offloaded"},
        RefusedActions{"set(skb_mark(0x5)),2", "action set(skb_mark(...)) cannot be offloaded"}));

}  // namespace
}  // namespace flowlift
