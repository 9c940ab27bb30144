// UdpifKeyIndex: lookups, refusals, erase within a probe run, growth, and a
// random sequence of inserts and erases checked against std::map.
#include "slowpath/udpif_key_index.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace flowlift {
namespace {

Ufid ufid_from(uint64_t low, uint64_t high) {
  Ufid ufid;
  std::memcpy(ufid.bytes.data(), &low, 8);
  std::memcpy(ufid.bytes.data() + 8, &high, 8);
  return ufid;
}

// The slot a UFID's probe starts at in a table of `slots` slots, as the
// index computes it (its documented hash: Ufid::hash()'s high bits).
size_t home_in(const Ufid& ufid, size_t slots) {
  return static_cast<size_t>(ufid.hash() >> 24) & (slots - 1);
}

// `n` distinct UFIDs that all start probing at slot `home` of the initial table.
std::vector<Ufid> colliding_ufids(size_t home, size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<Ufid> out;
  while (out.size() < n) {
    Ufid ufid = ufid_from(random(), random());
    if (home_in(ufid, UdpifKeyIndex<int>::kInitialSlots) == home) out.push_back(ufid);
  }
  return out;
}

TEST(UdpifKeyIndex, InsertedValueIsFoundAndOthersAreNot) {
  UdpifKeyIndex<int> index;
  EXPECT_EQ(index.find(ufid_from(1, 2)), nullptr);
  EXPECT_TRUE(index.try_insert(ufid_from(1, 2), 7));
  ASSERT_NE(index.find(ufid_from(1, 2)), nullptr);
  EXPECT_EQ(*index.find(ufid_from(1, 2)), 7);
  EXPECT_EQ(index.find(ufid_from(2, 1)), nullptr);
  EXPECT_EQ(index.find(ufid_from(1, 3)), nullptr);
  EXPECT_EQ(index.size(), 1u);
}

TEST(UdpifKeyIndex, SecondInsertOfAUfidIsRefusedAndLeavesBothValuesAlone) {
  UdpifKeyIndex<std::unique_ptr<int>> index;
  EXPECT_TRUE(index.try_insert(ufid_from(5, 6), std::make_unique<int>(1)));
  auto second = std::make_unique<int>(2);
  EXPECT_FALSE(index.try_insert(ufid_from(5, 6), std::move(second)));
  ASSERT_NE(second, nullptr);  // not consumed by a refused insert
  EXPECT_EQ(*second, 2);
  EXPECT_EQ(**index.find(ufid_from(5, 6)), 1);
  EXPECT_EQ(index.size(), 1u);
}

TEST(UdpifKeyIndex, ZeroUfidIsNeverStored) {
  UdpifKeyIndex<int> index;
  EXPECT_FALSE(index.try_insert(Ufid{}, 1));
  EXPECT_TRUE(index.try_insert(ufid_from(1, 0), 2));
  EXPECT_EQ(index.find(Ufid{}), nullptr);  // empty slots are not entries
  EXPECT_FALSE(index.erase(Ufid{}));
  EXPECT_EQ(index.size(), 1u);
}

TEST(UdpifKeyIndex, EraseRemovesOnlyThatEntryAndReleasesItsValue) {
  UdpifKeyIndex<std::shared_ptr<int>> index;
  auto value = std::make_shared<int>(3);
  EXPECT_TRUE(index.try_insert(ufid_from(1, 1), std::shared_ptr<int>(value)));
  EXPECT_TRUE(index.try_insert(ufid_from(2, 2), std::make_shared<int>(4)));
  EXPECT_EQ(value.use_count(), 2);
  EXPECT_TRUE(index.erase(ufid_from(1, 1)));
  EXPECT_EQ(value.use_count(), 1);
  EXPECT_FALSE(index.erase(ufid_from(1, 1)));
  EXPECT_EQ(index.find(ufid_from(1, 1)), nullptr);
  ASSERT_NE(index.find(ufid_from(2, 2)), nullptr);
  EXPECT_EQ(**index.find(ufid_from(2, 2)), 4);
  EXPECT_EQ(index.size(), 1u);
}

TEST(UdpifKeyIndex, CollidingEntriesStayReachableWhenOneInTheMiddleOfTheirRunIsErased) {
  // Five UFIDs with one home, then two whose home is the next slot: one run
  // of seven. Erasing from the middle must shift the rest back so that each
  // is still found from its home, the next-slot ones included.
  std::vector<Ufid> same = colliding_ufids(10, 5, 1);
  std::vector<Ufid> next = colliding_ufids(11, 2, 2);
  UdpifKeyIndex<int> index;
  int n = 0;
  for (const Ufid& ufid : same) EXPECT_TRUE(index.try_insert(ufid, n++));
  for (const Ufid& ufid : next) EXPECT_TRUE(index.try_insert(ufid, n++));
  ASSERT_EQ(index.capacity(), UdpifKeyIndex<int>::kInitialSlots);  // no growth reordered them
  EXPECT_TRUE(index.erase(same[1]));
  EXPECT_TRUE(index.erase(next[0]));
  EXPECT_EQ(index.find(same[1]), nullptr);
  EXPECT_EQ(index.find(next[0]), nullptr);
  const std::vector<std::pair<Ufid, int>> remaining = {
      {same[0], 0}, {same[2], 2}, {same[3], 3}, {same[4], 4}, {next[1], 6}};
  for (const auto& [ufid, value] : remaining) {
    ASSERT_NE(index.find(ufid), nullptr);
    EXPECT_EQ(*index.find(ufid), value);
  }
  EXPECT_EQ(index.size(), remaining.size());
}

TEST(UdpifKeyIndex, RunThatWrapsPastTheLastSlotIsProbedFromTheStart) {
  const size_t last = UdpifKeyIndex<int>::kInitialSlots - 1;
  std::vector<Ufid> ufids = colliding_ufids(last, 4, 3);
  UdpifKeyIndex<int> index;
  for (size_t i = 0; i < ufids.size(); ++i) EXPECT_TRUE(index.try_insert(ufids[i], static_cast<int>(i)));
  EXPECT_TRUE(index.erase(ufids[0]));
  for (size_t i = 1; i < ufids.size(); ++i) {
    ASSERT_NE(index.find(ufids[i]), nullptr) << i;
    EXPECT_EQ(*index.find(ufids[i]), static_cast<int>(i));
  }
}

TEST(UdpifKeyIndex, GrowthKeepsEveryEntryAndStaysAtMostHalfFull) {
  std::mt19937_64 random(4);
  std::vector<Ufid> ufids;
  UdpifKeyIndex<uint64_t> index;
  for (uint64_t i = 0; i < 10000; ++i) {
    ufids.push_back(ufid_from(random(), random()));
    ASSERT_TRUE(index.try_insert(ufids.back(), uint64_t{i}));
  }
  EXPECT_EQ(index.size(), 10000u);
  EXPECT_GE(index.capacity(), 2 * index.size());
  for (uint64_t i = 0; i < ufids.size(); ++i) {
    ASSERT_NE(index.find(ufids[i]), nullptr) << i;
    EXPECT_EQ(*index.find(ufids[i]), i);
  }
}

TEST(UdpifKeyIndex, ReserveMakesRoomSoThatTheInsertsDoNotGrowTheTable) {
  UdpifKeyIndex<uint64_t> index;
  index.reserve(1000);
  const size_t reserved = index.capacity();
  EXPECT_GE(reserved, 2000u);
  std::mt19937_64 random(6);
  for (uint64_t i = 0; i < 1000; ++i)
    ASSERT_TRUE(index.try_insert(ufid_from(random(), random()), uint64_t{i}));
  EXPECT_EQ(index.capacity(), reserved);
  EXPECT_EQ(index.size(), 1000u);
}

TEST(UdpifKeyIndex, CopyIsIndependentOfTheOriginal) {
  UdpifKeyIndex<int> index;
  EXPECT_TRUE(index.try_insert(ufid_from(1, 1), 1));
  UdpifKeyIndex<int> copy = index;
  EXPECT_TRUE(index.erase(ufid_from(1, 1)));
  EXPECT_TRUE(index.try_insert(ufid_from(2, 2), 2));
  ASSERT_NE(copy.find(ufid_from(1, 1)), nullptr);
  EXPECT_EQ(copy.find(ufid_from(2, 2)), nullptr);
  EXPECT_EQ(copy.size(), 1u);
}

TEST(UdpifKeyIndex, RandomInsertsAndErasesAgreeWithAnOrderedMap) {
  // A small UFID space (many repeats, erases of absent entries) and low
  // words that collide often: runs form, wrap and are cut in the middle.
  std::mt19937_64 random(5);
  UdpifKeyIndex<uint64_t> index;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> reference;
  for (int step = 0; step < 20000; ++step) {
    const uint64_t low = random() % 600, high = random() % 3;
    const Ufid ufid = ufid_from(low, high);
    if (ufid.is_zero()) continue;
    const uint64_t value = random();
    if (random() % 3 == 0) {
      EXPECT_EQ(index.erase(ufid), reference.erase({low, high}) == 1) << step;
    } else {
      EXPECT_EQ(index.try_insert(ufid, uint64_t{value}),
                reference.emplace(std::pair{low, high}, value).second)
          << step;
    }
    ASSERT_EQ(index.size(), reference.size()) << step;
  }
  for (const auto& [key, value] : reference) {
    const uint64_t* found = index.find(ufid_from(key.first, key.second));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, value);
  }
  size_t visited = 0;
  index.for_each([&](const Ufid& ufid, const uint64_t& value) {
    uint64_t low, high;
    std::memcpy(&low, ufid.bytes.data(), 8);
    std::memcpy(&high, ufid.bytes.data() + 8, 8);
    auto it = reference.find({low, high});
    ASSERT_NE(it, reference.end());
    EXPECT_EQ(it->second, value);
    ++visited;
  });
  EXPECT_EQ(visited, reference.size());
}

}  // namespace
}  // namespace flowlift
