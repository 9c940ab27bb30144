// vlan_tap_host: a VLAN-tagged host for kernels without 802.1q.
//
// The demo and the host tests need a host whose traffic leaves tagged. This
// machine's kernel has no VLAN devices (no CONFIG_VLAN_8021Q) and no bridge
// VLAN filtering, so the tag is added in userspace instead: the host's IP
// stack runs on a TAP device, and this program moves frames between the TAP
// and the host's veth, pushing an 802.1Q tag on the way out and accepting
// (and popping) only frames tagged with the host's VLAN on the way in. The
// host is still the kernel's own stack (ARP, ICMP, TCP, checksums); only the
// tag handling is ours.
//
// usage: vlan_tap_host TAP PARENT VID
//   creates TAP (IFF_TAP, no packet info), runs until SIGTERM/SIGINT.
//   Configure addresses on TAP once it exists (the program prints "ready").
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "flowlift/packet.h"
#include "kmod/netdev_afpacket.h"

namespace {

volatile sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

int open_tap(const std::string& name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(request.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s TAP PARENT VID\n", argv[0]);
    return 2;
  }
  const std::string tap_name = argv[1];
  const std::string parent = argv[2];
  char* end = nullptr;
  long vid = std::strtol(argv[3], &end, 10);
  if (!end || *end || vid < 1 || vid > 4094) {
    std::fprintf(stderr, "vlan_tap_host: VID must be 1..4094, not %s\n", argv[3]);
    return 2;
  }
  signal(SIGTERM, request_stop);
  signal(SIGINT, request_stop);

  int tap = open_tap(tap_name);
  if (tap < 0) {
    std::fprintf(stderr, "vlan_tap_host: cannot create TAP %s: %s\n", tap_name.c_str(), std::strerror(errno));
    return 1;
  }
  auto port = flowlift::AfPacketPort::open(parent);
  if (!port) {
    std::fprintf(stderr, "vlan_tap_host: %s\n", port.status().message().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  std::vector<uint8_t> buffer(65536);
  std::vector<flowlift::Packet> received;
  while (!stop_requested) {
    pollfd fds[2] = {{tap, POLLIN, 0}, {(*port)->fd(), POLLIN, 0}};
    if (poll(fds, 2, 200) < 0) {
      if (errno == EINTR) continue;
      std::perror("vlan_tap_host: poll");
      return 1;
    }
    // Host -> wire: tag every frame the host's stack sends.
    for (;;) {
      ssize_t n = read(tap, buffer.data(), buffer.size());
      if (n < 14) break;
      flowlift::Packet frame(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
      uint8_t* tag = frame.insert(12, 4);
      const uint16_t tci = static_cast<uint16_t>(vid);
      tag[0] = 0x81;
      tag[1] = 0x00;
      tag[2] = static_cast<uint8_t>(tci >> 8);
      tag[3] = static_cast<uint8_t>(tci & 0xff);
      if (auto status = (*port)->send(frame); !status) {
        std::fprintf(stderr, "vlan_tap_host: %s\n", status.message().c_str());
        return 1;
      }
    }
    // Wire -> host: only frames of our VLAN, untagged.
    received.clear();
    (*port)->receive_batch(64, received);
    for (flowlift::Packet& frame : received) {
      const uint8_t* d = frame.data();
      if (frame.size() < 18 || d[12] != 0x81 || d[13] != 0x00) continue;
      if (((d[14] << 8 | d[15]) & 0x0fff) != vid) continue;
      frame.erase(12, 4);
      // EIO: the TAP is not up yet (the host is still being configured);
      // EAGAIN: the host is not reading. Both drop the frame, as a NIC would.
      if (write(tap, frame.data(), frame.size()) < 0 && errno != EAGAIN && errno != EIO) {
        std::perror("vlan_tap_host: write to TAP");
        return 1;
      }
    }
  }
  close(tap);
  return 0;
}
