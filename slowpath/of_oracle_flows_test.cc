// The OVS 3.1 oracle table (tests/oracle/ovs-3.1/flows.txt, 44 rules) reads,
// prints and reads back as the same rules; where OVS's own dump
// (flows-dump.txt) spells a rule the way we print it, the texts agree.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "slowpath/of_flow_syntax.h"

namespace flowlift {
namespace {

std::vector<std::string> read_rules(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> rules;
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    rules.push_back(line.substr(start));
  }
  return rules;
}

PortNames oracle_ports() {
  PortNames ports;
  for (int i = 1; i <= 5; ++i) ports.add("p" + std::to_string(i), static_cast<uint32_t>(i));
  ports.add("vx1", 10);
  ports.add("vx2", 11);
  return ports;
}

TEST(OracleFlows, All44RulesParse) {
  std::vector<std::string> rules = read_rules(std::string(FLOWLIFT_ORACLE_DIR) + "/flows.txt");
  ASSERT_EQ(rules.size(), 44u);
  PortNames ports = oracle_ports();
  for (const std::string& text : rules) {
    Result<OfRule> rule = parse_of_rule(text, ports);
    EXPECT_TRUE(rule.is_ok()) << text << "\n  -> " << rule.status().message();
  }
}

TEST(OracleFlows, EveryRulePrintsBackToTheSameRule) {
  PortNames ports = oracle_ports();
  for (const std::string& text : read_rules(std::string(FLOWLIFT_ORACLE_DIR) + "/flows.txt")) {
    Result<OfRule> rule = parse_of_rule(text, ports);
    ASSERT_TRUE(rule.is_ok()) << text;
    // Printed with numbers (OVS's --no-names) and with names.
    const PortNames* no_names = nullptr;
    for (const PortNames* names : {no_names, static_cast<const PortNames*>(&ports)}) {
      std::string printed = format_of_rule(*rule, names);
      Result<OfRule> again = parse_of_rule(printed, ports);
      ASSERT_TRUE(again.is_ok()) << printed << "\n  -> " << again.status().message();
      EXPECT_EQ(*again, *rule) << text << "\n  printed: " << printed;
      EXPECT_EQ(format_of_rule(*again, names), printed);
    }
  }
}

// Rules in the table order OVS dumped them differ; match them by the
// printed match (table, priority and fields), which OVS prints the same way.
TEST(OracleFlows, MatchesPrintAsOvsDumpsThem) {
  PortNames ports = oracle_ports();
  std::map<std::string, std::string> ours;  // match part -> actions part
  for (const std::string& text : read_rules(std::string(FLOWLIFT_ORACLE_DIR) + "/flows.txt")) {
    Result<OfRule> rule = parse_of_rule(text, ports);
    ASSERT_TRUE(rule.is_ok());
    std::string printed = format_of_rule(*rule, nullptr);
    size_t split = printed.find(" actions=");
    ours[printed.substr(0, split)] = printed.substr(split + 9);
  }
  std::vector<std::string> dumped = read_rules(std::string(FLOWLIFT_ORACLE_DIR) + "/flows-dump.txt");
  ASSERT_EQ(dumped.size(), 44u);
  // Where OpenFlow 1.3 made OVS rewrite the actions (README quirk 11), we
  // print them as written; every other rule's actions print as OVS dumps them.
  const std::map<std::string, std::string> rewritten = {
      {"mod_vlan_vid:21,output:5", "set_field:4117->vlan_vid,output:5"},
      {"mod_dl_src:02:00:00:00:00:b0,mod_dl_dst:02:00:00:00:03:01,dec_ttl,output:3",
       "set_field:02:00:00:00:00:b0->eth_src,set_field:02:00:00:00:03:01->eth_dst,dec_ttl,output:3"},
      {"mod_tp_dst:8080,output:3", "set_field:8080->tcp_dst,output:3"},
      {"mod_nw_dst:10.2.0.53,output:4", "set_field:10.2.0.53->ip_dst,output:4"},
      {"mod_nw_src:10.254.0.1,output:4", "set_field:10.254.0.1->ip_src,output:4"},
      {"set_tunnel:0x65,output:10", "set_field:0x65->tun_id,output:10"},
      {"mod_dl_dst:00:00:5e:00:01:01,dec_ttl,output:4",
       "set_field:00:00:5e:00:01:01->eth_dst,dec_ttl,output:4"},
      {"mod_vlan_vid:300,output:2", "push_vlan:0x8100,set_field:4396->vlan_vid,output:2"},
      {"mod_dl_dst:02:00:00:00:00:05,output:5", "set_field:02:00:00:00:00:05->eth_dst,output:5"},
  };
  int rewrites_seen = 0;
  for (const std::string& line : dumped) {
    size_t split = line.find(" actions=");
    std::string match = line.substr(0, split);
    std::string ovs_actions = line.substr(split + 9);
    auto it = ours.find(match);
    ASSERT_NE(it, ours.end()) << "OVS printed a match we do not print the same way: " << match;
    auto rewrite = rewritten.find(it->second);
    if (rewrite != rewritten.end()) {
      EXPECT_EQ(rewrite->second, ovs_actions) << match;
      ++rewrites_seen;
    } else {
      EXPECT_EQ(it->second, ovs_actions) << match;
    }
    // OVS's dump reads back too (its set_field forms included).
    Result<OfRule> from_dump = parse_of_rule(line, ports);
    EXPECT_TRUE(from_dump.is_ok()) << line << "\n  -> " << from_dump.status().message();
  }
  EXPECT_EQ(rewrites_seen, static_cast<int>(rewritten.size()));
}

}  // namespace
}  // namespace flowlift
