// MaskCache: the kernel's four-segment probing and replacement choice.
#include "kmod/mask_cache.h"

#include <gtest/gtest.h>

namespace flowlift {
namespace {

// Stores `hash` where a lookup that found a flow would.
MaskCacheEntry* remember(MaskCache& cache, uint32_t hash, uint32_t mask_index) {
  MaskCache::Probe probe = cache.probe(hash);
  MaskCacheEntry* entry = probe.hit != nullptr ? probe.hit : probe.victim;
  entry->packet_hash = hash;
  entry->mask_index = mask_index;
  return entry;
}

TEST(MaskCache, RememberedHashIsFoundWithItsMaskIndex) {
  MaskCache cache;
  remember(cache, 0x04030201, 5);
  MaskCache::Probe probe = cache.probe(0x04030201);
  ASSERT_NE(probe.hit, nullptr);
  EXPECT_EQ(probe.hit->mask_index, 5u);
  EXPECT_EQ(probe.victim, nullptr);
  EXPECT_EQ(cache.probe(0x04030202).hit, nullptr);
}

TEST(MaskCache, HashWhoseFirstSlotIsTakenUsesItsNextSegment) {
  MaskCache cache(256);
  MaskCacheEntry* first = remember(cache, 0x11111101, 1);   // slot 0x01
  MaskCacheEntry* second = remember(cache, 0x22222201, 2);  // slot 0x01 taken: next segment, slot 0x22
  EXPECT_NE(first, second);
  EXPECT_EQ(cache.probe(0x11111101).hit, first);
  EXPECT_EQ(cache.probe(0x22222201).hit, second);
}

TEST(MaskCache, WhenEverySegmentIsTakenTheSmallestStoredHashIsReplaced) {
  MaskCache cache(256);
  remember(cache, 0x50000001, 0);  // lands in slot 1
  remember(cache, 0x30000002, 0);  // slot 2
  remember(cache, 0x60000003, 0);  // slot 3
  remember(cache, 0x40000004, 0);  // slot 4
  // 0x04030201 probes slots 1, 2, 3, 4.
  MaskCache::Probe probe = cache.probe(0x04030201);
  EXPECT_EQ(probe.hit, nullptr);
  ASSERT_NE(probe.victim, nullptr);
  EXPECT_EQ(probe.victim->packet_hash, 0x30000002u);
}

TEST(MaskCache, ZeroSizedCacheNeverHitsNorOffersAVictim) {
  MaskCache cache(0);
  MaskCache::Probe probe = cache.probe(7);
  EXPECT_EQ(probe.hit, nullptr);
  EXPECT_EQ(probe.victim, nullptr);
}

TEST(MaskCache, ClearForgetsEveryEntry) {
  MaskCache cache;
  remember(cache, 0x04030201, 5);
  cache.clear();
  EXPECT_EQ(cache.probe(0x04030201).hit, nullptr);
}

TEST(MaskCache, SizeMustBeZeroOrAPowerOfTwoWithinAPerCpuUnit) {
  EXPECT_TRUE(MaskCache::check_size(0).is_ok());
  EXPECT_TRUE(MaskCache::check_size(1).is_ok());
  EXPECT_TRUE(MaskCache::check_size(256).is_ok());
  EXPECT_TRUE(MaskCache::check_size(4096).is_ok());
  Status odd = MaskCache::check_size(300);
  EXPECT_EQ(odd.code(), EINVAL);
  EXPECT_NE(odd.message().find("300"), std::string::npos);
  EXPECT_EQ(MaskCache::check_size(8192).code(), EINVAL);
  EXPECT_EQ(MaskCache::valid_size_at_most(300), 256u);
  EXPECT_EQ(MaskCache::valid_size_at_most(1u << 20), 4096u);
  EXPECT_EQ(MaskCache(300).size(), 256u);
}

}  // namespace
}  // namespace flowlift
