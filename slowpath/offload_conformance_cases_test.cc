// The conformance table is data a lab run trusts: these tests prove, without
// a kernel, that every case's texts parse with its ports resolved, that every
// frame sent is one its own megaflow matches, that expected frames carry
// correct checksums, and spot-check expected bytes against the protocol
// layouts (802.1Q, RFC 3032, RFC 7348) written out by hand here.
#include "slowpath/offload_conformance_cases.h"

#include <gtest/gtest.h>

#include <set>

#include "kmod/checksum_verify.h"
#include "kmod/flow_extract.h"
#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "offload/capability_profile.h"
#include "offload/megaflow_to_tc.h"
#include "offload/offload_decision.h"

namespace flowlift {
namespace {

constexpr EthAddr kUnderlayMac = {0x02, 0xfe, 0, 0, 0, 0x01};
constexpr EthAddr kRemoteMac = {0x02, 0xfe, 0, 0, 0, 0x02};
constexpr size_t kVxlanOuterLength = 14 + 20 + 8 + 8;

std::vector<OffloadConformanceCase> table() {
  auto cases = offload_conformance_cases(default_conformance_underlay(kUnderlayMac, kRemoteMac));
  EXPECT_TRUE(cases) << cases.status().message();
  return cases ? *cases : std::vector<OffloadConformanceCase>{};
}

ConformancePortNumbers ports() { return {.in = 3, .out = 4, .vxlan = 5, .has_vxlan = true}; }

const OffloadConformanceCase& named(const std::vector<OffloadConformanceCase>& cases,
                                    const std::string& name) {
  for (const OffloadConformanceCase& c : cases)
    if (c.name == name) return c;
  ADD_FAILURE() << "no case " << name;
  static const OffloadConformanceCase kNone;
  return kNone;
}

const std::vector<uint8_t>& first_expected(const OffloadConformanceCase& c, ConformancePortRole role) {
  for (const ConformanceExpectedOutput& output : c.expected)
    if (output.port == role && !output.frames.empty()) return output.frames.front().bytes;
  ADD_FAILURE() << c.name << " expects nothing on " << conformance_port_role_name(role);
  static const std::vector<uint8_t> kEmpty;
  return kEmpty;
}

TEST(OffloadConformanceCases, TheTableHasBetween25And45UniquelyNamedCases) {
  std::vector<OffloadConformanceCase> cases = table();
  EXPECT_GE(cases.size(), 25u);
  EXPECT_LE(cases.size(), 45u);
  std::set<std::string> names;
  for (const OffloadConformanceCase& c : cases)
    EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
}

TEST(OffloadConformanceCases, EveryMatchAndActionListParsesOnceItsPortsAreResolved) {
  for (const OffloadConformanceCase& c : table()) {
    EXPECT_EQ(c.match.rfind("recirc_id(0),", 0), 0u)
        << c.name << ": every first-pass megaflow matches recirc_id(0)";
    auto match_text = resolve_conformance_placeholders(c.match, ports());
    ASSERT_TRUE(match_text) << c.name << ": " << match_text.status().message();
    auto match = parse_match(*match_text);
    EXPECT_TRUE(match) << c.name << ": " << *match_text << ": " << match.status().message();
    auto actions_text = resolve_conformance_placeholders(c.actions, ports());
    ASSERT_TRUE(actions_text) << c.name << ": " << actions_text.status().message();
    auto actions = parse_actions(*actions_text);
    EXPECT_TRUE(actions) << c.name << ": " << *actions_text << ": " << actions.status().message();
    EXPECT_EQ(match_text->find('{'), std::string::npos) << c.name;
  }
}

// Under skip_hw the provider judges every rule by tc-software before sending
// it; the conformance suite runs skip_hw and expects TC to take every case
// without an expected refusal, so the profile must take each such rule
// (else the lab would see the flow in the datapath, refused by a profile
// stricter than the kernel's flower).
TEST(OffloadConformanceCases, TcSoftwareTakesEveryRuleTheCasesExpectTcToTake) {
  Result<CapabilityProfile> software = load_capability_profile("tc-software");
  ASSERT_TRUE(software) << software.status().message();
  TcPortTable tc_ports;
  tc_ports.set(3, TcPortInfo{13, "cfin", false, 0});
  tc_ports.set(4, TcPortInfo{14, "cfout", false, 0});
  tc_ports.set(5, TcPortInfo{15, "vxlan_sys_4789", true, 4789});
  size_t judged = 0;
  for (const OffloadConformanceCase& c : table()) {
    if (!c.expected_refusal.empty()) continue;
    Megaflow flow;
    auto match = parse_match(*resolve_conformance_placeholders(c.match, ports()));
    auto actions = parse_actions(*resolve_conformance_placeholders(c.actions, ports()));
    ASSERT_TRUE(match && actions) << c.name;
    flow.match = *match;
    flow.actions = *actions;
    Result<TcFlowerRule> rule = megaflow_to_tc(flow, tc_ports);
    ASSERT_TRUE(rule) << c.name << ": " << rule.status().message();
    rule->policy = TcPolicy::kSkipHw;
    OffloadDecision decision = decide_offload(*rule, *software, OffloadUsage{});
    EXPECT_TRUE(decision.accepted) << c.name << ": " << decision.reason;
    ++judged;
  }
  EXPECT_GE(judged, 20u);
}

TEST(OffloadConformanceCases, EveryFrameSentIsMatchedByItsOwnMegaflow) {
  for (const OffloadConformanceCase& c : table()) {
    ASSERT_FALSE(c.sent.empty()) << c.name;
    auto match = parse_match(*resolve_conformance_placeholders(c.match, ports()));
    ASSERT_TRUE(match) << c.name;
    for (const std::vector<uint8_t>& frame : c.sent) {
      std::vector<uint8_t> bytes = frame;
      uint32_t in_port = ports().in;
      if (c.sent_on == ConformancePortRole::kUnderlay) {
        // What the VXLAN port hands the datapath: the inner frame, with the
        // tunnel metadata the kernel read from the outer headers.
        ASSERT_GT(bytes.size(), kVxlanOuterLength) << c.name;
        EXPECT_EQ(bytes[36] << 8 | bytes[37], 4789) << c.name;
        EXPECT_EQ(bytes[46] << 16 | bytes[47] << 8 | bytes[48], 42) << c.name << ": vni";
        bytes.erase(bytes.begin(), bytes.begin() + kVxlanOuterLength);
        in_port = ports().vxlan;
      }
      Packet packet(bytes);
      FlowKey key = flow_key_extract(packet);
      key.in_port = in_port;
      key.recirc_id = 0;
      if (c.sent_on == ConformancePortRole::kUnderlay) key.tunnel = match->key.tunnel;
      EXPECT_TRUE(match->matches(key)) << c.name << ": the frame sent is not matched by " << c.match;
    }
  }
}

TEST(OffloadConformanceCases, EveryFrameSentAndExpectedCarriesCorrectChecksums) {
  for (const OffloadConformanceCase& c : table()) {
    for (const std::vector<uint8_t>& frame : c.sent) {
      Status verified = verify_frame_checksums(Packet(frame));
      EXPECT_TRUE(verified) << c.name << " sent: " << verified.message();
    }
    for (const ConformanceExpectedOutput& output : c.expected) {
      EXPECT_EQ(output.frames.size(), c.sent.size()) << c.name << ": one frame out per frame in on each port";
      for (const ConformanceFrame& frame : output.frames) {
        if (c.name == "refused_trunc") continue;  // cut short on purpose: its checksum covers the whole
        Status verified = verify_frame_checksums(Packet(frame.bytes));
        EXPECT_TRUE(verified) << c.name << " expected: " << verified.message();
      }
    }
  }
}

TEST(OffloadConformanceCases, RefusalsNameTheirReasonAndVxlanCasesNeedTheUnderlay) {
  int refusals = 0, vxlan = 0;
  for (const OffloadConformanceCase& c : table()) {
    if (!c.expected_refusal.empty()) ++refusals;
    bool uses_vxlan =
        c.match.find("{VXLAN}") != std::string::npos || c.actions.find("{VXLAN}") != std::string::npos;
    EXPECT_EQ(uses_vxlan, c.needs_underlay) << c.name;
    if (uses_vxlan) ++vxlan;
  }
  EXPECT_GE(refusals, 2);
  EXPECT_GE(vxlan, 4);
  const std::vector<OffloadConformanceCase> cases = table();
  EXPECT_EQ(named(cases, "refused_trunc").expected_refusal, "trunc");
}

TEST(OffloadConformanceCases, PushVlanInsertsTpid8100AndTciAfterTheMacs) {
  const std::vector<OffloadConformanceCase> cases = table();
  const std::vector<uint8_t>& out = first_expected(named(cases, "push_vlan"), ConformancePortRole::kOut);
  ASSERT_GE(out.size(), 18u);
  // pcp 3, vid 20: 3 << 13 | 20 = 0x6014; then the IPv4 EtherType.
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 12, out.begin() + 18),
            (std::vector<uint8_t>{0x81, 0x00, 0x60, 0x14, 0x08, 0x00}));
  EXPECT_EQ(out.size(), named(cases, "push_vlan").sent[0].size() + 4);
}

TEST(OffloadConformanceCases, PushMplsPutsTheLabelStackEntryBeforeTheIpv4Header) {
  const std::vector<OffloadConformanceCase> cases = table();
  const OffloadConformanceCase& c = named(cases, "push_mpls");
  const std::vector<uint8_t>& out = first_expected(c, ConformancePortRole::kOut);
  ASSERT_GE(out.size(), 19u);
  // label 200, tc 1, bottom of stack, ttl 63: 0x000c8 << 12 | 1 << 9 | 1 << 8 | 0x3f.
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 12, out.begin() + 19),
            (std::vector<uint8_t>{0x88, 0x47, 0x00, 0x0c, 0x83, 0x3f, 0x45}));
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 18, out.end()),
            std::vector<uint8_t>(c.sent[0].begin() + 14, c.sent[0].end()));
}

TEST(OffloadConformanceCases, SetIpv4TtlAndTosRewritesOnlyThoseBytesAndTheHeaderChecksum) {
  const std::vector<OffloadConformanceCase> cases = table();
  const OffloadConformanceCase& c = named(cases, "set_ipv4_ttl_tos");
  const std::vector<uint8_t>& out = first_expected(c, ConformancePortRole::kOut);
  const std::vector<uint8_t>& in = c.sent[0];
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (i == 15 || i == 22 || i == 24 || i == 25) continue;  // tos, ttl, header checksum
    EXPECT_EQ(out[i], in[i]) << "byte " << i;
  }
  EXPECT_EQ(out[15], 0xb8);
  EXPECT_EQ(out[22], 63);
}

TEST(OffloadConformanceCases, VxlanEncapExpectsTheOuterHeadersOfRfc7348AroundTheSentFrame) {
  const std::vector<OffloadConformanceCase> cases = table();
  const OffloadConformanceCase& c = named(cases, "vxlan_encap");
  const std::vector<uint8_t>& out = first_expected(c, ConformancePortRole::kUnderlay);
  ASSERT_EQ(out.size(), kVxlanOuterLength + c.sent[0].size());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 6),
            std::vector<uint8_t>(kRemoteMac.begin(), kRemoteMac.end()));
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 6, out.begin() + 12),
            std::vector<uint8_t>(kUnderlayMac.begin(), kUnderlayMac.end()));
  EXPECT_EQ(out[20], 0x00) << "no df without flags(df)";
  EXPECT_EQ(out[22], 64) << "ttl";
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 26, out.begin() + 34),
            (std::vector<uint8_t>{192, 168, 77, 1, 192, 168, 77, 2}));
  EXPECT_EQ(out[36] << 8 | out[37], 4789);
  EXPECT_EQ(out[40] << 8 | out[41], 0) << "no UDP checksum without flags(csum)";
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 42, out.begin() + 50),
            (std::vector<uint8_t>{0x08, 0, 0, 0, 0, 0, 42, 0}));
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 50, out.end()), c.sent[0]);
}

TEST(OffloadConformanceCases, VxlanEncapWithDfSetsTheOuterDontFragmentBitAndNothingElseChanges) {
  const std::vector<OffloadConformanceCase> cases = table();
  const std::vector<uint8_t>& plain =
      first_expected(named(cases, "vxlan_encap"), ConformancePortRole::kUnderlay);
  const std::vector<uint8_t>& df =
      first_expected(named(cases, "vxlan_encap_df"), ConformancePortRole::kUnderlay);
  ASSERT_EQ(plain.size(), df.size());
  EXPECT_EQ(df[20], 0x40);
  for (size_t i = 0; i < df.size(); ++i) {
    if (i == 20 || i == 24 || i == 25) continue;  // flags, header checksum
    EXPECT_EQ(df[i], plain[i]) << "byte " << i;
  }
  // The provider refuses DF encapsulation on kernels that drop nofrag, so
  // it is an ordinary case, not a divergence.
  EXPECT_TRUE(named(cases, "vxlan_encap_df").known_divergence.empty());
}

TEST(OffloadConformanceCases, OnlyTheOuterIpIdChecksumAndUdpSourcePortAreEverIgnored) {
  for (const OffloadConformanceCase& c : table())
    for (const ConformanceExpectedOutput& output : c.expected)
      for (const ConformanceFrame& frame : output.frames)
        for (const ConformanceIgnoredBytes& ignored : frame.ignored) {
          EXPECT_TRUE(c.needs_underlay && output.port == ConformancePortRole::kUnderlay) << c.name;
          EXPECT_TRUE(ignored.offset == 18 || ignored.offset == 24 || ignored.offset == 34) << c.name;
          EXPECT_EQ(ignored.length, 2u);
          EXPECT_FALSE(ignored.why.empty());
        }
}

TEST(ConformancePlaceholders, PortsAreSubstitutedAndUnknownNamesAreRefusedByName) {
  EXPECT_EQ(*resolve_conformance_placeholders("in_port({IN}),x", ports()), "in_port(3),x");
  EXPECT_EQ(*resolve_conformance_placeholders("{OUT},set(eth()),{IN},{VXLAN}", ports()), "4,set(eth()),3,5");
  auto unknown = resolve_conformance_placeholders("in_port({UPLINK})", ports());
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("{UPLINK}"), std::string::npos) << unknown.status().message();
  ConformancePortNumbers without_vxlan = ports();
  without_vxlan.has_vxlan = false;
  auto no_vxlan = resolve_conformance_placeholders("{VXLAN}", without_vxlan);
  ASSERT_FALSE(no_vxlan);
  EXPECT_NE(no_vxlan.status().message().find("no VXLAN port"), std::string::npos);
  EXPECT_FALSE(resolve_conformance_placeholders("in_port({IN", ports()));
}

TEST(ConformanceFrameMatch, IgnoredBytesAreSkippedAndEveryOtherByteAndTheLengthCount) {
  ConformanceFrame expected{{1, 2, 3, 4, 5}, {{1, 2, "test"}}};
  EXPECT_TRUE(conformance_frame_matches(expected, {1, 9, 9, 4, 5}));
  EXPECT_FALSE(conformance_frame_matches(expected, {1, 9, 9, 4, 6}));
  EXPECT_FALSE(conformance_frame_matches(expected, {0, 2, 3, 4, 5}));
  EXPECT_FALSE(conformance_frame_matches(expected, {1, 2, 3, 4}));
  EXPECT_FALSE(conformance_frame_matches(expected, {1, 2, 3, 4, 5, 6}));
}

}  // namespace
}  // namespace flowlift
