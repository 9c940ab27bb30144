// TC priority allocation: one priority per (protocol, mask shape), as OVS's
// get_prio_for_tc_flower; key values, actions, chain and device do not
// change the shape, OVS's reserved priorities 0 and 1 are never handed out,
// and the allocator is safe to share between threads.
#include "offload/tc_priority_allocator.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace flowlift {
namespace {

using F = TcFlowerField;

TcFlowerKey shape_key(F field, std::initializer_list<uint8_t> value, std::initializer_list<uint8_t> mask) {
  TcFlowerKey key;
  key.field = field;
  std::copy(value.begin(), value.end(), key.value.begin());
  std::copy(mask.begin(), mask.end(), key.mask.begin());
  return key;
}

TcFlowerRule ipv4_rule(std::initializer_list<uint8_t> dst, std::initializer_list<uint8_t> dst_mask) {
  TcFlowerRule rule;
  rule.device = "eth2";
  rule.ifindex = 5;
  rule.protocol = htons(0x0800);
  rule.match.set(shape_key(F::kEthType, {0x08, 0x00}, {0xff, 0xff}));
  rule.match.set(shape_key(F::kIpv4Dst, dst, dst_mask));
  rule.actions.push_back(TcDropAction{});
  return rule;
}

TEST(TcPriorityAllocator, TheSameShapeGetsTheSamePriorityWhateverTheValuesActionsAndPlace) {
  TcPriorityAllocator allocator;
  TcFlowerRule first = ipv4_rule({10, 0, 0, 0}, {255, 255, 255, 0});
  TcFlowerRule second = ipv4_rule({192, 168, 7, 0}, {255, 255, 255, 0});
  second.actions = {TcMirredAction{}, TcVlanPopAction{}};
  second.device = "eth9";
  second.ifindex = 9;
  second.chain = 4;
  auto a = allocator.priority_for(first);
  auto b = allocator.priority_for(second);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, kTcFirstFlowerPriority);  // 0 and 1 are OVS's reserved priorities
  EXPECT_EQ(*b, *a);
  EXPECT_EQ(*allocator.priority_for(first), *a);
  EXPECT_EQ(allocator.shapes(), 1u);
}

TEST(TcPriorityAllocator, ADifferentMaskOrFieldSetGetsADifferentPriority) {
  TcPriorityAllocator allocator;
  const uint16_t slash24 = *allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {255, 255, 255, 0}));
  const uint16_t slash32 = *allocator.priority_for(ipv4_rule({10, 0, 0, 1}, {255, 255, 255, 255}));
  TcFlowerRule with_port = ipv4_rule({10, 0, 0, 1}, {255, 255, 255, 255});
  with_port.match.set(shape_key(F::kIpProto, {6}, {0xff}));
  with_port.match.set(shape_key(F::kTcpDst, {0, 80}, {0xff, 0xff}));
  const uint16_t with_tcp_dst = *allocator.priority_for(with_port);
  EXPECT_EQ(std::set<uint16_t>({slash24, slash32, with_tcp_dst}).size(), 3u);
  EXPECT_EQ(std::set<uint16_t>({slash24, slash32, with_tcp_dst}), std::set<uint16_t>({2, 3, 4}));
}

TEST(TcPriorityAllocator, TheSameMasksUnderAnotherProtocolGetAnotherPriority) {
  TcPriorityAllocator allocator;
  TcFlowerRule ipv4 = ipv4_rule({10, 0, 0, 1}, {255, 255, 255, 255});
  TcFlowerRule other = ipv4;
  other.protocol = htons(0x8100);  // same flower keys, a VLAN-tagged filter
  EXPECT_NE(*allocator.priority_for(ipv4), *allocator.priority_for(other));
}

TEST(TcPriorityAllocator, AKeyWithAZeroMaskIsNotPartOfTheShape) {
  TcPriorityAllocator allocator;
  TcFlowerRule plain = ipv4_rule({10, 0, 0, 1}, {255, 255, 255, 255});
  TcFlowerRule with_wildcard = plain;
  with_wildcard.match.set(shape_key(F::kIpTos, {0}, {0}));
  EXPECT_EQ(*allocator.priority_for(plain), *allocator.priority_for(with_wildcard));
}

TEST(TcPriorityAllocator, RunningOutOfPrioritiesIsAnErrorAndKnownShapesStillAnswer) {
  TcPriorityAllocator allocator(10, 12);
  std::vector<uint16_t> given;
  for (uint8_t prefix_byte : {0x80, 0xc0, 0xe0}) {
    auto priority = allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {prefix_byte, 0, 0, 0}));
    ASSERT_TRUE(priority) << priority.status().message();
    given.push_back(*priority);
  }
  EXPECT_EQ(given, (std::vector<uint16_t>{10, 11, 12}));
  auto exhausted = allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {0xf0, 0, 0, 0}));
  ASSERT_FALSE(exhausted);
  EXPECT_EQ(exhausted.status().code(), ENOSPC);
  EXPECT_NE(exhausted.status().message().find("all 3 TC priorities (10..12)"), std::string::npos)
      << exhausted.status().message();
  EXPECT_EQ(*allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {0xc0, 0, 0, 0})), 11);
}

TEST(TcPriorityAllocator, TheWholeSixteenBitRangeCanBeHandedOut) {
  TcPriorityAllocator allocator(65534, 65535);
  EXPECT_EQ(*allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {0x80, 0, 0, 0})), 65534);
  EXPECT_EQ(*allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {0xc0, 0, 0, 0})), 65535);
  EXPECT_FALSE(allocator.priority_for(ipv4_rule({10, 0, 0, 0}, {0xe0, 0, 0, 0})));
}

TEST(TcPriorityAllocator, ThreadsAskingForTheSameShapesAgreeOnOnePriorityEach) {
  constexpr int kShapes = 48;
  constexpr int kThreads = 4;
  TcPriorityAllocator allocator;
  std::vector<TcFlowerRule> rules;
  for (int i = 0; i < kShapes; ++i) {
    // Shape i: IPv4 destination prefix of length i % 32 + 1, with or without an ip_tos mask.
    const int length = i % 32 + 1;
    std::array<uint8_t, 4> mask{};
    for (int bit = 0; bit < length; ++bit) mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    TcFlowerRule rule = ipv4_rule({10, 0, 0, 0}, {mask[0], mask[1], mask[2], mask[3]});
    if (i >= 32) rule.match.set(shape_key(F::kIpTos, {0}, {0xfc}));
    rules.push_back(rule);
  }
  std::vector<std::vector<uint16_t>> seen(kThreads, std::vector<uint16_t>(kShapes));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kShapes);
      for (int i = 0; i < kShapes; ++i) order[i] = i;
      std::mt19937 random(1000 + t);  // fixed seeds: each thread its own order
      std::shuffle(order.begin(), order.end(), random);
      for (int round = 0; round < 3; ++round)
        for (int i : order) {
          auto priority = allocator.priority_for(rules[i]);
          seen[t][i] = priority ? *priority : 0;
        }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint16_t> distinct;
  for (int i = 0; i < kShapes; ++i) {
    for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t][i], seen[0][i]) << "shape " << i;
    distinct.insert(seen[0][i]);
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kShapes));
  EXPECT_EQ(*distinct.begin(), kTcFirstFlowerPriority);
  EXPECT_EQ(*distinct.rbegin(), kTcFirstFlowerPriority + kShapes - 1);
  EXPECT_EQ(allocator.shapes(), static_cast<size_t>(kShapes));
}

}  // namespace
}  // namespace flowlift
