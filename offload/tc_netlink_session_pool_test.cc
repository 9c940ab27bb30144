// The pool of netlink sessions TC offload lends to concurrent callers:
// sessions are opened only when every open one is lent, never more than the
// bound (a caller then waits for one to come back), a session given back is
// lent again, and a pool that can open none says why.
#include "offload/tc_netlink_session_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "offload/tc_netlink_scripted_kernel_for_tests.h"

namespace flowlift {
namespace {

using tc_netlink_scripted::ScriptedSession;

struct CountingOpener {
  std::shared_ptr<std::atomic<int>> opened = std::make_shared<std::atomic<int>>(0);
  TcNetlinkSessionPool::Opener opener() const {
    return [count = opened]() -> Result<TcNetlinkSession> {
      ++*count;
      auto kernel = std::make_shared<tc_netlink_scripted::ScriptedRtnetlinkState>();
      return ScriptedSession::make(kernel, {}, 1 << 20);
    };
  }
};

TEST(TcNetlinkSessionPool, OpensASessionOnlyWhenEveryOpenOneIsLentUpToTheBound) {
  CountingOpener counting;
  TcNetlinkSessionPool pool(std::nullopt, counting.opener(), 2);
  EXPECT_EQ(pool.sessions_open(), 0u) << "nothing opened before it is needed";
  {
    Result<TcNetlinkSessionPool::Lease> first = pool.borrow();
    ASSERT_TRUE(first) << first.status().message();
    Result<TcNetlinkSessionPool::Lease> second = pool.borrow();
    ASSERT_TRUE(second) << second.status().message();
    EXPECT_NE(&first->session(), &second->session());
    EXPECT_EQ(*counting.opened, 2);
  }
  // Both came back: the next callers get them again, nothing new is opened.
  Result<TcNetlinkSessionPool::Lease> again = pool.borrow();
  ASSERT_TRUE(again);
  Result<TcNetlinkSessionPool::Lease> and_again = pool.borrow();
  ASSERT_TRUE(and_again);
  EXPECT_EQ(*counting.opened, 2);
  EXPECT_EQ(pool.sessions_open(), 2u);
  EXPECT_EQ(pool.most_lent_at_once(), 2u);
}

TEST(TcNetlinkSessionPool, TheGivenFirstSessionIsLentBeforeAnyIsOpened) {
  CountingOpener counting;
  auto kernel = std::make_shared<tc_netlink_scripted::ScriptedRtnetlinkState>();
  TcNetlinkSessionPool pool(ScriptedSession::make(kernel, {}, 1 << 20), counting.opener(), 4);
  Result<TcNetlinkSessionPool::Lease> lease = pool.borrow();
  ASSERT_TRUE(lease);
  EXPECT_EQ(*counting.opened, 0);
  EXPECT_EQ(pool.sessions_open(), 1u);
}

TEST(TcNetlinkSessionPool, ACallerFindingEverySessionLentWaitsForOneInsteadOfOpeningMore) {
  CountingOpener counting;
  TcNetlinkSessionPool pool(std::nullopt, counting.opener(), 1);
  Result<TcNetlinkSessionPool::Lease> first = pool.borrow();
  ASSERT_TRUE(first) << first.status().message();
  std::optional<TcNetlinkSessionPool::Lease> held(std::move(*first));
  std::atomic<bool> got{false};
  TcNetlinkSession* lent_to_other = nullptr;
  std::thread other([&] {
    Result<TcNetlinkSessionPool::Lease> lease = pool.borrow();
    ASSERT_TRUE(lease) << lease.status().message();
    lent_to_other = &lease->session();
    got = true;
  });
  TcNetlinkSession* mine = &held->session();
  held.reset();  // give it back: the waiting caller gets this one
  other.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(lent_to_other, mine);
  EXPECT_EQ(*counting.opened, 1) << "the bound is 1: no second session";
  EXPECT_EQ(pool.most_lent_at_once(), 1u);
}

TEST(TcNetlinkSessionPool, APoolThatCanOpenNoSessionSaysWhy) {
  TcNetlinkSessionPool pool(
      std::nullopt, []() -> Result<TcNetlinkSession> { return Status(EMFILE, "Too many open files"); }, 2);
  Result<TcNetlinkSessionPool::Lease> lease = pool.borrow();
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.status().code(), EMFILE);
  EXPECT_NE(lease.status().message().find("Too many open files"), std::string::npos)
      << lease.status().message();
  EXPECT_EQ(pool.sessions_open(), 0u);
}

}  // namespace
}  // namespace flowlift
