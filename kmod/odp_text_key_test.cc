// Match text: what odp-util prints for a masked key, read back field by field.
#include "kmod/odp_text_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace flowlift {
namespace {

Be64 be64(uint64_t host) {
  uint8_t b[8];
  for (int i = 7; i >= 0; --i, host >>= 8) b[i] = static_cast<uint8_t>(host);
  Be64 v;
  std::memcpy(&v, b, 8);
  return v;
}

Match parse_ok(const std::string& text) {
  Result<Match> m = parse_match(text);
  EXPECT_TRUE(m.is_ok()) << text << "\n  -> " << m.status().message();
  return m.is_ok() ? *m : Match();
}

UnmaskedMatch parse_unmasked_ok(const std::string& text) {
  Result<UnmaskedMatch> m = parse_unmasked_match(text);
  EXPECT_TRUE(m.is_ok()) << text << "\n  -> " << m.status().message();
  return m.is_ok() ? *m : UnmaskedMatch();
}

// Every example prints back exactly as written: the text is what odp-util
// would print for the key/mask the parser built (kernel datapath order).
class MatchRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(MatchRoundTrip, ParsesAndPrintsBackUnchanged) {
  UnmaskedMatch raw = parse_unmasked_ok(GetParam());
  EXPECT_EQ(format_match(raw), GetParam());
  // The datapath's Match (key masked) also reads back as itself.
  Match m = raw.to_match();
  EXPECT_EQ(parse_ok(format_match(m)), m);
}

INSTANTIATE_TEST_SUITE_P(
    KernelStyle, MatchRoundTrip,
    ::testing::Values(
        "in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
        "ipv4(src=10.0.0.0/255.0.0.0,dst=192.168.1.10,proto=6,ttl=64,frag=no),tcp(dst=80)",
        "recirc_id(0),in_port(3),eth(src=02:00:00:00:00:01/ff:ff:00:00:00:00,dst=02:00:00:00:00:02),"
        "eth_type(0x8100),vlan(vid=100,pcp=0),encap(eth_type(0x0800),ipv4(frag=no))",
        "eth(),eth_type(0x88a8),vlan(vid=10,pcp=0),encap(eth_type(0x8100),vlan(vid=20,pcp=0),"
        "encap(eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=4789)))",
        "eth(),eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap()",
        "eth(),eth_type(0x8100),vlan(vid=16/0xff0,pcp=4/0x4),encap(eth_type(0x86dd))",
        "tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,ttl=64,tp_dst=4789,flags(-df-csum+key)),in_port(4789)"
        ","
        "eth(),eth_type(0x0800),ipv4(frag=no)",
        "tunnel(tun_id=0x5/0xff,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tos=0x4/0xfc,"
        "vxlan(gbp(id=10,flags=0x1)),flags(df|csum|key)),eth()",
        "eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::/ffff:ffff::,label=0,proto=58,tclass=0,"
        "hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::2,sll=02:00:00:00:00:01)",
        "eth(),eth_type(0x86dd),ipv6(label=0x10000/0xf0000,proto=6,tclass=0x20/0xfc,frag=first),tcp(src=1024/"
        "0xfc00)",
        "eth(),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=02:00:00:00:00:01,tha=00:00:00:00:00:"
        "00)",
        "eth(),eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1)",
        "eth(),eth_type(0x8848),mpls(label=100,tc=0,ttl=64,bos=0,label=200,tc=7,ttl=63,bos=1)",
        "eth(),eth_type(0x8847),mpls(label=100/0xfffff,tc=0/0,ttl=0/0x0,bos=1/1)",
        "eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp(type=8,code=0)",
        "eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(src=53/0xff00)",
        "eth(),eth_type(0x0800),ipv4(proto=6,tos=0x4/0xfc,frag=no),tcp(dst=80),tcp_flags(syn|ack)",
        "eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(+syn-ack)",
        "eth(),eth_type(0x0800),ipv4(proto=132,frag=no),sctp(src=5000,dst=6000)",
        "eth(),eth_type(0x0800),ipv4(proto=6,frag=later)",
        "recirc_id(0x1),dp_hash(0x12/0xff),skb_priority(0x1),in_port(1/0xffff),skb_mark(0x2),"
        "ct_state(+new+trk),ct_zone(0x5),ct_mark(0x1/0xff),ct_label(0x1234/0xffff),eth()",
        "ct_state(new|trk),ct_zone(0x5/0xff),ct_label(0x10000000000000000000000000000001),"
        "ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1234,tp_dst=80),eth(),eth_type(0x0800),"
        "ipv4(frag=no)",
        "ct_state(-new+est-rel-rpl-inv+trk-snat-dnat),ct_tuple6(src=2001:db8::1,dst=2001:db8::2,proto=17,"
        "src_port=53,dst_port=5353),eth(),eth_type(0x86dd),ipv6(frag=no)",
        "eth(src=02:00:00:00:00:01),eth_type(0/0xffff)",
        "eth(),eth_type(0x8100),vlan(vid=7,pcp=0),encap(,eth_type(0/0xffff))", "recirc_id(0),eth()",
        "eth(),eth_type(0x88a8),vlan(vid=1,pcp=0),encap(eth_type(0x8100),vlan(vid=2,pcp=0),encap(eth_type("
        "0x8100)))",
        "eth(),eth_type(0x8100),vlan(vid=1,pcp=0),encap(eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap())",
        "eth()"));

TEST(MatchText, ParsedFieldsSitInNetworkByteOrder) {
  Match m = parse_ok(
      "in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.0.0.0/255.0.0.0,dst=192.168.1.10,proto=6,ttl=64,frag=no),tcp(dst=80)");
  const FlowKey& k = m.key;
  const FlowKey& mask = m.mask.bits();
  EXPECT_EQ(k.in_port, 1u);
  EXPECT_EQ(mask.in_port, 0xffffffffu);
  EXPECT_EQ(k.eth_src, (EthAddr{2, 0, 0, 0, 0, 1}));
  EXPECT_EQ(mask.eth_dst, (EthAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(k.eth_type, htons(0x0800));
  EXPECT_EQ(mask.eth_type, 0xffff);
  EXPECT_EQ(k.ipv4_src, htonl(0x0a000000));
  EXPECT_EQ(mask.ipv4_src, htonl(0xff000000));
  EXPECT_EQ(k.ipv4_dst, htonl(0xc0a8010a));
  EXPECT_EQ(mask.ipv4_dst, 0xffffffffu);
  EXPECT_EQ(k.ip_proto, 6);
  EXPECT_EQ(k.ip_ttl, 64);
  EXPECT_EQ(mask.ip_tos, 0);
  EXPECT_EQ(k.ip_frag, kFragNone);
  EXPECT_EQ(mask.ip_frag, 0xff);
  EXPECT_EQ(k.tp_dst, htons(80));
  EXPECT_EQ(mask.tp_dst, 0xffff);
  EXPECT_EQ(mask.tp_src, 0);
  EXPECT_EQ(mask.recirc_id, 0u);
}

TEST(MatchText, MatchPrintsTheMaskedKeyAsTheKernelDumpsIt) {
  Match m = parse_ok(
      "eth(src=02:00:00:54:ba:65/ff:ff:00:00:00:00),eth_type(0x0800),ipv4(src=10.15.106.251/255.248.0.1,"
      "proto=17,frag=no),udp(src=53/0xff00)");
  EXPECT_EQ(m.key.eth_src, (EthAddr{2, 0, 0, 0, 0, 0}));
  EXPECT_EQ(m.key.ipv4_src, htonl(0x0a080001));
  EXPECT_EQ(m.key.tp_src, 0);
  EXPECT_EQ(format_match(m),
            "eth(src=02:00:00:00:00:00/ff:ff:00:00:00:00),eth_type(0x0800),ipv4(src=10.8.0.1/255.248.0.1,"
            "proto=17,frag=no),udp(src=0/0xff00)");
}

TEST(MatchText, UnmaskedMatchKeepsBitsOutsideTheMask) {
  UnmaskedMatch raw = parse_unmasked_ok("eth(),eth_type(0x0800),ipv4(proto=17),udp(src=53/0xff00)");
  EXPECT_EQ(raw.key.tp_src, htons(53));
  EXPECT_EQ(raw.mask.bits().tp_src, htons(0xff00));
  EXPECT_EQ(raw.to_match().key.tp_src, 0);
}

TEST(MatchText, KeyIsStoredMasked) {
  Match m = parse_ok("eth(),eth_type(0x0800),ipv4(src=10.1.2.3/255.255.0.0)");
  EXPECT_EQ(m.key.ipv4_src, htonl(0x0a010000));
  EXPECT_EQ(format_match(m), "eth(),eth_type(0x0800),ipv4(src=10.1.0.0/255.255.0.0)");
}

TEST(MatchText, QinQTagsFillOuterAndInnerVlanHeads) {
  Match m = parse_ok(
      "eth(),eth_type(0x88a8),vlan(vid=10,pcp=0),encap(eth_type(0x8100),vlan(vid=20,pcp=3),encap(eth_type("
      "0x0800))"
      ")");
  EXPECT_EQ(m.key.vlan.tpid, htons(0x88a8));
  EXPECT_EQ(m.key.vlan.tci, htons(kVlanCfi | 10));
  EXPECT_EQ(m.mask.bits().vlan.tci, 0xffff);
  EXPECT_EQ(m.key.cvlan.tpid, htons(0x8100));
  EXPECT_EQ(m.key.cvlan.tci, htons(kVlanCfi | 3 << 13 | 20));
  EXPECT_EQ(m.key.eth_type, htons(0x0800));
}

TEST(MatchText, IcmpTypeAndCodeLiveInTransportPorts) {
  Match m = parse_ok("eth(),eth_type(0x0800),ipv4(proto=1),icmp(type=8,code=3)");
  EXPECT_EQ(m.key.tp_src, htons(8));
  EXPECT_EQ(m.key.tp_dst, htons(3));
  EXPECT_EQ(m.mask.bits().tp_src, htons(0xff));
}

TEST(MatchText, TunnelFieldsAndFlags) {
  Match m = parse_ok(
      "tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,ttl=64,tp_dst=4789,flags(-df-csum+key)),eth()");
  const TunnelKey& t = m.key.tunnel;
  const TunnelKey& tm = m.mask.bits().tunnel;
  EXPECT_EQ(t.tun_id, be64(0x64));
  EXPECT_EQ(tm.tun_id, ~Be64{0});
  EXPECT_EQ(t.ipv4_src, htonl(0xc0000202));
  EXPECT_EQ(t.ipv4_dst, htonl(0xc0000201));
  EXPECT_EQ(t.ttl, 64);
  EXPECT_EQ(t.tp_dst, htons(4789));
  EXPECT_EQ(tm.tp_src, 0);
  EXPECT_EQ(t.flags, kTunnelKey);
  EXPECT_EQ(tm.flags, kTunnelDontFragment | kTunnelCsum | kTunnelKey);
}

TEST(MatchText, TunnelFieldsMatchedAgainstZeroAreAbsentAsInAKernelDump) {
  // The kernel omits zero-valued tos/ports/addresses from the dumped tunnel key.
  Match m =
      parse_ok("tunnel(tun_id=0x1,src=192.0.2.2,dst=192.0.2.1,tos=0,tp_src=0,flags(-df-csum+key)),eth()");
  EXPECT_EQ(m.mask.bits().tunnel.tos, 0xff);
  EXPECT_EQ(format_match(m), "tunnel(tun_id=0x1,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),eth()");
}

TEST(MatchText, ConntrackFields) {
  Match m = parse_ok("ct_state(+new+trk),ct_zone(5),ct_mark(0x1/0xff),ct_label(0x1234),eth()");
  EXPECT_EQ(m.key.ct_state, kCtNew | kCtTracked);
  EXPECT_EQ(m.mask.bits().ct_state, kCtNew | kCtTracked);
  EXPECT_EQ(m.key.ct_zone, 5);
  EXPECT_EQ(m.mask.bits().ct_zone, 0xffff);
  EXPECT_EQ(m.key.ct_mark, 1u);
  EXPECT_EQ(m.mask.bits().ct_mark, 0xffu);
  // Label bytes as the attribute carries them: the number's low byte first (x86).
  EXPECT_EQ(m.key.ct_labels[0], 0x34);
  EXPECT_EQ(m.key.ct_labels[1], 0x12);
  EXPECT_EQ(m.key.ct_labels[15], 0);
  // odp-util prints ct_zone with "%#x".
  EXPECT_EQ(format_match(m), "ct_state(+new+trk),ct_zone(0x5),ct_mark(0x1/0xff),ct_label(0x1234),eth()");
}

TEST(MatchText, TcpFlagsExactAndMasked) {
  Match exact = parse_ok("eth(),eth_type(0x0800),ipv4(proto=6),tcp_flags(syn|ack)");
  EXPECT_EQ(exact.key.tcp_flags, htons(0x012));
  EXPECT_EQ(exact.mask.bits().tcp_flags, 0xffff);
  Match masked = parse_ok("eth(),eth_type(0x0800),ipv4(proto=6),tcp_flags(+syn-ack)");
  EXPECT_EQ(masked.key.tcp_flags, htons(0x002));
  EXPECT_EQ(masked.mask.bits().tcp_flags, htons(0x012));
}

TEST(MatchText, MplsLabelStack) {
  Match m = parse_ok("eth(),eth_type(0x8847),mpls(label=100,tc=1,ttl=64,bos=0,label=200,tc=0,ttl=63,bos=1)");
  EXPECT_EQ(m.key.mpls_lse[0], htonl(100u << 12 | 1u << 9 | 64));
  EXPECT_EQ(m.key.mpls_lse[1], htonl(200u << 12 | 1u << 8 | 63));
  EXPECT_EQ(m.key.mpls_depth, 2);
  EXPECT_EQ(m.mask.bits().mpls_lse[1], 0xffffffffu);
}

TEST(MatchText, Ethernet8022FrameHasNoEtherTypeInTheKey) {
  Match m = parse_ok("eth(),eth_type(0/0xffff)");
  EXPECT_EQ(m.key.eth_type, htons(0x05ff));
  EXPECT_EQ(m.mask.bits().eth_type, 0xffff);
}

TEST(MatchText, WildcardedMatchPrintsOnlyEthInKernelStyle) {
  Match m;
  EXPECT_EQ(format_match(m), "eth()");
  EXPECT_EQ(format_match(m, OdpTextStyle::kUserspace), "packet_type(ns=0,id=0)");
}

TEST(MatchText, FormatsAMatchBuiltInCode) {
  FlowKey key{};
  FlowKey mask{};
  key.recirc_id = 0;
  mask.recirc_id = ~0u;
  key.in_port = 2;
  mask.in_port = ~0u;
  key.eth_type = htons(0x0800);
  mask.eth_type = 0xffff;
  key.ip_proto = 17;
  mask.ip_proto = 0xff;
  mask.ip_frag = 0xff;
  key.tp_dst = htons(53);
  mask.tp_dst = 0xffff;
  key.tp_src = htons(1234);  // not in the mask: must not print
  Match m(key, FlowMask(mask));
  EXPECT_EQ(format_match(m),
            "recirc_id(0),in_port(2),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=53)");
  EXPECT_EQ(
      format_match(m, OdpTextStyle::kUserspace),
      "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=53)");
}

TEST(MatchText, UserspaceStyleOrdersMetadataLikeDpifNetdev) {
  const char* text =
      "skb_priority(0x1),tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),skb_mark(0x2),"
      "ct_state(+trk),recirc_id(0),dp_hash(0x1),in_port(4789),packet_type(ns=0,id=0),eth_type(0x0800),"
      "ipv4(frag=no)";
  Match m = parse_ok(text);
  EXPECT_EQ(format_match(m, OdpTextStyle::kUserspace), text);
  EXPECT_EQ(
      format_match(m),
      "recirc_id(0),dp_hash(0x1),skb_priority(0x1),tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,"
      "flags(-df-csum+key)),in_port(4789),skb_mark(0x2),ct_state(+trk),eth(),eth_type(0x0800),ipv4(frag=no)");
}

TEST(MatchText, AcceptsAttributesInAnyOrderAndWhiteSpaceBetween) {
  Match a = parse_ok("eth_type(0x0800) in_port(1),\teth(dst=02:00:00:00:00:01)  ipv4(frag=no)");
  EXPECT_EQ(format_match(a), "in_port(1),eth(dst=02:00:00:00:00:01),eth_type(0x0800),ipv4(frag=no)");
}

TEST(MatchText, PrefixParseStopsBeforeStatistics) {
  std::string line = "in_port(1),eth(),eth_type(0x0800), packets:1, bytes:60, used:never, actions:drop";
  size_t consumed = 0;
  Result<Match> m = parse_match_prefix(line, &consumed);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(line.substr(consumed, 10), ", packets:");
  EXPECT_EQ(m->key.in_port, 1u);
}

struct BadMatch {
  const char* text;
  const char* error;  // the exact message, naming attribute and field
};

class MatchError : public ::testing::TestWithParam<BadMatch> {};

TEST_P(MatchError, RefusedWithAMessageNamingTheField) {
  Result<Match> m = parse_match(GetParam().text);
  ASSERT_FALSE(m.is_ok()) << GetParam().text;
  EXPECT_EQ(m.status().code(), EINVAL);
  EXPECT_EQ(m.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MatchError,
    ::testing::Values(
        BadMatch{"eth(),eth_type(0x0800),ipv4(dst=192.168.1.300)",
                 "ipv4(dst=192.168.1.300): invalid IPv4 address \"192.168.1.300\""},
        BadMatch{"ipv5(src=1.2.3.4)", "unknown key attribute \"ipv5\""},
        BadMatch{"eth(src=02:00:00:00:00:01", "eth(src=02:00:00:00:00:01): missing ')'"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(proto=6),tcp(dst=70000)", "tcp(dst=70000): value out of range"},
        BadMatch{"eth(src=02:00:00:00:00:0g)",
                 "eth(src=02:00:00:00:00:0g): invalid Ethernet address "
                 "\"02:00:00:00:00:0g\""},
        BadMatch{"eth(src=02:00:00:00:00)",
                 "eth(src=02:00:00:00:00): invalid Ethernet address \"02:00:00:00:00\""},
        BadMatch{"eth(),eth_type(0x86dd),ipv6(src=2001:db8::g)",
                 "ipv6(src=2001:db8::g): invalid IPv6 address "
                 "\"2001:db8::g\""},
        BadMatch{"eth(),eth_type(0x86dd),ipv6(label=0x100000)", "ipv6(label=0x100000): value out of range"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(foo=1)", "ipv4(foo=1): unknown field \"foo\""},
        BadMatch{"eth(),eth_type(0x0800),ipv4(src)", "ipv4(src): expected '=' after \"src\""},
        BadMatch{"eth(),eth_type(0x0800),ipv4(frag=no/0xff)", "ipv4(frag=no/0xff): frag cannot be masked"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(frag=maybe)",
                 "ipv4(frag=maybe): frag must be no, first or later, not "
                 "\"maybe\""},
        BadMatch{"eth(),eth_type(0x0800),ipv4(ttl=256)", "ipv4(ttl=256): value out of range"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(ttl=6x)", "ipv4(ttl=6x): invalid number \"6x\""},
        BadMatch{"eth(src=02:00:00:00:00:01,src=02:00:00:00:00:02)",
                 "eth(src=02:00:00:00:00:02): duplicate field \"src\""},
        BadMatch{"recirc_id(1/0xff)", "recirc_id(1/0xff): recirc_id cannot be masked"},
        BadMatch{"in_port(1),in_port(2)", "duplicate key attribute \"in_port\""},
        BadMatch{"in_port(1", "in_port(1): missing ')'"},
        BadMatch{"in_port 1", "expected '(' after \"in_port\""},
        BadMatch{"skb_mark(0x100000000)", "skb_mark(0x100000000): value out of range"},
        BadMatch{"eth(),ipv4(src=1.2.3.4)", "ipv4(...) requires eth_type(0x0800)"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(proto=17),tcp(dst=80)",
                 "tcp(...) requires ipv4(proto=6) or ipv6(proto=6) with frag other than later"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(proto=6,frag=later),tcp(dst=80)",
                 "tcp(...) requires ipv4(proto=6) or ipv6(proto=6) with frag other than later"},
        BadMatch{"eth(),eth_type(0x86dd),ipv6(proto=1),icmp(type=8)",
                 "icmp(...) requires ipv4(proto=1) with frag other than later"},
        BadMatch{"eth(),eth_type(0x86dd),ipv6(proto=58),icmpv6(type=128),nd(target=::1)",
                 "nd(...) requires icmpv6(type=135) or icmpv6(type=136)"},
        BadMatch{"eth(),eth_type(0x0800),mpls(label=1)",
                 "mpls(...) requires eth_type(0x8847) or eth_type(0x8848)"},
        BadMatch{"eth(),eth_type(0x8847),mpls(label=1,label=2,label=3,label=4)",
                 "mpls(label=4): more than 3 MPLS labels"},
        BadMatch{"eth(),eth_type(0x8847),mpls(label=1048576)", "mpls(label=1048576): value out of range"},
        BadMatch{"eth(),ct_tuple4(src=1.2.3.4)",
                 "ct_tuple4(...) requires eth_type(0x0800) and a non-zero proto"},
        BadMatch{"eth(),eth_type(0x0800),vlan(vid=5),encap()",
                 "vlan(...) must follow eth_type(0x8100) or eth_type(0x88a8)"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=5)", "vlan(...) must be followed by encap(...)"},
        BadMatch{"eth(),eth_type(0x0800),encap(ipv4(frag=no))",
                 "encap(...) must follow eth_type(TPID),vlan(...)"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=4096),encap()", "vlan(vid=4096): value out of range"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=5,cfi=0),encap()",
                 "vlan(vid=5,cfi=0): a TCI without cfi=1 (truncated tag) must have vid=0 and pcp=0"},
        BadMatch{"eth(),eth_type(0x8100),vlan(cfi=1/0),encap()",
                 "vlan(cfi=1/0): the cfi bit must be matched exactly"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x0800)),ipv4(frag=no)",
                 "ipv4(...) must be inside the innermost encap(...)"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=1),encap(in_port(1))",
                 "in_port(...) is not allowed inside encap(...)"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x0800)", "encap(...): missing ')'"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=1,cfi=0/1),encap(eth_type(0x0800))",
                 "vlan(vid=1,cfi=0/1): a TCI without cfi=1 (truncated tag) must have vid=0 and pcp=0"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap(eth_type(0x0800))",
                 "encap(...) after a truncated VLAN tag (cfi=0) must be empty"},
        BadMatch{"eth(),eth_type(0x8100)", "eth_type(0x8100) must be followed by vlan(...),encap(...)"},
        BadMatch{"eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x88a8))",
                 "eth_type(0x88a8) must be followed by vlan(...),encap(...)"},
        BadMatch{"eth(),eth_type(0x0800/0xff00)",
                 "eth_type(0x0800/0xff00): the datapath matches the EtherType exactly or not at all"},
        BadMatch{"eth(),eth_type(0x0005)",
                 "eth_type(0x0005): not an EtherType (values below 0x0600 are 802.3 lengths)"},
        BadMatch{"ct_state(+new+foo)", "ct_state(+new+foo): unknown ct_state flag \"foo\""},
        BadMatch{"ct_state(+new+new)", "ct_state(+new+new): each ct_state flag can be specified only once"},
        BadMatch{"eth(),eth_type(0x0800),ipv4(proto=6),tcp_flags(syn|bogus)",
                 "tcp_flags(syn|bogus): unknown tcp_flags flag \"bogus\""},
        BadMatch{"tunnel(tun_id=0x1,color=red)", "tunnel(color=red): unknown field \"color\""},
        BadMatch{"tunnel(geneve({class=0x1}))",
                 "tunnel(geneve({class=0x1}): geneve tunnel options are not "
                 "supported"},
        BadMatch{"tunnel(src=192.0.2.256)", "tunnel(src=192.0.2.256): invalid IPv4 address \"192.0.2.256\""},
        BadMatch{"tunnel(flags(+bogus))", "tunnel(flags(+bogus)): unknown tunnel flag \"bogus\""},
        BadMatch{"packet_type(ns=2,id=0)",
                 "packet_type(ns=2,id=0): the datapath matches Ethernet frames (ns=0,id=0) and layer-3 "
                 "packets named by their EtherType (ns=1,id=0x0600 or above) only"},
        BadMatch{"packet_type(ns=1,id=0x5ff)",
                 "packet_type(ns=1,id=0x5ff): the datapath matches Ethernet frames (ns=0,id=0) and layer-3 "
                 "packets named by their EtherType (ns=1,id=0x0600 or above) only"},
        BadMatch{"packet_type(ns=0,id=0/0)",
                 "packet_type(ns=0,id=0/0): the datapath matches the packet type exactly: give ns and id "
                 "without masks"},
        BadMatch{"packet_type(ns=1,id=0x800),eth()",
                 "packet_type(ns=1,...) names a layer-3 packet, which cannot have eth(...)"},
        BadMatch{"packet_type(ns=1,id=0x800),eth_type(0x86dd)",
                 "eth_type(0x86dd) contradicts packet_type(ns=1,id=0x800)"},
        // Without eth(...) a match is a layer-3 packet (odp-util, the kernel).
        BadMatch{
            "in_port(1)",
            "a match without eth(...) is a layer-3 packet and needs eth_type(...) matched exactly; write "
            "eth() for an Ethernet frame"},
        BadMatch{
            "in_port(1),eth_type(0x0800/0)",
            "a match without eth(...) is a layer-3 packet and needs eth_type(...) matched exactly; write "
            "eth() for an Ethernet frame"},
        BadMatch{"eth_type(0/0xffff)",
                 "eth_type(0x0000): a layer-3 packet's EtherType must be 0x0600 or above"},
        BadMatch{
            "eth_type(0x8100),vlan(vid=5),encap(eth_type(0x0800))",
            "vlan(...) and encap(...) need eth(...): a match without eth(...) is a layer-3 packet, which "
            "has no VLAN tags"},
        BadMatch{"nsh(spi=1)", "unsupported key attribute \"nsh\""},
        BadMatch{"ct_label(0x123456789012345678901234567890123)",
                 "ct_label(0x123456789012345678901234567890123): "
                 "value out of range"}));

TEST(MatchText, NestedEncapDepthIsBounded) {
  std::string text = "eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=2),encap(encap(";
  Result<Match> m = parse_match(text);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().message(), "encap(...) nested deeper than two VLAN tags");
}

// Lines from OVS 3.1's `ovs-appctl dpctl/dump-flows` (userspace datapath,
// shared/oracle/ovs-3.1/trace-result.txt), match part: OVS's own text.
class OvsMatchText : public ::testing::TestWithParam<const char*> {};

TEST_P(OvsMatchText, ParsesAndPrintsBackInUserspaceStyle) {
  UnmaskedMatch raw = parse_unmasked_ok(GetParam());
  EXPECT_EQ(format_match(raw, OdpTextStyle::kUserspace), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Ovs31, OvsMatchText,
    ::testing::Values(
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:54:ba:65/ff:ff:00:00:00:00),"
        "eth_type(0x0800),ipv4(src=10.15.106.251/255.248.0.1,dst=10.3.201.122/255.255.0.0,proto=6,ttl=128,"
        "frag=no),tcp(dst=22/0xff00)",
        "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=30,pcp=5),"
        "encap(eth_type(0x0800),ipv4(src=10.3.25.17/255.254.0.1,dst=10.2.3.132/255.255.255.0,proto=6,"
        "tos=0/0xfc,frag=no),tcp(dst=53))",
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:17:9c:b4/ff:ff:00:00:00:00),"
        "eth_type(0x86dd),ipv6(src=2001:db8:1::3d3f:affc/ffff:ffff::,dst=ff02::1:ff00:d5d3/"
        "ffff:ffff:ffff:ffff::,"
        "proto=58,frag=no),icmpv6(type=135)",
        "tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(4789),"
        "packet_type(ns=0,id=0),eth_type(0x0800),ipv4(dst=96.42.226.90/192.0.0.0,frag=no)",
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:fc:9c:ad/ff:ff:00:00:00:00),"
        "eth_type(0x0806),arp(tip=10.3.134.6/255.255.0.0,op=2)",
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:85:fd:14/ff:ff:00:00:00:00),"
        "eth_type(0x0800),ipv4(src=10.2.206.82,dst=10.3.220.14/255.255.0.0,proto=1,frag=no),icmp(type=8)",
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:ec:3b:dc/ff:ff:00:00:00:00),"
        "eth_type(0x0800),ipv4(src=10.100.237.54/255.192.0.1,dst=10.2.3.74/255.255.255.0,proto=6,tos=0/0xfc,"
        "ttl=64,frag=later)",
        "recirc_id(0),in_port(4),packet_type(ns=0,id=0),eth_type(0x0806)"));

}  // namespace
}  // namespace flowlift

namespace flowlift {
namespace {

// The kernel's ovs_nla_get_match always matches both tags' tci exactly unless
// the mask says otherwise: a flow that names no VLAN matches untagged frames only.
TEST(MatchText, FlowWithoutVlanMatchesOnlyUntaggedFrames) {
  Result<Match> m = parse_match("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->mask.bits().vlan.tci, 0xffff);
  EXPECT_EQ(m->mask.bits().cvlan.tci, 0xffff);
  FlowKey untagged{};
  untagged.in_port = 1;
  untagged.eth_type = htons(0x0800);
  FlowKey tagged = untagged;
  tagged.vlan = {htons(0x8100), htons(kVlanCfi | 10)};
  EXPECT_TRUE(m->matches(untagged));
  EXPECT_FALSE(m->matches(tagged));
  EXPECT_EQ(format_match(*m), "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)");
}

TEST(MatchText, SingleTaggedFlowDoesNotMatchQinQ) {
  Result<Match> m = parse_match("eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800))");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->mask.bits().cvlan.tci, 0xffff);
}

}  // namespace
}  // namespace flowlift

namespace flowlift {
namespace {

// odp-util: eth(...) (even eth()) makes an Ethernet match; without it the
// match is a layer-3 packet, the kernel's key without OVS_KEY_ATTR_ETHERNET.
TEST(MatchText, MatchWithoutEthIsALayer3Packet) {
  Match m = parse_ok("in_port(4),eth_type(0x0800),ipv4(dst=10.0.0.1,frag=no)");
  EXPECT_EQ(m.key.mac_proto, kMacProtoNone);
  EXPECT_EQ(m.mask.bits().mac_proto, 0xff);
  EXPECT_EQ(m.key.eth_type, htons(0x0800));
  EXPECT_EQ(m.mask.bits().eth_type, 0xffff);
  // The kernel prints no eth() for it; OVS's userspace datapath names it by
  // packet_type (ns=1: an EtherType, id: the EtherType).
  EXPECT_EQ(format_match(m), "in_port(4),eth_type(0x0800),ipv4(dst=10.0.0.1,frag=no)");
  EXPECT_EQ(format_match(m, OdpTextStyle::kUserspace),
            "in_port(4),packet_type(ns=1,id=0x800),eth_type(0x0800),ipv4(dst=10.0.0.1,frag=no)");
}

TEST(MatchText, EvenAnEmptyEthMakesAnEthernetMatch) {
  Match m = parse_ok("in_port(4),eth(),eth_type(0x0800),ipv4(frag=no)");
  EXPECT_EQ(m.key.mac_proto, kMacProtoEthernet);
  EXPECT_EQ(m.mask.bits().mac_proto, 0xff);
}

TEST(MatchText, PacketTypeSaysEthernetOrLayer3) {
  Match ethernet = parse_ok("in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no)");
  EXPECT_EQ(ethernet.key.mac_proto, kMacProtoEthernet);
  EXPECT_EQ(format_match(ethernet), "in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)");

  Match layer3 = parse_ok("in_port(1),packet_type(ns=1,id=0x86dd),ipv6(frag=no)");
  EXPECT_EQ(layer3.key.mac_proto, kMacProtoNone);
  EXPECT_EQ(layer3.key.eth_type, htons(0x86dd));
  EXPECT_EQ(format_match(layer3), "in_port(1),eth_type(0x86dd),ipv6(frag=no)");
  EXPECT_EQ(parse_ok("in_port(1),packet_type(ns=1,id=0x86dd),eth_type(0x86dd),ipv6(frag=no)"), layer3);
}

class Layer3MatchRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(Layer3MatchRoundTrip, ParsesAndPrintsBackUnchanged) {
  Match m = parse_ok(GetParam());
  EXPECT_EQ(m.key.mac_proto, kMacProtoNone);
  EXPECT_EQ(format_match(m), GetParam());
  EXPECT_EQ(parse_ok(format_match(m, OdpTextStyle::kUserspace)), m);
}

INSTANTIATE_TEST_SUITE_P(
    KernelStyle, Layer3MatchRoundTrip,
    ::testing::Values("recirc_id(0),in_port(4789),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)",
                      "tunnel(tun_id=0x64,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),in_port(4789),"
                      "eth_type(0x86dd),ipv6(proto=17,frag=no),udp(dst=53)",
                      "eth_type(0x8847),mpls(label=100,tc=0,ttl=64,bos=1)", "eth_type(0x0806)"));

// A layer-3 flow never matches a frame the datapath received: those are
// Ethernet, and the mask covers mac_proto.
TEST(MatchText, Layer3FlowDoesNotMatchAnEthernetPacketKey) {
  Match layer3 = parse_ok("in_port(1),eth_type(0x0800),ipv4(frag=no)");
  Match ethernet = parse_ok("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)");
  FlowKey frame{};
  frame.in_port = 1;
  frame.eth_type = htons(0x0800);
  EXPECT_TRUE(ethernet.matches(frame));
  EXPECT_FALSE(layer3.matches(frame));
  FlowKey l3_packet = frame;
  l3_packet.mac_proto = kMacProtoNone;
  EXPECT_TRUE(layer3.matches(l3_packet));
  EXPECT_FALSE(ethernet.matches(l3_packet));
}

}  // namespace
}  // namespace flowlift
