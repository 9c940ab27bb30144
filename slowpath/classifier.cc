// Classifier: tuple space search with staged lookup, prefix tracking and
// conjunctive matches, with the semantics of Open vSwitch 3.1's
// lib/classifier.c (classifier_lookup__, classifier_replace,
// classifier_remove, classifier_set_prefix_fields, cls_cursor).
//
// One ClsSubtable per distinct mask (cls_subtable.h does the staged lookup in
// one of them). Subtables are kept in a vector sorted by their highest rule
// priority, and a lookup stops at the first subtable whose highest priority
// cannot beat the best rule found so far: the subtables after it are never
// looked at, so their bits stay wildcarded. One prefix trie per
// prefix-tracked field holds every distinct match's prefix on that field,
// whatever the versions of its rules (as OVS's tries do); a lookup consults
// it lazily, at most once per field.
//
// Writers (insert, remove, set_prefix_fields) run under the owner's exclusive
// lock, so lookups need no RCU here: the tables are plain vectors.
#include "slowpath/classifier.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "flowlift/masked_words.h"
#include "slowpath/cls_subtable.h"

namespace flowlift {
namespace {

// The fields OVS gives prefix lookup to (meta-flow's "Prefix lookup
// member"), among those flowlift has.
bool has_prefix_lookup(OfFieldId id) {
  switch (id) {
    case OfFieldId::kIpv4Src:
    case OfFieldId::kIpv4Dst:
    case OfFieldId::kIpv6Src:
    case OfFieldId::kIpv6Dst:
    case OfFieldId::kTunSrc:
    case OfFieldId::kTunDst:
    case OfFieldId::kTunIpv6Src:
    case OfFieldId::kTunIpv6Dst:
    case OfFieldId::kTunId:
      return true;
    default:
      return false;
  }
}

std::span<const uint8_t> field_bytes_of(const OfFlow& flow, const OfField& field) {
  return {reinterpret_cast<const uint8_t*>(&flow) + field.offset, field.n_bits / 8u};
}

uint64_t mask_hash(const OfMask& mask) {
  static const OfFlow kAllBits = OfMask::exact().bits();
  return masked_words_hash(mask.bits(), kAllBits, mask.range(), 0);
}

// Does `outer` match on every bit `inner` matches on?
bool mask_covers(const OfMask& outer, const OfMask& inner) {
  const OfRange range = inner.range();
  for (size_t i = range.start; i < range.end; i += 8) {
    const uint64_t wanted = load_word(inner.bits(), i);
    if ((load_word(outer.bits(), i) & wanted) != wanted) return false;
  }
  return true;
}

// A conjunctive rule that matched the flow (OVS's "soft match"): whether its
// conjunction is complete is only known once every soft match is in.
struct ClsSoftMatch {
  const ClsMatchList* list;
  size_t position;
  const ClsRule* rule;  // null once it has dropped out
};

// The soft matches of one lookup. Almost every lookup has none, so the
// inline storage is left uninitialised until used; more than 64 spill to the
// heap (as OVS's soft_stub does).
class ClsSoftMatches {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ClsSoftMatch& operator[](size_t i) { return size_ <= kInline ? inline_[i] : spilled_[i]; }

  void push_back(const ClsSoftMatch& match) {
    if (size_ < kInline) {
      inline_[size_++] = match;
      return;
    }
    if (size_ == kInline) spilled_.assign(inline_.begin(), inline_.end());
    spilled_.push_back(match);
    ++size_;
  }

  // Swaps the last entry into `i` (the order OVS leaves its array in).
  void remove_at(size_t i) {
    (*this)[i] = (*this)[size_ - 1];
    if (size_ > kInline) spilled_.pop_back();
    --size_;
    if (size_ == kInline) std::copy(spilled_.begin(), spilled_.end(), inline_.begin());
  }

 private:
  static constexpr size_t kInline = 64;
  std::array<ClsSoftMatch, kInline> inline_;
  std::vector<ClsSoftMatch> spilled_;
  size_t size_ = 0;
};

// Which clauses of each conjunction id the soft matches of one priority have
// covered (OVS's conjunctive_match hmap). A handful of ids is the norm.
class ClsConjunctionProgress {
 public:
  // OVS's find_conjunctive_match(): adds the clauses of `rule`'s
  // conjunctions that have at most `max_clauses` clauses; true, with the id,
  // as soon as one conjunction has all its clauses.
  bool complete_with(const ClsRule& rule, size_t max_clauses, uint32_t* completed_id) {
    for (const ClsConjunction& conjunction : rule.conjunctions()) {
      if (conjunction.n_clauses > max_clauses || conjunction.clause >= 64) continue;
      uint64_t& clauses = clauses_of(conjunction);
      clauses |= uint64_t{1} << conjunction.clause;
      if (clauses == UINT64_MAX) {
        *completed_id = conjunction.id;
        return true;
      }
    }
    return false;
  }

 private:
  struct Entry {
    uint32_t id;
    uint64_t clauses;  // bits of the clauses seen, and every bit >= n_clauses
  };

  uint64_t& clauses_of(const ClsConjunction& conjunction) {
    for (size_t i = 0; i < size_; ++i) {
      Entry& entry = i < kInline ? inline_[i] : spilled_[i - kInline];
      if (entry.id == conjunction.id) return entry.clauses;
    }
    // Bits at and above n_clauses start set, so "all ones" means complete.
    const uint64_t missing = conjunction.n_clauses >= 64 ? 0 : UINT64_MAX << conjunction.n_clauses;
    const Entry entry{conjunction.id, missing};
    if (size_ < kInline) {
      inline_[size_++] = entry;
      return inline_[size_ - 1].clauses;
    }
    spilled_.push_back(entry);
    ++size_;
    return spilled_.back().clauses;
  }

  // Like OVS's 16 stubs: the ids of one priority rarely need more.
  static constexpr size_t kInline = 16;
  std::array<Entry, kInline> inline_;
  std::vector<Entry> spilled_;
  size_t size_ = 0;
};

}  // namespace

class ClassifierImpl {
 public:
  explicit ClassifierImpl(const ClassifierConfig& config);

  Status set_prefix_fields(std::span<const OfFieldId> fields);
  void insert(const ClsRule* rule);
  void remove(const ClsRule* rule);
  const ClsRule* lookup(OfVersion version, const OfFlow& flow, ClsWildcards* wildcards,
                        bool allow_conjunctive) const;
  const ClsRule* find_exactly(const OfMatch& match, int32_t priority, OfVersion version) const;
  const ClsRule* prefetch(const OfFlow& flow, ClsPrefetchStep step) const;
  void for_each_within(const OfMatch& target, OfVersion version,
                       const std::function<void(const ClsRule&)>& visit) const;
  size_t size() const { return n_rules_; }

 private:
  struct PrioritizedSubtable {
    int32_t max_priority;
    ClsSubtable* subtable;
  };

  ClsSubtable* find_subtable(const OfMask& mask) const;
  // Puts `subtable` after every subtable of higher or equal max priority.
  void place_by_priority(ClsSubtable* subtable);
  void unplace(const ClsSubtable* subtable);
  void use_prefix_fields(std::span<const OfField* const> fields);
  void add_to_tries(const ClsSubtable& subtable, const OfFlow& match_flow);
  void remove_from_tries(const ClsSubtable& subtable, const OfFlow& match_flow);

  std::array<const OfField*, kClsMaxTries> trie_fields_{};
  size_t n_tries_ = 0;
  std::array<ClsPrefixTrie, kClsMaxTries> tries_;

  // Owner of the subtables, by the hash of their mask.
  std::unordered_multimap<uint64_t, std::unique_ptr<ClsSubtable>> subtables_;
  // Lookup order: max priority descending.
  std::vector<PrioritizedSubtable> by_priority_;
  size_t n_rules_ = 0;
};

ClassifierImpl::ClassifierImpl(const ClassifierConfig& config) {
  // As OVS's classifier_set_prefix_fields(): fields without prefix lookup,
  // repeats and fields beyond the third are left out.
  std::vector<const OfField*> fields;
  for (OfFieldId id : config.prefix_fields) {
    if (fields.size() == kClsMaxTries || !has_prefix_lookup(id)) continue;
    const OfField* field = &of_field(id);
    if (std::find(fields.begin(), fields.end(), field) == fields.end()) fields.push_back(field);
  }
  use_prefix_fields(fields);
}

Status ClassifierImpl::set_prefix_fields(std::span<const OfFieldId> ids) {
  if (ids.size() > kClsMaxTries) {
    return invalid_argument("at most " + std::to_string(kClsMaxTries) +
                            " prefix fields can be tracked, got " + std::to_string(ids.size()));
  }
  std::vector<const OfField*> fields;
  for (OfFieldId id : ids) {
    const OfField* field = &of_field(id);
    if (!has_prefix_lookup(id)) {
      return invalid_argument("prefix tracking does not support " + std::string(field->name) +
                              ": only ip_src, ip_dst, ipv6_src, ipv6_dst, tun_src, tun_dst, tun_ipv6_src, "
                              "tun_ipv6_dst and tun_id have prefix lookup");
    }
    if (std::find(fields.begin(), fields.end(), field) != fields.end()) {
      return invalid_argument("prefix field " + std::string(field->name) + " is listed twice");
    }
    fields.push_back(field);
  }
  use_prefix_fields(fields);
  return Status::ok();
}

// Rebuilds every trie from the distinct matches of every subtable (OVS's
// trie_init for each changed trie).
void ClassifierImpl::use_prefix_fields(std::span<const OfField* const> fields) {
  trie_fields_.fill(nullptr);
  std::copy(fields.begin(), fields.end(), trie_fields_.begin());
  n_tries_ = fields.size();
  for (ClsPrefixTrie& trie : tries_) trie.clear();
  for (const auto& entry : subtables_) {
    ClsSubtable& subtable = *entry.second;
    for (int j = 0; j < kClsMaxTries; ++j) subtable.set_trie_field(j, trie_fields_[j]);
    subtable.for_each_list(
        [&](const ClsMatchList& list) { add_to_tries(subtable, list.head()->match().flow); });
  }
}

void ClassifierImpl::add_to_tries(const ClsSubtable& subtable, const OfFlow& match_flow) {
  for (size_t j = 0; j < n_tries_; ++j) {
    const unsigned length = subtable.trie_prefix_length(static_cast<int>(j));
    if (length != 0) tries_[j].insert(field_bytes_of(match_flow, *trie_fields_[j]), length);
  }
}

void ClassifierImpl::remove_from_tries(const ClsSubtable& subtable, const OfFlow& match_flow) {
  for (size_t j = 0; j < n_tries_; ++j) {
    const unsigned length = subtable.trie_prefix_length(static_cast<int>(j));
    if (length != 0) tries_[j].remove(field_bytes_of(match_flow, *trie_fields_[j]), length);
  }
}

ClsSubtable* ClassifierImpl::find_subtable(const OfMask& mask) const {
  auto [first, last] = subtables_.equal_range(mask_hash(mask));
  for (auto it = first; it != last; ++it) {
    if (it->second->mask() == mask) return it->second.get();
  }
  return nullptr;
}

void ClassifierImpl::place_by_priority(ClsSubtable* subtable) {
  const int32_t priority = subtable->max_priority();
  auto position =
      std::find_if(by_priority_.begin(), by_priority_.end(),
                   [&](const PrioritizedSubtable& entry) { return entry.max_priority < priority; });
  by_priority_.insert(position, PrioritizedSubtable{priority, subtable});
}

void ClassifierImpl::unplace(const ClsSubtable* subtable) {
  std::erase_if(by_priority_, [&](const PrioritizedSubtable& entry) { return entry.subtable == subtable; });
}

void ClassifierImpl::insert(const ClsRule* rule) {
  const OfMask& mask = rule->match().mask;
  ClsSubtable* subtable = find_subtable(mask);
  const bool created = subtable == nullptr;
  if (created) {
    auto owned =
        std::make_unique<ClsSubtable>(mask, std::span<const OfField* const>(trie_fields_.data(), n_tries_));
    subtable = owned.get();
    subtables_.emplace(mask_hash(mask), std::move(owned));
  }
  const ClsSubtable::Insertion insertion = subtable->insert(rule);
  if (insertion.new_match) add_to_tries(*subtable, rule->match().flow);
  if (created) {
    place_by_priority(subtable);
  } else if (insertion.max_priority_changed) {
    unplace(subtable);
    place_by_priority(subtable);
  }
  ++n_rules_;
}

void ClassifierImpl::remove(const ClsRule* rule) {
  ClsSubtable* subtable = find_subtable(rule->match().mask);
  if (subtable == nullptr) return;
  const ClsSubtable::Removal removal = subtable->remove(rule);
  if (!removal.found) return;
  if (removal.match_gone) remove_from_tries(*subtable, rule->match().flow);
  --n_rules_;
  if (subtable->empty()) {
    unplace(subtable);
    auto [first, last] = subtables_.equal_range(mask_hash(subtable->mask()));
    for (auto it = first; it != last; ++it) {
      if (it->second.get() == subtable) {
        subtables_.erase(it);
        break;
      }
    }
  } else if (removal.max_priority_changed) {
    unplace(subtable);
    place_by_priority(subtable);
  }
}

// OVS's classifier_lookup__(). Priorities are compared as 64-bit values so
// that even INT32_MIN rules can be found (OVS asks clients not to use it).
// Only the first subtables: a lookup usually stops early (at the first
// subtable whose rule beats every later subtable's priority), and every hint
// costs a hash of the flow under that subtable's mask.
constexpr size_t kPrefetchedSubtables = 4;
// A subtable this small keeps its slots and records in a few cache lines
// that its own lookups keep warm: hinting it costs more than it saves.
constexpr size_t kPrefetchedSubtableMinRules = 256;

const ClsRule* ClassifierImpl::prefetch(const OfFlow& flow, ClsPrefetchStep step) const {
  const size_t n = std::min(by_priority_.size(), kPrefetchedSubtables);
  for (size_t i = 0; i < n; ++i) {
    const ClsSubtable& subtable = *by_priority_[i].subtable;
    if (subtable.rule_count() < kPrefetchedSubtableMinRules) continue;
    // The first rule found is the likely answer: later subtables' rules
    // would only matter if it turned out invisible or beaten.
    if (const ClsRule* head = subtable.prefetch(flow, step)) return head;
  }
  return nullptr;
}

const ClsRule* ClassifierImpl::lookup(OfVersion version, const OfFlow& flow, ClsWildcards* wildcards,
                                      bool allow_conjunctive) const {
  // Every subtable reads the flow, stage by stage with a probe between
  // stages: fetch all of its cache lines now, in parallel, rather than
  // missing on them one stage at a time.
  for (size_t offset = 0; offset < sizeof(OfFlow); offset += 64) {
    __builtin_prefetch(reinterpret_cast<const char*>(&flow) + offset);
  }
  std::array<ClsTrieLookup, kClsMaxTries> trie_state;
  for (size_t j = 0; j < n_tries_; ++j) {
    trie_state[j].trie = &tries_[j];
    trie_state[j].field = trie_fields_[j];
    trie_state[j].done = false;
  }
  const std::span<ClsTrieLookup> tries(trie_state.data(), n_tries_);

  // The best rule that certainly matches.
  const ClsRule* hard = nullptr;
  int64_t hard_priority = INT64_MIN;
  // Conjunctive rules that matched, and the highest priority among them.
  ClsSoftMatches soft;
  int64_t soft_priority = INT64_MIN;

  for (const PrioritizedSubtable& entry : by_priority_) {
    // Nothing in this subtable or any later one can beat `hard`.
    if (entry.max_priority <= hard_priority) break;
    const ClsMatchHit hit = wildcards != nullptr ? entry.subtable->find_tracking_wildcards(
                                                       version, flow, hard_priority, tries, *wildcards)
                                                 : entry.subtable->find(version, flow, hard_priority);
    if (hit.rule == nullptr || hit.rule->priority() <= hard_priority) continue;
    if (!hit.rule->is_conjunctive()) {
      hard = hit.rule;
      hard_priority = hit.rule->priority();
    } else if (allow_conjunctive) {
      soft.push_back(ClsSoftMatch{hit.list, hit.position, hit.rule});
      soft_priority = std::max<int64_t>(soft_priority, hit.rule->priority());
    }
  }
  if (hard_priority >= soft_priority) return hard;

  // Some conjunctive rules beat the best ordinary one. Try the conjunctions
  // of the highest soft priority; if none completes into a rule, fall back
  // to the rules just below the soft matches in their match lists.
  for (;;) {
    for (size_t i = 0; i < soft.size();) {
      if (soft[i].rule == nullptr || soft[i].rule->priority() <= hard_priority) {
        soft.remove_at(i);
      } else {
        ++i;
      }
    }
    if (soft.empty()) break;

    soft_priority = INT64_MIN;
    size_t n_at_soft_priority = 0;
    for (size_t i = 0; i < soft.size(); ++i) {
      const int64_t priority = soft[i].rule->priority();
      if (priority > soft_priority) {
        soft_priority = priority;
        n_at_soft_priority = 1;
      } else if (priority == soft_priority) {
        ++n_at_soft_priority;
      }
    }

    // A conjunction with n clauses needs n soft matches at this priority.
    ClsConjunctionProgress progress;
    for (size_t i = 0; i < soft.size(); ++i) {
      uint32_t id = 0;
      if (soft[i].rule->priority() != soft_priority ||
          !progress.complete_with(*soft[i].rule, n_at_soft_priority, &id)) {
        continue;
      }
      OfFlow with_conj_id = flow;
      with_conj_id.conj_id = id;
      if (const ClsRule* rule = lookup(version, with_conj_id, wildcards, false)) return rule;
    }

    for (size_t i = 0; i < soft.size(); ++i) {
      ClsSoftMatch& match = soft[i];
      if (match.rule->priority() != soft_priority) continue;
      const size_t next = match.list->first_visible(version, match.position + 1);
      if (next == match.list->size()) {
        match.rule = nullptr;
        continue;
      }
      const ClsRule* lower = match.list->at(next);
      if (lower->is_conjunctive()) {
        match.position = next;
        match.rule = lower;
        continue;
      }
      // The same match at a lower priority, but an ordinary rule.
      if (lower->priority() > hard_priority) {
        hard = lower;
        hard_priority = lower->priority();
      }
      match.rule = nullptr;
    }
  }
  return hard;
}

const ClsRule* ClassifierImpl::find_exactly(const OfMatch& match, int32_t priority, OfVersion version) const {
  const ClsSubtable* subtable = find_subtable(match.mask);
  if (subtable == nullptr) return nullptr;
  const ClsMatchList* list = subtable->find_list(match);
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < list->size(); ++i) {
    const ClsRule* rule = list->at(i);
    if (rule->priority() < priority) break;
    if (rule->priority() == priority && rule->visible_in(version)) return rule;
  }
  return nullptr;
}

// OVS's cls_cursor with a target: only subtables whose mask covers the
// target's can hold such rules; when the masks are equal, the target's match
// is looked up directly.
void ClassifierImpl::for_each_within(const OfMatch& target, OfVersion version,
                                     const std::function<void(const ClsRule&)>& visit) const {
  // Collected first, so that `visit` may remove the rules it is given.
  std::vector<const ClsRule*> selected;
  auto take_visible = [&](const ClsMatchList& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (list.at(i)->visible_in(version)) selected.push_back(list.at(i));
    }
  };
  const OfRange target_range = target.mask.range();
  for (const PrioritizedSubtable& entry : by_priority_) {
    const ClsSubtable& subtable = *entry.subtable;
    if (!mask_covers(subtable.mask(), target.mask)) continue;
    if (subtable.mask() == target.mask) {
      if (const ClsMatchList* list = subtable.find_list(target)) take_visible(*list);
      continue;
    }
    subtable.for_each_list([&](const ClsMatchList& list) {
      if (masked_words_equal(list.head()->match().flow, target.flow, target.mask.bits(), target_range)) {
        take_visible(list);
      }
    });
  }
  for (const ClsRule* rule : selected) visit(*rule);
}

Classifier::Classifier(ClassifierConfig config) : impl_(std::make_unique<ClassifierImpl>(config)) {}
Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

Status Classifier::set_prefix_fields(std::span<const OfFieldId> fields) {
  return impl_->set_prefix_fields(fields);
}

void Classifier::insert(const ClsRule* rule) { impl_->insert(rule); }

const ClsRule* Classifier::prefetch(const OfFlow& flow, ClsPrefetchStep step) const {
  return impl_->prefetch(flow, step);
}

void Classifier::remove(const ClsRule* rule) { impl_->remove(rule); }

const ClsRule* Classifier::lookup(OfVersion version, const OfFlow& flow, OfMask* wildcards) const {
  if (wildcards == nullptr) return impl_->lookup(version, flow, nullptr, true);
  ClsWildcards tracked{wildcards->mutable_bits()};
  // conj_id is the classifier's own scratch field, not part of the packet:
  // whatever the lookups with conj_id set looked at, the caller's conj_id
  // bits come back as they were (OVS clears them at the end of translation).
  const uint32_t caller_conj_id_bits = tracked.bits.conj_id;
  const ClsRule* rule = impl_->lookup(version, flow, &tracked, true);
  const OfRange touched = tracked.touched;
  const bool conj_id_touched = tracked.bits.conj_id != caller_conj_id_bits;
  tracked.bits.conj_id = caller_conj_id_bits;
  // Bits were only added, inside `touched`; its end words may have been
  // emptied again only by the conj_id restore (or a port mask that came out
  // empty), which the rescan then handles.
  if (!conj_id_touched && !touched.empty() && load_word(tracked.bits, touched.start) != 0 &&
      load_word(tracked.bits, touched.end - 8u) != 0) {
    wildcards->widen_range(touched);
  } else if (!touched.empty()) {
    wildcards->recompute_range();
  }
  return rule;
}

const ClsRule* Classifier::find_exactly(const OfMatch& match, int32_t priority, OfVersion version) const {
  return impl_->find_exactly(match, priority, version);
}

void Classifier::for_each_within(const OfMatch& target, OfVersion version,
                                 const std::function<void(const ClsRule&)>& visit) const {
  impl_->for_each_within(target, version, visit);
}

size_t Classifier::size() const { return impl_->size(); }

}  // namespace flowlift
