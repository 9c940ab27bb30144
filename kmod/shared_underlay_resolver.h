// SharedUnderlayResolver: one UnderlayResolver (and its cache) used by every
// thread of the userspace datapath. Output to a VXLAN port resolves the
// underlay per packet from receive threads and from handlers calling execute;
// UnderlayResolver itself is single threaded (one cache, two netlink
// sockets), so every call goes through one mutex. A cache hit is a map
// lookup under that mutex; only misses talk to the kernel.
#pragma once

#include <memory>
#include <mutex>

#include "flowlift/status.h"
#include "kmod/underlay_resolver.h"

namespace flowlift {

class SharedUnderlayResolver {
 public:
  explicit SharedUnderlayResolver(std::unique_ptr<UnderlayResolver> resolver)
      : resolver_(std::move(resolver)) {}

  Result<UnderlayPath> resolve(const UnderlayAddress& remote) {
    std::lock_guard lock(mutex_);
    return resolver_->resolve(remote);
  }

  // The change socket, polled by the datapath's service loop (it never
  // changes, so reading it needs no lock).
  int change_fd() const { return resolver_->change_fd(); }

  // Drains announced changes (invalidating what they make stale) and drops
  // idle entries. Returns how many change messages were handled.
  int process_changes() {
    std::lock_guard lock(mutex_);
    Result<int> handled = resolver_->process_changes();
    resolver_->expire_idle(UnderlayResolver::Clock::now());
    if (handled) return *handled;
    // Messages were lost (a full socket buffer): any entry may be stale.
    resolver_->flush();
    return 1;
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<UnderlayResolver> resolver_;
};

}  // namespace flowlift
