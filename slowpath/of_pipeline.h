// The seam between a bridge's OpenFlow tables and translation (xlate): a rule
// as the tables install it (OfPipelineRule: the classifier's view plus the
// rule as the user wrote it) and the one question xlate asks of the tables
// (OfPipeline::lookup). The tables own the rules; xlate only borrows them for
// the length of one translation and reports which ones it used, so that the
// revalidator can credit their counters.
#pragma once

#include <cstdint>
#include <vector>

#include "slowpath/classifier.h"
#include "slowpath/of_flow_syntax.h"

namespace flowlift {

// The conjunction(id,k/n) actions of `actions`, for the classifier.
inline std::vector<ClsConjunction> conjunctions_of(const OfActionList& actions) {
  std::vector<ClsConjunction> out;
  for (const OfAction& action : actions) {
    if (!action.is<OfConjunctionAction>()) continue;
    const auto& c = action.as<OfConjunctionAction>();
    out.push_back(ClsConjunction{c.id, static_cast<uint8_t>(c.clause - 1), c.n_clauses});
  }
  return out;
}

class OfPipelineRule : public ClsRule {
 public:
  OfPipelineRule(OfRule rule, OfVersion add_version)
      : ClsRule(rule.match, rule.priority, conjunctions_of(rule.actions), add_version),
        rule_(std::move(rule)) {}

  // Table, priority, cookie, match, actions and timeouts as added.
  const OfRule& rule() const { return rule_; }
  const OfActionList& actions() const { return rule_.actions; }

 private:
  OfRule rule_;
};

class OfPipeline {
 public:
  virtual ~OfPipeline() = default;

  // The version lookups should use now. A translation reads it once and uses
  // it for every lookup, so that it never sees half of a bundle.
  virtual OfVersion current_version() const = 0;

  // The highest-priority rule of table `table_id` visible in `version` that
  // matches `flow`, or nullptr (a table miss). Every bit examined is ORed
  // into `wildcards` when it is not null.
  virtual const OfPipelineRule* lookup(OfVersion version, uint8_t table_id, const OfFlow& flow,
                                       OfMask* wildcards) const = 0;

  // A hint that lookup(..., table_id, flow, ...) comes soon (see
  // ClsPrefetchStep); a pipeline without a classifier ignores it.
  virtual void prefetch_lookup(uint8_t /*table_id*/, const OfFlow& /*flow*/, ClsPrefetchStep /*step*/) const {
  }
};

}  // namespace flowlift
