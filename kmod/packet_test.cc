// Packet buffer: growing and shrinking in place keeps layer offsets honest.
#include "flowlift/packet.h"

#include <gtest/gtest.h>

#include <numeric>

namespace flowlift {
namespace {

std::vector<uint8_t> frame(size_t n) {
  std::vector<uint8_t> f(n);
  std::iota(f.begin(), f.end(), 0);
  return f;
}

TEST(Packet, InsertInMiddleShiftsLaterOffsetsAndKeepsBytes) {
  auto f = frame(60);
  Packet p(f);
  p.l3_ofs = 14;
  p.l4_ofs = 34;
  uint8_t* tag = p.insert(12, 4);
  std::fill(tag, tag + 4, 0xee);
  ASSERT_EQ(p.size(), 64u);
  EXPECT_EQ(p.l3_ofs, 18);
  EXPECT_EQ(p.l4_ofs, 38);
  EXPECT_EQ(p.data()[11], 11);
  EXPECT_EQ(p.data()[12], 0xee);
  EXPECT_EQ(p.data()[16], 12);
}

TEST(Packet, EraseDropsOffsetsInsideRemovedSpan) {
  auto f = frame(60);
  Packet p(f);
  p.l2_5_ofs = 14;
  p.l3_ofs = 18;
  p.erase(14, 4);
  EXPECT_EQ(p.l2_5_ofs, Packet::kNoOffset);
  EXPECT_EQ(p.l3_ofs, 14);
  EXPECT_EQ(p.data()[14], 18);
}

TEST(Packet, PushFrontBeyondHeadroomReallocates) {
  auto f = frame(20);
  Packet p(f, 4);
  uint8_t* hdr = p.push_front(50);
  std::fill(hdr, hdr + 50, 0xaa);
  ASSERT_EQ(p.size(), 70u);
  EXPECT_EQ(p.data()[50], 0);
  EXPECT_EQ(p.data()[69], 19);
  p.pull_front(50);
  EXPECT_EQ(p.size(), 20u);
  EXPECT_EQ(p.data()[0], 0);
}

TEST(Packet, TruncateOnlyShrinks) {
  auto f = frame(20);
  Packet p(f);
  p.truncate(30);
  EXPECT_EQ(p.size(), 20u);
  p.truncate(10);
  EXPECT_EQ(p.size(), 10u);
}

}  // namespace
}  // namespace flowlift
