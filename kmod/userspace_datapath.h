// UserspaceDatapath: the in-process datapath (what dpif-netdev is to Open
// vSwitch, and what the openvswitch module is in the kernel deployment). It
// owns the ports and the masked megaflow table, and runs the fast path for
// every received frame:
//
//   receive(port) ─► [underlay of a VXLAN port? decapsulate, continue on it]
//                ─► flow_key_extract ─► MaskedFlowTable::lookup
//                     ├─ hit:  count on the flow, execute its actions
//                     └─ miss: queue an upcall (bounded; counted as lost when full)
//
// Output to a VXLAN port encapsulates with the packet's tunnel metadata and
// sends the result out of the port's underlay port, as the kernel's vxlan
// vport hands it to the Linux vxlan device and the IP stack.
//
// Threading: one receiving thread per LookupContext (see flow_table.h); the
// control path (ports, flows, upcall queue) is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/dpif.h"
#include "flowlift/megaflow.h"
#include "flowlift/packet.h"
#include "flowlift/status.h"
#include "kmod/flow_table.h"
#include "kmod/actions_execute.h"
#include "kmod/vxlan.h"

namespace flowlift {

enum class PortType { kDummy, kVxlan };

// A VXLAN port's fixed side: what the outer headers need beyond the tunnel
// key, and where encapsulated frames go. (The daemon fills this from the
// kernel's routes and neighbours; the demo and tests give it directly.)
using VxlanPortConfig = VxlanRoute;

struct PortStats {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
};

struct PortInfo {
  uint32_t number = 0;
  std::string name;
  PortType type = PortType::kDummy;
  std::optional<VxlanPortConfig> vxlan;
  PortStats stats;
};

// The datapath's counters, as `ovs-dpctl show` reports them.
struct DatapathStats {
  uint64_t hit = 0;
  uint64_t missed = 0;
  uint64_t lost = 0;            // upcalls dropped: queue full
  uint64_t masks_visited = 0;   // sum over lookups (the kernel's n_mask_hit)
  uint64_t cache_hit = 0;       // lookups answered through the mask cache
  uint64_t malformed = 0;       // frames with no usable L2 header, or failed decapsulation
  uint64_t action_errors = 0;   // packets an action could not be applied to
};

// A packet the slowpath must see: a miss, or an explicit userspace action
// (OVS_PACKET_CMD_MISS / OVS_PACKET_CMD_ACTION), waiting in the bounded queue.
struct QueuedUpcall {
  enum class Kind { kMiss, kAction };
  Kind kind = Kind::kMiss;
  Packet packet;
  FlowKey key{};
  std::optional<UserspaceAction> action;
};

// What happened to one received frame at its first lookup (for traces and the demo).
struct ReceiveOutcome {
  bool decapsulated = false;  // arrived as VXLAN for one of our VTEPs
  bool malformed = false;     // dropped before lookup
  bool hit = false;
  Ufid ufid;                  // the flow hit, when it has one
  uint32_t masks_visited = 0;
  bool cache_hit = false;
};

class UserspaceDatapath {
 public:
  // Called for every frame leaving a dummy port (netdev-dummy's tx capture).
  using TransmitHook = std::function<void(uint32_t port, const Packet& packet)>;

  explicit UserspaceDatapath(size_t upcall_queue_limit = 4096);

  Status add_port(uint32_t number, std::string name, PortType type,
                  std::optional<VxlanPortConfig> vxlan = std::nullopt);
  Status remove_port(uint32_t number);
  std::vector<PortInfo> ports() const;
  void set_transmit_hook(TransmitHook hook);

  // OVS_FLOW_CMD_NEW, after the action validation the kernel does.
  Result<InsertOutcome> put_flow(const Megaflow& flow, uint16_t nlmsg_flags);
  MaskedFlowTable& flow_table() { return table_; }
  const MaskedFlowTable& flow_table() const { return table_; }

  // One receive, the whole fast path. `context` belongs to the calling thread.
  ReceiveOutcome receive(LookupContext& context, uint32_t port, Packet packet);

  std::vector<QueuedUpcall> take_upcalls();
  DatapathStats stats() const;

  // Housekeeping the kernel does from delayed work: every
  // kMaskRebalanceIntervalMs the mask list is reordered by hits
  // (ovs_dp_masks_rebalance), so busy masks are tried first on cache misses.
  // The datapath has no thread of its own: receive() calls this every
  // kPeriodicCheckPackets packets, and an owner with a timer may call it too.
  // Returns whether the mask order changed.
  static constexpr uint64_t kMaskRebalanceIntervalMs = 4000;
  static constexpr uint64_t kPeriodicCheckPackets = 1024;
  bool run_periodic_work(uint64_t now_ms);

 private:
  class Executor;
  friend class Executor;

  ReceiveOutcome process(LookupContext& context, Packet packet, int recirculation_depth);
  void transmit(uint32_t port, Packet packet);
  void queue_upcall(QueuedUpcall upcall);
  PortInfo* find_port(uint32_t number);
  const PortInfo* vxlan_port_for_underlay(uint32_t underlay_port) const;

  MaskedFlowTable table_;
  const size_t upcall_queue_limit_;

  mutable std::mutex mutex_;  // ports, port stats, upcalls, transmit hook
  std::map<uint32_t, PortInfo> ports_;
  TransmitHook transmit_hook_;
  std::deque<QueuedUpcall> upcalls_;
  // Datapath counters are bumped per packet by receive threads: atomics, no lock.
  struct AtomicStats {
    std::atomic<uint64_t> hit{0}, missed{0}, lost{0}, masks_visited{0}, cache_hit{0};
    std::atomic<uint64_t> malformed{0}, action_errors{0};
  };
  AtomicStats stats_;
  std::atomic<uint64_t> packets_until_periodic_check_{kPeriodicCheckPackets};
  std::atomic<uint64_t> last_rebalance_ms_{0};
};

}  // namespace flowlift
