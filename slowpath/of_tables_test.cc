// OfTables flow-mod semantics as OVS 3.1 implements them (ofproto.c), with
// expectations taken from OVS's own tests (tests/ofproto.at) where they
// cover the case, and lookups through the OfPipeline interface.
#include "slowpath/of_tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::apply_ok;
using of_tables_testing::hit;
using of_tables_testing::mod;
using of_tables_testing::packet;
using of_tables_testing::rules_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr OfFlowModProtocol kOf10 = OfFlowModProtocol::kOpenFlow10;

TEST(OfTables, AnAddIsVisibleFromTheNextVersionOnly) {
  OfTables tables;
  OfVersion before = tables.current_version();
  OfTablesChange change = apply_ok(tables, "ip,nw_dst=10.0.0.1 actions=output:p1");
  EXPECT_EQ(change.version, before + 1);
  EXPECT_EQ(tables.current_version(), before + 1);
  ASSERT_EQ(change.added.size(), 1u);
  OfFlow flow = packet("ip,nw_dst=10.0.0.1");
  EXPECT_EQ(hit(tables, before, flow), "miss");
  EXPECT_EQ(hit(tables, before + 1, flow), "output:1");
}

TEST(OfTables, LookupsGoThroughTheOfPipelineInterfaceTableByTable) {
  OfTables tables;
  apply_ok(tables, "table=0,priority=10,ip actions=goto_table:5");
  apply_ok(tables, "table=5,priority=20,tcp,tp_dst=80 actions=output:p2");
  apply_ok(tables, "table=5,priority=30,tcp,nw_src=10.1.0.0/16 actions=drop");
  const OfPipeline& pipeline = tables;
  OfVersion version = pipeline.current_version();
  OfFlow web = packet("tcp,nw_src=10.2.0.1,tp_dst=80");
  EXPECT_EQ(hit(pipeline, version, web, 0), "goto_table:5");
  EXPECT_EQ(hit(pipeline, version, web, 5), "output:2");
  EXPECT_EQ(hit(pipeline, version, packet("tcp,nw_src=10.1.0.1,tp_dst=80"), 5), "drop");
  EXPECT_EQ(hit(pipeline, version, packet("arp"), 0), "miss");
  EXPECT_EQ(hit(pipeline, version, web, 7), "miss");
  EXPECT_EQ(hit(pipeline, version, web, 255), "miss");

  OfMask wildcards;
  const OfPipelineRule* rule = pipeline.lookup(version, 5, web, &wildcards);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->rule().priority, 20);
  EXPECT_EQ(rule->rule().table, 5);
  EXPECT_NE(wildcards.bits().tp_dst, 0) << "the lookup looked at tp_dst";
}

TEST(OfTables, AddOfTheSameMatchAndPriorityReplacesTheRule) {
  OfTables tables;
  apply_ok(tables, "cookie=0x1,priority=5,ip actions=output:p1");
  OfTablesChange change = apply_ok(tables, "cookie=0x2,idle_timeout=30,priority=5,ip actions=output:p2");
  ASSERT_EQ(change.replaced.size(), 1u);
  EXPECT_TRUE(change.removed.empty());
  EXPECT_EQ(change.replaced[0].new_rule, change.added.at(0));
  // Everything comes from the add: cookie, timeouts, actions.
  EXPECT_THAT(rules_of(tables), ElementsAre("cookie=0x2, idle_timeout=30, priority=5,ip actions=output:2"));
}

TEST(OfTables, AddOfTheSameMatchWithAnotherPriorityIsAnotherRule) {
  OfTables tables;
  apply_ok(tables, "priority=5,ip actions=output:p1");
  apply_ok(tables, "priority=6,ip actions=output:p2");
  EXPECT_EQ(tables.n_rules(), 2u);
  EXPECT_EQ(hit(tables, tables.current_version(), packet("ip")), "output:2");
}

TEST(OfTables, AddWithTableAllGoesToTable0) {
  OfTables tables;
  OfFlowMod add = mod("ip actions=drop", kOf10);
  ASSERT_EQ(add.rule.table, kOfTableAll);
  ASSERT_TRUE(tables.apply(add, 0).is_ok());
  EXPECT_EQ(tables.table(0).n_flows(), 1u);
}

TEST(OfTables, CheckOverlapRefusesAnOverlappingRuleOfTheSamePriority) {
  OfTables tables;
  apply_ok(tables, "priority=7,ip,nw_src=10.0.0.0/8 actions=drop");
  OfVersion version = tables.current_version();
  Result<OfTablesChange> overlap =
      tables.apply(mod("check_overlap,priority=7,tcp,tp_dst=80 actions=drop"), 0);
  ASSERT_FALSE(overlap.is_ok());
  EXPECT_EQ(overlap.status().code(), EEXIST);
  EXPECT_THAT(overlap.status().message(), HasSubstr("OFPFMFC_OVERLAP"));
  EXPECT_EQ(tables.current_version(), version) << "a failed flow-mod publishes nothing";
  EXPECT_EQ(tables.n_rules(), 1u);
  // Other priorities and disjoint matches do not overlap.
  apply_ok(tables, "check_overlap,priority=8,tcp,tp_dst=80 actions=drop");
  apply_ok(tables, "check_overlap,priority=7,ip,nw_src=11.0.0.0/8 actions=drop");
  apply_ok(tables, "check_overlap,priority=7,arp actions=drop");
  // An identical rule is replaced, not an overlap.
  apply_ok(tables, "check_overlap,priority=7,ip,nw_src=10.0.0.0/8 actions=output:p1");
  EXPECT_EQ(tables.n_rules(), 4u);
}

TEST(OfTables, ModifyChangesTheActionsOfEveryRuleWithinTheMatchAtAnyPriority) {
  OfTables tables;
  apply_ok(tables,
           "cookie=0x1,idle_timeout=50,importance=3,send_flow_rem,priority=100,ip,nw_src=10.0.0.1 "
           "actions=output:p1");
  apply_ok(tables, "priority=200,tcp,nw_src=10.0.0.1,tp_dst=80 actions=output:p1");
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.0/24 actions=output:p1");  // less specific: untouched
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.2 actions=output:p1");     // other value: untouched
  OfTablesChange change =
      apply_ok(tables, "modify cookie=0x9,idle_timeout=5,ip,nw_src=10.0.0.1 actions=output:p3");
  EXPECT_EQ(change.replaced.size(), 2u);
  // Timeouts, importance, flags and the cookie stay (OpenFlow 1.4 never sets cookies in a modify).
  EXPECT_THAT(
      rules_of(tables),
      ElementsAre("priority=200,tcp,nw_src=10.0.0.1,tp_dst=80 actions=output:3",
                  "cookie=0x1, idle_timeout=50, send_flow_rem, importance=3, priority=100,ip,nw_src=10.0.0.1 "
                  "actions=output:3",
                  "priority=100,ip,nw_src=10.0.0.0/24 actions=output:1",
                  "priority=100,ip,nw_src=10.0.0.2 actions=output:1"));
}

TEST(OfTables, ModifyStrictChangesOnlyTheRuleWithExactlyThatMatchAndPriority) {
  OfTables tables;
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.1 actions=output:p1");
  apply_ok(tables, "priority=200,ip,nw_src=10.0.0.1 actions=output:p1");
  apply_ok(tables, "priority=100,tcp,nw_src=10.0.0.1 actions=output:p1");
  apply_ok(tables, "modify_strict priority=100,ip,nw_src=10.0.0.1 actions=output:p2");
  EXPECT_THAT(rules_of(tables), ElementsAre("priority=200,ip,nw_src=10.0.0.1 actions=output:1",
                                            "priority=100,ip,nw_src=10.0.0.1 actions=output:2",
                                            "priority=100,tcp,nw_src=10.0.0.1 actions=output:1"));
  // Default priority without "priority=": nothing at 32768 here.
  OfTablesChange none = apply_ok(tables, "modify_strict ip,nw_src=10.0.0.1 actions=drop");
  EXPECT_TRUE(none.replaced.empty());
  EXPECT_TRUE(none.added.empty());
}

TEST(OfTables, ModifyKeepsTheCreationTimeAndRestartsTheModificationTime) {
  OfTables tables;
  apply_ok(tables, "ip actions=drop", 1000);
  OfTablesChange change = apply_ok(tables, "modify ip actions=output:p1", 5000);
  ASSERT_EQ(change.added.size(), 1u);
  EXPECT_EQ(change.added[0]->created_ms(), 1000u);
  EXPECT_EQ(change.added[0]->modified_ms(), 5000u);
  // An add of the same rule starts over.
  OfTablesChange readd = apply_ok(tables, "ip actions=output:p2", 7000);
  EXPECT_EQ(readd.added[0]->created_ms(), 7000u);
}

TEST(OfTables, ModifyMatchingNothingAddsOnlyInOpenFlow10WithoutACookieMask) {
  // tests/ofproto.at "mod flow with cookie miss": NXM adds, OF1.2+ does not,
  // and a cookie mask never adds.
  OfTables of10;
  OfTablesChange added = apply_ok(of10, "modify in_port=1,actions=output:1", 0, kOf10);
  EXPECT_EQ(added.added.size(), 1u);
  EXPECT_THAT(rules_of(of10), ElementsAre("in_port=1 actions=output:1"));

  OfTables of10_masked;
  apply_ok(of10_masked, "modify cookie=1/1,in_port=1,actions=output:1", 0, kOf10);
  EXPECT_EQ(of10_masked.n_rules(), 0u);

  OfTables of14;
  apply_ok(of14, "modify in_port=1,actions=output:1");
  EXPECT_EQ(of14.n_rules(), 0u);
}

TEST(OfTables, ModifyThatAddsUsesTheFlowModsCookieTimeoutsAndFlags) {
  OfTables tables;
  apply_ok(tables, "modify_strict cookie=0x7,hard_timeout=9,send_flow_rem,priority=3,ip actions=drop", 0,
           kOf10);
  EXPECT_THAT(rules_of(tables),
              ElementsAre("cookie=0x7, hard_timeout=9, send_flow_rem, priority=3,ip actions=drop"));
}

TEST(OfTables, ModifyCookiesAsEachOpenFlowVersionDoes) {
  // "mod flow with cookie change (NXM)" and "(OpenFlow 1.2)".
  OfTables nxm;
  apply_ok(nxm, "cookie=0x1,in_port=1,actions=output:1", 0, kOf10);
  apply_ok(nxm, "modify cookie=0x2,in_port=1,actions=output:1", 0, kOf10);
  // (An OpenFlow 1.0 add carries reset_counts, which the rule keeps.)
  EXPECT_THAT(rules_of(nxm), ElementsAre("cookie=0x2, reset_counts, in_port=1 actions=output:1"));
  // NXM sends cookie 0 when the text has none, which rewrites the cookie.
  apply_ok(nxm, "modify in_port=1,actions=output:1", 0, kOf10);
  EXPECT_THAT(rules_of(nxm), ElementsAre("reset_counts, in_port=1 actions=output:1"));

  OfTables of12;
  apply_ok(of12, "cookie=0x1,in_port=1,actions=output:1");
  apply_ok(of12, "modify cookie=0x2,in_port=1,actions=output:1");
  EXPECT_THAT(rules_of(of12), ElementsAre("cookie=0x1, in_port=1 actions=output:1"));
}

TEST(OfTables, ModifySelectsByCookieMask) {
  // "mod flows based on cookie mask" and "... with cookie change".
  OfTables tables;
  apply_ok(tables, "cookie=0x1,in_port=1,actions=output:1");
  apply_ok(tables, "cookie=0x1,in_port=2,actions=output:1");
  apply_ok(tables, "cookie=0x2,in_port=3,actions=output:1");
  apply_ok(tables, "modify cookie=0x1/0xff,actions=output:4");
  EXPECT_THAT(rules_of(tables),
              ElementsAre("cookie=0x1, in_port=1 actions=output:4", "cookie=0x1, in_port=2 actions=output:4",
                          "cookie=0x2, in_port=3 actions=output:1"));
  apply_ok(tables, "modify cookie=1/-1,cookie=4,actions=output:5", 0, kOf10);
  EXPECT_THAT(rules_of(tables),
              ElementsAre("cookie=0x4, in_port=1 actions=output:5", "cookie=0x4, in_port=2 actions=output:5",
                          "cookie=0x2, in_port=3 actions=output:1"));
}

TEST(OfTables, ModifyOfEveryTableTouchesEachTable) {
  OfTables tables;
  apply_ok(tables, "table=1,ip actions=drop");
  apply_ok(tables, "table=9,ip actions=drop");
  apply_ok(tables, "table=9,arp actions=drop");
  apply_ok(tables, "modify ip actions=output:p1", 0, kOf10);
  EXPECT_THAT(rules_of(tables), ElementsAre("table=1, ip actions=output:1", "table=9, ip actions=output:1",
                                            "table=9, arp actions=drop"));
}

TEST(OfTables, ModifyIntoAnEarlierTableIsRefusedAndChangesNothing) {
  OfTables tables;
  apply_ok(tables, "table=1,ip actions=drop");
  apply_ok(tables, "table=6,ip actions=drop");
  Result<OfTablesChange> result = tables.apply(mod("modify ip actions=goto_table:4", kOf10), 0);
  ASSERT_FALSE(result.is_ok());
  EXPECT_THAT(result.status().message(), HasSubstr("OFPBIC_BAD_TABLE_ID"));
  EXPECT_THAT(result.status().message(), HasSubstr("table 6"));
  EXPECT_THAT(rules_of(tables), ElementsAre("table=1, ip actions=drop", "table=6, ip actions=drop"));
}

TEST(OfTables, DeleteRemovesEveryRuleWithinTheMatchAtAnyPriority) {
  OfTables tables;
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.1 actions=drop");
  apply_ok(tables, "priority=200,tcp,nw_src=10.0.0.1,tp_dst=80 actions=drop");
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.0/24 actions=drop");
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.2 actions=drop");
  apply_ok(tables, "priority=100,arp actions=drop");
  OfTablesChange change = apply_ok(tables, "delete ip,nw_src=10.0.0.1");
  ASSERT_EQ(change.removed.size(), 2u);
  EXPECT_EQ(change.removed[0].reason, OfRemovalReason::kDelete);
  EXPECT_THAT(rules_of(tables),
              ElementsAre("priority=100,ip,nw_src=10.0.0.0/24 actions=drop",
                          "priority=100,ip,nw_src=10.0.0.2 actions=drop", "priority=100,arp actions=drop"));
  apply_ok(tables, "delete");
  EXPECT_EQ(tables.n_rules(), 0u);
}

TEST(OfTables, DeleteStrictNeedsEveryFieldAndThePriority) {
  OfTables tables;
  apply_ok(tables, "priority=100,ip,nw_src=10.0.0.1 actions=drop");
  apply_ok(tables, "priority=100,tcp,nw_src=10.0.0.1 actions=drop");
  apply_ok(tables, "priority=200,ip,nw_src=10.0.0.1 actions=drop");
  EXPECT_TRUE(apply_ok(tables, "delete_strict ip,nw_src=10.0.0.1").removed.empty()) << "priority 32768";
  EXPECT_TRUE(apply_ok(tables, "delete_strict priority=100,ip").removed.empty()) << "a field missing";
  OfTablesChange change = apply_ok(tables, "delete_strict priority=100,ip,nw_src=10.0.0.1");
  ASSERT_EQ(change.removed.size(), 1u);
  EXPECT_THAT(rules_of(tables), ElementsAre("priority=200,ip,nw_src=10.0.0.1 actions=drop",
                                            "priority=100,tcp,nw_src=10.0.0.1 actions=drop"));
}

TEST(OfTables, DeleteSelectsByCookieMask) {
  // tests/ofproto.at "del flows with cookies" / "del flows based on cookie mask".
  OfTables tables;
  apply_ok(tables, "cookie=0x1,in_port=1,actions=output:1");
  apply_ok(tables, "cookie=0x2,in_port=2,actions=output:1");
  apply_ok(tables, "cookie=0x3,in_port=3,actions=output:1");
  apply_ok(tables, "delete cookie=0x3/-1");
  EXPECT_THAT(rules_of(tables), ElementsAre("cookie=0x1, in_port=1 actions=output:1",
                                            "cookie=0x2, in_port=2 actions=output:1"));
  apply_ok(tables, "cookie=0x3,in_port=3,actions=output:1");
  apply_ok(tables, "delete cookie=0x1/0x1");  // 0x1 and 0x3
  EXPECT_THAT(rules_of(tables), ElementsAre("cookie=0x2, in_port=2 actions=output:1"));
}

TEST(OfTables, DeleteStrictAlsoFiltersOnTheCookie) {
  OfTables tables;
  apply_ok(tables, "cookie=0x5,priority=1,ip actions=drop");
  EXPECT_TRUE(apply_ok(tables, "delete_strict cookie=0x4/-1,priority=1,ip").removed.empty());
  EXPECT_EQ(apply_ok(tables, "delete_strict cookie=0x5/-1,priority=1,ip").removed.size(), 1u);
}

TEST(OfTables, DeleteWithOutPortOnlyRemovesRulesThatOutputThere) {
  OfTables tables;
  apply_ok(tables, "in_port=1 actions=output:p2");
  apply_ok(tables, "in_port=2 actions=mod_vlan_vid:5,output:p3,output:p2");
  apply_ok(tables, "in_port=3 actions=output:p3");
  apply_ok(tables, "in_port=4 actions=controller");
  apply_ok(tables, "in_port=5 actions=FLOOD");
  apply_ok(tables, "delete out_port=p2");
  EXPECT_THAT(rules_of(tables), ElementsAre("in_port=3 actions=output:3",
                                            "in_port=4 actions=CONTROLLER:65535", "in_port=5 actions=FLOOD"));
  apply_ok(tables, "delete out_port=CONTROLLER");
  apply_ok(tables, "delete out_port=FLOOD");
  EXPECT_THAT(rules_of(tables), ElementsAre("in_port=3 actions=output:3"));
}

TEST(OfTables, DeleteWithoutTableCoversEveryTableAndWithOneOnlyThatTable) {
  OfTables tables;
  apply_ok(tables, "table=0,ip actions=drop");
  apply_ok(tables, "table=4,ip actions=drop");
  apply_ok(tables, "table=254,ip actions=drop");
  apply_ok(tables, "delete table=4,ip");
  EXPECT_THAT(rules_of(tables), ElementsAre("ip actions=drop", "table=254, ip actions=drop"));
  apply_ok(tables, "delete ip");
  EXPECT_EQ(tables.n_rules(), 0u);
}

TEST(OfTables, EveryFlowModPublishesAVersionEvenWhenItChangesNothing) {
  OfTables tables;
  OfVersion before = tables.current_version();
  apply_ok(tables, "delete ip");
  EXPECT_EQ(tables.current_version(), before + 1);
}

TEST(OfTables, FlushRemovesEveryRule) {
  OfTables tables;
  apply_ok(tables, "table=0,ip actions=drop");
  apply_ok(tables, "table=3,arp actions=drop");
  OfTablesChange change = tables.flush();
  EXPECT_EQ(change.removed.size(), 2u);
  EXPECT_EQ(tables.n_rules(), 0u);
}

TEST(OfTables, RemovedRulesStayAliveUntilNoReaderCanSeeThem) {
  OfTables tables;
  apply_ok(tables, "ip actions=output:p1");
  OfVersion reader = tables.current_version();
  const OfPipelineRule* held = tables.lookup(reader, 0, packet("ip"), nullptr);
  ASSERT_NE(held, nullptr);
  OfTablesChange change = apply_ok(tables, "delete ip");
  ASSERT_EQ(change.removed.size(), 1u);
  EXPECT_EQ(change.removed[0].rule, held);
  // The reader at the old version still finds it; a new reader does not.
  EXPECT_EQ(hit(tables, reader, packet("ip")), "output:1");
  EXPECT_EQ(hit(tables, tables.current_version(), packet("ip")), "miss");
  EXPECT_EQ(tables.n_retired(), 1u);
  EXPECT_EQ(tables.reclaim(reader), 0u) << "a reader is still at the old version";
  EXPECT_EQ(held->rule().priority, kOfDefaultPriority) << "still readable";
  EXPECT_EQ(tables.reclaim(tables.current_version()), 1u);
  EXPECT_EQ(tables.n_retired(), 0u);
  EXPECT_EQ(hit(tables, reader, packet("ip")), "miss") << "gone from the classifier too";
}

TEST(OfTables, ConfiguringTableIdOutsideTheTablesIsAnError) {
  OfTables tables;
  Result<OfTablesChange> result = tables.configure_table(255, OfTableConfig{});
  ASSERT_FALSE(result.is_ok());
  EXPECT_THAT(result.status().message(), HasSubstr("OFPBRC_BAD_TABLE_ID"));
}

}  // namespace
}  // namespace flowlift
