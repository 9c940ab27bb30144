// KernelDpif: the Dpif of Linux's openvswitch module (what dpif-netlink is
// to Open vSwitch). The kernel owns the ports, the flow table and the fast
// path; this class speaks the four ovs_* generic netlink families to it:
//
//   request socket (one, mutex-serialised)   OVS_DP/VPORT/FLOW/PACKET_CMD_*
//   upcall sockets (options.upcall_sockets)  OVS_PACKET_CMD_MISS/ACTION
//        └► receive thread: parse (kernel_dpif_packet) ─► DpifUpcallQueues
//           (one bounded FIFO per input port, read round robin) ─►
//           recv_upcalls() in the slowpath's handler threads
//
// Upcall steering: with OVS_DP_F_DISPATCH_UPCALL_PER_CPU (Linux 5.14+,
// used when the kernel accepts it) every CPU's upcalls go to one socket
// (OVS_DP_ATTR_PER_CPU_PIDS, the sockets spread over the CPUs); otherwise
// each vport lists every upcall socket (OVS_VPORT_ATTR_UPCALL_PID) and the
// kernel picks one by the packet's hash, and userspace actions whose pid is
// 0 are given the first upcall socket's. The one receive thread then
// merges them into the per-port queues, so fairness across ports is the
// queues' round robin whatever the kernel's spread.
//
// Ports: system ports are OVS_VPORT_TYPE_NETDEV, VXLAN ports
// OVS_VPORT_TYPE_VXLAN (the kernel creates the flow-based vxlan device named
// by the request, OVS's vxlan_sys_<port>); internal ports (a netdev the
// datapath implements) have no DpifPortType and are added with
// internal_port_add(); port_dump() lists them as kSystem (a netdev to the
// bridges). The datapath's own local port 0 is not listed by port_dump()
// (it belongs to the datapath, not to a bridge); vport_dump() shows it. The
// kernel deletes a vport whose netdev is unregistered; such a port stays in
// port_dump() with the error "device NAME was removed" until port_del().
// Dummy ports do not exist here (inject/capture: EOPNOTSUPP).
//
// Errors carry the kernel's errno and its extended-ack text.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flowlift/dpif.h"
#include "kmod/dpif_upcall_queues.h"
#include "kmod/genl_socket.h"
#include "kmod/kernel_dpif_datapath.h"
#include "kmod/kernel_dpif_families.h"
#include "kmod/kernel_dpif_flow.h"
#include "kmod/kernel_dpif_vport.h"

namespace flowlift {

struct KernelDpifOptions {
  bool create = true;                  // create the datapath when it does not exist (else ENODEV)
  bool exclusive = false;              // refuse a datapath that exists already (EEXIST)
  bool delete_on_close = true;         // OVS_DP_CMD_DEL when the KernelDpif is destroyed
  bool per_cpu_dispatch = true;        // ask for OVS_DP_F_DISPATCH_UPCALL_PER_CPU
  size_t upcall_sockets = 2;           // at least 1
  size_t upcall_queue_limit = 1024;    // per input port; overflow is counted as lost
  int upcall_socket_buffer = 4 << 20;  // SO_RCVBUF(FORCE) of each upcall socket
};

class KernelDpif final : public Dpif {
  struct ConstructionKey {};

 public:
  // Resolves the ovs_* families (the module missing is ENOENT with "the
  // openvswitch kernel module is not loaded (modprobe openvswitch)"),
  // creates the datapath `name` or opens the existing one (then sets its
  // user features and points its upcalls at our sockets), and starts the
  // upcall receive thread.
  static Result<std::unique_ptr<KernelDpif>> open(std::string_view name, KernelDpifOptions options = {});
  KernelDpif(ConstructionKey, std::string name, KernelDpifOptions options);
  ~KernelDpif() override;  // stops the receive thread; deletes the datapath if delete_on_close
  KernelDpif(const KernelDpif&) = delete;
  KernelDpif& operator=(const KernelDpif&) = delete;

  std::string_view type() const override { return "netlink"; }

  Result<uint32_t> port_add(const DpifPortRequest& request) override;
  Status port_del(uint32_t number) override;
  std::vector<DpifPort> port_dump() const override;

  Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) override;
  Result<Megaflow> flow_get(const Ufid& ufid) const override;
  Result<Megaflow> flow_del(const Ufid& ufid) override;
  Status flow_flush() override;
  std::vector<Megaflow> flow_dump() const override;

  Status execute(Packet packet, const FlowKey& key, const ActionList& actions) override;

  size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) override;
  void wait_for_upcalls(std::chrono::milliseconds timeout) override;
  void wake_upcall_waiters() override;

  DpifStats stats() const override;

  // ---- The kernel's own view ----
  const std::string& name() const { return name_; }
  int dp_ifindex() const { return dp_ifindex_; }
  uint32_t user_features() const { return user_features_; }
  bool per_cpu_dispatch() const { return (user_features_ & OVS_DP_F_DISPATCH_UPCALL_PER_CPU) != 0; }
  std::vector<uint32_t> upcall_socket_pids() const;

  // An OVS_VPORT_TYPE_INTERNAL port named `name` (a new netdev).
  Result<uint32_t> internal_port_add(const std::string& name, uint32_t number = 0);
  // Every vport, the local port included, as the kernel reports it.
  Result<std::vector<KernelVportInfo>> vport_dump() const;
  // flow_dump() with its errors: a failed dump, or the first flow that
  // cannot be read (flow_dump() skips those and counts them).
  Result<std::vector<Megaflow>> flow_dump_checked() const;
  uint64_t flow_parse_errors() const { return flow_parse_errors_.load(); }
  // A dump without keys, masks and actions (OVS_UFID_F_OMIT_*): UFIDs and
  // statistics only, what a revalidator needs to find idle flows cheaply.
  Result<std::vector<KernelFlowIdentity>> flow_dump_ufids() const;
  Result<KernelDatapathInfo> datapath_info() const;
  // Upcall messages that could not be parsed; receive errors on the upcall
  // sockets (ENOBUFS: the kernel found a socket's buffer full and dropped
  // upcalls, which it counts in DpifStats::lost).
  uint64_t upcall_parse_errors() const { return upcall_parse_errors_.load(); }
  uint64_t upcall_socket_overruns() const { return socket_overruns_.load(); }

 private:
  struct KnownPort {
    std::string name;
    DpifPortType type = DpifPortType::kSystem;
    uint16_t vxlan_udp_port = 0;
  };

  Status connect(bool* created);
  Status start_upcall_sockets();
  Status refresh_vport_upcall_pids();
  Result<std::vector<GenlMessage>> request(uint16_t family, uint8_t command, uint8_t version, uint16_t flags,
                                           std::span<const uint8_t> payload) const;
  Result<std::vector<GenlMessage>> dump_request(uint16_t family, uint8_t command, uint8_t version,
                                                std::span<const uint8_t> payload) const;
  Result<uint32_t> add_vport(const KernelVportCreate& create, DpifPortType type);
  // Userspace actions with pid 0 get our first upcall socket (per-vport dispatch only).
  ActionList with_upcall_pids(const ActionList& actions) const;
  Result<DpifPutOutcome> put_new(const Megaflow& flow);
  Result<DpifPutOutcome> put_set(const Megaflow& flow, bool clear_stats);
  void receive_loop();

  const std::string name_;
  const KernelDpifOptions options_;
  OvsGenlFamilies families_;
  int dp_ifindex_ = 0;
  uint32_t user_features_ = 0;

  mutable std::mutex request_mutex_;
  std::unique_ptr<GenlSocket> request_socket_;
  std::vector<std::unique_ptr<GenlSocket>> upcall_sockets_;

  mutable std::mutex ports_mutex_;
  std::map<uint32_t, KnownPort> known_ports_;  // the ports we added, by number

  DpifUpcallQueues upcalls_;
  std::thread receive_thread_;
  int stop_fd_ = -1;  // eventfd: stop the receive thread
  std::atomic<uint64_t> queue_lost_{0};
  std::atomic<uint64_t> socket_overruns_{0};
  std::atomic<uint64_t> upcall_parse_errors_{0};
  mutable std::atomic<uint64_t> flow_parse_errors_{0};
};

}  // namespace flowlift
