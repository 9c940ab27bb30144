// TestUpcallFifo: the upcall queue of the upcall layer's test Dpifs
// (UdpifTestDpif, SwitchCoreTestDpif): one first-in first-out queue across
// all ports, so that tests can say which miss a handler takes first. The real
// datapaths keep one bounded queue per port, read round robin
// (kmod/dpif_upcall_queues.h); these tests want the simpler order.
//
// Its mutex is a leaf: callers may hold their own lock while pushing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "flowlift/dpif.h"

namespace flowlift {

class TestUpcallFifo {
 public:
  void push(DpifUpcall upcall) {
    {
      std::lock_guard lock(mutex_);
      upcalls_.push_back(std::move(upcall));
    }
    ready_.notify_one();
  }

  // Dpif::recv_upcalls: up to `max`, oldest first.
  size_t take(size_t max, std::vector<DpifUpcall>& out) {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (; n < max && !upcalls_.empty(); ++n) {
      out.push_back(std::move(upcalls_.front()));
      upcalls_.pop_front();
    }
    return n;
  }

  // Dpif::wait_for_upcalls: until something is queued, wake() is called, or
  // `timeout` passes.
  void wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !upcalls_.empty() || woken_; });
    woken_ = false;
  }

  void wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
    }
    ready_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return upcalls_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  bool woken_ = false;
  std::deque<DpifUpcall> upcalls_;
};

}  // namespace flowlift
