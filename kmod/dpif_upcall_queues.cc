// Per-port bounded upcall queues drained round robin (see dpif_upcall_queues.h).
#include "kmod/dpif_upcall_queues.h"

namespace flowlift {

bool DpifUpcallQueues::push(uint32_t port, DpifUpcall upcall) {
  {
    std::lock_guard lock(mutex_);
    std::deque<DpifUpcall>& queue = queues_[port];
    if (queue.size() >= limit_per_port_) return false;
    queue.push_back(std::move(upcall));
    ++queued_;
  }
  changed_.notify_one();
  return true;
}

size_t DpifUpcallQueues::pop(size_t max, std::vector<DpifUpcall>& out) {
  std::lock_guard lock(mutex_);
  size_t moved = 0;
  while (moved < max && queued_ > 0) {
    // The first non-empty port after the one served last, wrapping around.
    auto next = queues_.upper_bound(last_served_port_);
    if (next == queues_.end()) next = queues_.begin();
    out.push_back(std::move(next->second.front()));
    next->second.pop_front();
    --queued_;
    ++moved;
    last_served_port_ = next->first;
    if (next->second.empty()) queues_.erase(next);
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
