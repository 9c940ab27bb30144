// QuiescentReclaimer: deferred freeing for the flow table's lock-free readers.
// It owns the retired objects (flows, old bucket arrays, old mask lists,
// replaced action lists) until no reader can still hold a pointer to them.
//
// Why quiescent-state-based reclamation (QSBR) rather than
// std::atomic<std::shared_ptr>: the fast path must not touch a shared
// reference count per packet (every lookup thread would bounce the same
// cache line), and libstdc++'s atomic<shared_ptr> takes an internal spin
// lock on load. QSBR is what the kernel's RCU and Open vSwitch's userspace
// ovsrcu do: a reader reads plain pointers with acquire loads and, between
// batches of packets, declares a quiescent state ("I hold nothing I read
// before this point"). A writer unlinks an object, retires it stamped with
// a new epoch, and the object is freed once every online reader has
// declared a quiescent state at or after that epoch. Readers never wait;
// writers never wait either (freeing is simply deferred).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace flowlift {

// Anything the reclaimer can free later. Virtual destruction lets one
// retire list hold flows, bucket arrays, mask lists and action lists.
class Retirable {
 public:
  virtual ~Retirable() = default;
};

class QuiescentReclaimer {
 private:
  struct Registry;

 public:
  QuiescentReclaimer();
  // Frees everything still retired: the owner guarantees no reader is
  // between two quiescent points any more.
  ~QuiescentReclaimer();
  QuiescentReclaimer(const QuiescentReclaimer&) = delete;
  QuiescentReclaimer& operator=(const QuiescentReclaimer&) = delete;

  // One reading thread. Not thread-safe itself: exactly one thread uses a
  // Reader. Online from construction. May outlive the reclaimer (the
  // registry it points to is shared), so destruction order is free.
  class Reader {
   public:
    explicit Reader(QuiescentReclaimer& reclaimer);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Declares that this thread holds no pointer it read before the call.
    void quiescent();
    // Before blocking for a long time: stops this reader from holding back
    // reclamation. Must not hold any pointer while offline.
    void offline();
    // Before reading again after offline().
    void online();
    bool is_online() const;
    // Small dense number, unique among live readers (used to spread
    // per-reader counters over stripes).
    uint32_t id() const { return id_; }

   private:
    std::shared_ptr<Registry> registry_;
    std::atomic<uint64_t>* observed_;  // owned by the registry
    uint32_t id_;
  };

  // Takes ownership of an object already unreachable for new readers.
  // Returns the epoch stamped on it (see grace_period_elapsed).
  uint64_t retire(std::unique_ptr<Retirable> object);
  // Frees every retired object no online reader can still see; returns how many.
  size_t reclaim();
  // True once every reader online now has passed a quiescent point after
  // the retirement stamped `epoch` (0 is always elapsed).
  bool grace_period_elapsed(uint64_t epoch) const;
  size_t pending() const;
  size_t reader_count() const;

 private:
  // Smallest epoch any online reader may still be reading in.
  uint64_t oldest_reader_epoch() const;

  struct Retired {
    uint64_t epoch;
    std::unique_ptr<Retirable> object;
  };

  std::shared_ptr<Registry> registry_;
  mutable std::mutex retired_mutex_;
  std::deque<Retired> retired_;  // epochs ascend front to back
};

}  // namespace flowlift
