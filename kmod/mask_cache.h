// MaskCache: one lookup thread's memory of which mask last matched a packet
// hash (the kernel's per-CPU mask_cache in net/openvswitch/flow_table.c).
//
// An entry stores a packet hash and the index, in the table's mask list, of
// the mask whose flow matched. The cache is loose on purpose: the mask list
// changes under it (masks added, removed, reordered by rebalance), so an
// index is only a first guess that the lookup verifies. A hash is looked up
// in up to kSegments places: each segment takes the next kHashShift bits of
// the hash as the slot index, so a collision in one slot still leaves
// three other chances.
#pragma once

#include <cstdint>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct MaskCacheEntry {
  uint32_t packet_hash = 0;  // 0: empty (the kernel never caches hash 0)
  uint32_t mask_index = 0;
};

class MaskCache {
 public:
  static constexpr uint32_t kHashShift = 8;                             // MC_HASH_SHIFT
  static constexpr int kSegments = 32 / kHashShift;                     // MC_HASH_SEGS
  static constexpr uint32_t kDefaultSize = 256;                         // MC_DEFAULT_HASH_ENTRIES
  static constexpr uint32_t kMaxSize = 32768 / sizeof(MaskCacheEntry);  // PCPU_MIN_UNIT_SIZE bound

  // The kernel accepts 0 (cache disabled) or a power of two that fits a
  // per-CPU unit (OVS_DP_ATTR_MASKS_CACHE_SIZE).
  static Status check_size(uint32_t size);
  // The largest valid size not above `size`.
  static uint32_t valid_size_at_most(uint32_t size);

  // `size` must pass check_size; other values are lowered to valid_size_at_most.
  explicit MaskCache(uint32_t size = kDefaultSize);

  uint32_t size() const { return static_cast<uint32_t>(entries_.size()); }

  // Where a lookup for `packet_hash` (non-zero) stands: `hit` is the entry
  // holding that hash, if any; otherwise `victim` is the entry to overwrite
  // should the full lookup find a flow (among the probed slots, the one
  // with the smallest stored hash, so empty slots go first).
  struct Probe {
    MaskCacheEntry* hit = nullptr;
    MaskCacheEntry* victim = nullptr;
  };
  Probe probe(uint32_t packet_hash);

  void clear();

 private:
  std::vector<MaskCacheEntry> entries_;
};

}  // namespace flowlift
