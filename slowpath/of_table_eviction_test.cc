// Per-table flow limits with overflow_policy refuse or evict, and the
// eviction order vswitch.xml's Flow_Table documents: largest group, then
// lowest importance, then soonest expiry; rules without timeouts never.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/of_table.h"
#include "slowpath/of_tables.h"
#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::apply_ok;
using of_tables_testing::mod;
using of_tables_testing::rules_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

OfTableConfig limited(uint32_t max_flows, OfOverflowPolicy policy,
                      std::vector<std::string_view> groups = {}) {
  OfTableConfig config;
  config.max_flows = max_flows;
  config.overflow_policy = policy;
  for (std::string_view group : groups) config.eviction_groups.push_back(*parse_subfield(group));
  return config;
}

void configure(OfTables& tables, uint8_t table_id, OfTableConfig config) {
  Result<OfTablesChange> result = tables.configure_table(table_id, std::move(config));
  ASSERT_TRUE(result.is_ok()) << result.status().message();
}

// The rule an add to a full table would evict, as "priority=N" of its dump line.
std::string evicted_by_add(OfTables& tables, std::string_view add, uint64_t now_ms) {
  Result<OfTablesChange> change = tables.apply(mod(add), now_ms);
  EXPECT_TRUE(change.is_ok()) << change.status().message();
  if (!change.is_ok() || change->removed.size() != 1) return "none";
  EXPECT_EQ(change->removed[0].reason, OfRemovalReason::kEviction);
  return "priority=" + std::to_string(change->removed[0].rule->rule().priority);
}

TEST(OfTableLimit, RefuseFailsWithTableFullNamingTheTableAndLimit) {
  OfTables tables;
  OfTableConfig config = limited(2, OfOverflowPolicy::kRefuse);
  config.name = "acl";
  configure(tables, 5, config);
  apply_ok(tables, "table=5,priority=1,ip actions=drop");
  apply_ok(tables, "table=5,priority=2,ip actions=drop");
  OfVersion version = tables.current_version();
  Result<OfTablesChange> full = tables.apply(mod("table=5,priority=3,ip actions=drop"), 0);
  ASSERT_FALSE(full.is_ok());
  EXPECT_EQ(full.status().code(), ENOSPC);
  EXPECT_THAT(full.status().message(), HasSubstr("OFPFMFC_TABLE_FULL"));
  EXPECT_THAT(full.status().message(), HasSubstr("table 5 (\"acl\")"));
  EXPECT_THAT(full.status().message(), HasSubstr("limit of 2"));
  EXPECT_EQ(tables.current_version(), version);
  EXPECT_EQ(tables.table(5).n_flows(), 2u);
  // Other tables have no limit; replacing or modifying a rule adds none.
  apply_ok(tables, "table=4,priority=3,ip actions=drop");
  apply_ok(tables, "table=5,priority=2,ip actions=output:p1");
  apply_ok(tables, "modify table=5,ip actions=output:p2");
  EXPECT_EQ(tables.table(5).n_flows(), 2u);
}

TEST(OfTableLimit, RefuseNeverEvictsEvenRulesWithTimeouts) {
  OfTables tables;
  configure(tables, 0, limited(1, OfOverflowPolicy::kRefuse));
  apply_ok(tables, "idle_timeout=5,priority=1,ip actions=drop");
  EXPECT_FALSE(tables.apply(mod("priority=2,ip actions=drop"), 0).is_ok());
}

TEST(OfTableLimit, EvictionTakesTheSoonestToExpire) {
  OfTables tables;
  configure(tables, 0, limited(3, OfOverflowPolicy::kEvict));
  apply_ok(tables, "hard_timeout=30,priority=1,ip actions=drop", 0);  // expires at 30 s
  apply_ok(tables, "idle_timeout=20,priority=2,ip actions=drop", 0);  // at 20 s unless used
  apply_ok(tables, "hard_timeout=40,priority=3,ip actions=drop", 0);  // at 40 s
  // Using the idle rule at 15 s moves its expiry to 35 s.
  const OfTableRule* idle = of_tables_testing::rule_with_priority(tables, 0, 2);
  ASSERT_NE(idle, nullptr);
  tables.credit(*idle, 1, 60, 15'000);
  EXPECT_EQ(evicted_by_add(tables, "hard_timeout=50,priority=4,ip actions=drop", 16'000), "priority=1");
  EXPECT_EQ(evicted_by_add(tables, "hard_timeout=50,priority=5,ip actions=drop", 16'000), "priority=2");
  EXPECT_EQ(tables.table(0).n_flows(), 3u);
}

TEST(OfTableLimit, LowerImportanceGoesBeforeSoonerExpiry) {
  OfTables tables;
  configure(tables, 0, limited(2, OfOverflowPolicy::kEvict));
  apply_ok(tables, "importance=5,hard_timeout=10,priority=1,ip actions=drop");
  apply_ok(tables, "importance=2,hard_timeout=90,priority=2,ip actions=drop");
  EXPECT_EQ(evicted_by_add(tables, "priority=3,ip actions=drop", 0), "priority=2");
}

TEST(OfTableLimit, RulesWithoutTimeoutsAreNeverEvicted) {
  OfTables tables;
  configure(tables, 0, limited(3, OfOverflowPolicy::kEvict));
  apply_ok(tables, "priority=1,ip actions=drop");
  apply_ok(tables, "priority=2,ip actions=drop");
  apply_ok(tables, "importance=60000,hard_timeout=1000,priority=3,ip actions=drop");
  EXPECT_EQ(evicted_by_add(tables, "priority=4,ip actions=drop", 0), "priority=3");
  // Now only permanent rules are left: the table is full.
  Result<OfTablesChange> full = tables.apply(mod("priority=5,ip actions=drop"), 0);
  ASSERT_FALSE(full.is_ok());
  EXPECT_THAT(full.status().message(), HasSubstr("OFPFMFC_TABLE_FULL"));
  EXPECT_THAT(full.status().message(), HasSubstr("none can be evicted"));
}

TEST(OfTableLimit, EvictionPicksFromTheLargestGroup) {
  // Grouped by in_port: port 1 has three timed rules, port 2 one that
  // expires sooner than all of them; the largest group loses a rule.
  OfTables tables;
  configure(tables, 0, limited(5, OfOverflowPolicy::kEvict, {"NXM_OF_IN_PORT[]"}));
  apply_ok(tables, "idle_timeout=60,priority=1,in_port=1,ip actions=drop");
  apply_ok(tables, "idle_timeout=50,priority=2,in_port=1,tcp actions=drop");
  apply_ok(tables, "idle_timeout=70,priority=3,in_port=1,udp actions=drop");
  apply_ok(tables, "idle_timeout=5,priority=4,in_port=2 actions=drop");
  // Permanent rules do not make a group larger.
  apply_ok(tables, "priority=5,in_port=2,ip actions=drop");
  EXPECT_EQ(evicted_by_add(tables, "priority=6,in_port=3 actions=drop", 0), "priority=2");
  // Groups 1 and 2 now hold two and one timed rules; group 1 loses again.
  EXPECT_EQ(evicted_by_add(tables, "priority=7,in_port=3,arp actions=drop", 0), "priority=1");
  // Tied at one each: the groups are considered together, soonest expiry wins.
  EXPECT_EQ(evicted_by_add(tables, "priority=8,in_port=3,ipv6 actions=drop", 0), "priority=4");
}

TEST(OfTableLimit, AFieldWithoutItsPrerequisitesIsItsOwnGroupNotZero) {
  // Grouped by tcp_dst: "tcp" rules (tcp_dst wild, so 0) and "ip" rules (no
  // TCP, so no value) are different groups.
  OfTables tables;
  configure(tables, 0, limited(5, OfOverflowPolicy::kEvict, {"NXM_OF_TCP_DST[]"}));
  apply_ok(tables, "hard_timeout=10,priority=1,ip,nw_src=10.0.0.1 actions=drop");
  apply_ok(tables, "hard_timeout=10,priority=2,ip,nw_src=10.0.0.2 actions=drop");
  apply_ok(tables, "hard_timeout=60,priority=3,tcp,nw_src=10.0.0.3 actions=drop");
  apply_ok(tables, "hard_timeout=60,priority=4,tcp,nw_src=10.0.0.4 actions=drop");
  apply_ok(tables, "hard_timeout=50,priority=5,tcp,nw_src=10.0.0.5 actions=drop");
  EXPECT_EQ(evicted_by_add(tables, "priority=6,arp actions=drop", 0), "priority=5");
}

TEST(OfTableLimit, LoweringTheLimitEvictsDownToItOrKeepsRulesUnderRefuse) {
  OfTables tables;
  for (int priority = 1; priority <= 4; ++priority)
    apply_ok(tables, "hard_timeout=" + std::to_string(10 * priority) +
                         ",priority=" + std::to_string(priority) + ",ip actions=drop");
  apply_ok(tables, "priority=9,ip actions=drop");
  Result<OfTablesChange> refuse = tables.configure_table(0, limited(2, OfOverflowPolicy::kRefuse));
  ASSERT_TRUE(refuse.is_ok());
  EXPECT_TRUE(refuse->removed.empty());
  EXPECT_EQ(tables.table(0).n_flows(), 5u);

  Result<OfTablesChange> evict = tables.configure_table(0, limited(2, OfOverflowPolicy::kEvict));
  ASSERT_TRUE(evict.is_ok());
  ASSERT_EQ(evict->removed.size(), 3u);
  for (const OfRemovedRule& removed : evict->removed) EXPECT_EQ(removed.reason, OfRemovalReason::kEviction);
  EXPECT_THAT(rules_of(tables),
              ElementsAre("priority=9,ip actions=drop", "hard_timeout=40, priority=4,ip actions=drop"));
}

TEST(OfTableLimit, EvictionWithinABundleSeesTheBundlesOwnRules) {
  OfTables tables;
  configure(tables, 0, limited(2, OfOverflowPolicy::kEvict));
  std::vector<OfFlowMod> bundle = {mod("hard_timeout=10,priority=1,ip actions=drop"),
                                   mod("hard_timeout=20,priority=2,ip actions=drop"),
                                   mod("hard_timeout=30,priority=3,ip actions=drop")};
  Result<OfTablesChange> change = tables.apply_bundle(bundle, 0);
  ASSERT_TRUE(change.is_ok()) << change.status().message();
  ASSERT_EQ(change->removed.size(), 1u);
  EXPECT_EQ(change->removed[0].reason, OfRemovalReason::kEviction);
  EXPECT_THAT(rules_of(tables), ElementsAre("hard_timeout=30, priority=3,ip actions=drop",
                                            "hard_timeout=20, priority=2,ip actions=drop"));
}

}  // namespace
}  // namespace flowlift
