// Property: a bundle is the same as its flow-mods applied one by one, except
// that it is one version - readers at the version before it see exactly the
// tables as they were - and that a bundle that fails anywhere changes
// nothing. Random flow-mods over a small vocabulary (so that they collide:
// replacements, loose and strict selections, cookie masks, eviction), fixed
// seeds.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "slowpath/of_tables.h"
#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::hit;
using of_tables_testing::packet;
using of_tables_testing::rules_of;
using of_tables_testing::test_ports;

constexpr const char* kMatches[] = {
    "", "ip", "ip,nw_src=10.0.0.1", "tcp", "tcp,tp_dst=80", "tcp,nw_src=10.0.0.1,tp_dst=80", "arp"};
constexpr const char* kPackets[] = {"ip,nw_src=10.0.0.1",
                                    "ip,nw_src=10.0.0.2",
                                    "tcp,nw_src=10.0.0.1,tp_dst=80",
                                    "tcp,nw_src=10.0.0.2,tp_dst=80",
                                    "tcp,tp_dst=22",
                                    "arp",
                                    "ipv6"};

class RandomFlowMods {
 public:
  explicit RandomFlowMods(uint32_t seed) : random_(seed) {}

  OfFlowMod next() {
    static constexpr const char* kCommands[] = {"add",           "add",    "add",          "modify",
                                                "modify_strict", "delete", "delete_strict"};
    std::string command = pick(kCommands);
    bool adds = command == "add";
    bool deletes = command.starts_with("delete");
    std::string text = command + " ";
    if (below(4) != 0) text += std::string("table=") + (below(3) == 0 ? "0," : "1,");
    // Each match gets its own band of priorities, so that no two different
    // matches share one: among overlapping rules of equal priority OpenFlow
    // leaves the choice open, and the classifier may choose differently once
    // its subtables change, which this property is not about.
    size_t match = below(std::size(kMatches));
    if (command != "delete") text += "priority=" + std::to_string(1 + 3 * match + below(3)) + ",";
    if (adds || below(3) == 0) {
      std::string cookie = "0x" + std::to_string(1 + below(3));
      text += "cookie=" + cookie + (adds ? "," : "/0x1,");
    }
    if (adds && below(3) != 0) text += "hard_timeout=" + std::to_string(1 + below(5)) + ",";
    if (adds && below(3) == 0) text += "importance=" + std::to_string(below(3)) + ",";
    if (command.starts_with("modify") && below(3) == 0) text += "reset_counts,";
    text += kMatches[match];
    if (!deletes) {
      static constexpr const char* kActions[] = {"drop", "output:p1", "output:p2", "output:p3"};
      text += std::string(" actions=") + pick(kActions);
    }
    OfFlowModParseOptions options;
    options.protocol = below(2) != 0 ? OfFlowModProtocol::kOpenFlow10 : OfFlowModProtocol::kOpenFlow14;
    if (options.protocol == OfFlowModProtocol::kOpenFlow10) {
      // OpenFlow 1.0 cannot send reset_counts.
      if (size_t at = text.find("reset_counts,"); at != std::string::npos) text.erase(at, 13);
    }
    Result<OfFlowMod> mod = parse_of_flow_mod(text, test_ports(), options);
    EXPECT_TRUE(mod.is_ok()) << text << ": " << mod.status().message();
    return mod.is_ok() ? *mod : OfFlowMod{};
  }

 private:
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(random_); }
  template <size_t N>
  const char* pick(const char* const (&choices)[N]) {
    return choices[below(N)];
  }
  std::mt19937 random_;
};

void configure(OfTables& tables) {
  OfTableConfig evicting;
  evicting.max_flows = 3;
  evicting.overflow_policy = OfOverflowPolicy::kEvict;
  ASSERT_TRUE(tables.configure_table(1, evicting).is_ok());
  OfTableConfig closed;
  closed.max_flows = 0;
  ASSERT_TRUE(tables.configure_table(2, closed).is_ok());
}

std::vector<std::string> lookups(const OfTables& tables, OfVersion version) {
  std::vector<std::string> results;
  for (uint8_t table = 0; table < 2; ++table)
    for (const char* flow : kPackets) results.push_back(hit(tables, version, packet(flow), table));
  return results;
}

TEST(OfTablesProperty, ABundleEqualsItsFlowModsOneByOneInOneVersion) {
  size_t replaced = 0, deleted = 0, evicted = 0, failed_alone = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomFlowMods random(seed);
    OfTables one_by_one, bundled;
    configure(one_by_one);
    configure(bundled);
    // The same start, applied singly to both.
    for (int i = 0; i < 6; ++i) {
      OfFlowMod mod = random.next();
      bool ok = one_by_one.apply(mod, 0).is_ok();
      EXPECT_EQ(bundled.apply(mod, 0).is_ok(), ok);
    }
    // A flow-mod that fails alone (a table full of permanent rules) changes
    // nothing, so the bundle is the ones that succeeded.
    std::vector<OfFlowMod> bundle;
    for (int i = 0; i < 12; ++i) {
      OfFlowMod mod = random.next();
      if (one_by_one.apply(mod, 1000).is_ok()) {
        bundle.push_back(mod);
      } else {
        ++failed_alone;
      }
    }

    OfVersion before = bundled.current_version();
    std::vector<std::string> seen_before = lookups(bundled, before);
    Result<OfTablesChange> change = bundled.apply_bundle(bundle, 1000);
    ASSERT_TRUE(change.is_ok()) << change.status().message();
    replaced += change->replaced.size();
    for (const OfRemovedRule& removed : change->removed)
      ++(removed.reason == OfRemovalReason::kEviction ? evicted : deleted);
    EXPECT_EQ(bundled.current_version(), before + 1);
    EXPECT_EQ(rules_of(bundled), rules_of(one_by_one));
    EXPECT_EQ(lookups(bundled, before + 1), lookups(one_by_one, one_by_one.current_version()));
    EXPECT_EQ(lookups(bundled, before), seen_before) << "readers at the old version see none of it";

    // The same bundle with a flow-mod that must fail (table 2 holds nothing)
    // somewhere in it changes nothing.
    std::vector<OfFlowMod> failing = bundle;
    size_t at = seed % (failing.size() + 1);
    failing.insert(failing.begin() + static_cast<std::ptrdiff_t>(at),
                   of_tables_testing::mod("table=2,ip actions=drop"));
    std::vector<std::string> rules_now = rules_of(bundled);
    OfVersion version_now = bundled.current_version();
    size_t retired_now = bundled.n_retired();
    EXPECT_FALSE(bundled.apply_bundle(failing, 2000).is_ok());
    EXPECT_EQ(rules_of(bundled), rules_now);
    EXPECT_EQ(bundled.current_version(), version_now);
    EXPECT_EQ(bundled.n_retired(), retired_now);
    EXPECT_EQ(lookups(bundled, version_now + 1), lookups(bundled, version_now));
  }
  // The vocabulary makes flow-mods collide in every way that matters.
  EXPECT_GT(replaced, 40u);
  EXPECT_GT(deleted, 40u);
  EXPECT_GT(evicted, 5u);
  EXPECT_GT(failed_alone, 0u);
}

}  // namespace
}  // namespace flowlift
