// The rules of one classifier subtable, grouped by identical match.
//
// ClsMatchList: the rules that share one match (same mask, same values),
// highest priority first (OVS's list of cls_match behind one cmap node).
// Several rules with one match coexist when their priorities differ, or when
// they have the same priority in non-overlapping versions (a rule replaced
// inside a bundle). The head is stored inline because a lookup almost always
// stops at it; the rest only costs an allocation when it exists.
//
// ClsMatchTable: the lists of one subtable by the hash of their match, a flat
// open-addressing table (linear probing, at most half full, backward shift
// deletion) whose keys sit in their own array so that a probe reads one
// cache line of hashes before touching any list. Distinct matches may share a
// hash; the caller's `equal` tells them apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "slowpath/classifier.h"

namespace flowlift {

class ClsMatchList {
 public:
  const ClsRule* head() const { return head_; }
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return head_ == nullptr ? 0 : 1 + lower_.size(); }
  const ClsRule* at(size_t position) const { return position == 0 ? head_ : lower_[position - 1]; }

  // The position of the first rule at or after `from` visible in `version`,
  // or size() when there is none.
  size_t first_visible(OfVersion version, size_t from = 0) const {
    const size_t n = size();
    for (size_t i = from; i < n; ++i) {
      if (at(i)->visible_in(version)) return i;
    }
    return n;
  }

  // Keeps priorities descending. Among equal priorities the new rule goes
  // after the ones already marked for removal in some version (OVS's
  // classifier_replace() insertion point), i.e. it is the rule that stays.
  void insert(const ClsRule* rule) {
    const size_t n = size();
    size_t position = 0;
    for (; position < n; ++position) {
      const ClsRule* other = at(position);
      if (rule->priority() > other->priority()) break;
      if (rule->priority() == other->priority() && other->remove_version() == kOfVersionNotRemoved) break;
    }
    if (position == 0) {
      if (head_ != nullptr) lower_.insert(lower_.begin(), head_);
      head_ = rule;
    } else {
      lower_.insert(lower_.begin() + static_cast<std::ptrdiff_t>(position - 1), rule);
    }
  }

  // False when `rule` is not in the list.
  bool remove(const ClsRule* rule) {
    if (rule == head_) {
      if (lower_.empty()) {
        head_ = nullptr;
      } else {
        head_ = lower_.front();
        lower_.erase(lower_.begin());
      }
      return true;
    }
    for (auto it = lower_.begin(); it != lower_.end(); ++it) {
      if (*it == rule) {
        lower_.erase(it);
        return true;
      }
    }
    return false;
  }

 private:
  const ClsRule* head_ = nullptr;
  std::vector<const ClsRule*> lower_;
};

class ClsMatchTable {
 public:
  // The list stored under `hash` for which equal(list) holds, or null.
  template <typename Equal>
  const ClsMatchList* find(uint64_t hash, Equal&& equal) const {
    if (keys_.empty()) return nullptr;
    const uint64_t key = to_key(hash);
    for (size_t i = key & slot_mask_; keys_[i] != kEmpty; i = (i + 1) & slot_mask_) {
      if (keys_[i] == key && equal(lists_[i])) return &lists_[i];
    }
    return nullptr;
  }
  template <typename Equal>
  ClsMatchList* find(uint64_t hash, Equal&& equal) {
    return const_cast<ClsMatchList*>(std::as_const(*this).find(hash, std::forward<Equal>(equal)));
  }

  // A new, empty list under `hash`; the caller inserts a rule into it before
  // anything else touches the table. Pointers to lists stay valid until the
  // next add() or erase().
  ClsMatchList& add(uint64_t hash) {
    if ((n_lists_ + 1) * 2 > keys_.size()) grow();
    const uint64_t key = to_key(hash);
    size_t i = key & slot_mask_;
    while (keys_[i] != kEmpty) i = (i + 1) & slot_mask_;
    keys_[i] = key;
    ++n_lists_;
    return lists_[i];
  }

  // Removes `list`, which must be one of this table's (and is empty).
  void erase(const ClsMatchList* list) {
    size_t hole = static_cast<size_t>(list - lists_.data());
    --n_lists_;
    for (size_t i = (hole + 1) & slot_mask_; keys_[i] != kEmpty; i = (i + 1) & slot_mask_) {
      const size_t home = keys_[i] & slot_mask_;
      // Movable into the hole unless its home lies cyclically in (hole, i].
      const bool home_after_hole = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (home_after_hole) continue;
      keys_[hole] = keys_[i];
      lists_[hole] = std::move(lists_[i]);
      hole = i;
    }
    keys_[hole] = kEmpty;
    lists_[hole] = ClsMatchList{};
  }

  size_t size() const { return n_lists_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != kEmpty) visit(lists_[i]);
    }
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  static uint64_t to_key(uint64_t hash) { return hash == kEmpty ? 1 : hash; }

  void grow() {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<ClsMatchList> old_lists = std::move(lists_);
    const size_t capacity = old_keys.empty() ? 8 : old_keys.size() * 2;
    keys_.assign(capacity, kEmpty);
    lists_.clear();
    lists_.resize(capacity);
    slot_mask_ = capacity - 1;
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == kEmpty) continue;
      size_t i = old_keys[j] & slot_mask_;
      while (keys_[i] != kEmpty) i = (i + 1) & slot_mask_;
      keys_[i] = old_keys[j];
      lists_[i] = std::move(old_lists[j]);
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<ClsMatchList> lists_;
  size_t slot_mask_ = 0;
  size_t n_lists_ = 0;
};

}  // namespace flowlift
