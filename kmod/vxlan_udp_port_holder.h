// VxlanUdpPortHolder: a UDP socket bound to a VXLAN port's UDP port, whose
// datagrams are read and thrown away.
//
// Why: the userspace datapath receives VXLAN frames from AF_PACKET taps, but
// the host's IP stack still gets its own copy of each one. With no socket on
// the port the stack answers every tunnel packet with ICMP port unreachable,
// and the remote VTEP (a Linux vxlan device, say) may count those as errors
// or, through ICMP error handling, mark the path as down. A bound socket
// makes the stack deliver the copy here instead, where it is discarded (the
// datapath already has the frame).
#pragma once

#include <cstdint>

#include "flowlift/status.h"

namespace flowlift {

class VxlanUdpPortHolder {
 public:
  // Binds 0.0.0.0:`udp_port` (host order) in the calling thread's namespace.
  static Result<VxlanUdpPortHolder> bind(uint16_t udp_port);

  VxlanUdpPortHolder() = default;
  ~VxlanUdpPortHolder();
  VxlanUdpPortHolder(VxlanUdpPortHolder&& other) noexcept;
  VxlanUdpPortHolder& operator=(VxlanUdpPortHolder&& other) noexcept;
  VxlanUdpPortHolder(const VxlanUdpPortHolder&) = delete;
  VxlanUdpPortHolder& operator=(const VxlanUdpPortHolder&) = delete;

  int fd() const { return fd_; }
  // Reads and discards every queued datagram without blocking; returns how many.
  size_t discard_pending();

 private:
  explicit VxlanUdpPortHolder(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace flowlift
