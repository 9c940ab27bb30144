// QuiescentReclaimer: the epoch bookkeeping behind the flow table's
// lock-free reads (see quiescent_reclaimer.h for the scheme).
#include "kmod/quiescent_reclaimer.h"

#include <algorithm>

namespace flowlift {

namespace {
// A reader slot holding this value is offline.
constexpr uint64_t kOffline = 0;
}  // namespace

struct QuiescentReclaimer::Registry {
  // Starts at 1 so that kOffline never names an epoch.
  std::atomic<uint64_t> epoch{1};

  struct Slot {
    // Its own cache line: each reader writes its slot at every quiescent point.
    alignas(64) std::atomic<uint64_t> observed{kOffline};
    bool in_use = false;
  };
  mutable std::mutex mutex;
  // unique_ptr keeps slot addresses stable while the vector grows.
  std::vector<std::unique_ptr<Slot>> slots;
};

QuiescentReclaimer::QuiescentReclaimer() : registry_(std::make_shared<Registry>()) {}

QuiescentReclaimer::~QuiescentReclaimer() {
  std::lock_guard lock(retired_mutex_);
  retired_.clear();
}

QuiescentReclaimer::Reader::Reader(QuiescentReclaimer& reclaimer) : registry_(reclaimer.registry_) {
  std::lock_guard lock(registry_->mutex);
  auto& slots = registry_->slots;
  auto free_slot = std::find_if(slots.begin(), slots.end(), [](const auto& s) { return !s->in_use; });
  if (free_slot == slots.end()) {
    slots.push_back(std::make_unique<Registry::Slot>());
    free_slot = slots.end() - 1;
  }
  (*free_slot)->in_use = true;
  observed_ = &(*free_slot)->observed;
  id_ = static_cast<uint32_t>(free_slot - slots.begin());
  online();
}

QuiescentReclaimer::Reader::~Reader() {
  offline();
  std::lock_guard lock(registry_->mutex);
  registry_->slots[id_]->in_use = false;
}

void QuiescentReclaimer::Reader::quiescent() {
  // Release: everything this thread read before now happens-before a writer
  // that sees the new value and frees. Acquire on the epoch: whatever was
  // unlinked before that epoch was published is invisible to later reads.
  observed_->store(registry_->epoch.load(std::memory_order_acquire), std::memory_order_release);
}

void QuiescentReclaimer::Reader::offline() { observed_->store(kOffline, std::memory_order_release); }

void QuiescentReclaimer::Reader::online() {
  observed_->store(registry_->epoch.load(std::memory_order_acquire), std::memory_order_seq_cst);
  // Store-load barrier: a writer that does not yet see this slot online must
  // have unlinked before our first pointer load (pairs with the fence in
  // oldest_reader_epoch).
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool QuiescentReclaimer::Reader::is_online() const {
  return observed_->load(std::memory_order_relaxed) != kOffline;
}

uint64_t QuiescentReclaimer::retire(std::unique_ptr<Retirable> object) {
  // The object was unlinked before this increment, so a reader that loads
  // an epoch >= the stamp can no longer reach it.
  // Stamped under the lock so that the list stays sorted by epoch.
  std::lock_guard lock(retired_mutex_);
  uint64_t stamp = registry_->epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  retired_.push_back(Retired{stamp, std::move(object)});
  return stamp;
}

uint64_t QuiescentReclaimer::oldest_reader_epoch() const {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t oldest = registry_->epoch.load(std::memory_order_acquire);
  std::lock_guard lock(registry_->mutex);
  for (const auto& slot : registry_->slots) {
    uint64_t observed = slot->observed.load(std::memory_order_acquire);
    if (observed != kOffline) oldest = std::min(oldest, observed);
  }
  return oldest;
}

bool QuiescentReclaimer::grace_period_elapsed(uint64_t epoch) const {
  return epoch == 0 || oldest_reader_epoch() >= epoch;
}

size_t QuiescentReclaimer::reclaim() {
  uint64_t safe = oldest_reader_epoch();
  std::deque<Retired> freeable;
  {
    std::lock_guard lock(retired_mutex_);
    while (!retired_.empty() && retired_.front().epoch <= safe) {
      freeable.push_back(std::move(retired_.front()));
      retired_.pop_front();
    }
  }
  // Destructors run outside the lock.
  return freeable.size();
}

size_t QuiescentReclaimer::pending() const {
  std::lock_guard lock(retired_mutex_);
  return retired_.size();
}

size_t QuiescentReclaimer::reader_count() const {
  std::lock_guard lock(registry_->mutex);
  return static_cast<size_t>(std::count_if(registry_->slots.begin(), registry_->slots.end(),
                                           [](const auto& s) { return s->in_use; }));
}

}  // namespace flowlift
