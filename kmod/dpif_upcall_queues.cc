// Per-port bounded upcall queues drained round robin (see dpif_upcall_queues.h).
#include "kmod/dpif_upcall_queues.h"

#include <algorithm>

namespace flowlift {

namespace {
// Upcalls a drained port queue keeps room for (128 x 504 bytes).
constexpr size_t kKeptUpcallCapacity = 128;
// How far ahead of the upcall being moved out pop() starts fetching.
constexpr size_t kUpcallsFetchedAhead = 3;

void prefetch_upcall(const DpifUpcall& upcall) {
  const auto* bytes = reinterpret_cast<const char*>(&upcall);
  for (size_t offset = 0; offset < sizeof(DpifUpcall); offset += 64) __builtin_prefetch(bytes + offset);
}
}  // namespace

bool DpifUpcallQueues::push(uint32_t port, DpifUpcall upcall, bool defer_wakeup) {
  bool wake_reader = false;
  {
    std::lock_guard lock(mutex_);
    PortUpcallQueue& queue = queues_[port];
    if (queue.size() >= limit_per_port_) return false;
    if (queue.head > 0 && queue.head >= queue.size()) {
      // The consumed front is the larger half: drop it before growing.
      queue.upcalls.erase(queue.upcalls.begin(), queue.upcalls.begin() + static_cast<long>(queue.head));
      queue.head = 0;
    }
    queue.upcalls.push_back(std::move(upcall));
    ++pushed_since_wakeup_;
    wake_reader = queued_++ == 0 || pushed_since_wakeup_ >= kUpcallBacklogPerWakeup;
    // Deferred, a reader is still woken before half a port's queue could
    // fill, so that a long batch loses no upcall it would not have lost.
    if (defer_wakeup) wake_reader = pushed_since_wakeup_ >= std::max<size_t>(limit_per_port_ / 2, 1);
    if (wake_reader) pushed_since_wakeup_ = 0;
  }
  if (wake_reader) changed_.notify_one();
  return true;
}

void DpifUpcallQueues::wake_for_queued() {
  size_t queued;
  {
    std::lock_guard lock(mutex_);
    queued = queued_;
    pushed_since_wakeup_ = 0;
  }
  if (queued >= kUpcallBacklogPerWakeup)
    changed_.notify_all();
  else if (queued > 0)
    changed_.notify_one();
}

size_t DpifUpcallQueues::pop(size_t max, std::vector<DpifUpcall>& out) {
  std::lock_guard lock(mutex_);
  size_t moved = 0;
  while (moved < max && queued_ > 0) {
    // The first non-empty port after the one served last, wrapping around
    // (queued_ > 0: there is one).
    auto next = queues_.upper_bound(last_served_port_);
    for (;; ++next) {
      if (next == queues_.end()) next = queues_.begin();
      if (next->second.size() > 0) break;
    }
    PortUpcallQueue& queue = next->second;
    // The upcalls were written on the datapath thread's core: each is half a
    // kilobyte the handler has never seen. Fetching a few ahead overlaps
    // those transfers instead of taking them one move at a time.
    if (queue.head + kUpcallsFetchedAhead < queue.upcalls.size())
      prefetch_upcall(queue.upcalls[queue.head + kUpcallsFetchedAhead]);
    out.push_back(std::move(queue.upcalls[queue.head]));
    if (++queue.head == queue.upcalls.size()) {
      // Drained: keep the storage for the next burst, unless a flood grew
      // it past what an ordinary burst needs.
      if (queue.upcalls.capacity() > kKeptUpcallCapacity)
        std::vector<DpifUpcall>().swap(queue.upcalls);
      else
        queue.upcalls.clear();
      queue.head = 0;
    }
    --queued_;
    ++moved;
    last_served_port_ = next->first;
  }
  return moved;
}

void DpifUpcallQueues::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  uint64_t generation = wake_generation_;
  changed_.wait_for(lock, timeout, [&] { return queued_ > 0 || wake_generation_ != generation; });
}

void DpifUpcallQueues::wake_all() {
  {
    std::lock_guard lock(mutex_);
    ++wake_generation_;
  }
  changed_.notify_all();
}

void DpifUpcallQueues::forget_port(uint32_t port) {
  std::lock_guard lock(mutex_);
  auto it = queues_.find(port);
  if (it == queues_.end()) return;
  queued_ -= it->second.size();
  queues_.erase(it);
}

size_t DpifUpcallQueues::size() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

}  // namespace flowlift
