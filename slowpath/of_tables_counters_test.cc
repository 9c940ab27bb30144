// Rule counters and times across replacement, and idle/hard timeouts, as OVS
// 3.1 keeps them (ofproto.c replace_rule_start(), ofproto-dpif.c
// rule_insert(), rule_expire(), rule_dpif_credit_stats()).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/of_tables.h"
#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::apply_ok;
using of_tables_testing::hit;
using of_tables_testing::packet;
using ::testing::ElementsAre;

constexpr OfFlowModProtocol kOf10 = OfFlowModProtocol::kOpenFlow10;
constexpr OfFlowModProtocol kOf12 = OfFlowModProtocol::kOpenFlow14;  // 1.2+ treat counters alike

// tests/ofproto-dpif.at "flow stats reset_counts": the same rule added and
// modified over OpenFlow 1.0, 1.1 and 1.2, one 118-byte packet now and then,
// dumped one second later each time (NXM dump: duration, counts, idle_age,
// hard_age when it differs from duration). The expected lines are that
// test's, with its one-second clock steps as milliseconds.
class ResetCountsSequence : public ::testing::Test {
 protected:
  void send_packet() {
    const OfPipelineRule* rule = tables_.lookup(tables_.current_version(), 0, packet("ip"), nullptr);
    ASSERT_NE(rule, nullptr);
    tables_.credit(*rule, 1, 118, now_);
  }
  // warp_and_dump_NXM DURATION N_PACKETS N_BYTES IDLE_AGE [HARD_AGE]
  std::string warp_and_dump() {
    now_ += 1000;
    std::vector<std::string> lines = dump_of_flows(tables_, now_);
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? "" : lines[0];
  }
  void flow_mod(std::string_view text, OfFlowModProtocol protocol) {
    apply_ok(tables_, text, now_, protocol);
  }

  OfTables tables_;
  uint64_t now_ = 0;
};

std::string nxm_line(int duration, int packets, int bytes, int idle_age, int hard_age = 0) {
  std::string line = "cookie=0x0, duration=" + std::to_string(duration) +
                     "s, table=0, n_packets=" + std::to_string(packets) +
                     ", n_bytes=" + std::to_string(bytes) + ", idle_age=" + std::to_string(idle_age) + ", ";
  if (hard_age > 0) line += "hard_age=" + std::to_string(hard_age) + ", ";
  return line + "ip actions=output:1";
}

TEST_F(ResetCountsSequence, CountersAndAgesFollowOvs) {
  flow_mod("ip,actions=output:1", kOf10);
  send_packet();
  EXPECT_EQ(warp_and_dump(), nxm_line(1, 1, 118, 1));
  // OpenFlow 1.0: add resets duration and counts; idle age is inherited.
  flow_mod("ip,actions=output:1", kOf10);
  EXPECT_EQ(warp_and_dump(), nxm_line(1, 0, 0, 2));
  send_packet();
  EXPECT_EQ(warp_and_dump(), nxm_line(2, 1, 118, 1));
  // mod-flows resets hard_age but not counts; duration and idle_age are inherited.
  flow_mod("modify ip,actions=output:1", kOf10);
  EXPECT_EQ(warp_and_dump(), nxm_line(3, 1, 118, 2, 1));

  // OpenFlow 1.1 behaves as 1.0 (flowlift's OpenFlow 1.0 parse stands for both).
  send_packet();
  now_ += 1000;  // warp_and_dump_OF
  flow_mod("ip,actions=output:1", kOf10);
  EXPECT_EQ(warp_and_dump(), nxm_line(1, 0, 0, 2));
  now_ += 1000;
  send_packet();
  now_ += 1000;
  flow_mod("modify ip,actions=output:1", kOf10);
  EXPECT_EQ(warp_and_dump(), nxm_line(4, 1, 118, 2, 1));
  now_ += 1000;

  // OpenFlow 1.2: add without reset_counts resets duration but not counts.
  send_packet();
  now_ += 1000;
  flow_mod("ip,actions=output:1", kOf12);
  EXPECT_EQ(warp_and_dump(), nxm_line(1, 2, 236, 2));
  now_ += 1000;
  send_packet();
  now_ += 1000;
  // mod-flows without flags resets neither duration nor counts.
  flow_mod("modify ip,actions=output:1", kOf12);
  EXPECT_EQ(warp_and_dump(), nxm_line(4, 3, 354, 2, 1));
  now_ += 1000;
  send_packet();
  now_ += 1000;
  // add-flow with reset_counts resets both duration and counts.
  flow_mod("reset_counts,ip,actions=output:1", kOf12);
  EXPECT_EQ(warp_and_dump(), nxm_line(1, 0, 0, 2));
  now_ += 1000;
  send_packet();
  now_ += 1000;
  // mod-flows with reset_counts resets counts, but not duration.
  flow_mod("modify reset_counts,ip,actions=output:1", kOf12);
  EXPECT_EQ(warp_and_dump(), nxm_line(4, 0, 0, 2, 1));
}

TEST(OfTablesCounters, ModifyKeepsTheRulesFlagsNotTheFlowMods) {
  // "Modify flow having reset_counts flag without reset_counts": the flag
  // stays on the rule, and counts are kept because the flow-mod lacks it.
  OfTables tables;
  apply_ok(tables, "reset_counts,ip,actions=output:1", 0);
  tables.credit(*tables.lookup(tables.current_version(), 0, packet("ip"), nullptr), 1, 118, 0);
  OfTablesChange change = apply_ok(tables, "modify ip,actions=output:1", 1000);
  ASSERT_EQ(change.added.size(), 1u);
  EXPECT_EQ(change.added[0]->rule().flags, kOfRuleResetCounts);
  EXPECT_EQ(change.added[0]->packets(), 1u);
  EXPECT_EQ(change.added[0]->bytes(), 118u);
}

TEST(OfTablesCounters, CreditsToAReplacedRuleGoToItsSuccessor) {
  // A translation made at the old version still names the old rule.
  OfTables tables;
  apply_ok(tables, "ip actions=drop", 0);
  const OfPipelineRule* old_rule = tables.lookup(tables.current_version(), 0, packet("ip"), nullptr);
  OfTablesChange kept = apply_ok(tables, "modify ip actions=output:p1", 100);
  tables.credit(*old_rule, 3, 300, 200);
  EXPECT_EQ(kept.added[0]->packets(), 3u);
  EXPECT_EQ(kept.added[0]->bytes(), 300u);
  EXPECT_EQ(kept.added[0]->used_ms(), 200u);

  // With reset_counts only the last-used time moves on.
  const OfPipelineRule* second = kept.added[0];
  OfTablesChange reset = apply_ok(tables, "modify reset_counts,ip actions=output:p2", 300);
  EXPECT_EQ(reset.added[0]->packets(), 0u);
  tables.credit(*second, 5, 500, 400);
  EXPECT_EQ(reset.added[0]->packets(), 0u);
  EXPECT_EQ(reset.added[0]->bytes(), 0u);
  EXPECT_EQ(reset.added[0]->used_ms(), 400u);
}

TEST(OfTablesTimeouts, HardTimeoutRunsFromCreationAndEndsStrictlyAfter) {
  OfTables tables;
  apply_ok(tables, "hard_timeout=10,ip actions=drop", 1000);
  tables.credit(*tables.lookup(tables.current_version(), 0, packet("ip"), nullptr), 1, 60, 10'500);
  EXPECT_TRUE(tables.expire(11'000).removed.empty()) << "now == modified + 10 s is not past it";
  OfTablesChange change = tables.expire(11'001);
  ASSERT_EQ(change.removed.size(), 1u);
  EXPECT_EQ(change.removed[0].reason, OfRemovalReason::kHardTimeout);
  EXPECT_EQ(change.removed[0].rule->packets(), 1u) << "final counters stay readable";
  EXPECT_EQ(tables.n_rules(), 0u);
}

TEST(OfTablesTimeouts, IdleTimeoutRunsFromTheLastUse) {
  OfTables tables;
  apply_ok(tables, "idle_timeout=5,ip actions=drop", 0);
  tables.credit(*tables.lookup(tables.current_version(), 0, packet("ip"), nullptr), 1, 60, 4000);
  EXPECT_TRUE(tables.expire(9000).removed.empty());
  OfTablesChange change = tables.expire(9001);
  ASSERT_EQ(change.removed.size(), 1u);
  EXPECT_EQ(change.removed[0].reason, OfRemovalReason::kIdleTimeout);
}

TEST(OfTablesTimeouts, AnUnusedRuleIdlesFromItsCreation) {
  OfTables tables;
  apply_ok(tables, "idle_timeout=5,ip actions=drop", 2000);
  EXPECT_TRUE(tables.expire(7000).removed.empty());
  EXPECT_EQ(tables.expire(7001).removed.size(), 1u);
}

TEST(OfTablesTimeouts, HardIsReportedWhenBothHaveRunOut) {
  OfTables tables;
  apply_ok(tables, "idle_timeout=5,hard_timeout=5,ip actions=drop", 0);
  OfTablesChange change = tables.expire(5001);
  ASSERT_EQ(change.removed.size(), 1u);
  EXPECT_EQ(change.removed[0].reason, OfRemovalReason::kHardTimeout);
}

TEST(OfTablesTimeouts, ModifyRestartsTheHardTimeoutButNotTheIdleOne) {
  OfTables tables;
  apply_ok(tables, "hard_timeout=10,ip actions=drop", 0);
  apply_ok(tables, "modify ip actions=output:p1", 8000);
  EXPECT_TRUE(tables.expire(10'001).removed.empty());
  EXPECT_EQ(tables.expire(18'001).removed.size(), 1u);

  apply_ok(tables, "idle_timeout=10,arp actions=drop", 0);
  apply_ok(tables, "modify arp actions=output:p1", 8000);
  EXPECT_EQ(tables.expire(10'001).removed.size(), 1u) << "idle counts from the last use, inherited";
}

TEST(OfTablesTimeouts, ExpiryIsOneVersionAndOnlyWhenSomethingExpired) {
  OfTables tables;
  apply_ok(tables, "hard_timeout=1,ip actions=drop", 0);
  apply_ok(tables, "hard_timeout=1,arp actions=drop", 0);
  apply_ok(tables, "tcp actions=drop", 0);
  OfVersion before = tables.current_version();
  EXPECT_TRUE(tables.expire(500).removed.empty());
  EXPECT_EQ(tables.current_version(), before);
  OfTablesChange change = tables.expire(1001);
  EXPECT_EQ(change.removed.size(), 2u);
  EXPECT_EQ(tables.current_version(), before + 1);
  EXPECT_EQ(hit(tables, before, packet("arp")), "drop") << "readers at the old version still see it";
  EXPECT_EQ(hit(tables, before + 1, packet("arp")), "miss");
  EXPECT_THAT(of_tables_testing::rules_of(tables), ElementsAre("tcp actions=drop"));
}

}  // namespace
}  // namespace flowlift
