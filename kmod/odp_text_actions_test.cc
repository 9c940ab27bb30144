// Action text: odp-util's spellings read into typed actions and printed back.
#include "kmod/odp_text_actions.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace flowlift {
namespace {

ActionList parse_ok(const std::string& text) {
  Result<ActionList> a = parse_actions(text);
  EXPECT_TRUE(a.is_ok()) << text << "\n  -> " << a.status().message();
  return a.is_ok() ? *a : ActionList{};
}

// A copy: the list is usually a temporary.
template <typename T>
T only(const ActionList& actions) {
  EXPECT_EQ(actions.size(), 1u);
  if (actions.size() != 1 || !actions[0].is<T>()) {
    ADD_FAILURE() << "expected exactly one action of the requested type";
    return T{};
  }
  return actions[0].as<T>();
}

Be64 be64(uint64_t host) {
  uint8_t b[8];
  for (int i = 7; i >= 0; --i, host >>= 8) b[i] = static_cast<uint8_t>(host);
  Be64 v;
  std::memcpy(&v, b, 8);
  return v;
}

class ActionsRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(ActionsRoundTrip, ParsesAndPrintsBackUnchanged) {
  ActionList actions = parse_ok(GetParam());
  EXPECT_EQ(format_actions(actions), GetParam());
  EXPECT_EQ(parse_ok(format_actions(actions)), actions);
}

INSTANTIATE_TEST_SUITE_P(
    OdpUtilSpellings, ActionsRoundTrip,
    ::testing::Values(
        "set(ipv4(ttl=63)),push_vlan(vid=100,pcp=0),3", "pop_vlan,push_vlan(tpid=0x88a8,vid=10,pcp=0),1",
        "push_vlan(vid=0,pcp=7,cfi=0)", "push_mpls(label=100,tc=0,ttl=64,bos=1,eth_type=0x8847)",
        "pop_mpls(eth_type=0x800)", "recirc(0x1)", "recirc(0)", "hash(l4(0))", "hash(sym_l4(5))",
        "trunc(100),2", "sample(sample=50.0%,actions(1))", "sample(sample=100.0%,actions(drop))",
        "sample(sample=0.0%,actions(userspace(pid=3)))", "clone(set(eth(src=02:00:00:00:00:01)),2)",
        "clone(clone(1),2),3", "clone(drop)", "check_pkt_len(size=200,gt(3),le(4))",
        "check_pkt_len(size=1500,gt(drop),le(set(ipv4(ttl=63)),4))", "userspace(pid=0)",
        "userspace(pid=4294967295,userdata(0102030405))",
        "userspace(pid=1,userdata(01),actions,tunnel_out_port=5)", "userspace(pid=1,actions)",
        "userspace(pid=1,userdata())", "drop", "1,drop,2",
        "set(eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02))", "set(eth(dst=00:00:5e:00:01:01))",
        "set(ipv4(src=10.0.0.0/255.255.255.0))",
        "set(ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no))", "set(ipv4(tos=0x68/0xfc))",
        "set(ipv6(hlimit=254))", "set(ipv6(src=2001:db8::1,label=0x12345))", "set(tcp(dst=8080))",
        "set(udp(src=1,dst=2))", "set(sctp(src=5/0xff))", "set(icmp(type=0,code=0))", "set(icmpv6(type=136))",
        "set(arp(op=2))", "set(nd(target=2001:db8::1,tll=02:00:00:00:00:09))",
        "set(tunnel(tun_id=0x64,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key)))",
        "set(tunnel(tun_id=0x0,ipv6_dst=2001:db8::2,tos=0x10,ttl=1,tp_src=1000,vxlan(gbp(id=5,flags=0x1)),"
        "flags(oam|csum|key)))",
        "set(tunnel(ttl=64,flags(0)))", "set(skb_mark(0x2))", "set(skb_mark(0x2/0xff))",
        "set(skb_priority(0x1))", "set(mpls(label=1,tc=0,ttl=63,bos=1))",
        "set(mpls(label=5/0xfffff,tc=0/0,ttl=63/0xff,bos=0/0))"));

// Action strings from OVS 3.1's dpctl/dump-flows (shared/oracle/ovs-3.1/trace-result.txt).
INSTANTIATE_TEST_SUITE_P(
    Ovs31, ActionsRoundTrip,
    ::testing::Values("set(eth(src=02:00:00:00:00:b0,dst=02:00:00:00:03:01)),set(ipv4(ttl=63)),3",
                      "set(eth(dst=00:00:5e:00:01:01)),set(ipv4(ttl=63)),4", "pop_vlan,4",
                      "set(ipv4(dst=10.2.0.53)),pop_vlan,4", "set(tcp(dst=8080)),3",
                      "set(ipv4(tos=0x68/0xfc)),5", "set(ipv6(hlimit=254)),3", "set(ipv4(src=10.254.0.1)),4",
                      "pop_vlan,push_vlan(vid=100,pcp=0),3", "1,2,3", "drop"));

TEST(ActionsText, SetWithPartialKeyIsMaskedSet) {
  auto set = only<SetAction>(parse_ok("set(ipv4(ttl=63))"));
  EXPECT_EQ(set.attr, OVS_KEY_ATTR_IPV4);
  EXPECT_TRUE(set.masked);
  EXPECT_EQ(set.value->ip_ttl, 63);
  EXPECT_EQ(set.mask->ip_ttl, 0xff);
  EXPECT_EQ(set.mask->ipv4_src, 0u);
  EXPECT_EQ(set.mask->ip_frag, 0);
}

TEST(ActionsText, SetWithEveryFieldFullyMaskedIsPlainSet) {
  auto set = only<SetAction>(parse_ok("set(eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02))"));
  EXPECT_EQ(set.attr, OVS_KEY_ATTR_ETHERNET);
  EXPECT_FALSE(set.masked);
  EXPECT_EQ(set.value->eth_dst, (EthAddr{2, 0, 0, 0, 0, 2}));
  EXPECT_EQ(set.mask->eth_src, (EthAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));

  auto ports = only<SetAction>(parse_ok("set(tcp(src=1,dst=80))"));
  EXPECT_FALSE(ports.masked);
  EXPECT_EQ(ports.value->tp_dst, htons(80));
}

TEST(ActionsText, SetIpv6IsAlwaysMaskedBecauseTheLabelMaskHasTwentyBits) {
  // odp-util compares the whole ovs_key_ipv6 mask with all-ones; the label's
  // mask from text is 0x000fffff, so every parsed ipv6 set is SET_MASKED.
  auto set =
      only<SetAction>(parse_ok("set(ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=64,frag=no))"));
  EXPECT_TRUE(set.masked);
  EXPECT_EQ(set.mask->ipv6_label, htonl(0xfffff));
}

TEST(ActionsText, MaskedSetValueIsKeptInsideItsMask) {
  // The kernel computes value | (old & ~mask), so a value bit outside the mask
  // would be forced on; the parser masks the value.
  ActionList actions = parse_ok("set(ipv4(src=10.0.0.1/255.255.255.0)),set(tcp(dst=80/0))");
  ASSERT_EQ(actions.size(), 2u);
  const auto& ipv4 = actions[0].as<SetAction>();
  EXPECT_TRUE(ipv4.masked);
  EXPECT_EQ(ipv4.value->ipv4_src, htonl(0x0a000000));
  EXPECT_EQ(ipv4.mask->ipv4_src, htonl(0xffffff00));
  EXPECT_EQ(actions[1].as<SetAction>().value->tp_dst, 0);
  EXPECT_EQ(format_actions(actions), "set(ipv4(src=10.0.0.0/255.255.255.0)),set(tcp())");
}

TEST(ActionsText, PlainSetPrintsEveryFieldOfTheAttribute) {
  SetAction set;
  set.attr = OVS_KEY_ATTR_IPV4;
  set.value->ipv4_src = htonl(0x0a000001);
  set.value->ip_ttl = 9;
  set.mask->ipv4_src = ~0u;
  EXPECT_EQ(format_actions({set}), "set(ipv4(src=10.0.0.1,dst=0.0.0.0,proto=0,tos=0,ttl=9,frag=no))");
  set.masked = true;
  EXPECT_EQ(format_actions({set}), "set(ipv4(src=10.0.0.1))");
}

TEST(ActionsText, TunnelSet) {
  const auto& set = only<SetAction>(
      parse_ok("set(tunnel(tun_id=0x64,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key)))"));
  EXPECT_EQ(set.attr, OVS_KEY_ATTR_TUNNEL);
  EXPECT_FALSE(set.masked);
  EXPECT_EQ(set.value->tunnel.tun_id, be64(0x64));
  EXPECT_EQ(set.value->tunnel.ipv4_dst, htonl(0xc0000202));
  EXPECT_EQ(set.value->tunnel.tp_dst, htons(4789));
  EXPECT_EQ(set.value->tunnel.ttl, 64);
  EXPECT_EQ(set.value->tunnel.flags, kTunnelDontFragment | kTunnelKey);
  EXPECT_EQ(set.mask->tunnel.ipv4_src, ~0u);
}

TEST(ActionsText, PushAndPopHeaders) {
  auto vlan = only<PushVlanAction>(parse_ok("push_vlan(vid=100,pcp=0)"));
  EXPECT_EQ(vlan.tpid, htons(0x8100));
  EXPECT_EQ(vlan.tci, htons(kVlanCfi | 100));
  auto qinq = only<PushVlanAction>(parse_ok("push_vlan(tpid=0x88a8,vid=10,pcp=3)"));
  EXPECT_EQ(qinq.tpid, htons(0x88a8));
  EXPECT_EQ(qinq.tci, htons(kVlanCfi | 3 << 13 | 10));
  auto mpls = only<PushMplsAction>(parse_ok("push_mpls(label=100,tc=2,ttl=64,bos=1,eth_type=0x8847)"));
  EXPECT_EQ(mpls.lse, htonl(100u << 12 | 2u << 9 | 1u << 8 | 64));
  EXPECT_EQ(mpls.ethertype, htons(0x8847));
  EXPECT_EQ(only<PopMplsAction>(parse_ok("pop_mpls(eth_type=0x800)")).ethertype, htons(0x0800));
}

TEST(ActionsText, ScalarActions) {
  ActionList a = parse_ok("7,recirc(0x1f),hash(sym_l4(5)),trunc(100)");
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0].as<OutputAction>().port, 7u);
  EXPECT_EQ(a[1].as<RecircAction>().recirc_id, 0x1fu);
  EXPECT_EQ(a[2].as<HashAction>().algorithm, 1u);  // OVS_HASH_ALG_SYM_L4
  EXPECT_EQ(a[2].as<HashAction>().basis, 5u);
  EXPECT_EQ(a[3].as<TruncAction>().max_len, 100u);
}

TEST(ActionsText, SamplePercentUsesOdpUtilRounding) {
  auto half = only<SampleAction>(parse_ok("sample(sample=50.0%,actions(1))"));
  EXPECT_EQ(half.probability, 2147483648u);  // floor(UINT32_MAX * 0.5 + .5)
  ASSERT_EQ(half.actions.size(), 1u);
  EXPECT_EQ(half.actions[0].as<OutputAction>().port, 1u);
  EXPECT_EQ(only<SampleAction>(parse_ok("sample(sample=100%,actions(1))")).probability, UINT32_MAX);
  // One decimal is all odp-util prints.
  EXPECT_EQ(format_actions({SampleAction{12345678, {OutputAction{1}}}}), "sample(sample=0.3%,actions(1))");
}

TEST(ActionsText, CheckPktLenBranches) {
  auto cpl = only<CheckPktLenAction>(parse_ok("check_pkt_len(size=200,gt(3),le(drop))"));
  EXPECT_EQ(cpl.pkt_len, 200);
  ASSERT_EQ(cpl.if_greater.size(), 1u);
  EXPECT_EQ(cpl.if_greater[0].as<OutputAction>().port, 3u);
  EXPECT_TRUE(cpl.if_less_equal.empty());
}

TEST(ActionsText, UserspaceArguments) {
  auto u = only<UserspaceAction>(parse_ok("userspace(pid=7,userdata(0a0B),actions,tunnel_out_port=4789)"));
  EXPECT_EQ(u.pid, 7u);
  EXPECT_TRUE(u.has_userdata);
  EXPECT_EQ(u.userdata, (std::vector<uint8_t>{0x0a, 0x0b}));
  EXPECT_TRUE(u.actions);
  EXPECT_TRUE(u.has_egress_tun_port);
  EXPECT_EQ(u.egress_tun_port, 4789u);
}

TEST(ActionsText, DropSpellings) {
  EXPECT_TRUE(parse_ok("drop").empty());
  EXPECT_TRUE(parse_ok("DROP").empty());
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_EQ(format_actions({}), "drop");
  EXPECT_EQ(format_actions({DropAction{7}}), "drop");
  ActionList listed = parse_ok("1,drop");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].as<DropAction>().reason, 0u);
}

TEST(ActionsText, SeparatorsMayBeWhiteSpace) {
  ActionList a = parse_ok(" 1 2,\t3 ");
  EXPECT_EQ(format_actions(a), "1,2,3");
}

TEST(ActionsText, NestingDepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "clone(";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += ")";
  Result<ActionList> a = parse_actions(deep);
  ASSERT_FALSE(a.is_ok());
  EXPECT_NE(a.status().message().find("nested more than 32 deep"), std::string::npos) << a.status().message();
}

struct BadActions {
  const char* text;
  const char* error;
};

class ActionsError : public ::testing::TestWithParam<BadActions> {};

TEST_P(ActionsError, RefusedWithAMessageNamingTheField) {
  Result<ActionList> a = parse_actions(GetParam().text);
  ASSERT_FALSE(a.is_ok()) << GetParam().text;
  EXPECT_EQ(a.status().code(), EINVAL);
  EXPECT_EQ(a.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ActionsError,
    ::testing::Values(
        BadActions{"foo", "unknown action \"foo\""}, BadActions{"foo(1)", "unknown action \"foo\""},
        BadActions{"4294967296", "output port \"4294967296\": value out of range"},
        BadActions{"1x", "output port \"1x\": invalid number \"1x\""},
        BadActions{"ct(commit)", "unsupported action \"ct\""},
        BadActions{"ct_clear", "unsupported action \"ct_clear\""},
        BadActions{"tnl_pop(4789)", "unsupported action \"tnl_pop\""},
        BadActions{"set(ipv5(x=1))", "set(...): unknown key attribute \"ipv5\""},
        BadActions{"set(in_port(1))", "set(in_port(...)): the datapath cannot set this attribute"},
        BadActions{"set(ipv4(ttl=300))", "ipv4(ttl=300): value out of range"},
        BadActions{"set(ipv4(ttl=63)", "set(...): missing ')' after the key attribute"},
        BadActions{"set(tunnel(tun_id=0x1/0xff,ttl=1))",
                   "tunnel(tun_id=0x1/0xff): masked tunnel fields are not supported in set(tunnel(...))"},
        BadActions{"set(tunnel(ttl=1,flags(-df)))", "tunnel(flags(-df)): tunnel cannot be masked here"},
        BadActions{"set(mpls(label=1,label=2))", "set(mpls(...)): sets exactly one label stack entry"},
        BadActions{"push_vlan(vid=4096,pcp=0)", "push_vlan(vid=4096): value out of range"},
        BadActions{"push_vlan(pcp=0)", "push_vlan(...): missing vid="},
        BadActions{"push_vlan(vid=1,pcp=0,color=1)", "push_vlan(color=1): unknown field \"color\""},
        BadActions{"push_mpls(label=1,tc=0,ttl=1,bos=1,eth_type=0x0800)",
                   "push_mpls(...): eth_type must be 0x8847 or 0x8848, not 0x0800"},
        BadActions{"push_mpls(label=1048576,tc=0,ttl=1,bos=1,eth_type=0x8847)",
                   "push_mpls(label=1048576): value out of range"},
        BadActions{"pop_mpls()", "pop_mpls(...): missing eth_type="},
        BadActions{"recirc(0x1", "recirc(0x1): missing ')'"},
        BadActions{"trunc(-1)", "trunc(-1): invalid number \"-1\""},
        BadActions{"hash(l3(0))", "hash(l3(0)): expected l4(N) or sym_l4(N)"},
        BadActions{"sample(sample=150%,actions(1))",
                   "sample(sample=150%,actions(): sample must be a percentage from 0 to 100"},
        BadActions{"sample(sample=50.0%,actions(1)", "sample(...): missing ')'"},
        BadActions{"clone(1", "clone(...): missing ')' after nested actions"},
        BadActions{"clone(1)x", "unexpected \"x\" after an action"},
        BadActions{"check_pkt_len(size=70000,gt(1),le(2))", "check_pkt_len(size=70000): value out of range"},
        BadActions{"check_pkt_len(size=100,gt(1))", "check_pkt_len(size=100,gt(1)): expected ,le(...)"},
        BadActions{"userspace(pid=1,userdata(123))",
                   "userspace(pid=1,userdata(123)): userdata must be pairs of "
                   "hex digits"},
        BadActions{"userspace(pid=1,userdata(zz))",
                   "userspace(pid=1,userdata(zz)): userdata must be pairs of hex "
                   "digits"},
        BadActions{
            "userspace(pid=0,controller(reason=1))",
            "userspace(pid=0): controller(...): decoded OVS cookies are not supported; use userdata(HEX)"},
        BadActions{"userspace(1)", "userspace(): expected pid="},
        BadActions{"userspace(pid=1", "userspace(pid=1): missing ')'"},
        BadActions{"pop_vlan(",
                   "unexpected \"(\" after "
                   "an action"}));

}  // namespace
}  // namespace flowlift
