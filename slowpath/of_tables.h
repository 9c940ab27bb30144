// A bridge's OpenFlow tables 0..254 with Open vSwitch 3.1's flow-mod
// semantics (ofproto/ofproto.c), and the OfPipeline that xlate reads.
//
// Versions: every flow-mod (or bundle) prepares its changes at version
// current_version() + 1 - new rules visible from it, removed rules invisible
// from it - and then publishes that version. A reader that read
// current_version() before sees none of the change, one that reads it after
// sees all of it. A failed flow-mod or bundle is undone before publication,
// so readers never see any of it.
//
// What each command does, as OVS 3.1 does it:
//   add: replaces a rule with the same match and priority (duration restarts;
//     packet and byte counts carry over unless the flow-mod has
//     reset_counts; the last-used time always carries over). Otherwise
//     check_overlap refuses an overlapping rule of the same priority
//     (OFPFMFC_OVERLAP), and a table at its flow limit evicts or refuses
//     (OFPFMFC_TABLE_FULL).
//   modify / modify_strict: every selected rule is replaced by one with the
//     flow-mod's actions, keeping its timeouts, importance, flags and
//     creation time (and counts unless reset_counts); the cookie changes
//     only to a new_cookie. Nothing selected: add, when the flow-mod may add
//     (OfFlowMod::new_cookie), else nothing.
//   delete / delete_strict: removes the selected rules.
// Loose selection takes every rule whose match is at least as specific as
// the flow-mod's (Classifier::for_each_within), any priority; strict the rule
// with exactly that match and priority. Both filter on the cookie mask, and
// deletes on out_port.
//
// Lifetime: a rule removed or replaced at version V stays allocated (and in
// its classifier) while a reader can still be at a version below V: the
// tables keep it on a retired list that reclaim(oldest_reader_version)
// frees. Until the daemon tracks its readers (issue 4), callers pass the
// oldest version a reader may still use. Pointers in an OfTablesChange stay
// valid until the rule they name is reclaimed.
//
// Threading: apply, apply_bundle, expire, flush, configure_table, reclaim
// and the dump need the owner's exclusive lock; lookup, current_version and
// credit are const and may run alongside each other (alongside a writer only
// once the classifier allows concurrent lookups; issue 4).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_flow_mod.h"
#include "slowpath/of_pipeline.h"
#include "slowpath/of_table.h"
#include "slowpath/of_table_rule.h"

namespace flowlift {

struct OfRemovedRule {
  const OfTableRule* rule = nullptr;
  OfRemovalReason reason = OfRemovalReason::kDelete;
};

struct OfReplacedRule {
  const OfTableRule* old_rule = nullptr;
  const OfTableRule* new_rule = nullptr;
};

// What one apply / apply_bundle / expire / flush / configure_table did. The
// revalidator uses it to find megaflows derived from rules that are gone.
struct OfTablesChange {
  OfVersion version = 0;                  // the version from which the change is visible
  std::vector<const OfTableRule*> added;  // new rules, replacements included
  std::vector<OfReplacedRule> replaced;   // by add of an identical rule, or modify
  std::vector<OfRemovedRule> removed;     // deleted, evicted, expired
};

struct OfTablesTransaction;

class OfTables final : public OfPipeline {
 public:
  static constexpr int kTableCount = 255;  // tables 0..254; 255 is "all tables"

  OfTables();
  ~OfTables() override;
  OfTables(const OfTables&) = delete;
  OfTables& operator=(const OfTables&) = delete;

  // OfPipeline.
  OfVersion current_version() const override { return version_.load(std::memory_order_acquire); }
  const OfPipelineRule* lookup(OfVersion version, uint8_t table_id, const OfFlow& flow,
                               OfMask* wildcards) const override;
  void prefetch_lookup(uint8_t table_id, const OfFlow& flow, ClsPrefetchStep step) const override;

  // `table_id` 0..254.
  const OfTable& table(uint8_t table_id) const { return *tables_.at(table_id); }
  // Rules visible at the current version, in all tables.
  size_t n_rules() const;

  // Flow_Table settings (OVS's ofproto_configure_table()). A table with
  // overflow_policy=evict that holds more than its new flow limit evicts
  // down to it (as far as rules with timeouts allow); one with refuse keeps
  // its rules and only refuses new ones.
  Result<OfTablesChange> configure_table(uint8_t table_id, OfTableConfig config);

  // One flow-mod, at `now_ms` (the clock rule times and timeouts use).
  // Errors start with the OpenFlow error's name: OFPFMFC_TABLE_FULL
  // (ENOSPC), OFPFMFC_OVERLAP (EEXIST), OFPBIC_BAD_TABLE_ID (a goto_table
  // not after the rule's table) or OFPBAC_MATCH_INCONSISTENT (EINVAL). On
  // error nothing changed. (Table 255 is "all tables", so OVS's
  // OFPBRC_BAD_TABLE_ID cannot happen here.)
  Result<OfTablesChange> apply(const OfFlowMod& mod, uint64_t now_ms);

  // An atomic bundle (OVS's do_bundle_commit()): the flow-mods run in order,
  // each seeing the ones before it, and the whole bundle becomes visible in
  // one version. If any fails, nothing changes and the error
  // (OFPBFC_MSG_FAILED) names the failing flow-mod by position and line.
  Result<OfTablesChange> apply_bundle(std::span<const OfFlowMod> mods, uint64_t now_ms);

  // Removes every rule whose hard timeout (counted from its last
  // modification) or idle timeout (from its last use) has run out by
  // `now_ms`, as ofproto-dpif's rule_expire().
  OfTablesChange expire(uint64_t now_ms);

  // Removes every rule of every table (OVS's ofproto_flush_flows()).
  OfTablesChange flush();

  // Counts packets that hit `rule` (which must come from these tables'
  // lookup() and not be reclaimed yet): the revalidator's
  // rule_dpif_credit_stats(). A replaced rule passes the credit on.
  void credit(const OfPipelineRule& rule, uint64_t packets, uint64_t bytes, uint64_t used_ms) const;

  // Frees retired rules that no reader at `oldest_reader_version` or later
  // can see (removed at or before that version). Returns how many.
  size_t reclaim(OfVersion oldest_reader_version);
  size_t n_retired() const { return retired_.size(); }

 private:
  struct RetiredRule {
    uint8_t table_id;
    std::unique_ptr<OfTableRule> rule;
  };

  Status start(const OfFlowMod& mod, OfTablesTransaction& tx);
  Status start_add(const OfFlowMod& mod, OfTablesTransaction& tx);
  Status start_modify(const OfFlowMod& mod, OfTablesTransaction& tx);
  Status start_delete(const OfFlowMod& mod, OfTablesTransaction& tx);
  OfTablesChange commit(OfTablesTransaction& tx);
  void revert(OfTablesTransaction& tx);

  std::vector<std::unique_ptr<OfTable>> tables_;
  std::atomic<OfVersion> version_{kOfVersionMin};
  uint64_t next_sequence_ = 0;
  std::deque<RetiredRule> retired_;  // in removal-version order
};

}  // namespace flowlift
