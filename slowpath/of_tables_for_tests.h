// Shorthands the OpenFlow table tests share: flow-mods from ovs-ofctl text,
// packets from match text, and dumps. Test-only (included by *_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "slowpath/of_flow_dump.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/of_tables.h"

namespace flowlift::of_tables_testing {

inline PortNames test_ports() {
  PortNames ports;
  for (int i = 1; i <= 5; ++i) ports.add("p" + std::to_string(i), static_cast<uint32_t>(i));
  return ports;
}

// A flow-mod line as add-flows reads it (the command keyword optional).
inline OfFlowMod mod(std::string_view text, OfFlowModProtocol protocol = OfFlowModProtocol::kOpenFlow14) {
  OfFlowModParseOptions options;
  options.protocol = protocol;
  Result<OfFlowMod> parsed = parse_of_flow_mod(text, test_ports(), options);
  EXPECT_TRUE(parsed.is_ok()) << text << ": " << parsed.status().message();
  return parsed.is_ok() ? *parsed : OfFlowMod{};
}

// Applies `text`, expecting success.
inline OfTablesChange apply_ok(OfTables& tables, std::string_view text, uint64_t now_ms = 0,
                               OfFlowModProtocol protocol = OfFlowModProtocol::kOpenFlow14) {
  OfFlowModParseOptions options;
  options.protocol = protocol;
  Result<OfFlowMod> parsed = parse_of_flow_mod(text, test_ports(), options);
  if (!parsed.is_ok()) {
    ADD_FAILURE() << text << ": " << parsed.status().message();
    return OfTablesChange{};
  }
  Result<OfTablesChange> change = tables.apply(*parsed, now_ms);
  EXPECT_TRUE(change.is_ok()) << text << ": " << change.status().message();
  return change.is_ok() ? *change : OfTablesChange{};
}

// A packet with the fields `match_text` names (everything else zero).
inline OfFlow packet(std::string_view match_text) {
  Result<OfMatch> match = parse_of_match(match_text, test_ports());
  EXPECT_TRUE(match.is_ok()) << match_text << ": " << match.status().message();
  return match.is_ok() ? match->flow : OfFlow{};
}

// --no-stats dump of every table.
inline std::vector<std::string> rules_of(const OfTables& tables) {
  OfFlowDumpOptions options;
  options.show_stats = false;
  return dump_of_flows(tables, 0, options);
}

// The live rule of `table` with `priority`, or nullptr.
inline const OfTableRule* rule_with_priority(const OfTables& tables, uint8_t table, uint16_t priority) {
  const OfTableRule* found = nullptr;
  tables.table(table).for_each_rule([&](const OfTableRule& rule) {
    if (rule.rule().priority == priority) found = &rule;
  });
  return found;
}

// The actions of the rule `flow` hits in `table` at `version`, or "miss".
inline std::string hit(const OfPipeline& pipeline, OfVersion version, const OfFlow& flow, uint8_t table = 0) {
  const OfPipelineRule* rule = pipeline.lookup(version, table, flow, nullptr);
  return rule == nullptr ? "miss" : format_of_actions(rule->actions(), nullptr);
}

}  // namespace flowlift::of_tables_testing
