// The rules of one classifier subtable, grouped by identical match.
//
// ClsMatchList: the rules that share one match (same mask, same values),
// highest priority first (OVS's list of cls_match behind one cmap node).
// Several rules with one match coexist when their priorities differ, or when
// they have the same priority in non-overlapping versions (a rule replaced
// inside a bundle). The head is stored inline because a lookup almost always
// stops at it; the rest only costs an allocation when it exists.
//
// ClsMatchTable: the lists of one subtable by the hash of their match. Slots
// are a flat open-addressing table (linear probing, at most half full,
// backward shift deletion) of hashes and list indices, so that a probe reads
// one cache line of hashes; the lists and their matches' masked words (the
// subtable mask's non-zero words only, as OVS's miniflow) are dense arrays,
// so that confirming a match reads a few contiguous words rather than the
// rule. Distinct matches may share a hash; their words tell them apart.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "slowpath/classifier.h"

namespace flowlift {

class ClsMatchList {
 public:
  const ClsRule* head() const { return head_; }
  // The head's priority, the highest of the list, kept here so that a lookup
  // that already has a better rule need not read the rule itself.
  int32_t head_priority() const { return head_priority_; }
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
      head_priority_ = rule->priority();
    } else {
      lower_.insert(lower_.begin() + static_cast<std::ptrdiff_t>(position - 1), rule);
    }
  }

  // False when `rule` is not in the list.
  bool remove(const ClsRule* rule) {
    if (rule == head_) {
      if (lower_.empty()) {
        head_ = nullptr;
        head_priority_ = INT32_MIN;
      } else {
        head_ = lower_.front();
        head_priority_ = head_->priority();
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
  int32_t head_priority_ = INT32_MIN;
  std::vector<const ClsRule*> lower_;
};

class ClsMatchTable {
 public:
  static constexpr uint32_t kNoList = UINT32_MAX;

  // Every match of the table is `n_words` masked words long.
  explicit ClsMatchTable(size_t n_words) : n_words_(n_words), stride_(n_words + kHeadWords) {}

  // Starts fetching the slot find(hash, ...) probes first.
  void prefetch_slot(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[to_key(hash) & slot_mask_]);
  }
  // Starts fetching the head rule of the list find(hash, words) returns
  // (reading the slot and the record, which prefetch_slot() warmed), and
  // returns it: the rule a lookup will most likely get from this table.
  const ClsRule* prefetch_head(uint64_t hash, const uint64_t* words) const {
    const uint32_t list = find(hash, words);
    if (list == kNoList) return nullptr;
    const ClsRule* rule = head(list);
    if (rule != nullptr) rule->prefetch_for_lookup();
    return rule;
  }

  // The list under `hash` whose match words are `words`, or kNoList.
  uint32_t find(uint64_t hash, const uint64_t* words) const {
    if (slots_.empty()) return kNoList;
    const uint64_t key = to_key(hash);
    for (size_t i = key & slot_mask_; slots_[i].key != kEmpty; i = (i + 1) & slot_mask_) {
      if (slots_[i].key != key) continue;
      const uint32_t list = slots_[i].list;
      const uint64_t* stored = records_.data() + list * stride_;
      uint64_t diff = 0;
      for (size_t k = 0; k < n_words_; ++k) diff |= stored[k] ^ words[k];
      if (diff == 0) return list;
    }
    return kNoList;
  }

  // A new, empty list for the match `words` under `hash`; the caller inserts
  // a rule into it at once. Indices and references to lists stay valid until
  // the next add() or erase().
  uint32_t add(uint64_t hash, const uint64_t* words) {
    if ((lists_.size() + 1) * 2 > slots_.size()) grow();
    const auto list = static_cast<uint32_t>(lists_.size());
    lists_.emplace_back();
    list_keys_.push_back(to_key(hash));
    records_.insert(records_.end(), words, words + n_words_);
    records_.insert(records_.end(), kHeadWords, 0);
    place(list_keys_.back(), list);
    return list;
  }

  // Removes list `list` (which is empty); the last list takes its index.
  void erase(uint32_t list) {
    erase_slot(slot_of(list));
    const auto last = static_cast<uint32_t>(lists_.size() - 1);
    if (list != last) {
      slots_[slot_of(last)].list = list;
      lists_[list] = std::move(lists_[last]);
      list_keys_[list] = list_keys_[last];
      std::copy_n(records_.data() + last * stride_, stride_, records_.data() + list * stride_);
    }
    lists_.pop_back();
    list_keys_.pop_back();
    records_.resize(records_.size() - stride_);
  }

  const ClsMatchList& list(uint32_t index) const { return lists_[index]; }
  // Rules join and leave lists through the table, which keeps each list's
  // head beside its match words (see records_).
  void insert_rule(uint32_t index, const ClsRule* rule) {
    lists_[index].insert(rule);
    store_head(index);
  }
  bool remove_rule(uint32_t index, const ClsRule* rule) {
    const bool removed = lists_[index].remove(rule);
    store_head(index);
    return removed;
  }
  // The list's head and its priority, read from the record find() just
  // compared: no other cache line.
  const ClsRule* head(uint32_t index) const {
    return reinterpret_cast<const ClsRule*>(static_cast<uintptr_t>(records_[index * stride_ + n_words_]));
  }
  int32_t head_priority(uint32_t index) const {
    return static_cast<int32_t>(static_cast<int64_t>(records_[index * stride_ + n_words_ + 1]));
  }
  size_t size() const { return lists_.size(); }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const ClsMatchList& list : lists_) visit(list);
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  // Hash 0 marks an empty slot, so it is stored as 1 (a harmless collision).
  static uint64_t to_key(uint64_t hash) { return hash == kEmpty ? 1 : hash; }

  void store_head(uint32_t index) {
    uint64_t* record = records_.data() + index * stride_ + n_words_;
    record[0] = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(lists_[index].head()));
    record[1] = static_cast<uint64_t>(static_cast<int64_t>(lists_[index].head_priority()));
  }

  size_t slot_of(uint32_t list) const {
    size_t i = list_keys_[list] & slot_mask_;
    while (slots_[i].list != list) i = (i + 1) & slot_mask_;
    return i;
  }

  void place(uint64_t key, uint32_t list) {
    size_t i = key & slot_mask_;
    while (slots_[i].key != kEmpty) i = (i + 1) & slot_mask_;
    slots_[i] = Slot{key, list};
  }

  void grow() {
    const size_t capacity = slots_.empty() ? 8 : slots_.size() * 2;
    slots_.assign(capacity, Slot{});
    slot_mask_ = capacity - 1;
    for (uint32_t list = 0; list < lists_.size(); ++list) place(list_keys_[list], list);
  }

  // Backward shift: later entries of the probe run move into the hole when
  // their home slot allows it, so lookups never need tombstones.
  void erase_slot(size_t hole) {
    for (size_t i = (hole + 1) & slot_mask_; slots_[i].key != kEmpty; i = (i + 1) & slot_mask_) {
      const size_t home = slots_[i].key & slot_mask_;
      // Movable unless its home lies cyclically in (hole, i].
      const bool home_after_hole = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (home_after_hole) continue;
      slots_[hole] = slots_[i];
      hole = i;
    }
    slots_[hole] = Slot{};
  }

  // After a list's match words: its head rule and the head's priority.
  static constexpr size_t kHeadWords = 2;
  size_t n_words_;
  size_t stride_;
  // Open addressing: the key of each slot and the list it points to, side
  // by side, so that a probe costs one cache miss where two arrays cost two
  // (with thousands of rules in a subtable every probe misses).
  struct Slot {
    uint64_t key = kEmpty;
    uint32_t list = kNoList;
  };
  std::vector<Slot> slots_;
  size_t slot_mask_ = 0;
  // Dense, by list index: the rules, the key, and the match's masked words.
  std::vector<ClsMatchList> lists_;
  std::vector<uint64_t> list_keys_;
  // Per list, stride_ words: the match's masked words, then the head rule
  // and its priority. A lookup compares the words and goes straight to the
  // head, so with thousands of rules it misses on one line here, not also
  // on the list's own.
  std::vector<uint64_t> records_;
};

}  // namespace flowlift
