// Holding a VXLAN UDP port open so the host stack stays quiet (see vxlan_udp_port_holder.h).
#include "kmod/vxlan_udp_port_holder.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

namespace flowlift {

Result<VxlanUdpPortHolder> VxlanUdpPortHolder::bind(uint16_t udp_port) {
  const std::string where = "UDP port " + std::to_string(udp_port) + " of the VXLAN port";
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int error = errno;
    return Status(error, where + ": cannot open a UDP socket: " + std::strerror(error));
  }
  VxlanUdpPortHolder holder(fd);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(udp_port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    return Status(error,
                  where + ": cannot bind: " + std::strerror(error) +
                      (error == EADDRINUSE ? " (a kernel vxlan device or another program holds it)" : ""));
  }
  return holder;
}

VxlanUdpPortHolder::~VxlanUdpPortHolder() {
  if (fd_ >= 0) ::close(fd_);
}

VxlanUdpPortHolder::VxlanUdpPortHolder(VxlanUdpPortHolder&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

VxlanUdpPortHolder& VxlanUdpPortHolder::operator=(VxlanUdpPortHolder&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

size_t VxlanUdpPortHolder::discard_pending() {
  size_t discarded = 0;
  uint8_t buffer[64];  // the payload is not wanted: recv truncates and drops the rest
  while (fd_ >= 0 && ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0) ++discarded;
  return discarded;
}

}  // namespace flowlift
