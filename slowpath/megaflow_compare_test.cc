// Megaflow comparison: the cases of the OVS 3.1 oracle's megaflow_cmp.py
// selftest (OpenFlow syntax; expectations confirmed by running
// `megaflow_cmp.py --selftest` and the script on each pair), and the
// oracle's own result on traces.jsonl vs traces-prefixes-none.jsonl.
#include "slowpath/megaflow_compare.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>

#include "slowpath/oracle_data.h"

namespace flowlift {
namespace {

CanonicalMegaflow parse(std::string_view text) {
  Result<CanonicalMegaflow> m = parse_megaflow(text, PortNames{});
  EXPECT_TRUE(m.is_ok()) << text << ": " << m.status().message();
  return m.is_ok() ? *m : CanonicalMegaflow{};
}

std::string relation(std::string_view a, std::string_view b, std::vector<std::string> ignore = {}) {
  Result<MegaflowComparison> c = compare_megaflow_texts(a, b, PortNames{}, MegaflowCompareOptions{ignore});
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c.is_ok() ? std::string(megaflow_relation_name(c->relation)) : c.status().message();
}

Be32 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return htonl(uint32_t{a} << 24 | b << 16 | c << 8 | d);
}

// ---------------------------------------------------------------- canonical form

TEST(ParseMegaflow, ShorthandsExpandAndEthSaysPacketTypeEthernet) {
  CanonicalMegaflow m = parse("recirc_id=0,eth,tcp,in_port=1,nw_src=10.0.0.0/8,tp_dst=0x0/0xffc0,nw_frag=no");
  const OfFlow& f = m.match.flow;
  const OfFlow& w = m.match.mask.bits();
  EXPECT_EQ(f.dl_type, htons(0x0800));
  EXPECT_EQ(w.dl_type, 0xffff);
  EXPECT_EQ(f.nw_proto, 6);
  EXPECT_EQ(w.nw_proto, 0xff);
  EXPECT_EQ(m.packet_type, 0u);
  EXPECT_EQ(f.nw_src, ip(10, 0, 0, 0));
  EXPECT_EQ(w.nw_src, htonl(0xff000000));
  EXPECT_EQ(w.tp_dst, htons(0xffc0));
  EXPECT_EQ(f.nw_frag, 0);
  EXPECT_EQ(w.nw_frag, kOfFragMask);
  EXPECT_EQ(w.recirc_id, 0xffffffffu);
  EXPECT_EQ(f.in_port, 1u);
}

TEST(ParseMegaflow, Icmp6TypeIsTpSrcCutTo8BitsAndNwTosWithNwEcnIsOneByte) {
  CanonicalMegaflow m = parse("icmp6,ipv6_src=2001:db8::/32,icmp_type=0x87/0xff,nw_tos=184,nw_ecn=1");
  const OfFlow& f = m.match.flow;
  const OfFlow& w = m.match.mask.bits();
  EXPECT_EQ(f.dl_type, htons(0x86dd));
  EXPECT_EQ(f.nw_proto, 58);
  EXPECT_EQ(w.ipv6_src, (Ipv6Addr{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(f.tp_src, htons(0x87));
  EXPECT_EQ(w.tp_src, htons(0xff));
  EXPECT_EQ(f.nw_tos, 0xb9);
  EXPECT_EQ(w.nw_tos, 0xff);
  CanonicalMegaflow exact = parse("icmp,icmp_type=8");
  EXPECT_EQ(exact.match.mask.bits().tp_src, htons(0xff));  // 16-bit exact, cut as xlate_wc_finish() does
}

TEST(ParseMegaflow, IpDscpIsTheHighSixBitsOfNwTos) {
  CanonicalMegaflow m = parse("ip,ip_dscp=46");
  EXPECT_EQ(m.match.flow.nw_tos, 0xb8);
  EXPECT_EQ(m.match.mask.bits().nw_tos, 0xfc);
}

TEST(ParseMegaflow, Ipv6MaskFormAndArpAliases) {
  EXPECT_EQ(parse("udp6,ipv6_dst=2001:db8::/ffff:ffff::").match.mask.bits().ipv6_dst,
            (Ipv6Addr{0xff, 0xff, 0xff, 0xff}));
  CanonicalMegaflow arp =
      parse("arp,arp_spa=10.0.0.1,arp_tpa=10.2.0.0/16,arp_op=1,arp_sha=02:00:00:00:00:01");
  EXPECT_EQ(arp.match.flow.dl_type, htons(0x0806));
  EXPECT_EQ(arp.match.flow.nw_proto, 1);
  EXPECT_EQ(arp.match.flow.nw_src, ip(10, 0, 0, 1));
  EXPECT_EQ(arp.match.mask.bits().nw_dst, htonl(0xffff0000));
  EXPECT_EQ(arp.match.flow.arp_sha, (EthAddr{0x02, 0, 0, 0, 0, 0x01}));
}

TEST(ParseMegaflow, VlanFieldsAreVlanTciWithTheCfiBit) {
  CanonicalMegaflow m = parse("eth,ip,in_port=2,dl_vlan=10,dl_vlan_pcp=5");
  EXPECT_EQ(m.match.flow.vlan_tci, htons(0x1000 | 10 | 5 << 13));
  EXPECT_EQ(m.match.mask.bits().vlan_tci, 0xffff);
  CanonicalMegaflow masked = parse("vlan_tci=0x0000/0x1fff");
  EXPECT_EQ(masked.match.flow.vlan_tci, 0);
  EXPECT_EQ(masked.match.mask.bits().vlan_tci, htons(0x1fff));
}

TEST(ParseMegaflow, MacAndNonCidrIpMasks) {
  // megaflow_cmp.py reads nw_src without "ip"; parse_of_match checks
  // prerequisites, so the match says ip.
  CanonicalMegaflow m = parse("ip,dl_src=02:aa:00:00:00:00/ff:ff:00:00:00:00,nw_src=10.2.0.1/255.254.0.1");
  EXPECT_EQ(m.match.mask.bits().dl_src, (EthAddr{0xff, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(m.match.flow.nw_src, ip(10, 2, 0, 1));
  EXPECT_EQ(m.match.mask.bits().nw_src, ip(255, 254, 0, 1));
  EXPECT_FALSE(parse_megaflow("nw_src=10.2.0.1", PortNames{}).is_ok());
}

TEST(ParseMegaflow, TunnelFlagsTosIdAndTcpFlags) {
  CanonicalMegaflow m =
      parse("tun_id=0x64,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=0,tun_flags=-df-csum-key,in_port=10");
  EXPECT_EQ(m.match.flow.tun_flags, 0);
  EXPECT_EQ(m.match.mask.bits().tun_flags, kTunnelDontFragment | kTunnelCsum | kTunnelKey);
  EXPECT_EQ(m.match.mask.bits().tun_tos, 0xff);
  EXPECT_EQ(m.match.mask.bits().tun_id, ~uint64_t{0});
  EXPECT_EQ(m.match.flow.tun_id, htobe64(0x64));
  CanonicalMegaflow tcp = parse("tcp,tcp_flags=+syn-ack");
  EXPECT_EQ(tcp.match.flow.tcp_flags, htons(0x002));
  EXPECT_EQ(tcp.match.mask.bits().tcp_flags, htons(0x012));
}

TEST(ParseMegaflow, NwFragKeywords) {
  CanonicalMegaflow later = parse("tcp,nw_frag=later");
  EXPECT_EQ(later.match.flow.nw_frag, 3);
  EXPECT_EQ(later.match.mask.bits().nw_frag, 3);
  CanonicalMegaflow first = parse("ip,nw_frag=first");
  EXPECT_EQ(first.match.flow.nw_frag, 1);
  EXPECT_EQ(first.match.mask.bits().nw_frag, 3);
}

TEST(ParseMegaflow, ExtendedRegistersSplitIntoRegisterPairs) {
  CanonicalMegaflow m =
      parse("ip,nw_ttl=64,xreg0=0x100000002/0xffffffffffffffff,reg3=0x5/0xff,metadata=0x1/0xff");
  EXPECT_EQ(m.match.flow.regs[0], 1u);
  EXPECT_EQ(m.match.flow.regs[1], 2u);
  EXPECT_EQ(m.match.mask.bits().regs[3], 0xffu);
  EXPECT_EQ(m.match.flow.metadata, 1u);
  EXPECT_EQ(m.match.flow.nw_ttl, 64);
}

TEST(ParseMegaflow, PacketTypeTupleMegaflowPrefixAndDumpFlowsLines) {
  EXPECT_EQ(parse("packet_type=(1,0x800)").packet_type, 0x10800u);
  CanonicalMegaflow prefixed = parse("Megaflow: recirc_id=0,eth,ip,in_port=2,nw_frag=no");
  EXPECT_EQ(prefixed.match.mask.bits().dl_type, 0xffff);
  EXPECT_EQ(parse("ip,dl_type=0x0800").match.flow.dl_type, htons(0x0800));
  CanonicalMegaflow dumped = parse(
      " cookie=0x0, duration=2.5s, table=10, n_packets=3, n_bytes=354, priority=300,tcp,nw_dst=10.2.3.0/24,"
      "tp_dst=0x1f40/0xfff0 actions=set_field:8080->tcp_dst,output:3");
  EXPECT_EQ(dumped.match.flow.tp_dst, htons(0x1f40));
  EXPECT_EQ(dumped.match.mask.bits().tp_dst, htons(0xfff0));
  EXPECT_EQ(dumped.match.mask.bits().nw_dst, htonl(0xffffff00));
  EXPECT_FALSE(dumped.packet_type.has_value());
  Result<MegaflowComparison> only_four =
      compare_megaflows(dumped, CanonicalMegaflow{}, MegaflowCompareOptions{});
  ASSERT_TRUE(only_four.is_ok());
  EXPECT_EQ(only_four->differences.size(), 4u);  // dl_type, nw_proto, nw_dst, tp_dst
}

TEST(ParseMegaflow, ErrorsNameTheToken) {
  Result<CanonicalMegaflow> bad_type = parse_megaflow("packet_type=0x800", PortNames{});
  EXPECT_EQ(bad_type.status().message(), "packet_type=0x800: expected packet_type=(namespace,type)");
  Result<CanonicalMegaflow> unknown = parse_megaflow("recirc_id=0,eth,ip,frobnicate=1", PortNames{});
  EXPECT_NE(unknown.status().message().find("frobnicate"), std::string::npos);
  Result<MegaflowComparison> ignored = compare_megaflow_texts("ip", "ip", PortNames{}, {{"no_such_field"}});
  EXPECT_EQ(ignored.status().message(), "ignore: unknown field \"no_such_field\"");
}

// ---------------------------------------------------------------- relations

TEST(CompareMegaflows, SpellingsOfTheSameBitsAreEqual) {
  EXPECT_EQ(relation("icmp,icmp_type=8", "icmp,icmp_type=0x8/0xff"), "equal");
  EXPECT_EQ(relation("icmpv6_type=135,icmp6", "icmp6,icmp_type=0x87/0xff"), "equal");
  EXPECT_EQ(relation("tcp,tp_dst=80", "tcp,tcp_dst=80"), "equal");
  EXPECT_EQ(relation("udp,tp_dst=53", "udp,udp_dst=53"), "equal");
  EXPECT_EQ(relation("ip,nw_src=10.1.2.3/8", "ip,nw_src=10.0.0.0/8"), "equal");
  EXPECT_EQ(relation("ip,nw_tos=184", "ip,ip_dscp=46"), "equal");
  EXPECT_EQ(relation("eth,ip,dl_vlan=10", "eth,ip,vlan_tci=0x100a/0x1fff"), "equal");
  EXPECT_EQ(relation("recirc_id=0,eth,ip,in_port=1,nw_frag=no",
                     "recirc_id=0,eth,ip,in_port=1,nw_frag=no,reg0=0x0/0x0"),
            "equal");
}

constexpr char kA[] =
    "recirc_id=0,eth,tcp,in_port=1,nw_src=10.0.0.0/8,nw_dst=192.168.1.0/24,nw_frag=no,tp_dst=80";
constexpr char kB[] =
    "recirc_id=0,eth,tcp,in_port=1,nw_src=10.0.0.0/8,nw_dst=192.168.1.10,nw_frag=no,tp_dst=80";

TEST(CompareMegaflows, WiderNarrowerAndMissingFieldsAsWildcards) {
  EXPECT_EQ(relation(kA, kA), "equal");
  EXPECT_EQ(relation(kA, kB), "A wider than B");
  EXPECT_EQ(relation(kB, kA), "B wider than A");
  EXPECT_EQ(relation("recirc_id=0,eth,ip,in_port=1,nw_frag=no", kA), "A wider than B");
  std::string without_port = kA;
  without_port.erase(without_port.find(",tp_dst=80"));
  EXPECT_EQ(relation(kA, without_port), "B wider than A");
  EXPECT_EQ(relation("eth,tcp,tp_dst=0x0/0xffc0", "eth,tcp,tp_dst=0x0/0xff00"), "B wider than A");
  EXPECT_EQ(relation("eth,tcp,tp_dst=0x40/0xffc0", "eth,tcp,tp_dst=0x0/0xff00"), "B wider than A");
  EXPECT_EQ(relation("eth,ip,dl_vlan_pcp=3", "eth,ip,dl_vlan=10,dl_vlan_pcp=3"), "A wider than B");
  EXPECT_EQ(relation("eth,ip,nw_frag=yes", "eth,ip,nw_frag=later"), "A wider than B");
}

TEST(CompareMegaflows, IncomparableIsOverlappingOrDisjoint) {
  EXPECT_EQ(relation("eth,tcp,tp_dst=0x40/0xffc0", "eth,tcp,tp_dst=0x100/0xff00"), "incomparable (disjoint)");
  EXPECT_EQ(relation("eth,tcp,nw_src=10.0.0.0/8", "eth,tcp,nw_dst=10.0.0.0/8"), "incomparable (overlapping)");
  EXPECT_EQ(relation("eth,tcp,nw_src=10.0.0.0/8", "eth,udp,nw_src=10.0.0.0/8"), "incomparable (disjoint)");
  EXPECT_EQ(relation("eth,ip,nw_frag=no", "eth,ip,nw_frag=first"), "incomparable (disjoint)");
}

TEST(CompareMegaflows, IgnoredFieldsAndPacketType) {
  std::string other_port = kA;
  other_port.replace(other_port.find("in_port=1"), 9, "in_port=2");
  EXPECT_EQ(relation(kA, other_port), "incomparable (disjoint)");
  EXPECT_EQ(relation(kA, other_port, {"in_port"}), "equal");
  EXPECT_EQ(relation("recirc_id=0,eth,ip", "ip", {"recirc_id", "packet_type"}), "equal");
  EXPECT_EQ(relation("recirc_id=0,eth,ip", "ip"), "B wider than A");
  EXPECT_EQ(relation("tcp,tp_dst=80", "tcp,tp_dst=81", {"tcp_dst"}), "equal");  // by any name of the unit
}

TEST(CompareMegaflows, DifferencesNameTheFieldAndBothConstraints) {
  Result<MegaflowComparison> c = compare_megaflow_texts(kA, kB, PortNames{});
  ASSERT_TRUE(c.is_ok());
  ASSERT_EQ(c->differences.size(), 1u);
  EXPECT_EQ(c->differences[0].to_string(), "nw_dst: 192.168.1.0/24 vs 192.168.1.10");
  EXPECT_EQ(c->differences[0].relation, "B matches bits A wildcards (0xff)");

  Result<MegaflowComparison> prefixes =
      compare_megaflow_texts("ip,nw_dst=10.2.3.0/24", "ip,nw_dst=10.2.0.0/16", PortNames{});
  ASSERT_TRUE(prefixes.is_ok());
  EXPECT_EQ(prefixes->relation, MegaflowRelation::kSecondWider);
  EXPECT_EQ(prefixes->to_string(),
            "B wider than A\n  nw_dst: 10.2.3.0/24 vs 10.2.0.0/16 (A matches bits B wildcards (0xff00))");

  Result<MegaflowComparison> ports =
      compare_megaflow_texts("eth,tcp,tp_dst=0x40/0xffc0", "eth,tcp,tp_dst=0x100/0xff00", PortNames{});
  ASSERT_TRUE(ports.is_ok());
  ASSERT_EQ(ports->differences.size(), 1u);
  EXPECT_EQ(ports->differences[0].to_string(), "tp_dst: 0x40/0xffc0 vs 0x100/0xff00");
  EXPECT_EQ(ports->differences[0].relation,
            "conflicting values on common mask bits 0x100; A matches bits B wildcards (0xc0)");

  Result<MegaflowComparison> missing = compare_megaflow_texts("tcp", "tcp,tp_dst=80", PortNames{});
  ASSERT_TRUE(missing.is_ok());
  EXPECT_EQ(missing->differences[0].to_string(), "tp_dst: * vs 80");
}

TEST(CompareMegaflows, PortNamesResolveLikeNumbers) {
  PortNames ports;
  ports.add("p1", 1);
  Result<MegaflowComparison> c = compare_megaflow_texts("ip,in_port=p1", "ip,in_port=1", ports);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->relation, MegaflowRelation::kEqual);
}

// ---------------------------------------------------------------- datapath syntax

constexpr char kDumpedTcp[] =
    "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01/ff:ff:00:00:00:00),"
    "eth_type(0x0800),ipv4(src=10.1.1.1/255.0.0.0,dst=192.168.1.10/255.255.255.0,proto=6,tos=0/0xfc,"
    "ttl=64,frag=no),tcp(dst=80), packets:1, bytes:118, used:0.032s, flags:., actions:3";

TEST(ParseMegaflow, DatapathFlowReadsAsItsOpenFlowMatchWithTheImplicitUntaggedConstraint) {
  CanonicalMegaflow m = parse(kDumpedTcp);
  const OfFlow& f = m.match.flow;
  const OfFlow& w = m.match.mask.bits();
  EXPECT_EQ(f.nw_src, ip(10, 0, 0, 0));
  EXPECT_EQ(w.nw_src, htonl(0xff000000));
  EXPECT_EQ(f.nw_proto, 6);
  EXPECT_EQ(f.dl_src, (EthAddr{0x02, 0, 0, 0, 0, 0}));
  EXPECT_EQ(w.dl_src, (EthAddr{0xff, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(f.tp_dst, htons(80));
  EXPECT_EQ(w.tp_dst, 0xffff);
  EXPECT_EQ(w.nw_tos, 0xfc);
  EXPECT_EQ(w.nw_frag, kOfFragMask);
  EXPECT_EQ(f.nw_frag, 0);
  EXPECT_EQ(m.packet_type, 0u);
  EXPECT_EQ(f.vlan_tci, 0);
  EXPECT_EQ(w.vlan_tci, 0xffff);  // no vlan() attribute: untagged only
}

TEST(CompareMegaflows, TraceMegaflowAgainstTheDatapathFlowItBecame) {
  std::string of =
      "recirc_id=0,eth,tcp,in_port=1,dl_src=02:00:00:00:00:00/ff:ff:00:00:00:00,nw_src=10.0.0.0/8,"
      "nw_dst=192.168.1.0/24,nw_tos=0,nw_ttl=64,nw_frag=no,tp_dst=80";
  std::string odp =
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01/ff:ff:00:00:00:00),"
      "eth_type(0x0800),ipv4(src=10.1.1.1/255.0.0.0,dst=192.168.1.10/255.255.255.0,proto=6,tos=0/0xfc,ttl=64,"
      "frag=no),tcp(dst=80), packets:0, bytes:0, used:never, actions:3";
  Result<MegaflowComparison> c = compare_megaflow_texts(of, odp, PortNames{});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->relation, MegaflowRelation::kFirstWider);
  ASSERT_EQ(c->differences.size(), 1u);
  EXPECT_EQ(c->differences[0].field, "vlan_tci");
  EXPECT_EQ(relation(of + ",vlan_tci=0x0000", odp), "equal");
}

TEST(CompareMegaflows, DatapathVlanEncapTunnelArpAndIpv6) {
  std::string vlan =
      "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=10,pcp=0/0x0),"
      "encap(eth_type(0x0800),ipv4(src=10.3.18.227/255.254.0.1,proto=6,frag=no),tcp(dst=443)), "
      "packets:0, bytes:0, used:never, actions:pop_vlan,3";
  CanonicalMegaflow tagged = parse(vlan);
  EXPECT_EQ(tagged.match.flow.vlan_tci, htons(0x1000 | 10));
  EXPECT_EQ(tagged.match.mask.bits().vlan_tci, htons(0x1fff));
  EXPECT_EQ(tagged.match.flow.dl_type, htons(0x0800));
  EXPECT_EQ(
      relation("recirc_id=0,eth,tcp,in_port=2,dl_vlan=10,nw_src=10.2.0.1/255.254.0.1,nw_frag=no,tp_dst=443",
               vlan),
      "equal");

  CanonicalMegaflow tunnel = parse(
      "tunnel(tun_id=0x65,src=192.0.2.2,dst=192.0.2.1,flags(-df-csum+key)),recirc_id(0),in_port(4789),"
      "packet_type(ns=0,id=0),eth(dst=02:00:00:00:00:05),eth_type(0x0800),ipv4(frag=no), packets:2");
  EXPECT_EQ(tunnel.match.flow.tun_id, htobe64(0x65));
  EXPECT_EQ(tunnel.match.flow.tun_flags, kTunnelKey);
  EXPECT_EQ(tunnel.match.mask.bits().tun_flags, kTunnelDontFragment | kTunnelCsum | kTunnelKey);
  EXPECT_EQ(tunnel.match.flow.in_port, 4789u);  // the datapath number, as megaflow_cmp.py keeps it

  std::string arp =
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:9b:7e:bf/ff:ff:00:00:00:00),"
      "eth_type(0x0806),arp(tip=10.2.169.208/255.255.0.0,op=1), packets:72, actions:3";
  CanonicalMegaflow a = parse(arp);
  EXPECT_EQ(a.match.flow.nw_dst, ip(10, 2, 0, 0));
  EXPECT_EQ(a.match.mask.bits().nw_dst, htonl(0xffff0000));
  EXPECT_EQ(a.match.flow.nw_proto, 1);
  EXPECT_EQ(a.match.mask.bits().nw_proto, 0xff);
  EXPECT_EQ(
      relation("eth,arp,in_port=1,dl_src=02:00:00:00:00:00/ff:ff:00:00:00:00,arp_tpa=10.2.0.0/16,arp_op=1",
               arp, {"recirc_id", "vlan_tci"}),
      "equal");

  CanonicalMegaflow v6 = parse(
      "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:64:59:22/ff:ff:00:00:00:00),"
      "eth_type(0x86dd),ipv6(dst=2001:db8:a::af2d:5458/ffff:ffff:ffff::,proto=17,hlimit=63,frag=no)");
  EXPECT_EQ(v6.match.flow.ipv6_dst, (Ipv6Addr{0x20, 0x01, 0x0d, 0xb8, 0, 0x0a}));
  EXPECT_EQ(v6.match.mask.bits().ipv6_dst, (Ipv6Addr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(v6.match.flow.nw_ttl, 63);

  CanonicalMegaflow with_ufid =
      parse("ufid:ab480a37-72c0-419f-8916-c796a30b9843, " + std::string(kDumpedTcp));
  EXPECT_TRUE(with_ufid.match == parse(kDumpedTcp).match);
}

// The oracle README: with prefixes=none, 39 of the 60 megaflows differ and
// the default (prefix-tracked) one is wider in all 39.
TEST(CompareMegaflows, OracleDefaultPrefixesAreWiderThanPrefixesNoneIn39Of60) {
  const std::filesystem::path oracle = FLOWLIFT_ORACLE_DIR;
  Result<std::vector<OracleTrace>> with_prefixes = load_oracle_traces(oracle / "traces.jsonl");
  Result<std::vector<OracleTrace>> without = load_oracle_traces(oracle / "traces-prefixes-none.jsonl");
  ASSERT_TRUE(with_prefixes.is_ok() && without.is_ok());
  ASSERT_EQ(with_prefixes->size(), without->size());
  std::map<std::string, int> counts;
  for (size_t i = 0; i < with_prefixes->size(); ++i) {
    ASSERT_EQ((*with_prefixes)[i].name, (*without)[i].name);
    Result<MegaflowComparison> c =
        compare_megaflow_texts((*with_prefixes)[i].megaflow, (*without)[i].megaflow, PortNames{});
    ASSERT_TRUE(c.is_ok()) << (*with_prefixes)[i].name << ": " << c.status().message();
    ++counts[std::string(megaflow_relation_name(c->relation))];
  }
  EXPECT_EQ(counts["A wider than B"], 39);
  EXPECT_EQ(counts["equal"], 21);
  EXPECT_EQ(counts.size(), 2u);
}

}  // namespace
}  // namespace flowlift
