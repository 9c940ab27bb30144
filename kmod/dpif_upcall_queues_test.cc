// DpifUpcallQueues: each port's upcalls come out in the order they went in,
// ports are served round robin, a full port loses only its own upcalls, and
// none of that changes when a queue's storage is reused or compacted.
#include "kmod/dpif_upcall_queues.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <thread>

namespace flowlift {
namespace {

// The upcall's hash field carries a serial number, so that order is visible.
DpifUpcall numbered_upcall(uint32_t port, uint32_t serial) {
  DpifUpcall upcall;
  upcall.key.in_port = port;
  upcall.hash = serial;
  return upcall;
}

std::vector<std::pair<uint32_t, uint32_t>> pop_all(DpifUpcallQueues& queues, size_t max) {
  std::vector<DpifUpcall> out;
  queues.pop(max, out);
  std::vector<std::pair<uint32_t, uint32_t>> seen;
  for (const DpifUpcall& upcall : out) seen.emplace_back(upcall.key.in_port, upcall.hash);
  return seen;
}

TEST(DpifUpcallQueues, PortsAreServedInTurnAndEachInArrivalOrder) {
  DpifUpcallQueues queues(10);
  for (uint32_t serial : {1u, 2u, 3u}) ASSERT_TRUE(queues.push(7, numbered_upcall(7, serial)));
  ASSERT_TRUE(queues.push(3, numbered_upcall(3, 10)));
  ASSERT_TRUE(queues.push(3, numbered_upcall(3, 11)));
  // last served port starts at 0: port 3 first, then 7, then 3 again.
  std::vector<std::pair<uint32_t, uint32_t>> expected = {{3, 10}, {7, 1}, {3, 11}, {7, 2}, {7, 3}};
  EXPECT_EQ(pop_all(queues, 100), expected);
  EXPECT_EQ(queues.size(), 0u);
}

TEST(DpifUpcallQueues, AFullPortRefusesOnlyItsOwnUpcalls) {
  DpifUpcallQueues queues(2);
  EXPECT_TRUE(queues.push(1, numbered_upcall(1, 1)));
  EXPECT_TRUE(queues.push(1, numbered_upcall(1, 2)));
  EXPECT_FALSE(queues.push(1, numbered_upcall(1, 3)));
  EXPECT_TRUE(queues.push(2, numbered_upcall(2, 4)));
  EXPECT_EQ(queues.size(), 3u);
  // Room again once one is taken.
  EXPECT_EQ(pop_all(queues, 1), (std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}}));
  EXPECT_TRUE(queues.push(1, numbered_upcall(1, 5)));
}

TEST(DpifUpcallQueues, AForgottenPortsUpcallsAreDropped) {
  DpifUpcallQueues queues(10);
  queues.push(1, numbered_upcall(1, 1));
  queues.push(2, numbered_upcall(2, 2));
  queues.forget_port(1);
  EXPECT_EQ(queues.size(), 1u);
  EXPECT_EQ(pop_all(queues, 10), (std::vector<std::pair<uint32_t, uint32_t>>{{2, 2}}));
}

// Random pushes and pops (fixed seed) against a model of per-port FIFOs
// served round robin: storage reuse after a drain and the compaction of a
// queue that is never drained must not reorder, lose or duplicate upcalls.
TEST(DpifUpcallQueues, RandomPushesAndPopsMatchPerPortFifosServedInTurn) {
  constexpr size_t kLimit = 40;
  DpifUpcallQueues queues(kLimit);
  std::map<uint32_t, std::deque<uint32_t>> model;
  uint32_t last_served = 0;
  std::mt19937 random(12345);
  uint32_t serial = 0;
  for (int step = 0; step < 20000; ++step) {
    if (random() % 3 != 0) {
      uint32_t port = 1 + random() % 3;
      bool accepted = queues.push(port, numbered_upcall(port, ++serial));
      ASSERT_EQ(accepted, model[port].size() < kLimit) << "step " << step;
      if (accepted) model[port].push_back(serial);
    } else {
      size_t max = 1 + random() % 8;
      std::vector<std::pair<uint32_t, uint32_t>> expected;
      while (expected.size() < max) {
        auto next = model.upper_bound(last_served);
        size_t looked = 0;
        for (; looked < model.size(); ++looked, ++next) {
          if (next == model.end()) next = model.begin();
          if (!next->second.empty()) break;
        }
        if (looked == model.size()) break;  // all empty
        expected.emplace_back(next->first, next->second.front());
        next->second.pop_front();
        last_served = next->first;
      }
      ASSERT_EQ(pop_all(queues, max), expected) << "step " << step;
    }
    size_t total = 0;
    for (const auto& [port, fifo] : model) total += fifo.size();
    ASSERT_EQ(queues.size(), total);
  }
}

TEST(DpifUpcallQueues, APushWakesAWaitingReader) {
  DpifUpcallQueues queues(10);
  auto start = std::chrono::steady_clock::now();
  std::thread reader([&] { queues.wait(std::chrono::milliseconds(60000)); });
  // Whether the reader is already waiting or not, the push ends its wait
  // (wait() returns at once when an upcall is queued); a lost wakeup would
  // keep it for the whole minute.
  queues.push(1, numbered_upcall(1, 1));
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(queues.size(), 1u);
}

TEST(DpifUpcallQueues, DeferredPushesAreSeenAndWokenForAtTheEndOfTheBatch) {
  DpifUpcallQueues queues(10);
  auto start = std::chrono::steady_clock::now();
  std::thread reader([&] { queues.wait(std::chrono::milliseconds(60000)); });
  for (uint32_t serial = 1; serial <= 3; ++serial)
    ASSERT_TRUE(queues.push(1, numbered_upcall(1, serial), /*defer_wakeup=*/true));
  queues.wake_for_queued();
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Deferring changes when readers hear of them, not what they get.
  EXPECT_EQ(pop_all(queues, 10), (std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {1, 2}, {1, 3}}));
}

TEST(DpifUpcallQueues, DeferredPushesStillRespectThePortLimit) {
  DpifUpcallQueues queues(2);
  EXPECT_TRUE(queues.push(1, numbered_upcall(1, 1), true));
  EXPECT_TRUE(queues.push(1, numbered_upcall(1, 2), true));
  EXPECT_FALSE(queues.push(1, numbered_upcall(1, 3), true));
  EXPECT_EQ(queues.size(), 2u);
}

}  // namespace
}  // namespace flowlift
