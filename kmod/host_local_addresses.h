// HostLocalAddresses: the IPv4 addresses this host (the datapath's network
// namespace) owns, as the kernel lists them (getifaddrs, i.e. RTM_GETADDR).
// The userspace datapath decapsulates a VXLAN frame only when it is
// addressed to one of them, as the kernel's vxlan socket only sees packets
// its IP stack delivers locally. The owner calls refresh() when rtnetlink
// announces an address change; readers on the fast path take a short lock.
#pragma once

#include <mutex>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

class HostLocalAddresses {
 public:
  // Re-reads the addresses from the kernel (in the calling thread's namespace).
  Status refresh();
  // For tests and for datapaths without kernel access.
  void set(std::vector<Be32> addresses);
  bool contains(Be32 address) const;
  std::vector<Be32> addresses() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Be32> addresses_;  // sorted
};

}  // namespace flowlift
