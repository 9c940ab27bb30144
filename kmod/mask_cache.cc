// MaskCache: slot selection and replacement (see mask_cache.h).
#include "kmod/mask_cache.h"

#include <bit>
#include <string>

namespace flowlift {

Status MaskCache::check_size(uint32_t size) {
  if (size != 0 && !std::has_single_bit(size))
    return invalid_argument("mask cache size " + std::to_string(size) + " is not 0 or a power of two");
  if (size > kMaxSize)
    return invalid_argument("mask cache size " + std::to_string(size) + " exceeds the maximum of " +
                            std::to_string(kMaxSize) + " entries");
  return Status::ok();
}

uint32_t MaskCache::valid_size_at_most(uint32_t size) {
  if (size > kMaxSize) return kMaxSize;
  return size == 0 ? 0 : std::bit_floor(size);
}

MaskCache::MaskCache(uint32_t size) : entries_(valid_size_at_most(size)) {}

MaskCache::Probe MaskCache::probe(uint32_t packet_hash) {
  Probe result;
  if (entries_.empty()) return result;
  const uint32_t slot_mask = size() - 1;
  uint32_t bits = packet_hash;
  for (int segment = 0; segment < kSegments; ++segment) {
    MaskCacheEntry& entry = entries_[bits & slot_mask];
    if (entry.packet_hash == packet_hash) {
      result.hit = &entry;
      result.victim = nullptr;
      return result;
    }
    if (result.victim == nullptr || entry.packet_hash < result.victim->packet_hash) result.victim = &entry;
    bits >>= kHashShift;
  }
  return result;
}

void MaskCache::clear() {
  for (MaskCacheEntry& entry : entries_) entry = MaskCacheEntry{};
}

}  // namespace flowlift
