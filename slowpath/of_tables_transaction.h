// The undo log of changes prepared at an unpublished version (OVS's
// ofproto_flow_mod start/revert/finish, bundled): every rule inserted and
// every rule retired, in order, so that a failure can be undone in reverse
// and a success finished in order. Internal to OfTables.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "slowpath/of_table.h"
#include "slowpath/of_table_rule.h"

namespace flowlift {

struct OfTablesTransaction {
  struct Step {
    OfTable* table = nullptr;
    // An inserted rule (owned by the table)...
    const OfTableRule* inserted = nullptr;
    // ...or a retired one, with why, or the rule that replaces it.
    std::unique_ptr<OfTableRule> retired;
    OfRemovalReason reason = OfRemovalReason::kDelete;
    const OfTableRule* replacement = nullptr;
    bool keep_counts = false;
  };

  OfVersion version;  // where the changes become visible
  uint64_t now_ms;
  std::vector<Step> steps;

  const OfTableRule* insert(OfTable& table, std::unique_ptr<OfTableRule> rule) {
    const OfTableRule* raw = table.insert(std::move(rule));
    Step step;
    step.table = &table;
    step.inserted = raw;
    steps.push_back(std::move(step));
    return raw;
  }

  // Removal for `reason`, or replacement by `replacement` (then `reason` is unused).
  void retire(OfTable& table, const OfTableRule* rule, OfRemovalReason reason,
              const OfTableRule* replacement = nullptr, bool keep_counts = false) {
    Step step;
    step.table = &table;
    step.retired = table.retire(rule, version);
    step.reason = reason;
    step.replacement = replacement;
    step.keep_counts = keep_counts;
    steps.push_back(std::move(step));
  }

  bool empty() const { return steps.empty(); }
};

}  // namespace flowlift
