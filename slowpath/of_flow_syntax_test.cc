// ovs-ofctl rule syntax: every match field, rule keyword and error, and the
// print/re-read property. Expected flows are built field by field here (not
// through the registry), in the byte order OfFlow documents; expected text is
// what OVS's match_format() prints for the same match.
#include "slowpath/of_flow_syntax.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "kmod/odp_text_fields.h"

namespace flowlift {
namespace {

PortNames test_ports() {
  PortNames ports;
  for (int i = 1; i <= 5; ++i) ports.add("p" + std::to_string(i), static_cast<uint32_t>(i));
  ports.add("vx1", 10);
  ports.add("vx2", 11);
  return ports;
}

Be32 ip4(const char* text) { return *odp_text::parse_ipv4(text); }
Ipv6Addr ip6(const char* text) { return *odp_text::parse_ipv6(text); }
EthAddr mac(const char* text) { return *odp_text::parse_eth(text); }

void ip(OfFlow& f, OfFlow& m) {
  f.dl_type = htons(0x0800);
  m.dl_type = 0xffff;
}
void ipv6(OfFlow& f, OfFlow& m) {
  f.dl_type = htons(0x86dd);
  m.dl_type = 0xffff;
}
void proto(OfFlow& f, OfFlow& m, uint8_t p) {
  f.nw_proto = p;
  m.nw_proto = 0xff;
}

struct MatchCase {
  const char* text;
  const char* printed;  // as OVS's match_format() prints the match
  std::function<void(OfFlow& f, OfFlow& m)> expect;
};

class MatchFields : public ::testing::TestWithParam<MatchCase> {};

TEST_P(MatchFields, ParseToTheExpectedBitsAndPrintAsOvs) {
  const MatchCase& c = GetParam();
  PortNames ports = test_ports();
  Result<OfMatch> match = parse_of_match(c.text, ports);
  ASSERT_TRUE(match.is_ok()) << c.text << ": " << match.status().message();
  OfFlow f{}, m{};
  c.expect(f, m);
  OfMatch expected(f, OfMask(m));
  EXPECT_TRUE(*match == expected) << c.text;
  EXPECT_TRUE(match->mask.bits() == m) << c.text << ": mask differs";
  EXPECT_EQ(format_of_match(*match), c.printed);
  // What prints reads back as the same match.
  Result<OfMatch> again = parse_of_match(format_of_match(*match), ports);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_TRUE(*again == *match) << c.printed;
}

const MatchCase kMatchCases[] = {
    // metadata
    {"in_port=p1", "in_port=1", [](OfFlow& f, OfFlow& m) { f.in_port = 1, m.in_port = 0xffff; }},
    {"in_port=7", "in_port=7", [](OfFlow& f, OfFlow& m) { f.in_port = 7, m.in_port = 0xffff; }},
    {"in_port=LOCAL", "in_port=LOCAL", [](OfFlow& f, OfFlow& m) { f.in_port = 0xfffe, m.in_port = 0xffff; }},
    {"in_port=vx1", "in_port=10", [](OfFlow& f, OfFlow& m) { f.in_port = 10, m.in_port = 0xffff; }},
    {"NXM_OF_IN_PORT=3", "in_port=3", [](OfFlow& f, OfFlow& m) { f.in_port = 3, m.in_port = 0xffff; }},
    {"reg0=0x1", "reg0=0x1", [](OfFlow& f, OfFlow& m) { f.regs[0] = 1, m.regs[0] = 0xffffffff; }},
    {"reg15=5/0xff", "reg15=0x5/0xff", [](OfFlow& f, OfFlow& m) { f.regs[15] = 5, m.regs[15] = 0xff; }},
    {"NXM_NX_REG3=0x64", "reg3=0x64", [](OfFlow& f, OfFlow& m) { f.regs[3] = 0x64, m.regs[3] = 0xffffffff; }},
    {"reg4=0x1/0x1", "reg4=0x1/0x1", [](OfFlow& f, OfFlow& m) { f.regs[4] = 1, m.regs[4] = 1; }},
    {"reg0[0..3]=5", "reg0=0x5/0xf", [](OfFlow& f, OfFlow& m) { f.regs[0] = 5, m.regs[0] = 0xf; }},
    {"reg0[4]=1,reg0[0..3]=5", "reg0=0x15/0x1f", [](OfFlow& f, OfFlow& m) { f.regs[0] = 0x15, m.regs[0] = 0x1f; }},
    {"reg1=0x3,reg0=0x2", "reg0=0x2,reg1=0x3",
     [](OfFlow& f, OfFlow& m) {
       f.regs[0] = 2, m.regs[0] = 0xffffffff;
       f.regs[1] = 3, m.regs[1] = 0xffffffff;
     }},
    // OVS prints an xreg match as the two registers it is made of.
    {"xreg1=0x100000002", "reg2=0x1,reg3=0x2",
     [](OfFlow& f, OfFlow& m) {
       f.regs[2] = 1, m.regs[2] = 0xffffffff;
       f.regs[3] = 2, m.regs[3] = 0xffffffff;
     }},
    {"xreg0=0x5/0xff00000000", "reg0=0/0xff",
     [](OfFlow& f, OfFlow& m) { f.regs[0] = 0, m.regs[0] = 0xff; }},
    {"metadata=0x1234/0xffff", "metadata=0x1234/0xffff",
     [](OfFlow& f, OfFlow& m) { f.metadata = 0x1234, m.metadata = 0xffff; }},
    {"metadata=0x5", "metadata=0x5", [](OfFlow& f, OfFlow& m) { f.metadata = 5, m.metadata = UINT64_MAX; }},
    {"conj_id=7", "conj_id=7", [](OfFlow& f, OfFlow& m) { f.conj_id = 7, m.conj_id = 0xffffffff; }},
    {"pkt_mark=0x10/0xf0", "pkt_mark=0x10/0xf0", [](OfFlow& f, OfFlow& m) { f.pkt_mark = 0x10, m.pkt_mark = 0xf0; }},
    {"recirc_id=1", "recirc_id=0x1", [](OfFlow& f, OfFlow& m) { f.recirc_id = 1, m.recirc_id = 0xffffffff; }},
    {"skb_priority=0x5", "skb_priority=0x5",
     [](OfFlow& f, OfFlow& m) { f.skb_priority = 5, m.skb_priority = 0xffffffff; }},
    {"tun_id=0x64", "tun_id=0x64", [](OfFlow& f, OfFlow& m) { f.tun_id = htobe64(0x64), m.tun_id = UINT64_MAX; }},
    {"tunnel_id=0x64/0xff", "tun_id=0x64/0xff",
     [](OfFlow& f, OfFlow& m) { f.tun_id = htobe64(0x64), m.tun_id = htobe64(0xff); }},
    {"NXM_NX_TUN_ID=0x1388", "tun_id=0x1388",
     [](OfFlow& f, OfFlow& m) { f.tun_id = htobe64(0x1388), m.tun_id = UINT64_MAX; }},
    {"tun_src=192.0.2.2", "tun_src=192.0.2.2",
     [](OfFlow& f, OfFlow& m) { f.tun_src = ip4("192.0.2.2"), m.tun_src = 0xffffffff; }},
    {"tun_dst=192.0.2.0/24", "tun_dst=192.0.2.0/24",
     [](OfFlow& f, OfFlow& m) { f.tun_dst = ip4("192.0.2.0"), m.tun_dst = ip4("255.255.255.0"); }},
    {"tun_ipv6_src=2001:db8::1", "tun_ipv6_src=2001:db8::1",
     [](OfFlow& f, OfFlow& m) {
       f.tun_ipv6_src = ip6("2001:db8::1");
       m.tun_ipv6_src.fill(0xff);
     }},
    {"tun_tos=4", "tun_tos=4", [](OfFlow& f, OfFlow& m) { f.tun_tos = 4, m.tun_tos = 0xff; }},
    {"tun_ttl=64", "tun_ttl=64", [](OfFlow& f, OfFlow& m) { f.tun_ttl = 64, m.tun_ttl = 0xff; }},
    {"tun_flags=+oam", "tun_flags=+oam",
     [](OfFlow& f, OfFlow& m) { f.tun_flags = kTunnelOam, m.tun_flags = kTunnelOam; }},
    {"tun_flags=-df+key", "tun_flags=-df+key",
     [](OfFlow& f, OfFlow& m) {
       f.tun_flags = kTunnelKey;
       m.tun_flags = kTunnelKey | kTunnelDontFragment;
     }},
    // L2
    {"dl_src=02:aa:00:00:00:00/ff:ff:00:00:00:00", "dl_src=02:aa:00:00:00:00/ff:ff:00:00:00:00",
     [](OfFlow& f, OfFlow& m) { f.dl_src = mac("02:aa:00:00:00:00"), m.dl_src = mac("ff:ff:00:00:00:00"); }},
    {"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00", "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
     [](OfFlow& f, OfFlow& m) { f.dl_dst = mac("01:00:00:00:00:00"), m.dl_dst = mac("01:00:00:00:00:00"); }},
    {"eth_dst=02:00:00:00:00:b0", "dl_dst=02:00:00:00:00:b0",
     [](OfFlow& f, OfFlow& m) { f.dl_dst = mac("02:00:00:00:00:b0"), m.dl_dst = mac("ff:ff:ff:ff:ff:ff"); }},
    {"dl_type=0x88cc", "dl_type=0x88cc", [](OfFlow& f, OfFlow& m) { f.dl_type = htons(0x88cc), m.dl_type = 0xffff; }},
    {"eth_type=0x0800", "ip", [](OfFlow& f, OfFlow& m) { ip(f, m); }},
    {"eth", "", [](OfFlow&, OfFlow&) {}},
    {"dl_vlan=10", "dl_vlan=10", [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x100a), m.vlan_tci = htons(0x1fff); }},
    {"dl_vlan_pcp=3", "dl_vlan_pcp=3",
     [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x7000), m.vlan_tci = htons(0xf000); }},
    {"dl_vlan=10,dl_vlan_pcp=3", "dl_vlan=10,dl_vlan_pcp=3",
     [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x700a), m.vlan_tci = 0xffff; }},
    // vlan_pcp, like dl_vlan_pcp, matches tagged packets only: it pins the CFI bit itself.
    {"vlan_pcp=3", "dl_vlan_pcp=3", [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x7000), m.vlan_tci = htons(0xf000); }},
    {"dl_vlan=10,vlan_pcp=5", "dl_vlan=10,dl_vlan_pcp=5",
     [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0xb00a), m.vlan_tci = 0xffff; }},
    {"dl_vlan=0xffff", "vlan_tci=0x0000", [](OfFlow& f, OfFlow& m) { f.vlan_tci = 0, m.vlan_tci = 0xffff; }},
    {"vlan_tci=0", "vlan_tci=0x0000", [](OfFlow& f, OfFlow& m) { f.vlan_tci = 0, m.vlan_tci = 0xffff; }},
    {"vlan_tci=0x1000/0x1000", "vlan_tci=0x1000/0x1000",
     [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x1000), m.vlan_tci = htons(0x1000); }},
    {"vlan_tci=0x0000/0x1000", "vlan_tci=0x0000/0x1000",
     [](OfFlow& f, OfFlow& m) { f.vlan_tci = 0, m.vlan_tci = htons(0x1000); }},
    {"vlan_vid=4196", "dl_vlan=100", [](OfFlow& f, OfFlow& m) { f.vlan_tci = htons(0x1064), m.vlan_tci = htons(0x1fff); }},
    {"mpls,mpls_label=100,mpls_tc=3,mpls_bos=1,mpls_ttl=64", "mpls,mpls_label=100,mpls_tc=3,mpls_ttl=64,mpls_bos=1",
     [](OfFlow& f, OfFlow& m) {
       f.dl_type = htons(0x8847), m.dl_type = 0xffff;
       f.mpls_lse = htonl(100u << 12 | 3u << 9 | 1u << 8 | 64u);
       m.mpls_lse = 0xffffffff;
     }},
    {"mplsm,mpls_label=5", "mplsm,mpls_label=5",
     [](OfFlow& f, OfFlow& m) {
       f.dl_type = htons(0x8848), m.dl_type = 0xffff;
       f.mpls_lse = htonl(5u << 12), m.mpls_lse = htonl(0xfffff000);
     }},
    // L3
    {"ip", "ip", [](OfFlow& f, OfFlow& m) { ip(f, m); }},
    {"ipv4", "ip", [](OfFlow& f, OfFlow& m) { ip(f, m); }},
    {"ip,nw_src=10.0.0.0/8", "ip,nw_src=10.0.0.0/8",
     [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_src = ip4("10.0.0.0"), m.nw_src = ip4("255.0.0.0"); }},
    {"nw_src=10.0.0.1,ip", "ip,nw_src=10.0.0.1",
     [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_src = ip4("10.0.0.1"), m.nw_src = 0xffffffff; }},
    {"ip,ip_dst=10.1.2.3/255.0.255.0", "ip,nw_dst=10.0.2.0/255.0.255.0",
     [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_dst = ip4("10.0.2.0"), m.nw_dst = ip4("255.0.255.0"); }},
    {"ip,nw_dst=0.0.0.0/1", "ip,nw_dst=0.0.0.0/1",
     [](OfFlow& f, OfFlow& m) { ip(f, m), m.nw_dst = ip4("128.0.0.0"); }},
    {"ip,nw_dst=10.9.9.9/0", "ip", [](OfFlow& f, OfFlow& m) { ip(f, m); }},
    {"ipv6,ipv6_src=2001:db8::/32", "ipv6,ipv6_src=2001:db8::/32",
     [](OfFlow& f, OfFlow& m) {
       ipv6(f, m), f.ipv6_src = ip6("2001:db8::");
       m.ipv6_src = ip6("ffff:ffff::");
     }},
    {"ipv6,ipv6_dst=2001:db8::1/ffff::ffff", "ipv6,ipv6_dst=2001::1/ffff::ffff",
     [](OfFlow& f, OfFlow& m) {
       ipv6(f, m), f.ipv6_dst = ip6("2001::1");
       m.ipv6_dst = ip6("ffff::ffff");
     }},
    {"ipv6,ipv6_label=0x12345", "ipv6,ipv6_label=0x12345",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), f.ipv6_label = htonl(0x12345), m.ipv6_label = htonl(0xfffff); }},
    {"ip,nw_proto=47", "ip,nw_proto=47", [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 47); }},
    {"ipv6,ip_proto=6", "tcp6", [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 6); }},
    {"ip,nw_tos=184", "ip,nw_tos=184", [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_tos = 184, m.nw_tos = 0xfc; }},
    {"ip,ip_dscp=46", "ip,nw_tos=184", [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_tos = 184, m.nw_tos = 0xfc; }},
    {"ip,nw_ecn=3", "ip,nw_ecn=3", [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_tos = 3, m.nw_tos = 0x03; }},
    {"ipv6,nw_tos=8,nw_ecn=1", "ipv6,nw_tos=8,nw_ecn=1",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), f.nw_tos = 9, m.nw_tos = 0xff; }},
    {"ip,nw_ttl=64", "ip,nw_ttl=64", [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_ttl = 64, m.nw_ttl = 0xff; }},
    {"ip,nw_frag=no", "ip,nw_frag=no", [](OfFlow& f, OfFlow& m) { ip(f, m), m.nw_frag = 3; }},
    {"ip,nw_frag=first", "ip,nw_frag=first",
     [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_frag = 1, m.nw_frag = 3; }},
    {"ip,nw_frag=later", "ip,nw_frag=later",
     [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_frag = 3, m.nw_frag = 3; }},
    {"ip,nw_frag=yes", "ip,nw_frag=yes", [](OfFlow& f, OfFlow& m) { ip(f, m), f.nw_frag = 1, m.nw_frag = 1; }},
    {"ipv6,ip_frag=not_later", "ipv6,nw_frag=not_later", [](OfFlow& f, OfFlow& m) { ipv6(f, m), m.nw_frag = 2; }},
    {"arp,arp_op=1", "arp,arp_op=1",
     [](OfFlow& f, OfFlow& m) {
       f.dl_type = htons(0x0806), m.dl_type = 0xffff;
       proto(f, m, 1);
     }},
    {"arp,arp_op=2,arp_tpa=10.2.0.0/16,arp_spa=10.0.0.1,arp_sha=02:00:00:00:00:01,arp_tha=02:00:00:00:00:02",
     "arp,arp_spa=10.0.0.1,arp_tpa=10.2.0.0/16,arp_op=2,arp_sha=02:00:00:00:00:01,arp_tha=02:00:00:00:00:02",
     [](OfFlow& f, OfFlow& m) {
       f.dl_type = htons(0x0806), m.dl_type = 0xffff;
       proto(f, m, 2);
       f.nw_src = ip4("10.0.0.1"), m.nw_src = 0xffffffff;
       f.nw_dst = ip4("10.2.0.0"), m.nw_dst = ip4("255.255.0.0");
       f.arp_sha = mac("02:00:00:00:00:01"), m.arp_sha.fill(0xff);
       f.arp_tha = mac("02:00:00:00:00:02"), m.arp_tha.fill(0xff);
     }},
    {"rarp,arp_op=3", "rarp,arp_op=3",
     [](OfFlow& f, OfFlow& m) {
       f.dl_type = htons(0x8035), m.dl_type = 0xffff;
       proto(f, m, 3);
     }},
    // L4
    {"tcp", "tcp", [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6); }},
    {"tcp,tp_src=80", "tcp,tp_src=80",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tp_src = htons(80), m.tp_src = 0xffff; }},
    {"tcp,tp_dst=0x1f40/0xfff0", "tcp,tp_dst=0x1f40/0xfff0",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tp_dst = htons(0x1f40), m.tp_dst = htons(0xfff0); }},
    {"tcp,tcp_dst=443", "tcp,tp_dst=443",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tp_dst = htons(443), m.tp_dst = 0xffff; }},
    {"udp,udp_src=53", "udp,tp_src=53",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 17), f.tp_src = htons(53), m.tp_src = 0xffff; }},
    {"udp,udp_dst=0x0800/0xff00", "udp,tp_dst=0x800/0xff00",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 17), f.tp_dst = htons(0x800), m.tp_dst = htons(0xff00); }},
    {"sctp,sctp_dst=9", "sctp,tp_dst=9",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 132), f.tp_dst = htons(9), m.tp_dst = 0xffff; }},
    {"tcp6,tp_dst=22", "tcp6,tp_dst=22",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 6), f.tp_dst = htons(22), m.tp_dst = 0xffff; }},
    {"udp6,tp_src=546", "udp6,tp_src=546",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 17), f.tp_src = htons(546), m.tp_src = 0xffff; }},
    {"sctp6", "sctp6", [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 132); }},
    {"tcp,tcp_flags=+syn-ack", "tcp,tcp_flags=+syn-ack",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tcp_flags = htons(0x002), m.tcp_flags = htons(0x012); }},
    {"tcp,tcp_flags=syn|ack", "tcp,tcp_flags=syn|ack",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tcp_flags = htons(0x012), m.tcp_flags = htons(0xfff); }},
    {"tcp,tcp_flags=0x002/0x012", "tcp,tcp_flags=+syn-ack",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tcp_flags = htons(0x002), m.tcp_flags = htons(0x012); }},
    {"tcp,tcp_flags=fin|0x800", "tcp,tcp_flags=0x801",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tcp_flags = htons(0x801), m.tcp_flags = htons(0xfff); }},
    {"tcp,tcp_flags=0x200/0x200", "tcp,tcp_flags=0x200/0x200",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 6), f.tcp_flags = htons(0x200), m.tcp_flags = htons(0x200); }},
    {"icmp,icmp_type=8,icmp_code=0", "icmp,icmp_type=8,icmp_code=0",
     [](OfFlow& f, OfFlow& m) {
       ip(f, m), proto(f, m, 1);
       f.tp_src = htons(8), m.tp_src = 0xffff, m.tp_dst = 0xffff;
     }},
    {"icmp,icmp_type=0x8/0xff", "icmp,icmp_type=0x8/0xff",
     [](OfFlow& f, OfFlow& m) { ip(f, m), proto(f, m, 1), f.tp_src = htons(8), m.tp_src = htons(0xff); }},
    // A later icmp_type replaces the earlier one, exact mask over 16 bits included.
    {"icmp6,icmp_type=125,icmp_type=1/5", "icmp6,icmp_type=0x1/0x5",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 58), f.tp_src = htons(1), m.tp_src = htons(5); }},
    {"icmp6,icmp_type=135", "icmp6,icmp_type=135",
     [](OfFlow& f, OfFlow& m) { ipv6(f, m), proto(f, m, 58), f.tp_src = htons(135), m.tp_src = 0xffff; }},
    {"icmp6,icmpv6_type=128,icmpv6_code=0", "icmp6,icmp_type=128,icmp_code=0",
     [](OfFlow& f, OfFlow& m) {
       ipv6(f, m), proto(f, m, 58);
       f.tp_src = htons(128), m.tp_src = 0xffff, m.tp_dst = 0xffff;
     }},
    {"icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:11:22:33:44:55",
     "icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:11:22:33:44:55",
     [](OfFlow& f, OfFlow& m) {
       ipv6(f, m), proto(f, m, 58);
       f.tp_src = htons(135), m.tp_src = 0xffff;
       f.nd_target = ip6("fe80::1"), m.nd_target.fill(0xff);
       f.arp_sha = mac("00:11:22:33:44:55"), m.arp_sha.fill(0xff);
     }},
    {"icmp6,icmp_type=136,nd_tll=00:11:22:33:44:66", "icmp6,icmp_type=136,nd_tll=00:11:22:33:44:66",
     [](OfFlow& f, OfFlow& m) {
       ipv6(f, m), proto(f, m, 58);
       f.tp_src = htons(136), m.tp_src = 0xffff;
       f.arp_tha = mac("00:11:22:33:44:66"), m.arp_tha.fill(0xff);
     }},
    // OVS's order: conj_id, shorthand, registers, tunnel, metadata, in_port, VLAN, MACs, L3, L4.
    {"tcp,tp_dst=80,nw_dst=10.2.3.0/24,dl_src=02:00:00:00:00:01,in_port=p2,reg2=3,tun_id=5,conj_id=9,metadata=1",
     "conj_id=9,tcp,reg2=0x3,tun_id=0x5,metadata=0x1,in_port=2,dl_src=02:00:00:00:00:01,nw_dst=10.2.3.0/24,tp_dst=80",
     [](OfFlow& f, OfFlow& m) {
       ip(f, m), proto(f, m, 6);
       f.tp_dst = htons(80), m.tp_dst = 0xffff;
       f.nw_dst = ip4("10.2.3.0"), m.nw_dst = ip4("255.255.255.0");
       f.dl_src = mac("02:00:00:00:00:01"), m.dl_src.fill(0xff);
       f.in_port = 2, m.in_port = 0xffff;
       f.regs[2] = 3, m.regs[2] = 0xffffffff;
       f.tun_id = htobe64(5), m.tun_id = UINT64_MAX;
       f.conj_id = 9, m.conj_id = 0xffffffff;
       f.metadata = 1, m.metadata = UINT64_MAX;
     }},
};

INSTANTIATE_TEST_SUITE_P(Ovs, MatchFields, ::testing::ValuesIn(kMatchCases));

TEST(MatchText, PortNamesPrintWhenAsked) {
  PortNames ports = test_ports();
  Result<OfMatch> match = parse_of_match("in_port=vx2", ports);
  ASSERT_TRUE(match.is_ok());
  EXPECT_EQ(format_of_match(*match, &ports), "in_port=vx2");
  EXPECT_EQ(format_of_match(*match, nullptr), "in_port=11");
  EXPECT_EQ(format_of_match(*match, nullptr, 100), "priority=100,in_port=11");
}

TEST(MatchText, ReservedPortNamesAnyCase) {
  PortNames ports;
  for (const char* name : {"local", "LOCAL", "Local"}) {
    Result<OfMatch> m = parse_of_match(std::string("in_port=") + name, ports);
    ASSERT_TRUE(m.is_ok()) << name;
    EXPECT_EQ(m->flow.in_port, 0xfffeu);
  }
}

TEST(RuleText, KeywordsParseAndPrintInDumpFlowsOrder) {
  PortNames ports = test_ports();
  Result<OfRule> rule = parse_of_rule(
      "table=10,priority=450,cookie=0x5,idle_timeout=10,hard_timeout=20,importance=3,send_flow_rem,check_"
      "overlap,"
      "ip actions=drop",
      ports);
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(rule->table, 10);
  EXPECT_EQ(rule->priority, 450);
  EXPECT_EQ(rule->cookie, 5u);
  EXPECT_EQ(rule->idle_timeout, 10);
  EXPECT_EQ(rule->hard_timeout, 20);
  EXPECT_EQ(rule->importance, 3);
  EXPECT_EQ(rule->flags, kOfRuleSendFlowRemoved | kOfRuleCheckOverlap);
  EXPECT_TRUE(rule->actions.empty());
  EXPECT_EQ(
      format_of_rule(*rule),
      "cookie=0x5, table=10, idle_timeout=10, hard_timeout=20, send_flow_rem, check_overlap, importance=3, "
      "priority=450,ip actions=drop");
}

TEST(RuleText, DefaultsAndMinimalRule) {
  PortNames ports;
  Result<OfRule> rule = parse_of_rule("actions=drop", ports);
  ASSERT_TRUE(rule.is_ok());
  EXPECT_EQ(rule->table, 0);
  EXPECT_EQ(rule->priority, kOfDefaultPriority);
  EXPECT_TRUE(rule->match.mask.is_catchall());
  EXPECT_EQ(format_of_rule(*rule), "actions=drop");
  Result<OfRule> empty_actions = parse_of_rule("priority=0 actions=", ports);
  ASSERT_TRUE(empty_actions.is_ok());
  EXPECT_EQ(format_of_rule(*empty_actions), "priority=0 actions=drop");
}

TEST(RuleText, DumpFlowsOutputReadsBack) {
  PortNames ports;
  Result<OfRule> rule = parse_of_rule(
      " cookie=0x0, duration=3.25s, table=10, n_packets=5, n_bytes=300, idle_age=1, priority=300,tcp,"
      "nw_dst=10.2.3.0/24,tp_dst=80 actions=output:3",
      ports);
  ASSERT_TRUE(rule.is_ok()) << rule.status().message();
  EXPECT_EQ(format_of_rule(*rule),
            "table=10, priority=300,tcp,nw_dst=10.2.3.0/24,tp_dst=80 actions=output:3");
}

TEST(RuleText, CookieMaskIsKeptForSelectors) {
  PortNames ports;
  Result<OfRule> rule = parse_of_rule("cookie=0x1234/0xff00 actions=drop", ports);
  ASSERT_TRUE(rule.is_ok());
  EXPECT_EQ(rule->cookie, 0x1200u);
  EXPECT_EQ(rule->cookie_mask, 0xff00u);
  EXPECT_EQ(format_of_rule(*rule), "cookie=0x1200/0xff00, actions=drop");
}

struct ErrorCase {
  const char* text;
  const char* error;
};

class RuleErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RuleErrors, NameTheOffendingTokenAndTheProblem) {
  PortNames ports = test_ports();
  Result<OfRule> rule = parse_of_rule(GetParam().text, ports);
  ASSERT_FALSE(rule.is_ok()) << GetParam().text;
  EXPECT_EQ(rule.status().message(), GetParam().error);
  EXPECT_EQ(rule.status().code(), EINVAL);
}

const ErrorCase kRuleErrors[] = {
    // values
    {"ip,nw_dst=10.0.0.300 actions=drop", "nw_dst=10.0.0.300: invalid IPv4 address"},
    {"ip,nw_dst=10.0.0.1/33 actions=drop", "nw_dst=10.0.0.1/33: prefix length 33 is longer than 32 bits"},
    {"ip,nw_dst=10.0.0.1/255.0.0.x actions=drop",
     "nw_dst=10.0.0.1/255.0.0.x: invalid mask: invalid IPv4 address"},
    {"ipv6,ipv6_src=2001:db8:::1 actions=drop", "ipv6_src=2001:db8:::1: invalid IPv6 address"},
    {"dl_src=02:00:00:00:00 actions=drop", "dl_src=02:00:00:00:00: invalid Ethernet address"},
    {"reg0=0x100000000 actions=drop", "reg0=0x100000000: value 0x100000000 does not fit in 32 bits"},
    {"reg0=zz actions=drop", "reg0=zz: invalid number \"zz\""},
    {"ip,nw_proto=6/0xff actions=drop", "nw_proto=6/0xff: nw_proto cannot be masked"},
    {"in_port=1/1 actions=drop", "in_port=1/1: in_port cannot be masked"},
    {"ip,nw_tos=185 actions=drop",
     "nw_tos=185: nw_tos takes the DSCP bits in place: the low 2 (ECN) bits must be zero (use nw_ecn)"},
    {"ip,ip_dscp=64 actions=drop", "ip_dscp=64: value 64 does not fit in 6 bits"},
    {"dl_vlan=4096 actions=drop", "dl_vlan=4096: VLAN id must be between 0 and 4095 (or 0xffff for no VLAN)"},
    {"ip,nw_frag=sometimes actions=drop",
     "nw_frag=sometimes: invalid fragment keyword \"sometimes\" (expected no, yes, first, later or "
     "not_later)"},
    {"tcp,tcp_flags=+syn+bogus actions=drop", "tcp_flags=+syn+bogus: unknown TCP flag \"bogus\""},
    {"in_port=p9 actions=drop", "in_port=p9: unknown port \"p9\""},
    {"in_port=70000 actions=drop", "in_port=70000: port 70000 is outside the range 0 through 65535"},
    {"in_port actions=drop", "in_port: missing value"},
    {"ip=1 actions=drop", "ip=1: ip takes no value"},
    {"reg0[0..40]=1 actions=drop", "reg0[0..40]=1: reg0[0..40]: bit 40 is beyond the 32-bit field reg0"},
    {"reg0[0..3]=16 actions=drop", "reg0[0..3]=16: value 16 does not fit in 4 bits"},
    // names
    {"nw_dstt=1.2.3.4 actions=drop", "unknown field \"nw_dstt\""},
    {"out_port=1 actions=drop", "unknown field \"out_port\""},
    // rule keywords
    {"priority=70000 actions=drop", "priority=70000: must be between 0 and 65535"},
    {"table=255 actions=drop", "table=255: must be between 0 and 254"},
    {"idle_timeout=x actions=drop", "idle_timeout=x: invalid number"},
    {"ip", "missing \"actions=\" (every rule needs actions; actions=drop drops)"},
    // prerequisites
    {"tp_dst=80 actions=drop", "tp_dst=80: needs a TCP, UDP or SCTP match (add tcp, udp or sctp)"},
    {"nw_src=10.0.0.1 actions=drop", "nw_src=10.0.0.1: needs an IPv4 match (add ip)"},
    {"ipv6,nw_src=10.0.0.1 actions=drop", "nw_src=10.0.0.1: needs an IPv4 match (add ip)"},
    {"arp,nw_dst=10.0.0.1 actions=drop", "nw_dst=10.0.0.1: needs an IPv4 match (add ip)"},
    {"ip,ipv6_src=::1 actions=drop", "ipv6_src=::1: needs an IPv6 match (add ipv6)"},
    {"nw_proto=6 actions=drop", "nw_proto=6: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"nw_ttl=1 actions=drop", "nw_ttl=1: needs an IPv4 or IPv6 match (add ip or ipv6)"},
    {"ip,arp_op=1 actions=drop", "arp_op=1: needs an ARP match (add arp or rarp)"},
    {"udp,tcp_dst=80 actions=drop", "tcp_dst=80: needs a TCP match (add tcp or tcp6)"},
    {"tcp,udp_src=53 actions=drop", "udp_src=53: needs a UDP match (add udp or udp6)"},
    {"tcp,sctp_src=1 actions=drop", "sctp_src=1: needs an SCTP match (add sctp or sctp6)"},
    {"udp,tcp_flags=+syn actions=drop", "tcp_flags=+syn: needs a TCP match (add tcp or tcp6)"},
    {"tcp,icmp_type=8 actions=drop", "icmp_type=8: needs an ICMP match (add icmp or icmp6)"},
    {"icmp,icmpv6_type=135 actions=drop", "icmpv6_type=135: needs an ICMPv6 match (add icmp6)"},
    {"icmp6,nd_target=fe80::1 actions=drop",
     "nd_target=fe80::1: needs an IPv6 neighbor discovery match (add icmp6,icmp_type=135 or "
     "icmp6,icmp_type=136)"},
    {"icmp6,icmp_type=135,nd_tll=00:00:00:00:00:01 actions=drop",
     "nd_tll=00:00:00:00:00:01: needs an IPv6 neighbor advertisement match (add icmp6,icmp_type=136)"},
    {"icmp6,icmp_type=136,nd_sll=00:00:00:00:00:01 actions=drop",
     "nd_sll=00:00:00:00:00:01: needs an IPv6 neighbor solicitation match (add icmp6,icmp_type=135)"},
    {"mpls_label=5 actions=drop", "mpls_label=5: needs an MPLS match (add mpls or mplsm)"},
    {"ip,ipv6,nw_src=1.2.3.4 actions=drop", "nw_src=1.2.3.4: needs an IPv4 match (add ip)"},
    // actions
    {"actions=conjunction(7,3/2)", "conjunction(7,3/2): k must be between 1 and n"},
    {"actions=conjunction(7,0/2)", "conjunction(7,0/2): k must be between 1 and n"},
    {"actions=conjunction(7,1/1)", "conjunction(7,1/1): n must be between 2 and 64"},
    {"actions=conjunction(7,1/65)", "conjunction(7,1/65): n must be between 2 and 64"},
    {"actions=conjunction(7,1)", "conjunction(7,1): expected conjunction(id,k/n)"},
    {"actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7]",
     "move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7]: source and destination widths differ (4 vs 8)"},
    {"actions=NORMAL", "NORMAL: MAC learning is not supported yet"},
    {"actions=normal", "normal: MAC learning is not supported yet"},
    {"actions=output:NORMAL", "output:NORMAL: MAC learning is not supported yet"},
    {"ip actions=mod_nw_src:1.2.3.4,NORMAL", "NORMAL: MAC learning is not supported yet"},
};

INSTANTIATE_TEST_SUITE_P(Ovs, RuleErrors, ::testing::ValuesIn(kRuleErrors));

// Rules built from every shorthand, field and action: each reads, prints and
// reads back as the same rule, and printing is stable.
TEST(RuleText, PrintedRulesReadBackEqual) {
  PortNames ports = test_ports();
  const char* rules[] = {
      "table=3,priority=7,cookie=0xffffffffffffffff,in_port=LOCAL actions=IN_PORT,LOCAL,FLOOD,ALL,TABLE",
      "arp,arp_op=1,arp_tpa=10.2.0.0/16 actions=output:p3,controller",
      "icmp6,icmp_type=135,nd_target=fe80::1 actions=controller(reason=no_match,max_len=128,userdata=01.02)",
      "tcp,tcp_flags=+syn-ack-rst "
      "actions=mod_tp_src:1,mod_tp_dst:2,mod_nw_tos:8,mod_nw_ecn:1,mod_nw_ttl:3,dec_ttl",
      "ip "
      "actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:"
      "02",
      "dl_vlan=10 "
      "actions=mod_vlan_vid:11,mod_vlan_pcp:3,strip_vlan,push_vlan:0x88a8,set_field:0x1005->vlan_vid",
      "mpls actions=set_mpls_label:7,set_mpls_tc:1,set_mpls_ttl:9,dec_mpls_ttl,pop_mpls:0x0800,mod_nw_ttl:4",
      "ip actions=push_mpls:0x8848,set_mpls_label(16)",
      "tun_id=0x5/0xff,tun_src=1.1.1.1 actions=set_tunnel:0x7,set_tunnel64:0x8,set_tunnel:0x100000000",
      "reg0=1,reg1=2/3 "
      "actions=load:0x3->NXM_NX_REG7[5..6],move:NXM_NX_REG0[]->NXM_NX_REG1[],note:de.ad.be.ef",
      "table=1 actions=resubmit(,2),resubmit(p1,3),resubmit:vx1,resubmit(2,),goto_table:9",
      "ipv6 actions=set_field:2001:db8::1->ipv6_dst,set_field:5/0xf->reg3,dec_ttl(1,2)",
      "ip,nw_frag=not_later actions=set_field:26->ip_dscp,set_field:1->nw_ecn",
      "conj_id=5,tcp actions=conjunction(6,2/3),note:00",
      "pkt_mark=0x1/0x3,metadata=0x10/0xf0,udp6,tp_src=0x100/0xff00 actions=drop",
  };
  for (const char* text : rules) {
    Result<OfRule> rule = parse_of_rule(text, ports);
    ASSERT_TRUE(rule.is_ok()) << text << ": " << rule.status().message();
    std::string printed = format_of_rule(*rule, &ports);
    Result<OfRule> again = parse_of_rule(printed, ports);
    ASSERT_TRUE(again.is_ok()) << printed << ": " << again.status().message();
    EXPECT_EQ(*again, *rule) << text << "\n  printed: " << printed;
    EXPECT_EQ(format_of_rule(*again, &ports), printed);
  }
}

}  // namespace
}  // namespace flowlift
