// The OpenFlow classifier of one table (OVS's lib/classifier.c): rules with a
// match and a priority, a lookup that returns the highest-priority rule a
// flow matches and reports, through a wildcard mask, every bit of the flow
// the lookup looked at. That mask is what becomes the megaflow, so a lookup
// that looks at fewer bits gives wider megaflows.
//
// Versions (OVS's ovs_version_t) make batches of changes atomic: a rule is
// visible to lookups at version v when add_version <= v < remove_version.
// A bundle adds its rules at version N+1 and marks the rules it deletes as
// removed at N+1, then publishes N+1: a reader at N sees none of the bundle,
// a reader at N+1 all of it. Rules are physically removed (remove()) only
// when no reader can still be at a version that sees them.
//
// Conjunctive matches (OVS's conjunction(id,k/n)): a rule with conjunctions
// is never returned by lookup() itself. When conjunctive rules that match the
// flow rank above the best ordinary match and, for some id, those of the
// highest such priority cover every clause 1..n, the lookup looks up again
// with the flow's conj_id set to id (conjunctive rules left out) and returns
// what that finds, typically a rule matching conj_id=id. If no conjunction
// yields a rule, the next lower-priority rules with the same matches as those
// conjunctive rules get their turn (OVS's classifier_lookup__).
//
// Threading: lookups are const and may run concurrently with each other;
// insert() and remove() need the owner's exclusive lock (the daemon's
// issue decides the locking).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_flow.h"

namespace flowlift {

using OfVersion = uint64_t;
inline constexpr OfVersion kOfVersionMin = 0;
inline constexpr OfVersion kOfVersionNotRemoved = UINT64_MAX;

// One clause of a conjunction(id, k/n) action; `clause` is 0-based (k - 1).
struct ClsConjunction {
  uint32_t id = 0;
  uint8_t clause = 0;
  uint8_t n_clauses = 2;
  bool operator==(const ClsConjunction&) const = default;
};

// A rule as the classifier sees it. The owner (an OpenFlow table's rule)
// owns it and keeps it alive while it is in a Classifier; derive from it to
// attach actions and counters.
class ClsRule {
 public:
  ClsRule(const OfMatch& match, int32_t priority, std::vector<ClsConjunction> conjunctions = {},
          OfVersion add_version = kOfVersionMin)
      : priority_(priority),
        add_version_(add_version),
        conjunctions_(std::move(conjunctions)),
        match_(match) {}
  virtual ~ClsRule() = default;
  ClsRule(const ClsRule&) = delete;
  ClsRule& operator=(const ClsRule&) = delete;

  const OfMatch& match() const { return match_; }
  int32_t priority() const { return priority_; }
  std::span<const ClsConjunction> conjunctions() const { return conjunctions_; }
  bool is_conjunctive() const { return !conjunctions_.empty(); }

  OfVersion add_version() const { return add_version_; }
  OfVersion remove_version() const { return remove_version_.load(std::memory_order_acquire); }
  bool visible_in(OfVersion version) const { return add_version_ <= version && version < remove_version(); }
  // Makes the rule invisible from `version` on (a delete inside a bundle).
  void set_remove_version(OfVersion version) { remove_version_.store(version, std::memory_order_release); }
  // Undoes set_remove_version() (a bundle that is rolled back).
  void clear_remove_version() { set_remove_version(kOfVersionNotRemoved); }

  // Starts fetching what a lookup reads of the rule (see the member order).
  void prefetch_for_lookup() const { __builtin_prefetch(this); }

 private:
  // What a lookup reads of a rule it found (priority, versions, whether it
  // is conjunctive) shares the first cache line; the match, 536 bytes that
  // a lookup never reads (the subtable compares its own copy of the words),
  // comes after.
  int32_t priority_;
  OfVersion add_version_;
  std::atomic<OfVersion> remove_version_{kOfVersionNotRemoved};
  std::vector<ClsConjunction> conjunctions_;
  OfMatch match_;
};

// Which fields get prefix tracking (OVS's Flow_Table "prefixes" column): the
// fields OVS gives prefix lookup to, ip_src/ip_dst/ipv6_src/ipv6_dst and the
// tunnel forms tun_src/tun_dst/tun_ipv6_src/tun_ipv6_dst/tun_id, at most 3.
// OVS's default is nw_dst and nw_src. The constructor leaves out what
// set_prefix_fields() would refuse, as OVS's classifier does.
struct ClassifierConfig {
  std::vector<OfFieldId> prefix_fields{OfFieldId::kIpv4Dst, OfFieldId::kIpv4Src};
};

class ClassifierImpl;

// The two steps of a lookup hint (Classifier::prefetch). A handler with a
// batch of flows to translate gives every flow kSlots first (hash the flow
// per subtable, start fetching the index and table slots), then kRules (read
// those slots, now close, and start fetching the rule each would return),
// and only then looks them up: with thousands of rules every one of those
// reads misses the cache, and one lookup alone takes them in series.
enum class ClsPrefetchStep { kSlots, kRules };

class Classifier {
 public:
  explicit Classifier(ClassifierConfig config = {});
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;

  // Changes the prefix-tracked fields (at most 3 of the fields named above).
  Status set_prefix_fields(std::span<const OfFieldId> fields);

  // Adds `rule` (visible from its add_version). Two rules with the same match
  // and priority may both be present only if their visible versions do not
  // overlap (a replacement inside a bundle).
  void insert(const ClsRule* rule);
  // Takes `rule` out. Call only when no reader can still see it.
  void remove(const ClsRule* rule);

  // The highest-priority rule visible in `version` that matches `flow`, or
  // nullptr. Among overlapping rules of equal priority the choice is
  // unspecified, as in OpenFlow. When `wildcards` is not null, every bit the
  // lookup examined is ORed into it (its range is kept up to date), except
  // conj_id's, which is the lookup's own scratch field and not a packet's.
  const ClsRule* lookup(OfVersion version, const OfFlow& flow, OfMask* wildcards) const;

  // Starts the cache fills that lookup(flow) will need, in the first few
  // subtables by priority (see ClsPrefetchStep); changes nothing. kRules
  // returns the rule the lookup will most likely find (the first fetched,
  // in priority order), or null: a hint for the caller's own fetches, not
  // an answer (versions, conjunctions and later subtables are not looked at).
  const ClsRule* prefetch(const OfFlow& flow, ClsPrefetchStep step) const;

  // The rule with exactly this match and priority visible in `version`.
  const ClsRule* find_exactly(const OfMatch& match, int32_t priority, OfVersion version) const;

  // Every rule visible in `version` whose match is at least as specific as
  // `target`: it matches on every bit `target` matches on, with the same
  // values (OVS's cls_cursor with a target; what a loose delete or modify
  // selects). A catch-all target visits every visible rule. `visit` may
  // remove the rule it is given.
  void for_each_within(const OfMatch& target, OfVersion version,
                       const std::function<void(const ClsRule&)>& visit) const;

  // Number of rules inserted (whatever their versions).
  size_t size() const;
  bool empty() const { return size() == 0; }

 private:
  std::unique_ptr<ClassifierImpl> impl_;
};

}  // namespace flowlift
