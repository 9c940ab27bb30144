// UserspaceDpif: the Dpif of the in-process userspace datapath (what
// dpif-netdev is to Open vSwitch). It owns the ports, the MaskedFlowTable,
// the per-port upcall queues and the receive threads, and runs the kernel
// datapath's fast path on every frame:
//
//   system port (AF_PACKET ring) ─┐
//   dummy port (inject)  ─────────┴► IPv4/UDP to a VXLAN port's UDP port and
//        a local address? decapsulate, continue on the VXLAN port
//        ─► flow_key_extract (malformed: counted, dropped)
//        ─► MaskedFlowTable::lookup ─► hit: execute the flow's actions
//                                    └► miss: upcall, queued per input port
//
// Output to the VXLAN port (vxlan_sys_<udp port>) resolves the underlay of
// the packet's tunnel destination from the kernel (route, source address,
// neighbour: SharedUnderlayResolver), encapsulates, and sends the frame out
// of the route's device, which the datapath opens itself as an
// `underlay_only` system port when it is not a bridge port already.
//
// Files: userspace_dpif.cc (ports, flows, upcalls, dummy ports),
// userspace_dpif_underlay.cc (tunnel remotes and their underlay devices),
// userspace_dpif_fast_path.cc (receive, execute, transmit),
// userspace_dpif_receive_threads.cc (poll loops and the service work).
//
// Namespaces: devices are looked up by name in the calling thread's network
// namespace, so add system ports from the namespace the datapath was
// created in (the daemon never changes namespace; the host tests enter it).
//
// Threading: every member is safe from any thread (Dpif's contract). The
// receive threads each own a LookupContext; other callers of the fast path
// (inject, execute) borrow one from a LookupContextPool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "flowlift/dpif.h"
#include "kmod/dpif_upcall_queues.h"
#include "kmod/flow_table.h"
#include "kmod/host_local_addresses.h"
#include "kmod/lookup_context_pool.h"
#include "kmod/netdev_afpacket.h"
#include "kmod/shared_underlay_resolver.h"
#include "kmod/userspace_dpif_port.h"

namespace flowlift {

struct UserspaceDpifOptions {
  size_t receive_threads = 1;        // threads polling the system ports (at least 1)
  size_t upcall_queue_limit = 1024;  // per input port; overflow is counted as lost
  size_t capture_limit = 1024;       // frames a dummy port keeps for capture()
  size_t receive_batch = 64;         // frames taken from one ring per turn
  AfPacketOptions af_packet;
  // Read VXLAN underlays and local addresses from the kernel (rtnetlink) and
  // hold the tunnel UDP ports. Off (unit tests): no kernel state is touched;
  // output to a VXLAN port is a counted tx drop, and the addresses
  // decapsulation accepts are those given to set_local_addresses().
  bool kernel_underlay = true;
  // How often unresolved tunnel remotes are retried besides kernel changes.
  std::chrono::milliseconds remote_retry_interval{1000};
};

class UserspaceDpif final : public Dpif {
  struct ConstructionKey {};

 public:
  // Opens the kernel sockets (when options.kernel_underlay) in the calling
  // thread's network namespace and starts the receive threads, which stay
  // in that namespace.
  static Result<std::unique_ptr<UserspaceDpif>> create(UserspaceDpifOptions options = {});
  UserspaceDpif(ConstructionKey, UserspaceDpifOptions options);
  ~UserspaceDpif() override;  // stops and joins the receive threads
  UserspaceDpif(const UserspaceDpif&) = delete;
  UserspaceDpif& operator=(const UserspaceDpif&) = delete;

  std::string_view type() const override { return "userspace"; }

  Result<uint32_t> port_add(const DpifPortRequest& request) override;
  Status port_del(uint32_t number) override;
  std::vector<DpifPort> port_dump() const override;

  Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) override;
  // Creates go to the table as one batch (MaskedFlowTable::insert_batch);
  // a batch with any other kind of put goes one by one.
  std::vector<Result<DpifPutOutcome>> flow_put_batch(std::span<const DpifFlowPut> puts) override;
  Result<Megaflow> flow_get(const Ufid& ufid) const override;
  Result<Megaflow> flow_del(const Ufid& ufid) override;
  Status flow_flush() override;
  std::vector<Megaflow> flow_dump() const override;

  Status execute(Packet packet, const FlowKey& key, const ActionList& actions) override;

  size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) override;
  void wait_for_upcalls(std::chrono::milliseconds timeout) override;
  void wake_upcall_waiters() override;

  DpifStats stats() const override;

  Status set_tunnel_remotes(uint32_t number, std::vector<Be32> remotes) override;

  Status inject(uint32_t port, Packet packet) override;
  void begin_inject_batch() override;
  void end_inject_batch() override;
  Result<std::vector<Packet>> capture(uint32_t port, size_t max) override;

  // The addresses VXLAN frames must be sent to for decapsulation; replaces
  // what was read from the kernel until its next address change.
  void set_local_addresses(std::vector<Be32> addresses) { local_addresses_.set(std::move(addresses)); }

 private:
  class Executor;
  friend class Executor;
  using PortPtr = std::shared_ptr<UserspaceDpifPort>;

  struct ReceiveThread {
    std::thread thread;
    int wake_fd = -1;  // eventfd: port set changed, or stop
  };

  // ---- ports (userspace_dpif.cc) ----
  PortPtr find_port(uint32_t number) const;
  PortPtr vxlan_port_for_udp_port(uint16_t udp_port) const;
  Result<uint32_t> add_port_locked(const DpifPortRequest& request);  // config_mutex_ held
  uint32_t lowest_free_number_locked() const;
  // The port number of system device `ifname`, opening it as an
  // underlay_only port if it is not a port yet.
  Result<uint32_t> underlay_port_for_device(const std::string& ifname);
  // Resolves every configured tunnel remote and opens its underlay device;
  // records what is still unresolved in the VXLAN port's error.
  void resolve_tunnel_remotes();
  void port_set_changed();
  void mark_device_gone(UserspaceDpifPort& port);

  // ---- fast path (userspace_dpif_fast_path.cc) ----
  void receive(LookupContext& context, UserspaceDpifPort& port, Packet packet);
  // Decapsulates `packet` when it is VXLAN for one of our tunnel ports and a
  // local address, and runs it on that port. False when it is not such a frame.
  bool receive_vxlan(LookupContext& context, UserspaceDpifPort& underlay, Packet& packet,
                     const FlowKey& outer);
  void process(LookupContext& context, Packet packet, const FlowKey& key, int recirculation_depth);
  // `port` is find_port() of the output's number, or null when there is no such port.
  void transmit(const PortPtr& port, Packet packet);
  void queue_upcall(DpifUpcall upcall);

  // ---- receive threads (userspace_dpif_receive_threads.cc) ----
  void start_receive_threads();
  void stop_receive_threads();
  void receive_loop(size_t index);
  void run_service_work(bool kernel_changed);
  void check_device(UserspaceDpifPort& port);

  const UserspaceDpifOptions options_;
  MaskedFlowTable table_;
  LookupContextPool context_pool_{table_};
  DpifUpcallQueues upcalls_;
  HostLocalAddresses local_addresses_;
  std::unique_ptr<SharedUnderlayResolver> underlay_;  // null without kernel_underlay

  std::mutex config_mutex_;                // serialises port and tunnel changes
  mutable std::shared_mutex ports_mutex_;  // the port map, read per packet
  std::map<uint32_t, PortPtr> ports_;
  std::map<uint32_t, std::vector<Be32>> tunnel_remotes_;  // by VXLAN port; config_mutex_
  std::atomic<uint64_t> port_generation_{0};

  std::vector<ReceiveThread> receive_threads_;
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point next_retry_;  // service thread only
  uint64_t last_rebalance_ms_ = 0;                    // service thread only

  struct AtomicDpifStats {
    std::atomic<uint64_t> hit{0}, missed{0}, lost{0}, masks_visited{0}, cache_hit{0};
    std::atomic<uint64_t> malformed{0}, action_errors{0};
  };
  AtomicDpifStats stats_;
};

}  // namespace flowlift
