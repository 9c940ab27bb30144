// dump-flows text of the tables' rules.
#include "slowpath/of_flow_dump.h"

#include <algorithm>
#include <cstdio>

#include "slowpath/of_flow_syntax.h"

namespace flowlift {

namespace {

// OVS's ofp_print_duration(): whole seconds, then ".mmm" when there are milliseconds.
std::string format_duration(uint64_t ms) {
  char buffer[40];
  if (ms % 1000 == 0) {
    std::snprintf(buffer, sizeof buffer, "%llus", static_cast<unsigned long long>(ms / 1000));
  } else {
    std::snprintf(buffer, sizeof buffer, "%llu.%03llus", static_cast<unsigned long long>(ms / 1000),
                  static_cast<unsigned long long>(ms % 1000));
  }
  return buffer;
}

// "0x%llx", as OVS prints the cookie (0x0 included).
std::string format_cookie(uint64_t cookie) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(cookie));
  return buffer;
}

// OVS's age_secs(): whole seconds, at most 65535.
uint64_t age_seconds(uint64_t now_ms, uint64_t since_ms) {
  uint64_t age = now_ms > since_ms ? (now_ms - since_ms) / 1000 : 0;
  return std::min<uint64_t>(age, UINT16_MAX);
}

// ofputil_flow_mod_flags_format(): each flag followed by a space.
std::string format_flags(uint16_t flags) {
  static constexpr std::pair<uint16_t, const char*> kFlags[] = {
      {kOfRuleSendFlowRemoved, "send_flow_rem "}, {kOfRuleCheckOverlap, "check_overlap "},
      {kOfRuleResetCounts, "reset_counts "},      {kOfRuleNoPacketCounts, "no_packet_counts "},
      {kOfRuleNoByteCounts, "no_byte_counts "},
  };
  std::string out;
  for (const auto& [flag, text] : kFlags)
    if (flags & flag) out += text;
  return out;
}

}  // namespace

std::string format_of_flow_stats(const OfTableRule& table_rule, uint64_t now_ms,
                                 const OfFlowDumpOptions& options) {
  const OfRule& rule = table_rule.rule();
  const PortNames* ports = options.ports;
  if (!options.show_stats) return format_of_rule(rule, ports);
  bool nxm = options.protocol == OfFlowModProtocol::kOpenFlow10;

  uint64_t duration_ms = now_ms > table_rule.created_ms() ? now_ms - table_rule.created_ms() : 0;
  std::string out = "cookie=" + format_cookie(rule.cookie) + ", duration=" + format_duration(duration_ms) +
                    ", table=" + std::to_string(rule.table) +
                    ", n_packets=" + std::to_string(table_rule.packets()) +
                    ", n_bytes=" + std::to_string(table_rule.bytes()) + ", ";
  if (rule.idle_timeout) out += "idle_timeout=" + std::to_string(rule.idle_timeout) + ", ";
  if (rule.hard_timeout) out += "hard_timeout=" + std::to_string(rule.hard_timeout) + ", ";
  if (nxm) {
    out += "idle_age=" + std::to_string(age_seconds(now_ms, table_rule.used_ms())) + ", ";
    uint64_t hard_age = age_seconds(now_ms, table_rule.modified_ms());
    if (hard_age != duration_ms / 1000) out += "hard_age=" + std::to_string(hard_age) + ", ";
  } else {
    out += format_flags(rule.flags);
    if (rule.importance) out += "importance=" + std::to_string(rule.importance) + ", ";
  }
  std::string match = format_of_match(rule.match, ports, rule.priority);
  if (!match.empty()) out += match + " ";
  out += "actions=" + format_of_actions(rule.actions, ports);
  return out;
}

std::vector<std::string> dump_of_flows(const OfTables& tables, uint64_t now_ms,
                                       const OfFlowDumpOptions& options) {
  std::vector<std::string> lines;
  int first = options.table ? *options.table : 0;
  int last = options.table ? *options.table + 1 : OfTables::kTableCount;
  for (int id = first; id < last && id < OfTables::kTableCount; ++id) {
    std::vector<const OfTableRule*> rules;
    tables.table(static_cast<uint8_t>(id)).for_each_rule([&](const OfTableRule& rule) {
      rules.push_back(&rule);
    });
    // Creation order already; a stable sort keeps it among equal priorities.
    std::stable_sort(rules.begin(), rules.end(), [](const OfTableRule* a, const OfTableRule* b) {
      return a->rule().priority > b->rule().priority;
    });
    for (const OfTableRule* rule : rules) lines.push_back(format_of_flow_stats(*rule, now_ms, options));
  }
  return lines;
}

}  // namespace flowlift
