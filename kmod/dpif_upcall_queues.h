// DpifUpcallQueues: the userspace datapath's upcall queues, one bounded FIFO
// per input port, read round robin. The kernel has one netlink socket per
// port (per handler, with the per-CPU dispatch mode) for the same reason:
// a port flooding misses fills only its own queue and loses only its own
// upcalls, and readers take one upcall from each non-empty port in turn, so
// a quiet port's first packet is never stuck behind a flood.
//
// Readers block on a condition variable (wait) and can be woken all at once
// (wake_all) when the daemon reconfigures or stops. A push wakes a reader
// only when the queues were empty (nobody may be draining them) or when
// kUpcallBacklogPerWakeup upcalls have piled up since the last wakeup (the
// readers already awake are behind: wake one more). Waking a reader per
// upcall made every miss cost a futex wake, a context switch and a fight
// for the mutex with the thread receiving packets; a reader that is awake
// takes whatever has been queued meanwhile in its next pop anyway.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "flowlift/dpif.h"

namespace flowlift {

class DpifUpcallQueues {
 public:
  static constexpr size_t kUpcallBacklogPerWakeup = 32;

  explicit DpifUpcallQueues(size_t limit_per_port) : limit_per_port_(limit_per_port) {}

  // Queues `upcall` behind the others of input port `port`. False (and
  // nothing queued) when that port's queue is full: the caller counts it lost.
  // `defer_wakeup`: wake nobody now (unless half a port's limit has been
  // pushed since the last wakeup); the caller calls wake_for_queued() when
  // its batch of pushes is done.
  bool push(uint32_t port, DpifUpcall upcall, bool defer_wakeup = false);
  // Wakes readers for what is queued: one, or all of them when a backlog of
  // kUpcallBacklogPerWakeup or more waits; nobody when nothing is queued.
  void wake_for_queued();

  // Moves up to `max` upcalls into `out`: one from each non-empty port in
  // turn, starting after the port served last. Returns how many.
  size_t pop(size_t max, std::vector<DpifUpcall>& out);

  // Blocks until an upcall is queued, wake_all() is called, or `timeout` passes.
  void wait(std::chrono::milliseconds timeout);
  void wake_all();

  // Drops the queue of a removed port (its upcalls name a port that is gone).
  void forget_port(uint32_t port);
  size_t size() const;

 private:
  // One port's FIFO: upcalls[head..] are queued. A deque of DpifUpcall
  // (504 bytes) holds one element per block, so it allocated on every push
  // and freed on every pop; this vector keeps its storage once it has
  // grown, and is compacted when the consumed front is the larger half.
  struct PortUpcallQueue {
    std::vector<DpifUpcall> upcalls;
    size_t head = 0;
    size_t size() const { return upcalls.size() - head; }
  };

  const size_t limit_per_port_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // Every port that has queued an upcall; empty queues stay (with their
  // storage) and are skipped by pop.
  std::map<uint32_t, PortUpcallQueue> queues_;
  size_t queued_ = 0;
  uint32_t last_served_port_ = 0;
  uint64_t wake_generation_ = 0;
  size_t pushed_since_wakeup_ = 0;
};

}  // namespace flowlift
