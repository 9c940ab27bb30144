// SwitchCoreTestDpif: a Dpif for SwitchCore's tests, small enough to check
// by eye: ports in a map, flows in a map searched linearly (first match),
// dummy ports that take injected packets and keep what they transmit, and
// the real action executor (kmod/actions_execute.h) so that outputs,
// set-field and VLAN actions change the frames the tests capture.
//
// Why not the userspace datapath: SwitchCore's tests are about the control
// plane (what commands do to ports, rules and megaflows, and what they
// print); a fake whose every counter is obvious lets them state exact
// numbers. System ports exist only for device names the test declares, so
// the "no such device" path can be tested without a host.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "flowlift/dpif.h"
#include "kmod/actions_execute.h"
#include "kmod/flow_extract.h"
#include "slowpath/test_upcall_fifo.h"

namespace flowlift {

class SwitchCoreTestDpif final : public Dpif {
 public:
  // Devices a system port may be added for ("eth0" is assumed present).
  std::set<std::string> system_devices = {"eth0"};
  // Tunnel remotes the core announced, by tunnel port.
  std::map<uint32_t, std::vector<Be32>> tunnel_remotes;

  std::string_view type() const override { return "userspace"; }

  Result<uint32_t> port_add(const DpifPortRequest& request) override {
    std::lock_guard lock(mutex_);
    for (const auto& [number, port] : ports_)
      if (port.name == request.name) return Status(EEXIST, "port " + request.name + " exists");
    if (request.type == DpifPortType::kSystem && !system_devices.count(request.name))
      return Status(ENODEV, "no network device named " + request.name);
    uint32_t number = request.number ? request.number : next_number_++;
    if (ports_.count(number)) return Status(EEXIST, "port number " + std::to_string(number) + " in use");
    DpifPort port;
    port.number = number;
    port.name = request.name;
    port.type = request.type;
    port.vxlan_udp_port = request.type == DpifPortType::kVxlan ? request.vxlan_udp_port : 0;
    ports_.emplace(number, port);
    return number;
  }
  Status port_del(uint32_t number) override {
    std::lock_guard lock(mutex_);
    if (!ports_.erase(number)) return Status(ENOENT, "no port " + std::to_string(number));
    captured_.erase(number);
    tunnel_remotes.erase(number);
    return Status::ok();
  }
  std::vector<DpifPort> port_dump() const override {
    std::lock_guard lock(mutex_);
    std::vector<DpifPort> out;
    for (const auto& [number, port] : ports_) out.push_back(port);
    return out;
  }

  Result<DpifPutOutcome> flow_put(const DpifFlowPut& put) override {
    std::lock_guard lock(mutex_);
    auto it = flows_.find(put.flow.ufid.bytes);
    if (it != flows_.end()) {
      if (!put.modify) return Status(EEXIST, "flow exists");
      it->second.actions = put.flow.actions;
      if (put.clear_stats) it->second.stats = FlowStats{};
      return DpifPutOutcome::kActionsUpdated;
    }
    if (!put.create) return Status(ENOENT, "no such flow");
    Megaflow flow = put.flow;
    flow.stats = FlowStats{};
    flows_.emplace(flow.ufid.bytes, flow);
    return DpifPutOutcome::kCreated;
  }
  Result<Megaflow> flow_get(const Ufid& ufid) const override {
    std::lock_guard lock(mutex_);
    auto it = flows_.find(ufid.bytes);
    if (it == flows_.end()) return Status(ENOENT, "no such flow");
    return it->second;
  }
  Result<Megaflow> flow_del(const Ufid& ufid) override {
    std::lock_guard lock(mutex_);
    auto it = flows_.find(ufid.bytes);
    if (it == flows_.end()) return Status(ENOENT, "no such flow");
    Megaflow flow = it->second;
    flows_.erase(it);
    return flow;
  }
  Status flow_flush() override {
    std::lock_guard lock(mutex_);
    flows_.clear();
    return Status::ok();
  }
  std::vector<Megaflow> flow_dump() const override {
    std::lock_guard lock(mutex_);
    std::vector<Megaflow> out;
    for (const auto& [ufid, flow] : flows_) out.push_back(flow);
    return out;
  }
  // Test-only: the port stops working, as a removed device would make it.
  void set_port_error(uint32_t number, std::string error) {
    std::lock_guard lock(mutex_);
    ports_.at(number).error = std::move(error);
  }
  // Test-only: a flow with given statistics, as if the datapath had counted them.
  void put_flow_with_stats(const Megaflow& flow) {
    std::lock_guard lock(mutex_);
    flows_[flow.ufid.bytes] = flow;
  }

  Status execute(Packet packet, const FlowKey& key, const ActionList& actions) override {
    std::lock_guard lock(mutex_);
    return run_actions(std::move(packet), key, actions);
  }

  size_t recv_upcalls(size_t max, std::vector<DpifUpcall>& out) override { return upcalls_.take(max, out); }
  void wait_for_upcalls(std::chrono::milliseconds timeout) override { upcalls_.wait(timeout); }
  void wake_upcall_waiters() override { upcalls_.wake(); }

  DpifStats stats() const override {
    std::lock_guard lock(mutex_);
    DpifStats stats = stats_;
    stats.flows = flows_.size();
    std::set<std::vector<uint8_t>> masks;
    for (const auto& [ufid, flow] : flows_) {
      const auto* bits = reinterpret_cast<const uint8_t*>(&flow.match.mask.bits());
      masks.emplace(bits, bits + sizeof(FlowKey));
    }
    stats.masks = masks.size();
    return stats;
  }

  Status set_tunnel_remotes(uint32_t number, std::vector<Be32> remotes) override {
    std::lock_guard lock(mutex_);
    tunnel_remotes[number] = std::move(remotes);
    return Status::ok();
  }

  Status inject(uint32_t number, Packet packet) override {
    std::lock_guard lock(mutex_);
    auto port = ports_.find(number);
    if (port == ports_.end() || port->second.type != DpifPortType::kDummy)
      return Status(ENODEV, "port " + std::to_string(number) + " is not a dummy port");
    port->second.stats.rx_packets++;
    port->second.stats.rx_bytes += packet.size();
    packet.md = PacketMetadata{};
    packet.md.in_port = number;
    FlowKey key = flow_key_extract(packet);
    for (auto& [ufid, flow] : flows_) {
      ++stats_.masks_visited;
      if (!flow.match.matches(key)) continue;
      ++stats_.hit;
      flow.stats.packets++;
      flow.stats.bytes += packet.size();
      flow.stats.used_ms = monotonic_ms();
      return run_actions(std::move(packet), key, flow.actions);
    }
    ++stats_.missed;
    DpifUpcall upcall;
    upcall.packet = std::move(packet);
    upcall.key = key;
    upcalls_.push(std::move(upcall));
    return Status::ok();
  }
  Result<std::vector<Packet>> capture(uint32_t number, size_t max) override {
    std::lock_guard lock(mutex_);
    auto port = ports_.find(number);
    if (port == ports_.end() || port->second.type != DpifPortType::kDummy)
      return Status(ENODEV, "port " + std::to_string(number) + " is not a dummy port");
    std::deque<Packet>& frames = captured_[number];
    std::vector<Packet> out;
    while (out.size() < max && !frames.empty()) {
      out.push_back(std::move(frames.front()));
      frames.pop_front();
    }
    return out;
  }

 private:
  class Context final : public ActionContext {
   public:
    explicit Context(SwitchCoreTestDpif& dpif) : dpif_(dpif) {}
    void output(uint32_t port, Packet packet) override { dpif_.transmit(port, std::move(packet)); }
    void upcall(const Upcall&) override {}
    void recirculate(Packet, const FlowKey&) override {}
    FlowKey extract_key(Packet& packet) override { return flow_key_extract(packet); }
    uint32_t random_u32() override { return 0x12345678; }

   private:
    SwitchCoreTestDpif& dpif_;
  };

  // Called with mutex_ held.
  Status run_actions(Packet packet, const FlowKey& key, const ActionList& actions) {
    Context context(*this);
    Packet extracted = std::move(packet);
    (void)flow_key_extract(extracted);  // sets the layer offsets the executor needs
    Status status = execute_actions(std::move(extracted), key, actions, context);
    if (!status) ++stats_.action_errors;
    return status;
  }
  void transmit(uint32_t number, Packet packet) {
    auto port = ports_.find(number);
    if (port == ports_.end()) return;
    port->second.stats.tx_packets++;
    port->second.stats.tx_bytes += packet.size();
    if (port->second.type != DpifPortType::kDummy) return;
    std::deque<Packet>& frames = captured_[number];
    frames.push_back(std::move(packet));
    if (frames.size() > 1024) frames.pop_front();
  }

  mutable std::mutex mutex_;
  uint32_t next_number_ = 1;
  std::map<uint32_t, DpifPort> ports_;
  std::map<std::array<uint8_t, 16>, Megaflow> flows_;
  TestUpcallFifo upcalls_;
  std::map<uint32_t, std::deque<Packet>> captured_;
  DpifStats stats_;
};

}  // namespace flowlift
