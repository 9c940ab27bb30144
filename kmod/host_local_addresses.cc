// Reading this host's IPv4 addresses (see host_local_addresses.h).
#include "kmod/host_local_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace flowlift {

Status HostLocalAddresses::refresh() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    int error = errno;
    return Status(error, std::string("cannot list this host's addresses: ") + std::strerror(error));
  }
  std::vector<Be32> found;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in address;
    std::memcpy(&address, entry->ifa_addr, sizeof address);
    found.push_back(address.sin_addr.s_addr);
  }
  ::freeifaddrs(list);
  set(std::move(found));
  return Status::ok();
}

void HostLocalAddresses::set(std::vector<Be32> addresses) {
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  std::lock_guard lock(mutex_);
  addresses_ = std::move(addresses);
}

bool HostLocalAddresses::contains(Be32 address) const {
  std::lock_guard lock(mutex_);
  return std::binary_search(addresses_.begin(), addresses_.end(), address);
}

std::vector<Be32> HostLocalAddresses::addresses() const {
  std::lock_guard lock(mutex_);
  return addresses_;
}

}  // namespace flowlift
