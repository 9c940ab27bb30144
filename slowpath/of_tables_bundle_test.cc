// Atomic bundles (OVS's do_bundle_commit()): one version for the whole
// bundle, nothing of a failing bundle, later flow-mods seeing earlier ones;
// and the OVS 3.1 oracle table loaded the way its loader did it
// (ovs-ofctl -O OpenFlow13 --bundle add-flows).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "slowpath/of_tables.h"
#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::apply_ok;
using of_tables_testing::hit;
using of_tables_testing::packet;
using of_tables_testing::rules_of;
using of_tables_testing::test_ports;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<OfFlowMod> bundle_file(std::string_view text) {
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(text, test_ports());
  EXPECT_TRUE(mods.is_ok()) << mods.status().message();
  return mods.is_ok() ? *mods : std::vector<OfFlowMod>{};
}

class OfTablesBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    apply_ok(tables_, "priority=10,ip,nw_dst=10.0.0.1 actions=output:p1");
    apply_ok(tables_, "priority=10,ip,nw_dst=10.0.0.2 actions=output:p2");
    apply_ok(tables_, "priority=10,ip,nw_dst=10.0.0.3 actions=output:p3");
  }
  OfTables tables_;
};

TEST_F(OfTablesBundle, AReaderAtTheOldVersionSeesNoneOfTheBundle) {
  OfVersion old_version = tables_.current_version();
  Result<OfTablesChange> change =
      tables_.apply_bundle(bundle_file("priority=10,ip,nw_dst=10.0.0.4 actions=output:p4\n"
                                       "modify_strict priority=10,ip,nw_dst=10.0.0.1 "
                                       "actions=output:p5\n"
                                       "delete ip,nw_dst=10.0.0.2\n"),
                           0);
  ASSERT_TRUE(change.is_ok()) << change.status().message();
  EXPECT_EQ(change->version, old_version + 1) << "one version for the whole bundle";
  EXPECT_EQ(tables_.current_version(), old_version + 1);
  EXPECT_EQ(change->added.size(), 2u);
  EXPECT_EQ(change->replaced.size(), 1u);
  EXPECT_EQ(change->removed.size(), 1u);

  const std::pair<const char*, const char*> expected[] = {
      // packet, then (old version | new version)
      {"ip,nw_dst=10.0.0.1", "output:1|output:5"},
      {"ip,nw_dst=10.0.0.2", "output:2|miss"},
      {"ip,nw_dst=10.0.0.3", "output:3|output:3"},
      {"ip,nw_dst=10.0.0.4", "miss|output:4"},
  };
  for (const auto& [flow_text, results] : expected) {
    OfFlow flow = packet(flow_text);
    EXPECT_EQ(hit(tables_, old_version, flow) + "|" + hit(tables_, old_version + 1, flow), results)
        << flow_text;
  }
}

TEST_F(OfTablesBundle, AFailingBundleChangesNothingAndNamesTheFailingFlowMod) {
  OfTableConfig config;
  config.max_flows = 4;
  ASSERT_TRUE(tables_.configure_table(0, config).is_ok());
  const OfPipelineRule* first =
      tables_.lookup(tables_.current_version(), 0, packet("ip,nw_dst=10.0.0.1"), nullptr);
  tables_.credit(*first, 7, 700, 50);
  OfVersion version = tables_.current_version();
  std::vector<std::string> before = rules_of(tables_);

  Result<OfTablesChange> result =
      tables_.apply_bundle(bundle_file("delete ip,nw_dst=10.0.0.3\n"
                                       "# the table holds 4 rules\n"
                                       "modify ip,nw_dst=10.0.0.1 actions=drop\n"
                                       "priority=10,ip,nw_dst=10.0.0.4 actions=drop\n"
                                       "priority=10,ip,nw_dst=10.0.0.5 actions=drop\n"
                                       "priority=10,ip,nw_dst=10.0.0.6 actions=drop\n"),
                           100);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), ENOSPC);
  EXPECT_THAT(result.status().message(), HasSubstr("OFPBFC_MSG_FAILED: flow-mod 5 of 5 (line 6, add)"));
  EXPECT_THAT(result.status().message(), HasSubstr("OFPFMFC_TABLE_FULL"));

  EXPECT_EQ(tables_.current_version(), version);
  EXPECT_EQ(rules_of(tables_), before);
  EXPECT_EQ(tables_.n_retired(), 0u);
  EXPECT_EQ(hit(tables_, version, packet("ip,nw_dst=10.0.0.3")), "output:3");
  EXPECT_EQ(hit(tables_, version + 1, packet("ip,nw_dst=10.0.0.4")), "miss")
      << "nothing left at the next version";
  // The rule the bundle had replaced is the live one again, counters intact.
  const auto* still = static_cast<const OfTableRule*>(
      tables_.lookup(tables_.current_version(), 0, packet("ip,nw_dst=10.0.0.1"), nullptr));
  EXPECT_EQ(still, first);
  EXPECT_EQ(still->packets(), 7u);
  EXPECT_EQ(still->successor(), nullptr);
  // And the next flow-mod works from there.
  apply_ok(tables_, "priority=10,ip,nw_dst=10.0.0.4 actions=drop");
}

TEST_F(OfTablesBundle, AFlowModWithoutALineIsNamedByPositionOnly) {
  std::vector<OfFlowMod> mods = {of_tables_testing::mod("priority=1,arp actions=drop"),
                                 of_tables_testing::mod("check_overlap,priority=10,ip actions=drop")};
  Result<OfTablesChange> result = tables_.apply_bundle(mods, 0);
  ASSERT_FALSE(result.is_ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("OFPBFC_MSG_FAILED: flow-mod 2 of 2 (add): OFPFMFC_OVERLAP"));
  EXPECT_EQ(tables_.n_rules(), 3u);
}

TEST_F(OfTablesBundle, LaterFlowModsSeeEarlierOnes) {
  Result<OfTablesChange> change =
      tables_.apply_bundle(bundle_file("priority=20,tcp actions=output:p1\n"
                                       "modify_strict priority=20,tcp actions=output:p2\n"
                                       "priority=30,udp actions=drop\n"
                                       "delete_strict priority=30,udp\n"
                                       "delete ip,nw_dst=10.0.0.3\n"
                                       "priority=10,ip,nw_dst=10.0.0.3 actions=output:p4\n"),
                           0);
  ASSERT_TRUE(change.is_ok()) << change.status().message();
  EXPECT_THAT(rules_of(tables_), ElementsAre("priority=20,tcp actions=output:2",
                                             "priority=10,ip,nw_dst=10.0.0.1 actions=output:1",
                                             "priority=10,ip,nw_dst=10.0.0.2 actions=output:2",
                                             "priority=10,ip,nw_dst=10.0.0.3 actions=output:4"));
  // A rule added and deleted inside the bundle was never visible, and is
  // retired with the rest.
  EXPECT_EQ(hit(tables_, change->version, packet("udp")), "miss");
  EXPECT_EQ(hit(tables_, change->version - 1, packet("udp")), "miss");
  // Retired: the tcp rule the modify replaced, the udp rule, 10.0.0.3's first rule.
  EXPECT_EQ(tables_.n_retired(), 3u);
  EXPECT_EQ(tables_.reclaim(change->version - 1), 0u);
  EXPECT_EQ(tables_.reclaim(change->version), 3u);
}

TEST_F(OfTablesBundle, AnEmptyBundlePublishesAnEmptyVersion) {
  OfVersion version = tables_.current_version();
  Result<OfTablesChange> change = tables_.apply_bundle({}, 0);
  ASSERT_TRUE(change.is_ok());
  EXPECT_EQ(tables_.current_version(), version + 1);
  EXPECT_EQ(tables_.n_rules(), 3u);
}

std::string read_oracle(const std::string& name) {
  std::ifstream in(std::string(FLOWLIFT_ORACLE_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

PortNames oracle_ports() {
  PortNames ports = test_ports();
  ports.add("vx1", 10);
  ports.add("vx2", 11);
  return ports;
}

// The match part ("table=10, priority=450,ip,nw_src=10.5.0.0/16") of a
// --no-stats dump line; OVS rewrote some actions under OpenFlow 1.3 (the
// oracle README's quirks), which the syntax tests cover.
std::string match_part(std::string_view line) {
  size_t start = line.find_first_not_of(' ');
  line = line.substr(start);
  return std::string(line.substr(0, line.find(" actions=")));
}

TEST(OfTablesOracle, TheOracleTableLoadsAsABundleAndDumpsAsOvsDid) {
  OfFlowModParseOptions options;  // -O OpenFlow13 --bundle: OpenFlow 1.2+ semantics
  Result<std::vector<OfFlowMod>> mods =
      parse_of_flow_mod_file(read_oracle("flows.txt"), oracle_ports(), options);
  ASSERT_TRUE(mods.is_ok()) << mods.status().message();
  OfTables tables;
  Result<OfTablesChange> change = tables.apply_bundle(*mods, 0);
  ASSERT_TRUE(change.is_ok()) << change.status().message();
  EXPECT_EQ(tables.n_rules(), 44u);
  EXPECT_EQ(tables.table(0).n_flows(), 13u);
  EXPECT_EQ(tables.table(10).n_flows(), 23u);
  EXPECT_EQ(tables.table(20).n_flows(), 6u);
  EXPECT_EQ(tables.table(30).n_flows(), 2u);

  std::vector<std::string> ours;
  for (const std::string& line : rules_of(tables)) ours.push_back(match_part(line));
  std::vector<std::string> theirs;
  std::istringstream dump(read_oracle("flows-dump.txt"));
  for (std::string line; std::getline(dump, line);)
    if (!line.empty()) theirs.push_back(match_part(line));
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
}

}  // namespace
}  // namespace flowlift
