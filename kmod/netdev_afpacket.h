// AfPacketPort: packet I/O on an existing Linux network device through an
// AF_PACKET socket with a TPACKET_V3 receive ring, the way Open vSwitch's
// netdev-linux and DPDK's af_packet PMD attach a "system" port.
//
// Shape, and why:
//  - Receive is a memory-mapped TPACKET_V3 ring: the kernel fills whole blocks
//    and hands them over (TP_STATUS_USER); we walk every frame of a retired
//    block and give the block back (TP_STATUS_KERNEL). The walk itself lives in
//    TpacketV3RingCursor, which only sees a span of bytes, so it is unit-tested
//    over a fake ring in memory.
//  - The kernel strips an outer VLAN tag into skb metadata before taps see the
//    frame; the ring reports it in tp_vlan_tci/tp_vlan_tpid. The datapath must
//    see the tag (OVS reinserts it too), so packet_from_tpacket_frame() puts it
//    back in the frame.
//  - PACKET_IGNORE_OUTGOING keeps our own transmissions out of our ring.
//  - Transmit is one sendto() per packet (no TX ring). A full device queue
//    (ENOBUFS/EAGAIN) is a counted drop, as a NIC drops on a full queue; a
//    device that went away is a Status naming it.
//  - A port is used by one thread at a time (the daemon's poll loop); the
//    fd() is pollable for POLLIN (a block retired) and POLLERR (device gone).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/packet.h"
#include "flowlift/status.h"

namespace flowlift {

// One frame as the ring reports it: the bytes captured (tp_snaplen of them),
// the length on the wire, and the VLAN tag the kernel stripped, if any.
struct TpacketV3Frame {
  std::span<const uint8_t> bytes;
  uint32_t wire_length = 0;
  bool has_stripped_vlan = false;
  uint16_t vlan_tpid = 0;  // already defaulted to 0x8100 when the kernel gave none
  uint16_t vlan_tci = 0;
  // TP_STATUS_CSUMNOTREADY: sent by this host with its TCP/UDP checksum left
  // to the device (CHECKSUM_PARTIAL; see partial_checksum.h).
  bool checksum_not_ready = false;
};

// Walks a TPACKET_V3 receive ring laid out in `ring` (block_count blocks of
// block_size bytes). Keeps its place between calls, so a batch may end in
// the middle of a block; a block goes back to the kernel only when all of
// its frames were visited. Frame offsets are checked against the block, so a
// corrupt block is abandoned (and counted), never read out of bounds.
class TpacketV3RingCursor {
 public:
  using FrameVisitor = std::function<void(const TpacketV3Frame&)>;

  TpacketV3RingCursor() = default;
  TpacketV3RingCursor(std::span<uint8_t> ring, size_t block_size);

  // Visits up to `max_frames` frames of blocks the kernel has handed over;
  // returns how many were visited.
  size_t drain(size_t max_frames, const FrameVisitor& visit);

  size_t current_block() const { return block_index_; }
  uint64_t malformed_blocks() const { return malformed_blocks_; }

 private:
  uint8_t* block(size_t index) const { return ring_.data() + index * block_size_; }
  void release_current_block();

  std::span<uint8_t> ring_;
  size_t block_size_ = 0;
  size_t block_count_ = 0;
  size_t block_index_ = 0;
  bool inside_block_ = false;
  uint32_t frames_left_in_block_ = 0;
  size_t next_frame_offset_ = 0;
  uint64_t malformed_blocks_ = 0;
};

// The frame as the datapath must see it: the stripped VLAN tag (if any)
// reinserted after the MAC addresses, and a partial TCP/UDP checksum completed.
Packet packet_from_tpacket_frame(const TpacketV3Frame& frame);

struct AfPacketOptions {
  // tp_block_size: a multiple of the page size; one block is retired at a time.
  uint32_t block_size = 1u << 16;
  uint32_t block_count = 16;
  // tp_frame_size: TPACKET_V3 packs frames tightly inside a block, but the
  // kernel still validates a frame grid (a multiple of 16, at most block_size).
  uint32_t frame_size = 2048;
  // tp_retire_blk_tov: how long a partly filled block waits before the
  // kernel hands it over anyway (latency bound at low rates).
  uint32_t block_timeout_ms = 1;
  // Fanout groups (PACKET_FANOUT) are not supported: one socket per device.
};

struct AfPacketCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;      // as handed to the datapath: VLAN tags reinserted
  uint64_t rx_dropped = 0;    // tp_drops: frames the kernel had no ring space for
  uint64_t rx_truncated = 0;  // longer than the ring's room: dropped, never half-delivered
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;  // not sent: full queue (ENOBUFS/EAGAIN, no error) or a failed send
};

using MacAddress = std::array<uint8_t, 6>;

// Device queries in the calling thread's network namespace. Errors name the
// device: "no such network device: foo0".
Result<int> network_device_ifindex(std::string_view name);
Result<int> network_device_mtu(std::string_view name);
Result<MacAddress> network_device_mac(std::string_view name);

class AfPacketPort {
  struct ConstructionKey {};  // only open() builds ports

 public:
  explicit AfPacketPort(ConstructionKey) {}
  // Attaches to the existing device `ifname` in the calling thread's network
  // namespace (the socket stays in that namespace for its whole life).
  static Result<std::unique_ptr<AfPacketPort>> open(std::string_view ifname,
                                                    const AfPacketOptions& options = {});

  ~AfPacketPort();
  AfPacketPort(const AfPacketPort&) = delete;
  AfPacketPort& operator=(const AfPacketPort&) = delete;

  // Receives up to `max_packets` frames (VLAN tags reinserted) into `out`
  // (appended); returns how many were appended (truncated frames are counted
  // and skipped). Never blocks: poll fd() first.
  size_t receive_batch(size_t max_packets, std::vector<Packet>& out);

  // Transmits one frame. A full queue is counted in tx_dropped and is not an
  // error; a vanished device, or any other failure, is a Status naming it.
  Status send(const Packet& packet);

  // Pollable: POLLIN when a block was retired, POLLERR when the device went away.
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }

  // The device's current MTU and MAC, asked through this port's socket (so
  // in the port's namespace, whichever thread asks).
  Result<int> mtu() const;
  Result<MacAddress> mac() const;

  // Reads (and so resets) the kernel's PACKET_STATISTICS into rx_dropped first.
  AfPacketCounters counters();

 private:
  std::string name_;
  int ifindex_ = 0;
  int fd_ = -1;
  void* ring_ = nullptr;
  size_t ring_size_ = 0;
  TpacketV3RingCursor cursor_;
  AfPacketCounters counters_;
};

}  // namespace flowlift
