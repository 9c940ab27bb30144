// ClassifierLinearReference: the classifier's answer computed the slow,
// obvious way, for tests only (classifier's first implementation, kept as
// the oracle the property tests compare Classifier against).
//
// It looks at every rule, so it needs none of the tuple space machinery
// (subtables, staged indices, tries, early exit) whose correctness is what
// the comparison checks. What it does share with Classifier is the meaning
// of a lookup as OVS 3.1's classifier_lookup__() defines it:
// - rules with an identical match form a group; a lookup only sees the
//   highest-priority rule of each group visible in the version (its "top"),
//   the others only come in through the conjunction fallback below;
// - the best non-conjunctive top is the hard match; conjunctive tops above
//   it are soft matches; for the highest soft priority, a conjunction whose
//   n clauses are all covered (by at most as many soft matches of that
//   priority) triggers a second lookup with conj_id set, in which
//   conjunctive tops are ignored; if none yields a rule, each soft match of
//   that priority is replaced by the next visible rule of its group (a
//   conjunctive one stays soft, an ordinary one may become the hard match)
//   and the process repeats.
// Tests that need a unique answer give each priority at most one
// conjunction id, so the order in which soft matches are examined does not
// matter.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "slowpath/classifier.h"

namespace flowlift {

class ClassifierLinearReference {
 public:
  void insert(const ClsRule* rule) { rules_.push_back(rule); }
  void remove(const ClsRule* rule) { std::erase(rules_, rule); }
  const std::vector<const ClsRule*>& rules() const { return rules_; }

  const ClsRule* lookup(OfVersion version, const OfFlow& flow, bool allow_conjunctive = true) const {
    struct Soft {
      std::vector<const ClsRule*> group;  // visible, priority descending
      size_t position;
    };
    const ClsRule* hard = nullptr;
    int64_t hard_priority = INT64_MIN;
    std::vector<Soft> soft;
    for (std::vector<const ClsRule*>& group : visible_groups_matching(version, flow)) {
      const ClsRule* top = group.front();
      if (!top->is_conjunctive()) {
        if (top->priority() > hard_priority) {
          hard = top;
          hard_priority = top->priority();
        }
      } else if (allow_conjunctive) {
        soft.push_back(Soft{std::move(group), 0});
      }
    }
    for (;;) {
      std::erase_if(soft, [&](const Soft& s) {
        return s.position >= s.group.size() || s.group[s.position]->priority() <= hard_priority;
      });
      if (soft.empty()) return hard;
      int64_t soft_priority = INT64_MIN;
      for (const Soft& s : soft)
        soft_priority = std::max<int64_t>(soft_priority, s.group[s.position]->priority());
      size_t n_at_priority = 0;
      for (const Soft& s : soft) n_at_priority += s.group[s.position]->priority() == soft_priority;

      std::map<uint32_t, uint64_t> clauses;
      for (const Soft& s : soft) {
        const ClsRule* rule = s.group[s.position];
        if (rule->priority() != soft_priority) continue;
        for (const ClsConjunction& c : rule->conjunctions()) {
          if (c.n_clauses > n_at_priority) continue;
          auto [it, fresh] = clauses.try_emplace(c.id, c.n_clauses >= 64 ? 0 : UINT64_MAX << c.n_clauses);
          it->second |= uint64_t{1} << c.clause;
          if (it->second != UINT64_MAX) continue;
          OfFlow with_id = flow;
          with_id.conj_id = c.id;
          if (const ClsRule* found = lookup(version, with_id, false)) return found;
        }
      }
      for (Soft& s : soft) {
        if (s.group[s.position]->priority() != soft_priority) continue;
        ++s.position;
        if (s.position < s.group.size() && !s.group[s.position]->is_conjunctive()) {
          const ClsRule* lower = s.group[s.position];
          if (lower->priority() > hard_priority) {
            hard = lower;
            hard_priority = lower->priority();
          }
          s.position = s.group.size();
        }
      }
    }
  }

 private:
  // Groups of rules with identical matches that match `flow`, each with its
  // rules visible in `version`, highest priority first.
  std::vector<std::vector<const ClsRule*>> visible_groups_matching(OfVersion version,
                                                                   const OfFlow& flow) const {
    std::vector<std::vector<const ClsRule*>> groups;
    for (const ClsRule* rule : rules_) {
      if (!rule->visible_in(version) || !rule->match().matches(flow)) continue;
      auto same = std::find_if(groups.begin(), groups.end(),
                               [&](const auto& group) { return group.front()->match() == rule->match(); });
      if (same == groups.end()) {
        groups.push_back({rule});
      } else {
        same->push_back(rule);
      }
    }
    for (auto& group : groups) {
      std::stable_sort(group.begin(), group.end(),
                       [](const ClsRule* a, const ClsRule* b) { return a->priority() > b->priority(); });
    }
    return groups;
  }

  std::vector<const ClsRule*> rules_;
};

}  // namespace flowlift
