// UdpifKeyIndex: the upcall layer's ukeys by UFID (OVS's per-umap cmap of
// udpif_keys), an open-addressing table with linear probing.
//
// Why this shape: every flow setup inserts one entry and every revalidation
// round looks up every dumped flow. A node-based map (std::unordered_map)
// paid a node allocation per insert and a pointer chase per lookup (bucket
// -> node -> key), each likely a cache miss at 100k flows. Here the UFID is
// stored in the slot beside the value, so a lookup reads one slot (its
// neighbours share the line), and an insert allocates nothing until the
// table grows. Copying the index (the revalidator's snapshot) copies one
// array instead of rebuilding every node.
//
// UFIDs are hashes already (ufid_of_match), so Ufid::hash() spreads them
// well and linear probing at most half full stays short. Erase shifts the
// following entries of the run back (no tombstones), so a table that sees
// many inserts and erases does not slow down.
//
// The all-zero UFID marks an empty slot: it means "no UFID" to the datapath
// too and is never a flow's identifier, so it cannot be inserted.
//
// Not thread-safe: the caller locks (Udpif's ukeys_mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "flowlift/megaflow.h"

namespace flowlift {

template <typename Value>
class UdpifKeyIndex {
 public:
  static constexpr size_t kInitialSlots = 64;

  // The value stored under `ufid`, or nullptr.
  Value* find(const Ufid& ufid) {
    const size_t i = slot_of(ufid);
    return i == kNoSlot ? nullptr : &slots_[i].value;
  }
  const Value* find(const Ufid& ufid) const {
    const size_t i = slot_of(ufid);
    return i == kNoSlot ? nullptr : &slots_[i].value;
  }
  bool contains(const Ufid& ufid) const { return find(ufid) != nullptr; }

  // Stores `value` under `ufid` and returns true; false (leaving `value`
  // untouched) when `ufid` is present already or is the zero UFID.
  bool try_insert(const Ufid& ufid, Value&& value) {
    if (ufid.is_zero()) return false;
    if ((count_ + 1) * 2 > slots_.size()) grow();
    for (size_t i = home_of(ufid);; i = (i + 1) & slot_mask_) {
      Slot& slot = slots_[i];
      if (slot.ufid == ufid) return false;
      if (slot.ufid.is_zero()) {
        slot.ufid = ufid;
        slot.value = std::move(value);
        ++count_;
        return true;
      }
    }
  }

  // Removes `ufid`'s entry; false if there was none.
  bool erase(const Ufid& ufid) {
    size_t hole = slot_of(ufid);
    if (hole == kNoSlot) return false;
    // Backward shift: move each later entry of the run whose home is not
    // strictly after the hole into it, so every entry stays reachable from
    // its home without crossing an empty slot.
    for (size_t next = (hole + 1) & slot_mask_;; next = (next + 1) & slot_mask_) {
      Slot& candidate = slots_[next];
      if (candidate.ufid.is_zero()) break;
      const size_t home = home_of(candidate.ufid);
      // Distances from the entry's home: it may move back to the hole only
      // if the hole is no further from home than the entry is now.
      if (((next - home) & slot_mask_) >= ((next - hole) & slot_mask_)) {
        slots_[hole].ufid = candidate.ufid;
        slots_[hole].value = std::move(candidate.value);
        hole = next;
      }
    }
    slots_[hole].ufid = Ufid{};
    slots_[hole].value = Value{};
    --count_;
    return true;
  }

  // Grows the table now so that `n` entries fit without growing again.
  void reserve(size_t n) {
    while (n * 2 > slots_.size()) grow();
  }

  void clear() {
    slots_.clear();
    slot_mask_ = 0;
    count_ = 0;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // How many slots the table has (tests check growth with it).
  size_t capacity() const { return slots_.size(); }

  // Calls visit(ufid, value) for every entry, in slot order. `visit` must
  // not insert or erase.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    if (count_ == 0) return;
    for (const Slot& slot : slots_)
      if (!slot.ufid.is_zero()) visit(slot.ufid, slot.value);
  }

 private:
  struct Slot {
    Ufid ufid;  // zero: empty
    Value value{};
  };

  static constexpr size_t kNoSlot = SIZE_MAX;

  // The high bits of the hash: Ufid::hash() ends in a multiply, whose low
  // bits depend on the low input bits only.
  size_t home_of(const Ufid& ufid) const { return static_cast<size_t>(ufid.hash() >> 24) & slot_mask_; }

  size_t slot_of(const Ufid& ufid) const {
    if (count_ == 0 || ufid.is_zero()) return kNoSlot;
    for (size_t i = home_of(ufid);; i = (i + 1) & slot_mask_) {
      const Slot& slot = slots_[i];
      if (slot.ufid == ufid) return i;
      if (slot.ufid.is_zero()) return kNoSlot;
    }
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const size_t size = old.empty() ? kInitialSlots : old.size() * 2;
    slots_ = std::vector<Slot>(size);
    slot_mask_ = size - 1;
    for (Slot& slot : old) {
      if (slot.ufid.is_zero()) continue;
      size_t i = home_of(slot.ufid);
      while (!slots_[i].ufid.is_zero()) i = (i + 1) & slot_mask_;
      slots_[i].ufid = slot.ufid;
      slots_[i].value = std::move(slot.value);
    }
  }

  std::vector<Slot> slots_;
  size_t slot_mask_ = 0;
  size_t count_ = 0;
};

}  // namespace flowlift
