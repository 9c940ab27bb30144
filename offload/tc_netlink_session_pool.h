// TcNetlinkSessionPool: the rtnetlink sessions TC offload talks through,
// lent one per caller at a time so that callers on different threads reach
// the kernel at the same time.
//
// Why more than one session: since Linux 5.x cls_flower and clsact run
// without RTNL (the unlocked classifier API), so filters arriving from
// several sockets at once are inserted in parallel on a multi-CPU kernel.
// One session serialises them: a TcNetlinkSession is one socket with one
// sequence space and one queue of answers, usable by one thread at a time.
// The pool opens sessions lazily, up to a bound (each holds a socket and a
// receive buffer of several MB), and a caller finding every one of them lent
// waits for one to come back.
//
// A lease must not be requested while holding a lock that the holder of
// another lease may need in order to finish (it could wait forever); the
// provider therefore borrows before taking its own lock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "flowlift/status.h"
#include "offload/tc_netlink_session.h"

namespace flowlift {

class TcNetlinkSessionPool {
 public:
  using Opener = std::function<Result<TcNetlinkSession>()>;

  // `first` (when given) is lent first; `open` makes the others, at most
  // `most_sessions` in all (at least 1).
  TcNetlinkSessionPool(std::optional<TcNetlinkSession> first, Opener open, size_t most_sessions);
  TcNetlinkSessionPool(const TcNetlinkSessionPool&) = delete;
  TcNetlinkSessionPool& operator=(const TcNetlinkSessionPool&) = delete;

  // A session lent to one caller; it goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), session_(std::move(other.session_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    TcNetlinkSession& session() { return *session_; }

   private:
    friend class TcNetlinkSessionPool;
    Lease(TcNetlinkSessionPool& pool, std::unique_ptr<TcNetlinkSession> session)
        : pool_(&pool), session_(std::move(session)) {}
    TcNetlinkSessionPool* pool_;
    std::unique_ptr<TcNetlinkSession> session_;
  };

  // An idle session; else a new one while fewer than most_sessions exist;
  // else waits for one to come back. An error only when no session exists
  // and none can be opened (the opener's error).
  Result<Lease> borrow();

  size_t sessions_open() const;
  // The most leases out at once since the pool was made.
  size_t most_lent_at_once() const;

 private:
  void give_back(std::unique_ptr<TcNetlinkSession> session);

  Opener opener_;
  const size_t most_sessions_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<TcNetlinkSession>> idle_;
  size_t open_ = 0;     // sessions made (idle or lent)
  size_t opening_ = 0;  // opens under way (outside the lock)
  size_t lent_ = 0;
  size_t most_lent_ = 0;
};

}  // namespace flowlift
