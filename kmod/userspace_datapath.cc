// The in-process datapath's fast path and port registry (see userspace_datapath.h).
#include "kmod/userspace_datapath.h"

#include <arpa/inet.h>

#include <chrono>
#include <random>

#include "kmod/actions_validate.h"
#include "kmod/flow_extract.h"
#include "kmod/packet_hash.h"

namespace flowlift {

namespace {

// Is this an unfragmented IPv4/UDP frame for the VTEP's address and port?
// Only those are handed to the VXLAN port; the rest of the underlay's traffic
// is switched normally (as the kernel's IP stack only feeds the vxlan socket).
bool vxlan_frame_for_endpoint(Packet& packet, const VxlanEndpoint& endpoint) {
  FlowKey outer = flow_key_extract(packet);
  return outer.eth_type == htons(0x0800) && outer.ip_proto == 17 && outer.ip_frag == kFragNone &&
         outer.ipv4_dst == endpoint.local_ipv4 && outer.tp_dst == htons(endpoint.udp_port) &&
         outer.vlan.tpid == 0;
}

// The kernel's OVS_RECURSION_LIMIT: recirculation deeper than this drops the
// packet (with a rate-limited "deadlock detected" warning there).
constexpr int kMaxRecirculationDepth = 5;

}  // namespace

// Binds the action executor to this datapath: ports, upcalls, recirculation.
class UserspaceDatapath::Executor final : public ActionContext {
 public:
  Executor(UserspaceDatapath& datapath, LookupContext& context, int depth)
      : datapath_(datapath), context_(context), depth_(depth) {}

  void output(uint32_t port, Packet packet) override { datapath_.transmit(port, std::move(packet)); }

  void upcall(const Upcall& upcall) override {
    QueuedUpcall queued;
    queued.kind = QueuedUpcall::Kind::kAction;
    queued.packet = upcall.packet;
    queued.key = upcall.key;
    queued.action = upcall.action;
    datapath_.queue_upcall(std::move(queued));
  }

  void recirculate(Packet packet, const FlowKey& /*key*/) override {
    datapath_.process(context_, std::move(packet), depth_ + 1);
  }

  FlowKey extract_key(Packet& packet) override { return flow_key_extract(packet); }

  uint32_t random_u32() override { return static_cast<uint32_t>(rng()()); }

  bool is_vxlan_port(uint32_t port) override {
    std::lock_guard lock(datapath_.mutex_);
    const PortInfo* info = datapath_.find_port(port);
    return info && info->type == PortType::kVxlan;
  }

  Result<VxlanRoute> resolve_vxlan_route(uint32_t port, const TunnelKey& /*tunnel*/) override {
    std::lock_guard lock(datapath_.mutex_);
    const PortInfo* info = datapath_.find_port(port);
    if (!info || !info->vxlan) return Status(ENODEV, "port " + std::to_string(port) + " is not a VXLAN port");
    return *info->vxlan;
  }

 private:
  static std::mt19937& rng() {
    thread_local std::mt19937 generator(std::random_device{}());
    return generator;
  }

  UserspaceDatapath& datapath_;
  LookupContext& context_;
  int depth_;
};

UserspaceDatapath::UserspaceDatapath(size_t upcall_queue_limit) : upcall_queue_limit_(upcall_queue_limit) {}

Status UserspaceDatapath::add_port(uint32_t number, std::string name, PortType type,
                                   std::optional<VxlanPortConfig> vxlan) {
  std::lock_guard lock(mutex_);
  if (ports_.count(number)) return Status(EEXIST, "port " + std::to_string(number) + " already exists");
  for (const auto& [n, p] : ports_)
    if (p.name == name) return Status(EEXIST, "a port named \"" + name + "\" already exists (port " +
                                                  std::to_string(n) + ")");
  if (type == PortType::kVxlan && !vxlan)
    return invalid_argument("vxlan port " + name + ": needs its endpoint and underlay port");
  if (type != PortType::kVxlan && vxlan) return invalid_argument("port " + name + ": only vxlan ports take a VXLAN endpoint");
  PortInfo info;
  info.number = number;
  info.name = std::move(name);
  info.type = type;
  info.vxlan = vxlan;
  ports_.emplace(number, std::move(info));
  return Status::ok();
}

Status UserspaceDatapath::remove_port(uint32_t number) {
  std::lock_guard lock(mutex_);
  if (!ports_.erase(number)) return Status(ENOENT, "no port " + std::to_string(number));
  return Status::ok();
}

std::vector<PortInfo> UserspaceDatapath::ports() const {
  std::lock_guard lock(mutex_);
  std::vector<PortInfo> out;
  for (const auto& [n, p] : ports_) out.push_back(p);
  return out;
}

void UserspaceDatapath::set_transmit_hook(TransmitHook hook) {
  std::lock_guard lock(mutex_);
  transmit_hook_ = std::move(hook);
}

Result<InsertOutcome> UserspaceDatapath::put_flow(const Megaflow& flow, uint16_t nlmsg_flags) {
  if (Status s = validate_actions(flow.actions, flow.match); !s) return s;
  return table_.insert(flow, nlmsg_flags);
}

PortInfo* UserspaceDatapath::find_port(uint32_t number) {
  auto it = ports_.find(number);
  return it == ports_.end() ? nullptr : &it->second;
}

const PortInfo* UserspaceDatapath::vxlan_port_for_underlay(uint32_t underlay_port) const {
  for (const auto& [n, p] : ports_)
    if (p.type == PortType::kVxlan && p.vxlan && p.vxlan->underlay_port == underlay_port) return &p;
  return nullptr;
}

bool UserspaceDatapath::run_periodic_work(uint64_t now_ms) {
  uint64_t last = last_rebalance_ms_.load(std::memory_order_relaxed);
  if (last == 0) {  // the first call starts the clock
    last_rebalance_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed);
    return false;
  }
  if (now_ms - last < kMaskRebalanceIntervalMs) return false;
  if (!last_rebalance_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) return false;
  return table_.rebalance();
}

ReceiveOutcome UserspaceDatapath::receive(LookupContext& context, uint32_t port, Packet packet) {
  if (packets_until_periodic_check_.fetch_sub(1, std::memory_order_relaxed) == 1) {
    packets_until_periodic_check_.store(kPeriodicCheckPackets, std::memory_order_relaxed);
    run_periodic_work(monotonic_ms());
  }
  std::optional<PortInfo> tunnel_port;
  {
    std::lock_guard lock(mutex_);
    PortInfo* info = find_port(port);
    if (!info) {  // a frame for a port removed under the receiver: nowhere to count it but here
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      ReceiveOutcome dropped;
      dropped.malformed = true;
      return dropped;
    }
    info->stats.rx_packets++;
    info->stats.rx_bytes += packet.size();
    if (const PortInfo* vxlan = vxlan_port_for_underlay(port)) tunnel_port = *vxlan;
  }
  packet.md = PacketMetadata{};
  packet.md.in_port = port;

  // A VXLAN frame for one of our VTEPs arriving on its underlay port is
  // decapsulated and continues as if received on the VXLAN port, as the
  // kernel's vxlan device hands it to the OVS vport. Anything else on the
  // underlay port is switched as an ordinary frame.
  if (tunnel_port) {
    const VxlanEndpoint& endpoint = tunnel_port->vxlan->endpoint;
    if (vxlan_frame_for_endpoint(packet, endpoint)) {
      Result<TunnelKey> tunnel = vxlan_decapsulate(packet, endpoint.udp_port);
      if (!tunnel) {
        stats_.malformed.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex_);
        if (PortInfo* info = find_port(tunnel_port->number)) info->stats.rx_dropped++;
        ReceiveOutcome dropped;
        dropped.decapsulated = dropped.malformed = true;
        return dropped;
      }
      uint32_t vxlan_port = tunnel_port->number;
      packet.md.in_port = vxlan_port;
      packet.md.tunnel = *tunnel;
      packet.md.has_tunnel = true;
      {
        std::lock_guard lock(mutex_);
        if (PortInfo* info = find_port(vxlan_port)) {
          info->stats.rx_packets++;
          info->stats.rx_bytes += packet.size();
        }
      }
      ReceiveOutcome outcome = process(context, std::move(packet), 0);
      outcome.decapsulated = true;
      return outcome;
    }
  }
  return process(context, std::move(packet), 0);
}

ReceiveOutcome UserspaceDatapath::process(LookupContext& context, Packet packet, int recirculation_depth) {
  ReceiveOutcome outcome;
  if (recirculation_depth > kMaxRecirculationDepth) {
    stats_.action_errors.fetch_add(1, std::memory_order_relaxed);
    return outcome;
  }
  FlowKey key = flow_key_extract(packet);
  if (key.eth_type == 0) {  // shorter than an Ethernet header: the kernel drops it (-EINVAL)
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    outcome.malformed = true;
    return outcome;
  }
  LookupResult found = table_.lookup(context, key, mask_cache_packet_hash(packet.bytes(), key.recirc_id));
  stats_.masks_visited.fetch_add(found.masks_visited, std::memory_order_relaxed);
  if (found.cache_hit) stats_.cache_hit.fetch_add(1, std::memory_order_relaxed);
  outcome.masks_visited = found.masks_visited;
  outcome.cache_hit = found.cache_hit;
  if (!found.flow) {
    stats_.missed.fetch_add(1, std::memory_order_relaxed);
    QueuedUpcall miss;
    miss.kind = QueuedUpcall::Kind::kMiss;
    miss.key = key;
    miss.packet = std::move(packet);
    queue_upcall(std::move(miss));
    return outcome;
  }
  outcome.hit = true;
  outcome.ufid = found.flow->ufid();
  stats_.hit.fetch_add(1, std::memory_order_relaxed);
  found.flow->record_packet(static_cast<uint32_t>(packet.size()), ntohs(key.tcp_flags), monotonic_ms());
  Executor executor(*this, context, recirculation_depth);
  Status result = execute_actions(std::move(packet), key, found.flow->actions(), executor);
  uint64_t errors = executor.drops.action_error + executor.drops.tunnel_output_error;
  if (!result || errors) stats_.action_errors.fetch_add(errors ? errors : 1, std::memory_order_relaxed);
  return outcome;
}

void UserspaceDatapath::transmit(uint32_t port, Packet packet) {
  TransmitHook hook;
  {
    std::lock_guard lock(mutex_);
    PortInfo* info = find_port(port);
    if (!info) {
      // Output to a port that went away: the kernel drops it silently; we count it.
      stats_.action_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    info->stats.tx_packets++;
    info->stats.tx_bytes += packet.size();
    hook = transmit_hook_;
  }
  if (hook) hook(port, packet);
}

void UserspaceDatapath::queue_upcall(QueuedUpcall upcall) {
  std::lock_guard lock(mutex_);
  if (upcalls_.size() >= upcall_queue_limit_) {
    stats_.lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  upcalls_.push_back(std::move(upcall));
}

std::vector<QueuedUpcall> UserspaceDatapath::take_upcalls() {
  std::lock_guard lock(mutex_);
  std::vector<QueuedUpcall> out(std::make_move_iterator(upcalls_.begin()), std::make_move_iterator(upcalls_.end()));
  upcalls_.clear();
  return out;
}

DatapathStats UserspaceDatapath::stats() const {
  DatapathStats s;
  s.hit = stats_.hit.load(std::memory_order_relaxed);
  s.missed = stats_.missed.load(std::memory_order_relaxed);
  s.lost = stats_.lost.load(std::memory_order_relaxed);
  s.masks_visited = stats_.masks_visited.load(std::memory_order_relaxed);
  s.cache_hit = stats_.cache_hit.load(std::memory_order_relaxed);
  s.malformed = stats_.malformed.load(std::memory_order_relaxed);
  s.action_errors = stats_.action_errors.load(std::memory_order_relaxed);
  return s;
}

}  // namespace flowlift
