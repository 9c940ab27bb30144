// dump-flows text: OVS's ofputil_flow_stats_format() with statistics (NXM
// and OpenFlow 1.4 replies), --no-stats lines that read back as the same
// rules, and the order rules are printed in.
#include "slowpath/of_flow_dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::apply_ok;
using of_tables_testing::packet;
using of_tables_testing::test_ports;
using ::testing::ElementsAre;

TEST(OfFlowDump, StatisticsPrintAsAnNxmReply) {
  OfTables tables;
  apply_ok(tables, "cookie=0x1f,table=3,idle_timeout=60,priority=100,tcp,tp_dst=80 actions=output:p2", 1000);
  tables.credit(*tables.lookup(tables.current_version(), 3, packet("tcp,tp_dst=80"), nullptr), 5, 300, 2000);
  // 1.234 s after creation, 0.234 s after the last packet.
  EXPECT_THAT(dump_of_flows(tables, 2234),
              ElementsAre("cookie=0x1f, duration=1.234s, table=3, n_packets=5, n_bytes=300, idle_timeout=60, "
                          "idle_age=0, priority=100,tcp,tp_dst=80 actions=output:2"));
  // Whole seconds print without decimals (ofp_print_duration()).
  EXPECT_THAT(dump_of_flows(tables, 4000),
              ElementsAre("cookie=0x1f, duration=3s, table=3, n_packets=5, n_bytes=300, idle_timeout=60, "
                          "idle_age=2, priority=100,tcp,tp_dst=80 actions=output:2"));
}

TEST(OfFlowDump, HardAgePrintsOnlyOnceTheRuleWasModified) {
  OfTables tables;
  apply_ok(tables, "ip actions=drop", 0);
  apply_ok(tables, "modify ip actions=output:p1", 3000);
  EXPECT_THAT(
      dump_of_flows(tables, 5500),
      ElementsAre("cookie=0x0, duration=5.500s, table=0, n_packets=0, n_bytes=0, idle_age=5, hard_age=2, "
                  "ip actions=output:1"));
}

TEST(OfFlowDump, AnOpenFlow14ReplyCarriesFlagsAndImportanceButNoAges) {
  OfTables tables;
  apply_ok(tables, "hard_timeout=20,send_flow_rem,reset_counts,importance=7,priority=5,arp actions=drop", 0);
  OfFlowDumpOptions options;
  options.protocol = OfFlowModProtocol::kOpenFlow14;
  EXPECT_THAT(dump_of_flows(tables, 1500, options),
              ElementsAre("cookie=0x0, duration=1.500s, table=0, n_packets=0, n_bytes=0, hard_timeout=20, "
                          "send_flow_rem reset_counts importance=7, priority=5,arp actions=drop"));
  // NXM carries neither.
  EXPECT_THAT(dump_of_flows(tables, 1500),
              ElementsAre("cookie=0x0, duration=1.500s, table=0, n_packets=0, n_bytes=0, hard_timeout=20, "
                          "idle_age=1, priority=5,arp actions=drop"));
}

TEST(OfFlowDump, ACatchAllRulePrintsNoMatch) {
  OfTables tables;
  apply_ok(tables, "priority=32768 actions=drop", 0);
  EXPECT_THAT(
      dump_of_flows(tables, 0),
      ElementsAre("cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, idle_age=0, actions=drop"));
}

TEST(OfFlowDump, TablesInOrderThenHighestPriorityThenOldest) {
  OfTables tables;
  apply_ok(tables, "table=7,priority=1,ip actions=drop");
  apply_ok(tables, "table=0,priority=5,arp actions=drop");
  apply_ok(tables, "table=0,priority=9,tcp actions=drop");
  apply_ok(tables, "table=0,priority=5,udp actions=drop");
  apply_ok(tables, "table=7,priority=3,ip,nw_dst=10.0.0.1 actions=drop");
  OfFlowDumpOptions options;
  options.show_stats = false;
  EXPECT_THAT(
      dump_of_flows(tables, 0, options),
      ElementsAre("priority=9,tcp actions=drop", "priority=5,arp actions=drop", "priority=5,udp actions=drop",
                  "table=7, priority=3,ip,nw_dst=10.0.0.1 actions=drop",
                  "table=7, priority=1,ip actions=drop"));
  options.table = 7;
  EXPECT_EQ(dump_of_flows(tables, 0, options).size(), 2u);
}

TEST(OfFlowDump, NoStatsLinesReadBackAsTheSameRules) {
  const char* texts[] = {
      ("cookie=0xabc,table=4,idle_timeout=30,hard_timeout=90,send_flow_rem,importance=2,priority=70,"
       "tcp,nw_src=10.0.0.0/8,tp_dst=443 actions=output:p2"),
      "table=9,priority=0 actions=drop",
      "reset_counts,check_overlap,in_port=p3,dl_vlan=10 actions=pop_vlan,resubmit(,20)",
      "table=2,priority=450,conj_id=7,ip actions=set_field:26->ip_dscp,output:p5",
  };
  OfTables tables;
  for (const char* text : texts) apply_ok(tables, text);
  OfFlowDumpOptions options;
  options.show_stats = false;
  options.ports = nullptr;
  std::vector<std::string> lines = dump_of_flows(tables, 0, options);
  ASSERT_EQ(lines.size(), 4u);
  for (const std::string& line : lines) {
    Result<OfRule> again = parse_of_rule(line, test_ports());
    ASSERT_TRUE(again.is_ok()) << line << ": " << again.status().message();
    const OfTableRule* rule = of_tables_testing::rule_with_priority(tables, again->table, again->priority);
    ASSERT_NE(rule, nullptr) << line;
    EXPECT_EQ(*again, rule->rule()) << line;
  }
  // With stats too: parse_of_rule skips the statistics.
  for (const std::string& line : dump_of_flows(tables, 5000)) {
    Result<OfRule> again = parse_of_rule(line, test_ports());
    ASSERT_TRUE(again.is_ok()) << line << ": " << again.status().message();
  }
}

}  // namespace
}  // namespace flowlift
