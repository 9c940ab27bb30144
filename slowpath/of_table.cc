// One OpenFlow table: configuration and the bookkeeping of its rules
// between the classifier (what readers see, by version) and the live set
// (what the newest version holds).
#include "slowpath/of_table.h"

#include <utility>

namespace flowlift {

std::vector<OfFieldId> default_of_prefix_fields() { return ClassifierConfig{}.prefix_fields; }

OfTable::OfTable(uint8_t id) : id_(id), classifier_(ClassifierConfig{config_.prefix_fields}) {}

OfTable::~OfTable() {
  // The classifier must not outlive its rules' registration; retired rules
  // were already forgotten by OfTables.
  for (const auto& [sequence, rule] : live_) classifier_.remove(rule.get());
}

Status OfTable::configure(OfTableConfig config) {
  Status prefixes = classifier_.set_prefix_fields(config.prefix_fields);
  if (!prefixes.is_ok()) return prefixes.with_context("table " + std::to_string(id_) + " prefixes");
  config_ = std::move(config);
  return Status::ok();
}

void OfTable::for_each_rule(const std::function<void(const OfTableRule&)>& visit) const {
  for (const auto& [sequence, rule] : live_) visit(*rule);
}

const OfTableRule* OfTable::insert(std::unique_ptr<OfTableRule> rule) {
  const OfTableRule* raw = rule.get();
  classifier_.insert(raw);
  live_.emplace(raw->sequence(), std::move(rule));
  return raw;
}

std::unique_ptr<OfTableRule> OfTable::retire(const OfTableRule* rule, OfVersion version) {
  auto it = live_.find(rule->sequence());
  std::unique_ptr<OfTableRule> owned = std::move(it->second);
  live_.erase(it);
  owned->set_remove_version(version);
  return owned;
}

void OfTable::restore(std::unique_ptr<OfTableRule> rule) {
  rule->clear_remove_version();
  live_.emplace(rule->sequence(), std::move(rule));
}

void OfTable::erase_unpublished(const OfTableRule* rule) {
  classifier_.remove(rule);
  live_.erase(rule->sequence());
}

void OfTable::forget(const OfTableRule* rule) { classifier_.remove(rule); }

}  // namespace flowlift
