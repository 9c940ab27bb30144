// What add, modify(_strict) and delete(_strict) do to the tables, as OVS
// 3.1's add_flow_start(), modify_flows_start__(), delete_flows_start__(),
// replace_rule_start() and collect_rules_loose()/collect_rules_strict() do
// it. Every change is prepared at the transaction's version and recorded so
// that OfTables can undo it or publish it.
#include <algorithm>
#include <string>
#include <vector>

#include "slowpath/of_tables.h"
#include "slowpath/of_tables_transaction.h"

namespace flowlift {

namespace {

struct OfSelectedRule {
  OfTable* table;
  const OfTableRule* rule;
};

bool cookie_selected(const OfTableRule& rule, const OfRule& selector) {
  return ((rule.rule().cookie ^ selector.cookie) & selector.cookie_mask) == 0;
}

// OVS's ofproto_rule_has_out_port(): an output (or enqueue) to the port; a
// controller action counts as output to CONTROLLER. FLOOD and ALL are only
// themselves.
bool outputs_to(const OfActionList& actions, uint32_t port) {
  if (port == kOfPortNone) return true;
  for (const OfAction& action : actions) {
    if (action.is<OfOutputAction>() && action.as<OfOutputAction>().port == port) return true;
    if (action.is<OfControllerAction>() && port == kOfPortController) return true;
  }
  return false;
}

// Some packet matches both: wherever both masks have a bit, the values agree.
bool matches_overlap(const OfMatch& a, const OfMatch& b) {
  const auto* a_flow = reinterpret_cast<const unsigned char*>(&a.flow);
  const auto* b_flow = reinterpret_cast<const unsigned char*>(&b.flow);
  const auto* a_mask = reinterpret_cast<const unsigned char*>(&a.mask.bits());
  const auto* b_mask = reinterpret_cast<const unsigned char*>(&b.mask.bits());
  for (size_t i = 0; i < sizeof(OfFlow); ++i)
    if ((a_flow[i] ^ b_flow[i]) & a_mask[i] & b_mask[i]) return false;
  return true;
}

std::string table_name(const OfTable& table) {
  std::string name = "table " + std::to_string(table.id());
  if (!table.config().name.empty()) name += " (\"" + table.config().name + "\")";
  return name;
}

// OVS checks goto_table against the rule's table when it decodes the
// flow-mod; here the table is known only now (a modify of every table, a
// flow-mod built in code), so the check runs for each rule made.
Status check_actions_in_table(const OfActionList& actions, const OfMatch& match, uint8_t table_id) {
  for (const OfAction& action : actions) {
    if (action.is<OfGotoTableAction>() && action.as<OfGotoTableAction>().table <= table_id)
      return invalid_argument("OFPBIC_BAD_TABLE_ID: " + format_of_action(action, nullptr) +
                              ": must go to a later table than the rule's own (table " +
                              std::to_string(table_id) + ")");
  }
  Status consistent = check_of_actions(actions, match, table_id);
  if (!consistent.is_ok()) return consistent.with_context("OFPBAC_MATCH_INCONSISTENT");
  return Status::ok();
}

Status table_full(const OfTable& table) {
  std::string message = "OFPFMFC_TABLE_FULL: " + table_name(table) + " holds its flow limit of " +
                        std::to_string(table.config().max_flows) + " rules";
  if (table.config().overflow_policy == OfOverflowPolicy::kEvict) {
    message += " and none can be evicted (only rules with an idle or hard timeout are)";
  } else {
    message += " (overflow_policy refuse)";
  }
  return Status(ENOSPC, message);
}

// OVS's classifier_rule_overlaps(): a visible rule of the same priority
// that some packet could match as well.
const OfTableRule* find_overlap(const OfTable& table, const OfRule& rule, OfVersion version) {
  const OfTableRule* found = nullptr;
  table.classifier().for_each_within(OfMatch{}, version, [&](const ClsRule& other) {
    if (found == nullptr && other.priority() == rule.priority && matches_overlap(other.match(), rule.match))
      found = static_cast<const OfTableRule*>(&other);
  });
  return found;
}

// OVS's collect_rules_loose() / collect_rules_strict(), in table order and,
// within a table, oldest first.
std::vector<OfSelectedRule> select_rules(const std::vector<std::unique_ptr<OfTable>>& tables,
                                         const OfFlowMod& mod, bool strict, uint32_t out_port,
                                         OfVersion version) {
  std::vector<OfSelectedRule> selected;
  size_t first = mod.rule.table == kOfTableAll ? 0 : mod.rule.table;
  size_t last = mod.rule.table == kOfTableAll ? tables.size() : first + 1;
  auto wanted = [&](const OfTableRule& rule) {
    return cookie_selected(rule, mod.rule) && outputs_to(rule.actions(), out_port);
  };
  for (size_t t = first; t < last; ++t) {
    OfTable& table = *tables[t];
    if (strict) {
      const auto* rule = static_cast<const OfTableRule*>(
          table.classifier().find_exactly(mod.rule.match, mod.rule.priority, version));
      if (rule != nullptr && wanted(*rule)) selected.push_back(OfSelectedRule{&table, rule});
      continue;
    }
    size_t table_start = selected.size();
    table.classifier().for_each_within(mod.rule.match, version, [&](const ClsRule& found) {
      const auto& rule = static_cast<const OfTableRule&>(found);
      if (wanted(rule)) selected.push_back(OfSelectedRule{&table, &rule});
    });
    std::sort(selected.begin() + static_cast<std::ptrdiff_t>(table_start), selected.end(),
              [](const OfSelectedRule& a, const OfSelectedRule& b) {
                return a.rule->sequence() < b.rule->sequence();
              });
  }
  return selected;
}

}  // namespace

Status OfTables::start_add(const OfFlowMod& mod, OfTablesTransaction& tx) {
  // Table 255 in an add: OVS lets the provider choose, and ofproto-dpif's choice is table 0.
  uint8_t table_id = mod.rule.table == kOfTableAll ? 0 : mod.rule.table;
  OfTable& table = *tables_[table_id];
  Status actions = check_actions_in_table(mod.rule.actions, mod.rule.match, table_id);
  if (!actions.is_ok()) return actions;

  // An identical rule (same match and priority) visible in the new version
  // is replaced; otherwise the new rule takes a place of its own.
  const auto* old = static_cast<const OfTableRule*>(
      table.classifier().find_exactly(mod.rule.match, mod.rule.priority, tx.version));
  if (old == nullptr) {
    if (mod.rule.flags & kOfRuleCheckOverlap) {
      if (const OfTableRule* other = find_overlap(table, mod.rule, tx.version))
        return Status(EEXIST, "OFPFMFC_OVERLAP: " + table_name(table) +
                                  " already has an overlapping rule of priority " +
                                  std::to_string(mod.rule.priority) + ": " + format_of_rule(other->rule()));
    }
    if (table.n_flows() >= table.config().max_flows) {
      const OfTableRule* victim = table.choose_eviction_victim();
      if (victim == nullptr) return table_full(table);
      tx.retire(table, victim, OfRemovalReason::kEviction);
    }
  }

  OfRule rule = mod.rule;
  rule.table = table_id;
  rule.cookie_mask = 0;
  // An add replacing a rule always sets the cookie, unless it is the "no cookie" value.
  if (old != nullptr && rule.cookie == kOfCookieUnchanged) rule.cookie = old->rule().cookie;
  // An add restarts the duration; only a modify keeps the creation time.
  auto added =
      std::make_unique<OfTableRule>(std::move(rule), tx.version, next_sequence_++, tx.now_ms, tx.now_ms);
  if (old != nullptr)
    tx.retire(table, old, OfRemovalReason::kDelete, added.get(), !(mod.rule.flags & kOfRuleResetCounts));
  tx.insert(table, std::move(added));
  return Status::ok();
}

Status OfTables::start_modify(const OfFlowMod& mod, OfTablesTransaction& tx) {
  bool strict = mod.command == OfFlowModCommand::kModifyStrict;
  std::vector<OfSelectedRule> selected = select_rules(tables_, mod, strict, kOfPortNone, tx.version);
  if (selected.empty()) {
    // OVS's modify_may_add_flow.
    if (mod.new_cookie == kOfCookieUnchanged || mod.rule.cookie_mask != 0) return Status::ok();
    OfFlowMod add = mod;
    add.rule.cookie = mod.new_cookie;
    return start_add(add, tx);
  }
  for (const OfSelectedRule& old : selected) {
    Status actions = check_actions_in_table(mod.rule.actions, old.rule->match(), old.table->id());
    if (!actions.is_ok()) return actions;
  }
  bool keep_counts = !(mod.rule.flags & kOfRuleResetCounts);
  for (const OfSelectedRule& old : selected) {
    // The old rule's match, priority, timeouts, importance, flags, creation
    // time and (unless a new one is given) cookie; the flow-mod's actions.
    OfRule rule = old.rule->rule();
    rule.actions = mod.rule.actions;
    if (mod.new_cookie != kOfCookieUnchanged) rule.cookie = mod.new_cookie;
    // The replacement also keeps the old rule's place in creation order
    // (dumps, eviction ties): to users it is the same rule.
    auto replacement = std::make_unique<OfTableRule>(std::move(rule), tx.version, old.rule->sequence(),
                                                     old.rule->created_ms(), tx.now_ms);
    tx.retire(*old.table, old.rule, OfRemovalReason::kDelete, replacement.get(), keep_counts);
    tx.insert(*old.table, std::move(replacement));
  }
  return Status::ok();
}

Status OfTables::start_delete(const OfFlowMod& mod, OfTablesTransaction& tx) {
  bool strict = mod.command == OfFlowModCommand::kDeleteStrict;
  for (const OfSelectedRule& old : select_rules(tables_, mod, strict, mod.out_port, tx.version))
    tx.retire(*old.table, old.rule, OfRemovalReason::kDelete);
  return Status::ok();
}

}  // namespace flowlift
