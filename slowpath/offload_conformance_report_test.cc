// The comparison of two conformance runs and its three printings, over
// hand-made run results (no kernel): what makes a case pass or fail, how a
// refusal's placement is judged, and that every column the issue names is in
// the terminal table, the markdown table and the JSON.
#include "slowpath/offload_conformance_report.h"

#include <gtest/gtest.h>

namespace flowlift {
namespace {

OffloadConformanceCase forwarding_case(std::string name) {
  OffloadConformanceCase c;
  c.name = std::move(name);
  c.sent = {{1, 2, 3}};
  c.expected = {{ConformancePortRole::kOut, {ConformanceFrame{{1, 2, 3}, {}}}}};
  return c;
}

ConformanceCaseResult result_of(const OffloadConformanceCase& c, std::string placement,
                                std::vector<std::vector<uint8_t>> out_frames, uint64_t packets,
                                uint64_t bytes) {
  ConformanceCaseResult result;
  result.name = c.name;
  result.placement = std::move(placement);
  result.packets_in = c.sent.size();
  result.packets_out = out_frames.size();
  result.counters.packets = packets;
  result.counters.bytes = bytes;
  result.captured = {{ConformancePortRole::kIn, {}},
                     {ConformancePortRole::kOut, std::move(out_frames)},
                     {ConformancePortRole::kUnderlay, {}}};
  result.mismatch = conformance_capture_mismatch(c, result.captured);
  result.as_expected = result.mismatch.empty();
  return result;
}

ConformanceRun run_of(std::string label, std::vector<ConformanceCaseResult> results) {
  return ConformanceRun{std::move(label), std::move(results)};
}

TEST(ConformanceComparison, SameFramesAndCountersInBothRunsPass) {
  OffloadConformanceCase c = forwarding_case("l2");
  auto verdicts =
      compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {{1, 2, 3}}, 1, 3)}),
                               run_of("tc", {result_of(c, "tc_sw", {{1, 2, 3}}, 1, 3)}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].pass) << verdicts[0].note;
  EXPECT_TRUE(verdicts[0].outputs_identical);
  EXPECT_TRUE(verdicts[0].counters_equal);
  EXPECT_TRUE(verdicts[0].placement_as_expected);
  EXPECT_EQ(verdicts[0].placement, "tc_sw");
  EXPECT_EQ(verdicts[0].packets_in, 1u);
  EXPECT_EQ(verdicts[0].packets_out, 1u);
}

TEST(ConformanceComparison, ADifferentByteCountFailsOnCountersAndSaysBothValues) {
  OffloadConformanceCase c = forwarding_case("l2");
  auto verdicts =
      compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {{1, 2, 3}}, 1, 17)}),
                               run_of("tc", {result_of(c, "tc_sw", {{1, 2, 3}}, 1, 3)}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_FALSE(verdicts[0].pass);
  EXPECT_FALSE(verdicts[0].counters_equal);
  EXPECT_TRUE(verdicts[0].outputs_identical);
  EXPECT_NE(verdicts[0].note.find("1/17 vs 1/3"), std::string::npos) << verdicts[0].note;
}

TEST(ConformanceComparison, OutputThatDiffersFromTheOtherRunAndTheTableFails) {
  OffloadConformanceCase c = forwarding_case("l2");
  auto verdicts =
      compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {{1, 2, 3}}, 1, 3)}),
                               run_of("tc", {result_of(c, "tc_sw", {{1, 2, 4}}, 1, 3)}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_FALSE(verdicts[0].pass);
  EXPECT_FALSE(verdicts[0].outputs_identical);
  EXPECT_FALSE(verdicts[0].as_expected);
  EXPECT_NE(verdicts[0].note.find("tc: out: frame 1 of 1 differs at byte 2"), std::string::npos)
      << verdicts[0].note;
}

TEST(ConformanceComparison, IdenticalRunsThatBothMissTheExpectedFrameStillFail) {
  OffloadConformanceCase c = forwarding_case("l2");
  auto verdicts = compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {}, 1, 3)}),
                                           run_of("tc", {result_of(c, "tc_sw", {}, 1, 3)}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].outputs_identical);
  EXPECT_FALSE(verdicts[0].pass) << "agreeing on a wrong answer is not conformance";
  EXPECT_NE(verdicts[0].note.find("out: 0 frames, expected 1"), std::string::npos) << verdicts[0].note;
}

TEST(ConformanceComparison, IgnoredBytesMayDifferBetweenRunsButNothingElse) {
  OffloadConformanceCase c = forwarding_case("encap");
  c.expected = {{ConformancePortRole::kOut, {ConformanceFrame{{1, 0, 3}, {{1, 1, "varies"}}}}}};
  auto verdicts =
      compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {{1, 7, 3}}, 1, 3)}),
                               run_of("tc", {result_of(c, "tc_sw", {{1, 9, 3}}, 1, 3)}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].pass) << verdicts[0].note;
}

TEST(ConformanceComparison, ARefusalIsPlacedAsExpectedOnlyInTheDatapathWithItsReason) {
  OffloadConformanceCase c = forwarding_case("refused_trunc");
  c.expected_refusal = "trunc";
  ConformanceCaseResult refused = result_of(c, "datapath", {{1, 2, 3}}, 1, 3);
  refused.reason = "actions: trunc cannot be offloaded";
  auto verdicts = compare_conformance_runs(
      {c}, run_of("datapath", {result_of(c, "datapath", {{1, 2, 3}}, 1, 3)}), run_of("tc", {refused}));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].placement_as_expected);
  EXPECT_TRUE(verdicts[0].pass);
  EXPECT_EQ(verdicts[0].reason, "actions: trunc cannot be offloaded");

  refused.reason = "policy skip_sw";
  verdicts = compare_conformance_runs({c}, run_of("datapath", {result_of(c, "datapath", {{1, 2, 3}}, 1, 3)}),
                                      run_of("tc", {refused}));
  EXPECT_FALSE(verdicts[0].placement_as_expected) << "refused, but not for the documented reason";

  OffloadConformanceCase offloadable = forwarding_case("l2");
  verdicts = compare_conformance_runs(
      {offloadable}, run_of("datapath", {result_of(offloadable, "datapath", {{1, 2, 3}}, 1, 3)}),
      run_of("tc", {result_of(offloadable, "datapath", {{1, 2, 3}}, 1, 3)}));
  EXPECT_FALSE(verdicts[0].placement_as_expected);
  EXPECT_TRUE(verdicts[0].pass) << "placement is judged apart: on a NIC a refusal can be legitimate";
}

TEST(ConformanceComparison, SkippedAndErroredCasesAreReportedNotPassed) {
  OffloadConformanceCase skipped_case = forwarding_case("vxlan_encap");
  ConformanceCaseResult skipped;
  skipped.name = "vxlan_encap";
  skipped.skipped = true;
  skipped.error = "skipped: VXLAN cases need --underlay and --underlay-peer";
  OffloadConformanceCase broken_case = forwarding_case("l2");
  ConformanceCaseResult broken = result_of(broken_case, "tc_sw", {{1, 2, 3}}, 1, 3);
  broken.error = "flow_put: Invalid argument";
  broken.as_expected = false;
  auto verdicts = compare_conformance_runs(
      {skipped_case, broken_case},
      run_of("datapath", {skipped, result_of(broken_case, "datapath", {{1, 2, 3}}, 1, 3)}),
      run_of("tc", {skipped, broken}));
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_TRUE(verdicts[0].skipped);
  EXPECT_FALSE(verdicts[0].pass);
  EXPECT_FALSE(verdicts[1].pass);
  EXPECT_NE(verdicts[1].note.find("tc: flow_put: Invalid argument"), std::string::npos) << verdicts[1].note;
  EXPECT_EQ(conformance_summary(verdicts), "0 of 2 passed, 1 skipped, 1 failed");
  EXPECT_FALSE(conformance_all_passed(verdicts));
}

std::vector<ConformanceVerdict> two_verdicts() {
  ConformanceVerdict passed;
  passed.name = "set_ipv4_ttl_tos";
  passed.placement = "tc_sw";
  passed.reason = "policy skip_hw on ta1";
  passed.packets_in = 2;
  passed.packets_out = 2;
  passed.outputs_identical = passed.counters_equal = passed.as_expected = passed.pass = true;
  ConformanceVerdict failed;
  failed.name = "pop_mpls";
  failed.placement = "datapath";
  failed.reason = "a|b";
  failed.packets_in = 2;
  failed.packets_out = 0;
  failed.note = "tc: out: 0 frames, expected 2";
  return {passed, failed};
}

TEST(ConformanceReport, TheTerminalTableHasEveryColumnAlignedAndExplainsFailures) {
  std::string table = conformance_terminal_table(two_verdicts());
  EXPECT_EQ(table,
            "case              placement  reason                 in  out  identical  counters  result\n"
            "set_ipv4_ttl_tos  tc_sw      policy skip_hw on ta1   2    2  yes        equal     PASS\n"
            "pop_mpls          datapath   a|b                     2    0  no         differ    FAIL\n"
            "pop_mpls: tc: out: 0 frames, expected 2\n"
            "1 of 2 passed, 0 skipped, 1 failed\n");
}

TEST(ConformanceReport, TheMarkdownTableEscapesPipesAndCarriesTheNote) {
  std::string table = conformance_markdown_table(two_verdicts());
  EXPECT_EQ(table,
            "| case | placement | reason | packets in | packets out | outputs identical | counters equal | "
            "result |\n"
            "|---|---|---|---:|---:|---|---|---|\n"
            "| set_ipv4_ttl_tos | tc_sw | policy skip_hw on ta1 | 2 | 2 | yes | yes | PASS |\n"
            "| pop_mpls | datapath | a\\|b | 2 | 0 | no | no | FAIL: tc: out: 0 frames, expected 2 |\n"
            "\n1 of 2 passed, 0 skipped, 1 failed\n");
}

TEST(ConformanceReport, TheJsonHasOneObjectPerCaseWithTheIssuesColumns) {
  nlohmann::json json = conformance_json(two_verdicts());
  ASSERT_EQ(json["cases"].size(), 2u);
  EXPECT_EQ(json["cases"][0]["case"], "set_ipv4_ttl_tos");
  EXPECT_EQ(json["cases"][0]["placement"], "tc_sw");
  EXPECT_EQ(json["cases"][0]["reason"], "policy skip_hw on ta1");
  EXPECT_EQ(json["cases"][0]["packets_in"], 2);
  EXPECT_EQ(json["cases"][0]["packets_out"], 2);
  EXPECT_EQ(json["cases"][0]["outputs_identical"], true);
  EXPECT_EQ(json["cases"][0]["counters_equal"], true);
  EXPECT_EQ(json["cases"][0]["pass"], true);
  EXPECT_EQ(json["cases"][1]["pass"], false);
  EXPECT_EQ(json["cases"][1]["note"], "tc: out: 0 frames, expected 2");
  EXPECT_EQ(json["all_passed"], false);
  EXPECT_EQ(json["summary"], "1 of 2 passed, 0 skipped, 1 failed");
}

TEST(ConformanceLinkChatter, Ipv6MulticastAndIeeeLinkLocalFramesAreChatterOthersAreNot) {
  EXPECT_TRUE(is_conformance_link_chatter({0x33, 0x33, 0, 0, 0, 1, 0}));
  EXPECT_TRUE(is_conformance_link_chatter({0x01, 0x80, 0xc2, 0, 0, 0x0e, 0}));
  EXPECT_FALSE(is_conformance_link_chatter({0x01, 0x80, 0xc2, 0, 0, 0x21, 0}));
  EXPECT_FALSE(is_conformance_link_chatter({0x02, 0, 0, 0, 0, 0x0b, 0}));
  EXPECT_FALSE(is_conformance_link_chatter({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

}  // namespace
}  // namespace flowlift
