// ClsHashCounter: a counting set of 64-bit hashes, the classifier's per-stage
// index (OVS's ccmap in each subtable's `indices`). A subtable counts, per
// lookup stage, the hash of every rule's match over the stages so far; a
// lookup whose hash is absent knows no rule can match without looking at
// later stages, so their bits stay wildcarded.
//
// Why this shape: lookups probe it once per stage per subtable, so it is a
// flat open-addressing table (linear probing, at most half full, backward
// shift deletion, no tombstones): one cache line per probe in the common
// case and no pointers to chase. Keys and counts are separate arrays so that
// a probe only reads keys. A collision of two different matches' hashes only
// means a lookup goes on to the next stage, never a wrong result: the final
// stage compares the rules themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flowlift {

class ClsHashCounter {
 public:
  bool contains(uint64_t hash) const {
    if (keys_.empty()) return false;
    const uint64_t key = to_key(hash);
    for (size_t i = key & slot_mask_;; i = (i + 1) & slot_mask_) {
      if (keys_[i] == key) return true;
      if (keys_[i] == kEmpty) return false;
    }
  }

  // Starts fetching the slot contains(hash) reads first (a batch of lookups
  // overlaps these misses instead of taking them one after another).
  void prefetch(uint64_t hash) const {
    if (!keys_.empty()) __builtin_prefetch(&keys_[to_key(hash) & slot_mask_]);
  }
  void increment(uint64_t hash) {
    if ((n_keys_ + 1) * 2 > keys_.size()) grow();
    const uint64_t key = to_key(hash);
    size_t i = key & slot_mask_;
    for (; keys_[i] != kEmpty; i = (i + 1) & slot_mask_) {
      if (keys_[i] == key) {
        ++counts_[i];
        return;
      }
    }
    keys_[i] = key;
    counts_[i] = 1;
    ++n_keys_;
  }

  // Takes one count of `hash` away; false if it was not counted.
  bool decrement(uint64_t hash) {
    if (keys_.empty()) return false;
    const uint64_t key = to_key(hash);
    size_t i = key & slot_mask_;
    for (; keys_[i] != key; i = (i + 1) & slot_mask_) {
      if (keys_[i] == kEmpty) return false;
    }
    if (--counts_[i] == 0) erase_slot(i);
    return true;
  }

  // Distinct hashes counted.
  size_t size() const { return n_keys_; }

 private:
  static constexpr uint64_t kEmpty = 0;

  // Hash 0 marks an empty slot, so it is stored as 1 (a harmless collision).
  static uint64_t to_key(uint64_t hash) { return hash == kEmpty ? 1 : hash; }

  void grow() {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<uint32_t> old_counts = std::move(counts_);
    const size_t capacity = old_keys.empty() ? 8 : old_keys.size() * 2;
    keys_.assign(capacity, kEmpty);
    counts_.assign(capacity, 0);
    slot_mask_ = capacity - 1;
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == kEmpty) continue;
      size_t i = old_keys[j] & slot_mask_;
      while (keys_[i] != kEmpty) i = (i + 1) & slot_mask_;
      keys_[i] = old_keys[j];
      counts_[i] = old_counts[j];
    }
  }

  // Backward shift: later entries of the probe run move into the hole when
  // their home slot allows it, so lookups never need tombstones.
  void erase_slot(size_t hole) {
    --n_keys_;
    for (size_t i = (hole + 1) & slot_mask_; keys_[i] != kEmpty; i = (i + 1) & slot_mask_) {
      const size_t home = keys_[i] & slot_mask_;
      // Movable unless its home lies cyclically in (hole, i].
      const bool home_after_hole = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (home_after_hole) continue;
      keys_[hole] = keys_[i];
      counts_[hole] = counts_[i];
      hole = i;
    }
    keys_[hole] = kEmpty;
    counts_[hole] = 0;
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_;
  size_t slot_mask_ = 0;
  size_t n_keys_ = 0;
};

}  // namespace flowlift
