// The field registry: names, where each field's bits sit (checked against the
// header layouts: DSCP/ECN in the TOS byte, PCP/CFI/VID in the TCI, label/
// TC/BoS/TTL in an MPLS LSE), subfields and prerequisites.
#include "slowpath/of_fields.h"

#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

namespace flowlift {
namespace {

TEST(OfFieldTable, EveryNameFindsItsFieldAndNoNameIsShared) {
  std::set<std::string_view> seen;
  for (const OfField& f : all_of_fields()) {
    EXPECT_EQ(&of_field(f.id), &f);
    for (std::string_view name : {f.name, f.alias, f.nxm_name, f.oxm_name}) {
      if (name.empty()) continue;
      EXPECT_TRUE(seen.insert(name).second) << name << " names two fields";
      EXPECT_EQ(find_of_field(name), &f) << name;
    }
    EXPECT_LE(f.offset + f.storage_bytes, sizeof(OfFlow)) << f.name;
    EXPECT_LE(f.shift + f.n_bits, f.storage_bytes * 8) << f.name;
  }
  EXPECT_EQ(find_of_field("nw_dstt"), nullptr);
  EXPECT_EQ(find_of_field(""), nullptr);
}

TEST(OfFieldTable, OvsNamesAndAliases) {
  struct {
    const char* name;
    OfFieldId id;
  } cases[] = {
      {"reg0", OfFieldId::kReg0},
      {"NXM_NX_REG0", OfFieldId::kReg0},
      {"NXM_NX_REG15", OfFieldId::kReg15},
      {"nw_src", OfFieldId::kIpv4Src},
      {"ip_src", OfFieldId::kIpv4Src},
      {"NXM_OF_IP_SRC", OfFieldId::kIpv4Src},
      {"OXM_OF_IPV4_SRC", OfFieldId::kIpv4Src},
      {"tun_id", OfFieldId::kTunId},
      {"tunnel_id", OfFieldId::kTunId},
      {"NXM_NX_TUN_ID", OfFieldId::kTunId},
      {"dl_src", OfFieldId::kEthSrc},
      {"eth_src", OfFieldId::kEthSrc},
      {"NXM_OF_ETH_SRC", OfFieldId::kEthSrc},
      {"in_port", OfFieldId::kInPort},
      {"NXM_OF_IN_PORT", OfFieldId::kInPort},
      {"vlan_tci", OfFieldId::kVlanTci},
      {"NXM_OF_VLAN_TCI", OfFieldId::kVlanTci},
      {"ip_dscp", OfFieldId::kIpDscp},
      {"nw_ecn", OfFieldId::kIpEcn},
      {"ip_ecn", OfFieldId::kIpEcn},
      {"vlan_vid", OfFieldId::kVlanVid},
      {"vlan_pcp", OfFieldId::kVlanPcp},
      {"mpls_label", OfFieldId::kMplsLabel},
      {"tp_src", OfFieldId::kTpSrc},
      {"tcp_src", OfFieldId::kTcpSrc},
      {"NXM_OF_TCP_SRC", OfFieldId::kTcpSrc},
      {"udp_src", OfFieldId::kUdpSrc},
      {"NXM_OF_UDP_SRC", OfFieldId::kUdpSrc},
      {"sctp_src", OfFieldId::kSctpSrc},
      {"nw_frag", OfFieldId::kIpFrag},
      {"dl_type", OfFieldId::kEthType},
      {"OXM_OF_METADATA", OfFieldId::kMetadata},
  };
  for (const auto& c : cases) {
    const OfField* f = find_of_field(c.name);
    ASSERT_NE(f, nullptr) << c.name;
    EXPECT_EQ(f->id, c.id) << c.name;
  }
}

TEST(OfFieldTable, WidthsAndMaskability) {
  EXPECT_EQ(of_field(OfFieldId::kInPort).n_bits, 16);  // NXM_OF_IN_PORT is the 16-bit view
  EXPECT_EQ(of_field(of_register(3)).n_bits, 32);
  EXPECT_EQ(of_field(OfFieldId::kIpv6Src).n_bits, 128);
  EXPECT_EQ(of_field(OfFieldId::kMplsLabel).n_bits, 20);
  EXPECT_EQ(of_field(OfFieldId::kIpDscp).n_bits, 6);
  EXPECT_TRUE(of_field(OfFieldId::kIpv4Src).maskable);
  EXPECT_FALSE(of_field(OfFieldId::kIpProto).maskable);
  EXPECT_FALSE(of_field(OfFieldId::kEthType).writable);
  EXPECT_TRUE(of_field(OfFieldId::kEthSrc).writable);
}

TEST(OfFieldAccess, DscpAndEcnShareTheTosByte) {
  OfFlow f{};
  write_field(f, of_field(OfFieldId::kIpDscp), 46);
  EXPECT_EQ(f.nw_tos, 0xb8);  // EF: 46 << 2
  write_field(f, of_field(OfFieldId::kIpEcn), 3);
  EXPECT_EQ(f.nw_tos, 0xbb);
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kIpTos)), 0xb8u);  // nw_tos reads the DSCP bits in place
  write_field(f, of_field(OfFieldId::kIpTos), 0x20);
  EXPECT_EQ(f.nw_tos, 0x23);  // ECN untouched
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kIpDscp)), 8u);
}

TEST(OfFieldAccess, VlanFieldsShareTheTci) {
  OfFlow f{};
  write_field(f, of_field(OfFieldId::kVlanVid), 0x1000 | 100);
  EXPECT_EQ(f.vlan_tci, htons(0x1064));
  write_field(f, of_field(OfFieldId::kVlanPcp), 5);
  EXPECT_EQ(f.vlan_tci, htons(0xb064));  // PCP in the top 3 bits
  OfFlow g{};
  write_field(g, of_field(OfFieldId::kDlVlan), 30);  // OpenFlow 1.0 dl_vlan implies a tag
  EXPECT_EQ(g.vlan_tci, htons(0x101e));
  OfFlow h{};
  write_field(h, of_field(OfFieldId::kDlVlanPcp), 3);
  EXPECT_EQ(h.vlan_tci, htons(0x7000));
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kDlVlan)), 100u);
}

TEST(OfFieldAccess, MplsFieldsFollowTheLseLayout) {
  OfFlow f{};
  write_field(f, of_field(OfFieldId::kMplsLabel), 0xabcde);
  write_field(f, of_field(OfFieldId::kMplsTc), 5);
  write_field(f, of_field(OfFieldId::kMplsTtl), 64);
  EXPECT_EQ(f.mpls_lse, htonl(0xabcde000u | 5u << 9 | 64u));
  f.mpls_lse |= htonl(0x100);
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kMplsBos)), 1u);
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kMplsLabel)), 0xabcdeu);
}

TEST(OfFieldAccess, ByteOrderFollowsTheFlow) {
  OfFlow f{};
  write_field(f, of_field(of_register(1)), 0x01020304);
  EXPECT_EQ(f.regs[1], 0x01020304u);  // host order
  write_field(f, of_field(OfFieldId::kTunId), 0x64);
  EXPECT_EQ(f.tun_id, htobe64(0x64));
  write_field(f, of_field(OfFieldId::kIpv4Dst), 0x0a000001);
  EXPECT_EQ(f.nw_dst, htonl(0x0a000001));
  write_field(f, of_field(OfFieldId::kEthSrc), 0x0200000000b0);
  EXPECT_EQ(f.dl_src, (EthAddr{0x02, 0, 0, 0, 0, 0xb0}));
  write_field(f, of_field(OfFieldId::kIcmpType), 8);
  EXPECT_EQ(f.tp_src, htons(8));
  write_field(f, of_field(OfFieldId::kMetadata), 0x1122334455667788ull);
  EXPECT_EQ(f.metadata, 0x1122334455667788ull);
  Ipv6Addr v6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  write_field(f, of_field(OfFieldId::kIpv6Src), from_big_endian(v6));
  EXPECT_EQ(f.ipv6_src, v6);
  EXPECT_EQ(to_big_endian(read_field(f, of_field(OfFieldId::kIpv6Src))), v6);
  f.in_port = 0xfffe;
  EXPECT_EQ(read_field(f, of_field(OfFieldId::kInPort)), 0xfffeu);
}

TEST(OfFieldAccess, ExtendedRegistersArePairsOfRegistersHighHalfFirst) {
  OfFlow f{};
  write_field(f, of_field(of_extended_register(1)), 0x1122334455667788ull);
  EXPECT_EQ(f.regs[2], 0x11223344u);
  EXPECT_EQ(f.regs[3], 0x55667788u);
  f.regs[15] = 7;
  EXPECT_TRUE(read_field(f, of_field(of_extended_register(7))) == 7);
  write_subfield(f, OfSubfield{of_extended_register(0), 32, 32}, 0xabcd);
  EXPECT_EQ(f.regs[0], 0xabcdu);
  EXPECT_EQ(f.regs[1], 0u);
}

TEST(OfFieldAccess, SubfieldsReadAndWriteOnlyTheirBits) {
  OfFlow f{};
  f.regs[2] = 0xffff0000;
  write_subfield(f, OfSubfield{of_register(2), 0, 16}, 0x12345);  // too wide: low 16 bits kept
  EXPECT_EQ(f.regs[2], 0xffff2345u);
  write_subfield(f, OfSubfield{of_register(2), 31, 1}, 0);
  EXPECT_EQ(f.regs[2], 0x7fff2345u);
  EXPECT_EQ(read_subfield(f, OfSubfield{of_register(2), 12, 8}), 0xf2u);
  f.nw_src = htonl(0x0a020001);
  EXPECT_EQ(read_subfield(f, OfSubfield{OfFieldId::kIpv4Src, 0, 1}), 1u);
}

TEST(OfFieldMatch, IcmpTypeExactCoversTheWholePortUnitAsOvs) {
  OfFlow f{}, m{};
  set_field_in_match(f, m, of_field(OfFieldId::kIcmpType), 8, 0xff);
  EXPECT_EQ(f.tp_src, htons(8));
  EXPECT_EQ(m.tp_src, 0xffff);
  OfFlow g{}, n{};
  set_field_in_match(g, n, of_field(OfFieldId::kIcmpType), 8, 0xff, /*mask_was_written=*/true);
  EXPECT_EQ(n.tp_src, htons(0x00ff));
}

TEST(OfFieldMatch, DlVlanMatchRequiresATag) {
  OfFlow f{}, m{};
  set_field_in_match(f, m, of_field(OfFieldId::kDlVlan), 10, 0xfff);
  EXPECT_EQ(f.vlan_tci, htons(0x100a));
  EXPECT_EQ(m.vlan_tci, htons(0x1fff));
}

TEST(OfSubfieldText, ParsesWholeRangesAndSingleBits) {
  struct {
    const char* text;
    OfSubfield expected;
    const char* printed;
  } cases[] = {
      {"NXM_NX_REG0[]", {OfFieldId::kReg0, 0, 32}, "NXM_NX_REG0[]"},
      {"reg0[]", {OfFieldId::kReg0, 0, 32}, "NXM_NX_REG0[]"},
      {"NXM_NX_REG1[0..11]", {of_register(1), 0, 12}, "NXM_NX_REG1[0..11]"},
      {"NXM_OF_IP_SRC[0]", {OfFieldId::kIpv4Src, 0, 1}, "NXM_OF_IP_SRC[0]"},
      {"NXM_OF_IN_PORT[]", {OfFieldId::kInPort, 0, 16}, "NXM_OF_IN_PORT[]"},
      {"metadata[32..63]", {OfFieldId::kMetadata, 32, 32}, "OXM_OF_METADATA[32..63]"},
      {"ip_dscp[]", {OfFieldId::kIpDscp, 0, 6}, "OXM_OF_IP_DSCP[]"},
      {"NXM_NX_IPV6_SRC[64..127]", {OfFieldId::kIpv6Src, 64, 64}, "NXM_NX_IPV6_SRC[64..127]"},
      {"reg5[0..31]", {of_register(5), 0, 32}, "NXM_NX_REG5[]"},
  };
  for (const auto& c : cases) {
    Result<OfSubfield> sf = parse_subfield(c.text);
    ASSERT_TRUE(sf.is_ok()) << c.text << ": " << sf.status().message();
    EXPECT_EQ(*sf, c.expected) << c.text;
    EXPECT_EQ(format_subfield(*sf), c.printed);
  }
}

TEST(OfSubfieldText, RejectsBadNamesAndRanges) {
  struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"NXM_NX_REG99[]", "unknown field \"NXM_NX_REG99\""},
      {"reg0", "reg0: missing bit range (write reg0[] for the whole field)"},
      {"reg0[0..32]", "reg0[0..32]: bit 32 is beyond the 32-bit field reg0"},
      {"reg0[40]", "reg0[40]: bit 40 is beyond the 32-bit field reg0"},
      {"NXM_OF_IN_PORT[16]", "NXM_OF_IN_PORT[16]: bit 16 is beyond the 16-bit field in_port"},
      {"reg0[5..3]", "reg0[5..3]: bit range 5..3 is backwards"},
      {"reg0[a..b]", "reg0[a..b]: malformed bit range (expected [], [a..b] or [a])"},
      {"reg0[1..]", "reg0[1..]: malformed bit range (expected [], [a..b] or [a])"},
      {"reg0[0", "reg0[0: malformed bit range (expected [], [a..b] or [a])"},
  };
  for (const auto& c : cases) {
    Result<OfSubfield> sf = parse_subfield(c.text);
    ASSERT_FALSE(sf.is_ok()) << c.text;
    EXPECT_EQ(sf.status().message(), c.error);
  }
}

TEST(OfPrereqs, MatchMustPinTheProtocolExactly) {
  OfFlow f{}, m{};
  const OfField& nw_src = of_field(OfFieldId::kIpv4Src);
  EXPECT_FALSE(prereqs_ok(nw_src, f, &m));
  f.dl_type = htons(0x0800);
  EXPECT_FALSE(prereqs_ok(nw_src, f, &m));      // value right, but not matched
  EXPECT_TRUE(prereqs_ok(nw_src, f, nullptr));  // an action only looks at values
  m.dl_type = 0xffff;
  EXPECT_TRUE(prereqs_ok(nw_src, f, &m));

  const OfField& tp_dst = of_field(OfFieldId::kTpDst);
  const OfField& tcp_dst = of_field(OfFieldId::kTcpDst);
  EXPECT_FALSE(prereqs_ok(tp_dst, f, &m));
  f.nw_proto = 17;
  m.nw_proto = 0xff;
  EXPECT_TRUE(prereqs_ok(tp_dst, f, &m));
  EXPECT_FALSE(prereqs_ok(tcp_dst, f, &m));
  EXPECT_TRUE(prereqs_ok(of_field(OfFieldId::kUdpDst), f, &m));
}

TEST(OfPrereqs, NeighborDiscoveryFields) {
  OfFlow f{}, m{};
  f.dl_type = htons(0x86dd);
  m.dl_type = 0xffff;
  f.nw_proto = 58;
  m.nw_proto = 0xff;
  const OfField& target = of_field(OfFieldId::kNdTarget);
  const OfField& sll = of_field(OfFieldId::kNdSll);
  const OfField& tll = of_field(OfFieldId::kNdTll);
  EXPECT_FALSE(prereqs_ok(target, f, &m));  // type not pinned
  f.tp_src = htons(135);
  m.tp_src = 0xffff;
  EXPECT_TRUE(prereqs_ok(target, f, &m));
  EXPECT_TRUE(prereqs_ok(sll, f, &m));
  EXPECT_FALSE(prereqs_ok(tll, f, &m));
  f.tp_src = htons(136);
  EXPECT_TRUE(prereqs_ok(tll, f, &m));
  f.tp_dst = htons(1);  // ND has code 0
  m.tp_dst = 0xffff;
  EXPECT_FALSE(prereqs_ok(target, f, &m));
}

TEST(OfPrereqs, VlanPcpNeedsATag) {
  OfFlow f{}, m{};
  const OfField& pcp = of_field(OfFieldId::kVlanPcp);
  EXPECT_FALSE(prereqs_ok(pcp, f, &m));
  f.vlan_tci = htons(0x1000);
  m.vlan_tci = htons(0x1000);
  EXPECT_TRUE(prereqs_ok(pcp, f, &m));
}

TEST(OfFieldValues, BigEndianRoundTrip) {
  Uint128 v = (Uint128{0x0102030405060708ull} << 64) | 0x090a0b0c0d0e0f10ull;
  std::array<uint8_t, 16> b = to_big_endian(v);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[15], 0x10);
  EXPECT_TRUE(from_big_endian(b) == v);
}

}  // namespace
}  // namespace flowlift
