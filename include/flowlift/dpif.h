// Dpif: the datapath as the slowpath sees it (Open vSwitch's struct
// dpif_class, narrowed to what flowlift's upcall handlers, revalidator and
// control plane use). Two implementations stand behind it:
//   - the in-process userspace datapath (kmod/userspace_dpif.h): dummy ports,
//     system ports over AF_PACKET, VXLAN in userspace;
//   - Linux's openvswitch module over generic netlink (issue 5).
// Everything here speaks the one megaflow vocabulary of include/flowlift
// (FlowKey/Match, ActionList, Megaflow), which is the kernel's uapi.
//
// Threading: every member is safe to call from any thread. Upcalls are read
// by any number of handler threads; each upcall is delivered once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/megaflow.h"
#include "flowlift/packet.h"
#include "flowlift/status.h"

namespace flowlift {

enum class DpifPortType : uint8_t {
  kDummy,   // no device: packets injected and captured (OVS's netdev-dummy)
  kSystem,  // an existing Linux network device (AF_PACKET in userspace)
  kVxlan,   // a flow-based VXLAN tunnel port (OVS's vxlan_sys_<udp port>)
};

// "dummy", "system", "vxlan": the names the configuration and the CLI use.
inline std::string_view dpif_port_type_name(DpifPortType type) {
  switch (type) {
    case DpifPortType::kDummy: return "dummy";
    case DpifPortType::kSystem: return "system";
    case DpifPortType::kVxlan: return "vxlan";
  }
  return "unknown";
}

struct DpifPortRequest {
  std::string name;  // the netdev for kSystem; any unique name otherwise
  DpifPortType type = DpifPortType::kDummy;
  uint32_t number = 0;         // the datapath port number; 0: the datapath picks one
  uint16_t vxlan_udp_port = 4789;  // kVxlan: the UDP port its packets use (host order)
  // kSystem only: the device carries VXLAN underlay traffic and belongs to no
  // bridge. Frames that are not VXLAN for one of our tunnel ports are left
  // to the host's own stack (not upcalled, not counted as misses).
  bool underlay_only = false;
};

// Per-port counters, from the datapath's point of view (rx = into the switch).
struct DpifPortStats {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
  uint64_t rx_malformed = 0;  // frames dropped before lookup (truncated, bad lengths)
};

struct DpifPort {
  uint32_t number = 0;
  std::string name;
  DpifPortType type = DpifPortType::kDummy;
  uint16_t vxlan_udp_port = 0;
  bool underlay_only = false;
  DpifPortStats stats;
  // Empty while the port works. Otherwise why it does not (for example
  // "device veth3 was removed"): the port stays listed, with its counters,
  // until removed, and the rest of the datapath keeps running.
  std::string error;
};

// The datapath's counters, as `ovs-dpctl show` reports them.
struct DpifStats {
  uint64_t hit = 0;
  uint64_t missed = 0;
  uint64_t lost = 0;           // upcalls dropped: their queue was full
  uint64_t flows = 0;
  uint64_t masks = 0;
  uint64_t masks_visited = 0;  // sum over lookups (the kernel's n_mask_hit)
  uint64_t cache_hit = 0;      // lookups answered through the mask cache
  uint64_t malformed = 0;      // frames with no usable L2 header, or failed decapsulation
  uint64_t action_errors = 0;  // packets an action could not be applied to
};

// A packet the slowpath must see (OVS_PACKET_CMD_MISS / OVS_PACKET_CMD_ACTION).
struct DpifUpcall {
  enum class Kind : uint8_t { kMiss, kAction };
  Kind kind = Kind::kMiss;
  Packet packet;       // as received (after decapsulation for tunnel packets)
  FlowKey key{};       // the key the datapath extracted (in_port, tunnel included)
  uint32_t hash = 0;   // the packet's flow hash (what the kernel's skb hash is)
  std::optional<UserspaceAction> action;  // kAction: the userspace action that sent it
};

enum class DpifPutOutcome : uint8_t {
  kCreated,         // a new flow was installed
  kActionsUpdated,  // an existing flow got the new actions
};

struct DpifFlowPut {
  Megaflow flow;  // ufid, match and actions; stats ignored
  bool create = true;    // may create a new flow (NLM_F_CREATE)
  bool modify = false;   // may replace an existing flow's actions (no NLM_F_EXCL)
  bool clear_stats = false;  // with modify: zero the flow's statistics
};

class Dpif {
 public:
  virtual ~Dpif() = default;

  // "userspace" or "netlink": which datapath this is (dump-megaflows shows it).
  virtual std::string_view type() const = 0;

  // ---- Ports ----
  // Errors: EEXIST (name or number in use), ENODEV (no such netdev for a
  // system port), EINVAL (bad request), each naming the port.
  virtual Result<uint32_t> port_add(const DpifPortRequest& request) = 0;
  virtual Status port_del(uint32_t number) = 0;
  virtual std::vector<DpifPort> port_dump() const = 0;

  // ---- Flows (OVS_FLOW_CMD_*) ----
  // EEXIST when the flow exists and !modify; ENOENT when it does not and
  // !create; EINVAL (naming the attribute) for actions the datapath refuses.
  virtual Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) = 0;
  // Several puts in one request where the datapath can (OVS's dpif_operate):
  // one outcome per put, in order. The default puts them one by one.
  virtual std::vector<Result<DpifPutOutcome>> flow_put_batch(std::span<const DpifFlowPut> puts) {
    std::vector<Result<DpifPutOutcome>> outcomes;
    outcomes.reserve(puts.size());
    for (const DpifFlowPut& put : puts) outcomes.push_back(flow_put(put));
    return outcomes;
  }
  virtual Result<Megaflow> flow_get(const Ufid& ufid) const = 0;
  // Returns the flow with its final statistics.
  virtual Result<Megaflow> flow_del(const Ufid& ufid) = 0;
  virtual Status flow_flush() = 0;
  // Every flow with its statistics (used_ms on the monotonic_ms() clock).
  virtual std::vector<Megaflow> flow_dump() const = 0;

  // ---- Packets ----
  // OVS_PACKET_CMD_EXECUTE: runs `actions` on `packet`, whose key is `key`
  // (in_port included), as if it had hit a flow with them.
  virtual Status execute(Packet packet, const FlowKey& key, const ActionList& actions) = 0;

  // ---- Upcalls ----
  // Moves up to `max` queued upcalls into `out` (appended) without blocking.
  // Queues are per input port and drained round robin, so a port flooding
  // misses cannot starve the others. Returns how many were moved.
  virtual size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) = 0;
  // Blocks until an upcall may be waiting, wake_upcall_waiters() is called,
  // or `timeout` passes.
  virtual void wait_for_upcalls(std::chrono::milliseconds timeout) = 0;
  virtual void wake_upcall_waiters() = 0;

  virtual DpifStats stats() const = 0;

  // Upkeep the revalidator runs once per round: a datapath that offloads
  // re-creates what someone else removed behind its back (a deleted clsact
  // qdisc and its filters). Returns what it found and could not mend, for
  // the log; empty when all is well.
  virtual std::vector<std::string> maintain() { return {}; }

  // ---- Tunnels ----
  // The remote VTEPs the configuration names for tunnel port `number` (the
  // remote_ip of every VXLAN port sharing it). The userspace datapath
  // resolves their underlay at once and listens on it, so that the first
  // packet a remote sends is received; a kernel datapath needs nothing.
  virtual Status set_tunnel_remotes(uint32_t /*number*/, std::vector<Be32> /*remotes*/) { return Status::ok(); }

  // ---- Dummy ports (OVS's netdev-dummy/receive and its transmit capture) ----
  // Receives `packet` on dummy port `port` as if it had arrived there
  // (the whole fast path, upcall included). EOPNOTSUPP on datapaths without
  // dummy ports; ENODEV for a port that is not a dummy port.
  virtual Status inject(uint32_t /*port*/, Packet /*packet*/) {
    return Status(EOPNOTSUPP, "this datapath has no dummy ports");
  }
  // Brackets a run of inject() calls made by one thread as one receive batch
  // (netdev-dummy/receive with several packets): the upcalls they queue
  // wake the handlers once, at end_inject_batch(), not one by one. Calls
  // nest; a datapath without deferred wakeups ignores them.
  virtual void begin_inject_batch() {}
  virtual void end_inject_batch() {}
  // Frames dummy port `port` transmitted since the last capture (oldest
  // first, at most `max`; the port keeps the latest 1024).
  virtual Result<std::vector<Packet>> capture(uint32_t /*port*/, size_t /*max*/) {
    return Status(EOPNOTSUPP, "this datapath has no dummy ports");
  }
};

// Monotonic milliseconds: the clock flow statistics (FlowStats::used_ms) use.
inline uint64_t monotonic_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

}  // namespace flowlift
