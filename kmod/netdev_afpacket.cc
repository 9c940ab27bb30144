// AF_PACKET TPACKET_V3 port: ring walking, VLAN reinsertion, socket setup,
// transmit and counters. See netdev_afpacket.h for the shape.
#include "kmod/netdev_afpacket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kmod/partial_checksum.h"

namespace flowlift {

namespace {

constexpr size_t kMacAddressesLength = 12;
constexpr uint16_t kDefaultVlanTpid = 0x8100;

uint32_t load_block_status(const uint8_t* block) {
  const auto* desc = reinterpret_cast<const tpacket_block_desc*>(block);
  return __atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}

std::string errno_text(int error) { return std::strerror(error); }

// A closed-on-scope-exit fd for the one-off device queries.
class AfPacketQuerySocket {
 public:
  AfPacketQuerySocket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~AfPacketQuerySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  AfPacketQuerySocket(const AfPacketQuerySocket&) = delete;
  AfPacketQuerySocket& operator=(const AfPacketQuerySocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

Result<ifreq> device_ioctl(int fd, std::string_view name, unsigned long request, std::string_view what) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return invalid_argument("bad network device name '" + std::string(name) + "': must be 1 to " +
                            std::to_string(IFNAMSIZ - 1) + " characters");
  }
  if (fd < 0) return Status(errno, "cannot open a socket to query " + std::string(name));
  ifreq request_data{};
  std::memcpy(request_data.ifr_name, name.data(), name.size());
  if (::ioctl(fd, request, &request_data) < 0) {
    int error = errno;
    if (error == ENODEV) return Status(ENODEV, "no such network device: " + std::string(name));
    return Status(error, "cannot read " + std::string(what) + " of network device " + std::string(name) +
                             ": " + errno_text(error));
  }
  return request_data;
}

Result<int> ifindex_through(int fd, std::string_view name) {
  auto answer = device_ioctl(fd, name, SIOCGIFINDEX, "ifindex");
  if (!answer) return answer.status();
  return answer->ifr_ifindex;
}

Result<int> mtu_through(int fd, std::string_view name) {
  auto answer = device_ioctl(fd, name, SIOCGIFMTU, "MTU");
  if (!answer) return answer.status();
  return answer->ifr_mtu;
}

Result<MacAddress> mac_through(int fd, std::string_view name) {
  auto answer = device_ioctl(fd, name, SIOCGIFHWADDR, "MAC address");
  if (!answer) return answer.status();
  if (answer->ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    return invalid_argument("network device " + std::string(name) +
                            " is not an Ethernet device (hardware type " +
                            std::to_string(answer->ifr_hwaddr.sa_family) + ")");
  }
  MacAddress mac;
  std::memcpy(mac.data(), answer->ifr_hwaddr.sa_data, mac.size());
  return mac;
}

}  // namespace

// ---- Ring walking -------------------------------------------------------

TpacketV3RingCursor::TpacketV3RingCursor(std::span<uint8_t> ring, size_t block_size)
    : ring_(ring), block_size_(block_size), block_count_(block_size ? ring.size() / block_size : 0) {}

void TpacketV3RingCursor::release_current_block() {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block(block_index_));
  // Release: our reads of the block happen before the kernel may refill it.
  __atomic_store_n(&desc->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
  inside_block_ = false;
  block_index_ = (block_index_ + 1) % block_count_;
}

size_t TpacketV3RingCursor::drain(size_t max_frames, const FrameVisitor& visit) {
  size_t visited = 0;
  while (block_count_ != 0 && visited < max_frames) {
    uint8_t* current = block(block_index_);
    if (!inside_block_) {
      if ((load_block_status(current) & TP_STATUS_USER) == 0) break;
      tpacket_hdr_v1 header;
      std::memcpy(&header, current + offsetof(tpacket_block_desc, hdr), sizeof header);
      frames_left_in_block_ = header.num_pkts;
      next_frame_offset_ = header.offset_to_first_pkt;
      inside_block_ = true;
    }
    while (frames_left_in_block_ > 0 && visited < max_frames) {
      size_t offset = next_frame_offset_;
      bool header_fits = offset >= sizeof(tpacket_block_desc) && offset <= block_size_ &&
                         block_size_ - offset >= sizeof(tpacket3_hdr);
      tpacket3_hdr frame_header{};
      if (header_fits) std::memcpy(&frame_header, current + offset, sizeof frame_header);
      size_t room = header_fits ? block_size_ - offset : 0;
      bool frame_fits =
          header_fits && frame_header.tp_mac <= room && frame_header.tp_snaplen <= room - frame_header.tp_mac;
      bool next_fits = frames_left_in_block_ == 1 || frame_header.tp_next_offset != 0;
      if (!frame_fits || !next_fits) {
        // The kernel never writes this; abandon the block rather than read past it.
        ++malformed_blocks_;
        frames_left_in_block_ = 0;
        break;
      }
      TpacketV3Frame frame;
      frame.bytes = {current + offset + frame_header.tp_mac, frame_header.tp_snaplen};
      frame.wire_length = frame_header.tp_len;
      frame.has_stripped_vlan = (frame_header.tp_status & TP_STATUS_VLAN_VALID) != 0;
      frame.checksum_not_ready = (frame_header.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
      if (frame.has_stripped_vlan) {
        frame.vlan_tci = frame_header.hv1.tp_vlan_tci;
        frame.vlan_tpid = (frame_header.tp_status & TP_STATUS_VLAN_TPID_VALID) ? frame_header.hv1.tp_vlan_tpid
                                                                               : kDefaultVlanTpid;
      }
      visit(frame);
      ++visited;
      --frames_left_in_block_;
      next_frame_offset_ = offset + frame_header.tp_next_offset;
    }
    if (frames_left_in_block_ == 0) release_current_block();
  }
  return visited;
}

Packet packet_from_tpacket_frame(const TpacketV3Frame& frame) {
  Packet packet(frame.bytes);
  if (frame.has_stripped_vlan && packet.size() >= kMacAddressesLength) {
    uint8_t* tag = packet.insert(kMacAddressesLength, 4);
    uint16_t tpid = htons(frame.vlan_tpid);
    uint16_t tci = htons(frame.vlan_tci);
    std::memcpy(tag, &tpid, 2);
    std::memcpy(tag + 2, &tci, 2);
  }
  if (frame.checksum_not_ready) complete_partial_checksum(packet);
  return packet;
}

// ---- Device queries -----------------------------------------------------

Result<int> network_device_ifindex(std::string_view name) {
  AfPacketQuerySocket query;
  return ifindex_through(query.fd(), name);
}

Result<int> network_device_mtu(std::string_view name) {
  AfPacketQuerySocket query;
  return mtu_through(query.fd(), name);
}

Result<MacAddress> network_device_mac(std::string_view name) {
  AfPacketQuerySocket query;
  return mac_through(query.fd(), name);
}

// ---- The port -----------------------------------------------------------

Result<std::unique_ptr<AfPacketPort>> AfPacketPort::open(std::string_view ifname,
                                                         const AfPacketOptions& options) {
  const std::string where = "AF_PACKET port on " + std::string(ifname);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (options.block_size == 0 || options.block_size % page_size != 0) {
    return invalid_argument(where + ": block size " + std::to_string(options.block_size) +
                            " must be a non-zero multiple of the page size (" + std::to_string(page_size) +
                            ")");
  }
  if (options.block_count == 0) return invalid_argument(where + ": block count must be at least 1");
  if (options.frame_size < TPACKET3_HDRLEN || options.frame_size % TPACKET_ALIGNMENT != 0 ||
      options.frame_size > options.block_size) {
    return invalid_argument(where + ": frame size " + std::to_string(options.frame_size) +
                            " must be a multiple of " + std::to_string(TPACKET_ALIGNMENT) + " between " +
                            std::to_string(TPACKET3_HDRLEN) + " and the block size");
  }

  // The unique_ptr owns the fd and mapping from here on: every early return cleans up.
  auto port = std::make_unique<AfPacketPort>(ConstructionKey{});
  port->name_ = std::string(ifname);
  // Protocol 0: the socket receives nothing until bind() names the device and
  // ETH_P_ALL, so no other device's frames slip into the ring in between.
  port->fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (port->fd_ < 0) {
    int error = errno;
    return Status(error, where + ": cannot open AF_PACKET socket: " + errno_text(error) +
                             (error == EPERM ? " (needs CAP_NET_RAW)" : ""));
  }
  int fd = port->fd_;
  auto ifindex = ifindex_through(fd, ifname);
  if (!ifindex) return ifindex.status();
  port->ifindex_ = *ifindex;

  auto set_option = [&](int option, const void* value, socklen_t length, const char* option_name) -> Status {
    if (::setsockopt(fd, SOL_PACKET, option, value, length) == 0) return Status::ok();
    int error = errno;
    return Status(error, where + ": " + option_name + ": " + errno_text(error));
  };
  int version = TPACKET_V3;
  if (Status s = set_option(PACKET_VERSION, &version, sizeof version, "PACKET_VERSION TPACKET_V3"); !s) {
    return s;
  }
  // With a ring the stripped VLAN tag is read from each tpacket3_hdr;
  // PACKET_AUXDATA makes the kernel report it the same way to recvmsg(), so a
  // copy-mode fallback would see the tag too.
  int one = 1;
  if (Status s = set_option(PACKET_AUXDATA, &one, sizeof one, "PACKET_AUXDATA"); !s) return s;
  if (Status s = set_option(PACKET_IGNORE_OUTGOING, &one, sizeof one, "PACKET_IGNORE_OUTGOING"); !s) {
    return s;
  }
  tpacket_req3 ring_request{};
  ring_request.tp_block_size = options.block_size;
  ring_request.tp_block_nr = options.block_count;
  ring_request.tp_frame_size = options.frame_size;
  ring_request.tp_frame_nr = (options.block_size / options.frame_size) * options.block_count;
  ring_request.tp_retire_blk_tov = options.block_timeout_ms;
  if (Status s = set_option(PACKET_RX_RING, &ring_request, sizeof ring_request, "PACKET_RX_RING"); !s) {
    return s;
  }
  size_t ring_size = static_cast<size_t>(options.block_size) * options.block_count;
  void* ring = ::mmap(nullptr, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) {
    int error = errno;
    return Status(error, where + ": cannot map the receive ring (" + std::to_string(ring_size) +
                             " bytes): " + errno_text(error));
  }
  port->ring_ = ring;
  port->ring_size_ = ring_size;
  port->cursor_ = TpacketV3RingCursor({static_cast<uint8_t*>(ring), ring_size}, options.block_size);

  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = port->ifindex_;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
    int error = errno;
    return Status(error, where + ": cannot bind to ifindex " + std::to_string(port->ifindex_) + ": " +
                             errno_text(error));
  }
  // A switch port sees every frame on the wire, not only those for its MAC.
  // The kernel drops this membership when the socket closes.
  packet_mreq membership{};
  membership.mr_ifindex = port->ifindex_;
  membership.mr_type = PACKET_MR_PROMISC;
  if (Status s = set_option(PACKET_ADD_MEMBERSHIP, &membership, sizeof membership,
                            "PACKET_ADD_MEMBERSHIP promiscuous");
      !s) {
    return s;
  }
  return port;
}

AfPacketPort::~AfPacketPort() {
  if (ring_ != nullptr) ::munmap(ring_, ring_size_);
  if (fd_ >= 0) ::close(fd_);
}

size_t AfPacketPort::receive_batch(size_t max_packets, std::vector<Packet>& out) {
  size_t before = out.size();
  cursor_.drain(max_packets, [&](const TpacketV3Frame& frame) {
    // A frame larger than a block's room (a GRO super-frame, say) arrives
    // cut short; the datapath must never see a partial frame.
    if (frame.bytes.size() < frame.wire_length) {
      ++counters_.rx_truncated;
      return;
    }
    out.push_back(packet_from_tpacket_frame(frame));
    ++counters_.rx_packets;
    counters_.rx_bytes += out.back().size();
  });
  return out.size() - before;
}

Status AfPacketPort::send(const Packet& packet) {
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_ifindex = ifindex_;
  address.sll_halen = 6;
  if (packet.size() >= 6) std::memcpy(address.sll_addr, packet.data(), 6);
  ssize_t sent = ::sendto(fd_, packet.data(), packet.size(), MSG_DONTWAIT,
                          reinterpret_cast<const sockaddr*>(&address), sizeof address);
  if (sent >= 0) {
    ++counters_.tx_packets;
    counters_.tx_bytes += packet.size();
    return Status::ok();
  }
  int error = errno;
  switch (error) {
    case ENOBUFS:
    case EAGAIN:
      ++counters_.tx_dropped;
      return Status::ok();
    case ENXIO:
    case ENODEV:
    case ENETDOWN:
      ++counters_.tx_dropped;
      return Status(error, "network device " + name_ + " (ifindex " + std::to_string(ifindex_) +
                               ") is gone or down: " + errno_text(error));
    default:
      ++counters_.tx_dropped;
      return Status(error, "cannot send a " + std::to_string(packet.size()) +
                               "-byte frame on network device " + name_ + ": " + errno_text(error));
  }
}

Result<int> AfPacketPort::mtu() const { return mtu_through(fd_, name_); }

Result<MacAddress> AfPacketPort::mac() const { return mac_through(fd_, name_); }

AfPacketCounters AfPacketPort::counters() {
  tpacket_stats_v3 stats{};
  socklen_t length = sizeof stats;
  // Reading resets the kernel's counters, so they are added up here.
  if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) {
    counters_.rx_dropped += stats.tp_drops;
  }
  return counters_;
}

}  // namespace flowlift
