// Which rule a full table with overflow_policy=evict gives up (OVS's
// choose_rule_to_evict(), eviction groups and rule_eviction_priority(), as
// vswitch.xml's Flow_Table documentation states the algorithm).
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "slowpath/of_table.h"

namespace flowlift {

namespace {

// A rule's values of the eviction group subfields. A field whose
// prerequisites the rule's match does not meet has no value, which is not
// the same as 0 (OVS hashes a placeholder for it).
using OfEvictionGroupKey = std::vector<std::optional<Uint128>>;

OfEvictionGroupKey eviction_group_key(const OfTableRule& rule, const std::vector<OfSubfield>& subfields) {
  OfEvictionGroupKey key;
  key.reserve(subfields.size());
  const OfFlow& flow = rule.match().flow;  // masked: what the rule leaves wild reads as 0
  for (const OfSubfield& subfield : subfields) {
    if (prereqs_ok(of_field(subfield.field), flow, nullptr)) {
      key.emplace_back(read_subfield(flow, subfield));
    } else {
      key.emplace_back(std::nullopt);
    }
  }
  return key;
}

// Lower is evicted first: importance, then expiry, then age.
auto eviction_order(const OfTableRule& rule) {
  return std::make_tuple(rule.rule().importance, rule.expiry_ms(), rule.sequence());
}

struct OfEvictionGroupSummary {
  size_t size = 0;
  const OfTableRule* first_to_go = nullptr;
};

}  // namespace

const OfTableRule* OfTable::choose_eviction_victim() const {
  if (config_.overflow_policy != OfOverflowPolicy::kEvict) return nullptr;
  // Permanent rules are in no group, so they neither count towards a
  // group's size nor can be chosen.
  std::map<OfEvictionGroupKey, OfEvictionGroupSummary> groups;
  for (const auto& [sequence, rule] : live_) {
    if (!rule->has_timeout()) continue;
    OfEvictionGroupSummary& group = groups[eviction_group_key(*rule, config_.eviction_groups)];
    ++group.size;
    if (group.first_to_go == nullptr || eviction_order(*rule) < eviction_order(*group.first_to_go))
      group.first_to_go = rule.get();
  }
  size_t largest = 0;
  for (const auto& [key, group] : groups) largest = std::max(largest, group.size);
  const OfTableRule* victim = nullptr;
  for (const auto& [key, group] : groups) {
    if (group.size != largest) continue;
    if (victim == nullptr || eviction_order(*group.first_to_go) < eviction_order(*victim))
      victim = group.first_to_go;
  }
  return victim;
}

}  // namespace flowlift
