// QuiescentReclaimer: an object is freed only after every online reader has
// passed a quiescent point that follows its retirement.
#include "kmod/quiescent_reclaimer.h"

#include <gtest/gtest.h>

#include <memory>

namespace flowlift {
namespace {

struct Tracked final : Retirable {
  explicit Tracked(bool* freed) : freed_(freed) {}
  ~Tracked() override { *freed_ = true; }
  bool* freed_;
};

// Every test declares its flags before the reclaimer: the reclaimer's
// destructor frees (and so writes to the flag of) whatever is still pending.
TEST(QuiescentReclaimer, WithoutReadersRetiredObjectsAreFreedAtOnce) {
  bool freed = false;
  QuiescentReclaimer reclaimer;
  reclaimer.retire(std::make_unique<Tracked>(&freed));
  EXPECT_EQ(reclaimer.reclaim(), 1u);
  EXPECT_TRUE(freed);
}

TEST(QuiescentReclaimer, ObjectWaitsUntilTheOnlineReaderQuiesces) {
  bool freed = false;
  QuiescentReclaimer reclaimer;
  QuiescentReclaimer::Reader reader(reclaimer);
  const uint64_t epoch = reclaimer.retire(std::make_unique<Tracked>(&freed));
  EXPECT_EQ(reclaimer.reclaim(), 0u);
  EXPECT_FALSE(freed);
  EXPECT_FALSE(reclaimer.grace_period_elapsed(epoch));
  reader.quiescent();
  EXPECT_TRUE(reclaimer.grace_period_elapsed(epoch));
  EXPECT_EQ(reclaimer.reclaim(), 1u);
  EXPECT_TRUE(freed);
}

TEST(QuiescentReclaimer, QuiescentPointBeforeTheRetirementDoesNotCount) {
  bool freed = false;
  QuiescentReclaimer reclaimer;
  QuiescentReclaimer::Reader reader(reclaimer);
  reader.quiescent();
  reclaimer.retire(std::make_unique<Tracked>(&freed));
  reclaimer.reclaim();
  EXPECT_FALSE(freed);
  EXPECT_EQ(reclaimer.pending(), 1u);
}

TEST(QuiescentReclaimer, SlowestReaderDecides) {
  bool freed = false;
  QuiescentReclaimer reclaimer;
  QuiescentReclaimer::Reader fast(reclaimer);
  QuiescentReclaimer::Reader slow(reclaimer);
  reclaimer.retire(std::make_unique<Tracked>(&freed));
  fast.quiescent();
  reclaimer.reclaim();
  EXPECT_FALSE(freed);
  slow.quiescent();
  reclaimer.reclaim();
  EXPECT_TRUE(freed);
}

TEST(QuiescentReclaimer, OfflineReaderHoldsNothingBack) {
  bool freed = false;
  bool second = false;
  QuiescentReclaimer reclaimer;
  QuiescentReclaimer::Reader reader(reclaimer);
  reader.offline();
  EXPECT_FALSE(reader.is_online());
  reclaimer.retire(std::make_unique<Tracked>(&freed));
  reclaimer.reclaim();
  EXPECT_TRUE(freed);
  reader.online();
  EXPECT_TRUE(reader.is_online());
  reclaimer.retire(std::make_unique<Tracked>(&second));
  reclaimer.reclaim();
  EXPECT_FALSE(second);
}

TEST(QuiescentReclaimer, ReaderIdsOfDestroyedReadersAreReused) {
  QuiescentReclaimer reclaimer;
  auto first = std::make_unique<QuiescentReclaimer::Reader>(reclaimer);
  QuiescentReclaimer::Reader second(reclaimer);
  EXPECT_NE(first->id(), second.id());
  const uint32_t freed_id = first->id();
  first.reset();
  EXPECT_EQ(reclaimer.reader_count(), 1u);
  QuiescentReclaimer::Reader third(reclaimer);
  EXPECT_EQ(third.id(), freed_id);
}

TEST(QuiescentReclaimer, DestroyedReaderNoLongerHoldsBackReclamation) {
  bool freed = false;
  QuiescentReclaimer reclaimer;
  auto reader = std::make_unique<QuiescentReclaimer::Reader>(reclaimer);
  reclaimer.retire(std::make_unique<Tracked>(&freed));
  reader.reset();
  reclaimer.reclaim();
  EXPECT_TRUE(freed);
}

TEST(QuiescentReclaimer, DestructorFreesWhatIsStillPendingAndReadersMayOutliveIt) {
  bool freed = false;
  auto reclaimer = std::make_unique<QuiescentReclaimer>();
  auto reader = std::make_unique<QuiescentReclaimer::Reader>(*reclaimer);
  reclaimer->retire(std::make_unique<Tracked>(&freed));
  reclaimer.reset();
  EXPECT_TRUE(freed);
  reader->quiescent();
  reader.reset();
}

}  // namespace
}  // namespace flowlift
