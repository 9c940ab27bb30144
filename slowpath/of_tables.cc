// OfTables: versions, publication, undo, expiry, eviction on
// reconfiguration and reclamation. The per-command flow-mod semantics are in
// of_tables_flow_mod.cc.
#include "slowpath/of_tables.h"

#include <string>
#include <utility>

#include "slowpath/of_tables_transaction.h"

namespace flowlift {

OfTables::OfTables() {
  tables_.reserve(kTableCount);
  for (int id = 0; id < kTableCount; ++id)
    tables_.push_back(std::make_unique<OfTable>(static_cast<uint8_t>(id)));
}

OfTables::~OfTables() { reclaim(kOfVersionNotRemoved); }

const OfPipelineRule* OfTables::lookup(OfVersion version, uint8_t table_id, const OfFlow& flow,
                                       OfMask* wildcards) const {
  if (table_id >= kTableCount) return nullptr;
  // Every rule in a table's classifier is an OfTableRule.
  return static_cast<const OfTableRule*>(tables_[table_id]->classifier().lookup(version, flow, wildcards));
}

void OfTables::prefetch_lookup(uint8_t table_id, const OfFlow& flow, ClsPrefetchStep step) const {
  if (table_id >= kTableCount) return;
  // Every rule in a table's classifier is an OfTableRule.
  if (const ClsRule* likely = tables_[table_id]->classifier().prefetch(flow, step))
    static_cast<const OfTableRule*>(likely)->prefetch_for_translation();
}

size_t OfTables::n_rules() const {
  size_t n = 0;
  for (const auto& table : tables_) n += table->n_flows();
  return n;
}

Result<OfTablesChange> OfTables::configure_table(uint8_t table_id, OfTableConfig config) {
  if (table_id >= kTableCount)
    return invalid_argument("OFPBRC_BAD_TABLE_ID: table " + std::to_string(table_id) +
                            " does not exist (tables are 0 to 254)");
  OfTable& table = *tables_[table_id];
  Status configured = table.configure(std::move(config));
  if (!configured.is_ok()) return configured;
  // OVS's evict_rules_from_table(): down to the limit, as far as there are
  // rules to evict (the now_ms of the transaction is not used by retirement).
  OfTablesTransaction tx{current_version() + 1, 0, {}};
  for (size_t n = table.n_flows(); n > table.config().max_flows; --n) {
    const OfTableRule* victim = table.choose_eviction_victim();
    if (victim == nullptr) break;
    tx.retire(table, victim, OfRemovalReason::kEviction);
  }
  if (tx.empty()) return OfTablesChange{current_version(), {}, {}, {}};
  return commit(tx);
}

Status OfTables::start(const OfFlowMod& mod, OfTablesTransaction& tx) {
  switch (mod.command) {
    case OfFlowModCommand::kAdd:
      return start_add(mod, tx);
    case OfFlowModCommand::kModify:
    case OfFlowModCommand::kModifyStrict:
      return start_modify(mod, tx);
    case OfFlowModCommand::kDelete:
    case OfFlowModCommand::kDeleteStrict:
      return start_delete(mod, tx);
  }
  return invalid_argument("OFPFMFC_BAD_COMMAND: unknown flow-mod command");
}

Result<OfTablesChange> OfTables::apply(const OfFlowMod& mod, uint64_t now_ms) {
  OfTablesTransaction tx{current_version() + 1, now_ms, {}};
  Status started = start(mod, tx);
  if (!started.is_ok()) {
    revert(tx);
    return started;
  }
  // OVS publishes a new version for every flow-mod, even one that changed nothing.
  return commit(tx);
}

Result<OfTablesChange> OfTables::apply_bundle(std::span<const OfFlowMod> mods, uint64_t now_ms) {
  OfTablesTransaction tx{current_version() + 1, now_ms, {}};
  for (size_t i = 0; i < mods.size(); ++i) {
    Status started = start(mods[i], tx);
    if (started.is_ok()) continue;
    revert(tx);
    std::string where =
        "OFPBFC_MSG_FAILED: flow-mod " + std::to_string(i + 1) + " of " + std::to_string(mods.size()) + " (";
    if (mods[i].line > 0) where += "line " + std::to_string(mods[i].line) + ", ";
    where += std::string(of_flow_mod_command_name(mods[i].command)) + ")";
    return started.with_context(where);
  }
  return commit(tx);
}

OfTablesChange OfTables::expire(uint64_t now_ms) {
  OfTablesTransaction tx{current_version() + 1, now_ms, {}};
  for (const auto& table : tables_) {
    std::vector<std::pair<const OfTableRule*, OfRemovalReason>> expired;
    table->for_each_rule([&](const OfTableRule& rule) {
      OfRemovalReason reason;
      if (rule.expired(now_ms, &reason)) expired.emplace_back(&rule, reason);
    });
    for (const auto& [rule, reason] : expired) tx.retire(*table, rule, reason);
  }
  if (tx.empty()) return OfTablesChange{current_version(), {}, {}, {}};
  return commit(tx);
}

OfTablesChange OfTables::flush() {
  OfTablesTransaction tx{current_version() + 1, 0, {}};
  for (const auto& table : tables_) {
    std::vector<const OfTableRule*> rules;
    table->for_each_rule([&](const OfTableRule& rule) { rules.push_back(&rule); });
    for (const OfTableRule* rule : rules) tx.retire(*table, rule, OfRemovalReason::kDelete);
  }
  if (tx.empty()) return OfTablesChange{current_version(), {}, {}, {}};
  return commit(tx);
}

void OfTables::credit(const OfPipelineRule& rule, uint64_t packets, uint64_t bytes, uint64_t used_ms) const {
  static_cast<const OfTableRule&>(rule).credit(packets, bytes, used_ms);
}

OfTablesChange OfTables::commit(OfTablesTransaction& tx) {
  OfTablesChange change;
  change.version = tx.version;
  for (OfTablesTransaction::Step& step : tx.steps) {
    if (step.inserted != nullptr) {
      change.added.push_back(step.inserted);
      continue;
    }
    if (step.replacement != nullptr) {
      step.retired->hand_over_to(*step.replacement, step.keep_counts);
      change.replaced.push_back(OfReplacedRule{step.retired.get(), step.replacement});
    } else {
      change.removed.push_back(OfRemovedRule{step.retired.get(), step.reason});
    }
    retired_.push_back(RetiredRule{step.table->id(), std::move(step.retired)});
  }
  tx.steps.clear();
  // Publication: from here on, readers that read the version see it all.
  version_.store(tx.version, std::memory_order_release);
  return change;
}

void OfTables::revert(OfTablesTransaction& tx) {
  for (auto step = tx.steps.rbegin(); step != tx.steps.rend(); ++step) {
    if (step->inserted != nullptr) {
      step->table->erase_unpublished(step->inserted);
    } else {
      step->table->restore(std::move(step->retired));
    }
  }
  tx.steps.clear();
}

size_t OfTables::reclaim(OfVersion oldest_reader_version) {
  size_t freed = 0;
  // Retired in version order, so the reclaimable ones are at the front.
  while (!retired_.empty() && retired_.front().rule->remove_version() <= oldest_reader_version) {
    RetiredRule& front = retired_.front();
    tables_[front.table_id]->forget(front.rule.get());
    retired_.pop_front();
    ++freed;
  }
  return freed;
}

}  // namespace flowlift
