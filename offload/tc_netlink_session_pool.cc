#include "offload/tc_netlink_session_pool.h"

#include <algorithm>
#include <utility>

namespace flowlift {

TcNetlinkSessionPool::TcNetlinkSessionPool(std::optional<TcNetlinkSession> first, Opener open,
                                           size_t most_sessions)
    : opener_(std::move(open)), most_sessions_(std::max<size_t>(most_sessions, 1)) {
  if (first) {
    idle_.push_back(std::make_unique<TcNetlinkSession>(std::move(*first)));
    open_ = 1;
  }
}

TcNetlinkSessionPool::Lease::~Lease() {
  if (session_) pool_->give_back(std::move(session_));
}

void TcNetlinkSessionPool::give_back(std::unique_ptr<TcNetlinkSession> session) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(session));
    --lent_;
  }
  returned_.notify_one();
}

Result<TcNetlinkSessionPool::Lease> TcNetlinkSessionPool::borrow() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<TcNetlinkSession> session = std::move(idle_.back());
      idle_.pop_back();
      most_lent_ = std::max(most_lent_, ++lent_);
      return Lease(*this, std::move(session));
    }
    if (opener_ && open_ + opening_ < most_sessions_) {
      // Opening is a few system calls: done outside the lock so that
      // sessions coming back are not held up by it.
      ++opening_;
      lock.unlock();
      Result<TcNetlinkSession> opened = opener_();
      lock.lock();
      --opening_;
      if (opened) {
        ++open_;
        most_lent_ = std::max(most_lent_, ++lent_);
        return Lease(*this, std::make_unique<TcNetlinkSession>(std::move(*opened)));
      }
      // No socket to be had: wait for a lent one, unless none exists. Waiters
      // look again (one may open in our place, or give up as we do).
      returned_.notify_all();
      if (open_ == 0 && opening_ == 0) return opened.status().with_context("tc netlink session");
    }
    if (open_ == 0 && opening_ == 0)
      return Status(EIO, "tc netlink session: the pool has no session and cannot open one");
    returned_.wait(lock);
  }
}

size_t TcNetlinkSessionPool::sessions_open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

size_t TcNetlinkSessionPool::most_lent_at_once() const {
  std::lock_guard lock(mutex_);
  return most_lent_;
}

}  // namespace flowlift
