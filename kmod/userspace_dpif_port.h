// UserspaceDpifPort: one port of the userspace Dpif and everything the
// threads touching it share: counters (atomics, bumped per packet by
// receive threads and handlers), the dummy port's transmit capture, the
// system port's AF_PACKET socket, the VXLAN port's held UDP port.
//
// Ports are owned through shared_ptr: the port table, each receive thread
// polling a port and each thread transmitting to one hold a reference, so
// port_del only unlinks the port and its socket is closed by whoever lets
// go last, never under a thread that is still reading or sending.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "flowlift/dpif.h"
#include "flowlift/packet.h"
#include "kmod/netdev_afpacket.h"
#include "kmod/vxlan_udp_port_holder.h"

namespace flowlift {

struct UserspaceDpifPortCounters {
  std::atomic<uint64_t> rx_packets{0}, rx_bytes{0}, rx_dropped{0};
  std::atomic<uint64_t> tx_packets{0}, tx_bytes{0}, tx_dropped{0};
  std::atomic<uint64_t> rx_malformed{0};

  static void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
  }
};

struct UserspaceDpifPort {
  uint32_t number = 0;
  std::string name;
  DpifPortType type = DpifPortType::kDummy;
  uint16_t vxlan_udp_port = 0;
  std::atomic<bool> underlay_only{false};  // a system port may be promoted to a bridge port
  UserspaceDpifPortCounters counters;

  // Why the port does not work (device removed), or the latest
  // encapsulation failure of a VXLAN port; guarded by state_mutex.
  mutable std::mutex state_mutex;
  std::string error;
  std::deque<Packet> capture;  // kDummy: the latest transmitted frames

  // kSystem. AfPacketPort is single threaded: receive_mutex serialises the
  // ring (its receive thread, and port_dump reading counters), transmit_mutex
  // the sends from any thread.
  std::unique_ptr<AfPacketPort> device;
  std::mutex receive_mutex;
  std::mutex transmit_mutex;
  std::atomic<bool> device_gone{false};  // stops polling; set once
  size_t receive_thread = 0;             // which receive thread polls it

  // kVxlan: keeps the host stack from answering tunnel packets (see
  // vxlan_udp_port_holder.h); absent when the port could not be bound.
  std::optional<VxlanUdpPortHolder> udp_port_holder;

  void set_error(std::string why) {
    std::lock_guard lock(state_mutex);
    error = std::move(why);
  }
};

}  // namespace flowlift
