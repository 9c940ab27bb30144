// UserspaceDpif's fast path: receive (VXLAN decapsulation, malformed frame
// checks, lookup, upcall), execute, and transmit to dummy, system and VXLAN
// ports (see userspace_dpif.h).
#include <arpa/inet.h>

#include <random>

#include "kmod/actions_execute.h"
#include "kmod/actions_validate.h"
#include "kmod/flow_extract.h"
#include "kmod/packet_hash.h"
#include "kmod/userspace_dpif.h"

namespace flowlift {

namespace {

// The kernel's OVS_RECURSION_LIMIT for recirculation.
constexpr int kDpifMaxRecirculationDepth = 5;

uint16_t read_be16_at(const Packet& packet, size_t offset) {
  const uint8_t* at = packet.data() + offset;
  return static_cast<uint16_t>(at[0] << 8 | at[1]);
}

// Why a frame whose key is `key` cannot be switched, or nullptr. The checks
// are those of the kernel's check_iphdr / check_ipv6 length tests: a frame
// shorter than an Ethernet header, an IP header cut short, or an IP length
// that claims more bytes than the frame holds. (The kernel keeps some of
// these as L2-only keys; a userspace datapath that hands frames to a slowpath
// should not, and OVS's dpif-netdev drops them too.)
const char* frame_length_problem(const Packet& packet, const FlowKey& key) {
  if (key.eth_type == 0) return "shorter than an Ethernet header";
  if (packet.l3_ofs == Packet::kNoOffset) return nullptr;
  size_t l3 = packet.l3_ofs;
  size_t available = packet.size() - l3;
  if (key.eth_type == htons(0x0800)) {
    if (available < 20) return "IPv4 header cut short";
    size_t header_length = size_t{packet.data()[l3] & 0x0fu} * 4;
    size_t total_length = read_be16_at(packet, l3 + 2);
    if (header_length < 20 || header_length > available) return "bad IPv4 header length";
    if (total_length < header_length || total_length > available) return "bad IPv4 total length";
  } else if (key.eth_type == htons(0x86dd)) {
    if (available < 40) return "IPv6 header cut short";
    size_t payload_length = read_be16_at(packet, l3 + 4);
    if (payload_length != 0 && 40 + payload_length > available) return "bad IPv6 payload length";
  }
  return nullptr;
}

bool key_has_tunnel(const FlowKey& key) {
  const TunnelKey& tunnel = key.tunnel;
  bool ipv6 = false;
  for (uint8_t byte : tunnel.ipv6_dst) ipv6 = ipv6 || byte != 0;
  return tunnel.ipv4_dst != 0 || ipv6 || tunnel.tun_id != 0;
}

}  // namespace

// Binds the action executor to this datapath: ports, upcalls, recirculation,
// and the VXLAN underlay. One per executed action list. `context` is the
// lookup context recirculated packets are looked up with: a receive
// thread's own, or null for an execute, whose recirculations borrow one
// from the pool (most executed lists only output, and lending and giving
// one back cost an execute as much as validating its actions).
class UserspaceDpif::Executor final : public ActionContext {
 public:
  Executor(UserspaceDpif& dpif, LookupContext* context, int depth)
      : dpif_(dpif), context_(context), depth_(depth) {}

  void output(uint32_t port, Packet packet) override {
    if (pending_tunnel_ && pending_tunnel_->underlay_port == port) {
      UserspaceDpifPortCounters::bump(pending_tunnel_->port->counters.tx_packets);
      UserspaceDpifPortCounters::bump(pending_tunnel_->port->counters.tx_bytes, packet.size());
      pending_tunnel_.reset();
    }
    dpif_.transmit(port_of(port), std::move(packet));
  }

  void upcall(const Upcall& upcall) override {
    DpifUpcall queued;
    queued.kind = DpifUpcall::Kind::kAction;
    queued.packet = upcall.packet;
    queued.key = upcall.key;
    queued.hash = mask_cache_packet_hash(upcall.packet.bytes(), upcall.key.recirc_id);
    queued.action = upcall.action;
    dpif_.queue_upcall(std::move(queued));
  }

  void recirculate(Packet packet, const FlowKey& /*key*/) override {
    FlowKey key = flow_key_extract(packet);
    if (context_ != nullptr) {
      dpif_.process(*context_, std::move(packet), key, depth_ + 1);
      return;
    }
    LookupContextPool::Lease lease = dpif_.context_pool_.lend();
    dpif_.process(lease.context(), std::move(packet), key, depth_ + 1);
  }

  FlowKey extract_key(Packet& packet) override { return flow_key_extract(packet); }

  uint32_t random_u32() override { return static_cast<uint32_t>(rng()()); }

  bool is_vxlan_port(uint32_t number) override {
    pending_tunnel_.reset();  // asked before every output: an older resolve is stale
    const PortPtr& port = port_of(number);
    if (!port || port->type != DpifPortType::kVxlan) return false;
    last_vxlan_port_ = port;  // the executor outputs to it next
    return true;
  }

  // The underlay of the packet's tunnel destination, from the kernel: the
  // route's device (opened as a port if need be), source address and MACs.
  Result<VxlanRoute> resolve_vxlan_route(uint32_t number, const TunnelKey& tunnel) override {
    pending_tunnel_.reset();
    PortPtr port = dpif_.find_port(number);
    if (!port || port->type != DpifPortType::kVxlan)
      return Status(ENODEV, "port number " + std::to_string(number) + " is not a vxlan port");
    Result<VxlanRoute> route = resolve(*port, tunnel);
    if (route) pending_tunnel_ = PendingTunnelOutput{port, route->underlay_port};
    return route;
  }

  // Tunnel output failures (no route or neighbour, no tunnel metadata, a
  // failed encapsulation) are the tunnel port's tx drops, with the latest
  // reason shown on the port. The executor counts them; a failed resolve for
  // a userspace action's egress tunnel info is no drop and is not counted.
  void account_tunnel_drops() {
    if (drops.tunnel_output_error == 0 || !last_vxlan_port_) return;
    UserspaceDpifPortCounters::bump(last_vxlan_port_->counters.tx_dropped, drops.tunnel_output_error);
    last_vxlan_port_->set_error("tx drop: " + drops.last_error.message());
  }

 private:
  // The port an output names, looked up once per executed action list: the
  // executor asks for it before every output (is_vxlan_port) and again to
  // transmit, and each lookup took the port table's lock and a reference.
  const PortPtr& port_of(uint32_t number) {
    if (number != cached_port_number_) {
      cached_port_ = dpif_.find_port(number);
      cached_port_number_ = number;
    }
    return cached_port_;
  }
  uint32_t cached_port_number_ = UINT32_MAX;
  PortPtr cached_port_;

  struct PendingTunnelOutput {
    PortPtr port;
    uint32_t underlay_port;
  };

  Result<VxlanRoute> resolve(const UserspaceDpifPort& port, const TunnelKey& tunnel) {
    if (!dpif_.underlay_)
      return Status(ENETUNREACH, "vxlan port " + port.name + ": this datapath has no kernel underlay");
    bool ipv6 = false;
    for (uint8_t byte : tunnel.ipv6_dst) ipv6 = ipv6 || byte != 0;
    if (tunnel.ipv4_dst == 0 && !ipv6)
      return invalid_argument("vxlan port " + port.name + ": the packet has no tunnel destination");
    UnderlayAddress remote = tunnel.ipv4_dst != 0 ? UnderlayAddress::ipv4(tunnel.ipv4_dst)
                                                  : UnderlayAddress::ipv6(tunnel.ipv6_dst);
    Result<UnderlayPath> path = dpif_.underlay_->resolve(remote);
    if (!path) return path.status().with_context("vxlan port " + port.name);
    Result<uint32_t> underlay_port = dpif_.underlay_port_for_device(path->output_ifname);
    if (!underlay_port) return underlay_port.status().with_context("vxlan port " + port.name);
    VxlanRoute route;
    route.underlay_port = *underlay_port;
    route.endpoint.udp_port = port.vxlan_udp_port;
    path->apply_to(route.endpoint);
    return route;
  }

  static std::mt19937& rng() {
    thread_local std::mt19937 generator(std::random_device{}());
    return generator;
  }

  UserspaceDpif& dpif_;
  LookupContext* context_;
  int depth_;
  std::optional<PendingTunnelOutput> pending_tunnel_;
  PortPtr last_vxlan_port_;  // the tunnel port of the latest output to one
};

void UserspaceDpif::receive(LookupContext& context, UserspaceDpifPort& port, Packet packet) {
  packet.md = PacketMetadata{};
  packet.md.in_port = port.number;
  FlowKey key = flow_key_extract(packet);
  if (port.type != DpifPortType::kVxlan && receive_vxlan(context, port, packet, key)) return;
  // An underlay-only device's other traffic belongs to the host's stack.
  if (port.underlay_only) return;
  UserspaceDpifPortCounters::bump(port.counters.rx_packets);
  UserspaceDpifPortCounters::bump(port.counters.rx_bytes, packet.size());
  if (frame_length_problem(packet, key)) {
    UserspaceDpifPortCounters::bump(port.counters.rx_malformed);
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  process(context, std::move(packet), key, 0);
}

bool UserspaceDpif::receive_vxlan(LookupContext& context, UserspaceDpifPort& underlay, Packet& packet,
                                  const FlowKey& outer) {
  // Only what the host's IP stack would hand a vxlan socket: unfragmented,
  // untagged IPv4/UDP to a tunnel port's UDP port and a local address.
  if (outer.eth_type != htons(0x0800) || outer.ip_proto != 17 || outer.ip_frag != kFragNone ||
      outer.vlan.tpid != 0 || frame_length_problem(packet, outer)) {
    return false;
  }
  PortPtr tunnel_port = vxlan_port_for_udp_port(ntohs(outer.tp_dst));
  if (!tunnel_port || !local_addresses_.contains(outer.ipv4_dst)) return false;
  UserspaceDpifPortCounters::bump(underlay.counters.rx_packets);
  UserspaceDpifPortCounters::bump(underlay.counters.rx_bytes, packet.size());

  Result<TunnelKey> tunnel = vxlan_decapsulate(packet, tunnel_port->vxlan_udp_port);
  if (!tunnel) {
    UserspaceDpifPortCounters::bump(tunnel_port->counters.rx_dropped);
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  packet.md.in_port = tunnel_port->number;  // decapsulation set md.tunnel
  packet.md.has_tunnel = true;
  UserspaceDpifPortCounters::bump(tunnel_port->counters.rx_packets);
  UserspaceDpifPortCounters::bump(tunnel_port->counters.rx_bytes, packet.size());
  FlowKey inner = flow_key_extract(packet);
  if (frame_length_problem(packet, inner)) {
    UserspaceDpifPortCounters::bump(tunnel_port->counters.rx_malformed);
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  process(context, std::move(packet), inner, 0);
  return true;
}

void UserspaceDpif::process(LookupContext& context, Packet packet, const FlowKey& key,
                            int recirculation_depth) {
  if (recirculation_depth > kDpifMaxRecirculationDepth) {
    stats_.action_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint32_t hash = mask_cache_packet_hash(packet.bytes(), key.recirc_id);
  LookupResult found = table_.lookup(context, key, hash);
  stats_.masks_visited.fetch_add(found.masks_visited, std::memory_order_relaxed);
  if (found.cache_hit) stats_.cache_hit.fetch_add(1, std::memory_order_relaxed);
  if (!found.flow) {
    stats_.missed.fetch_add(1, std::memory_order_relaxed);
    DpifUpcall miss;
    miss.kind = DpifUpcall::Kind::kMiss;
    miss.key = key;
    miss.hash = hash;
    miss.packet = std::move(packet);
    queue_upcall(std::move(miss));
    return;
  }
  stats_.hit.fetch_add(1, std::memory_order_relaxed);
  found.flow->record_packet(static_cast<uint32_t>(packet.size()), ntohs(key.tcp_flags), monotonic_ms());
  Executor executor(*this, &context, recirculation_depth);
  Status result = execute_actions(std::move(packet), key, found.flow->actions(), executor);
  executor.account_tunnel_drops();
  uint64_t errors = executor.drops.action_error + executor.drops.tunnel_output_error;
  if (!result || errors) stats_.action_errors.fetch_add(errors ? errors : 1, std::memory_order_relaxed);
}

Status UserspaceDpif::execute(Packet packet, const FlowKey& key, const ActionList& actions) {
  // OVS_PACKET_CMD_EXECUTE: the key supplies the metadata, the headers are
  // parsed from the packet, and the actions are validated against that key.
  if (Status s = validate_actions(actions, key); !s) return s.with_context("execute");
  packet.md = PacketMetadata{};
  packet.md.in_port = key.in_port;
  packet.md.recirc_id = key.recirc_id;
  packet.md.dp_hash = key.dp_hash;
  packet.md.priority = key.priority;
  packet.md.skb_mark = key.skb_mark;
  packet.md.has_tunnel = key_has_tunnel(key);
  if (packet.md.has_tunnel) packet.md.tunnel = key.tunnel;
  FlowKey parsed = flow_key_extract(packet);
  if (parsed.eth_type == 0) return invalid_argument("execute: the packet is shorter than an Ethernet header");
  Executor executor(*this, nullptr, 0);
  Status result = execute_actions(std::move(packet), parsed, actions, executor);
  executor.account_tunnel_drops();
  uint64_t errors = executor.drops.action_error + executor.drops.tunnel_output_error;
  if (!result || errors) stats_.action_errors.fetch_add(errors ? errors : 1, std::memory_order_relaxed);
  if (!result) return result.with_context("execute");
  if (executor.drops.tunnel_output_error) return executor.drops.last_error.with_context("execute");
  return Status::ok();
}

void UserspaceDpif::transmit(const PortPtr& port, Packet packet) {
  if (!port) {  // output to a port that went away: the kernel drops it silently; we count it
    stats_.action_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  UserspaceDpifPortCounters& counters = port->counters;
  switch (port->type) {
    case DpifPortType::kDummy: {
      UserspaceDpifPortCounters::bump(counters.tx_packets);
      UserspaceDpifPortCounters::bump(counters.tx_bytes, packet.size());
      std::lock_guard lock(port->state_mutex);
      port->capture.push_back(std::move(packet));
      while (port->capture.size() > options_.capture_limit) port->capture.pop_front();
      return;
    }
    case DpifPortType::kSystem: {
      if (port->device_gone.load(std::memory_order_relaxed)) {
        UserspaceDpifPortCounters::bump(counters.tx_dropped);
        return;
      }
      Status sent;
      {
        std::lock_guard lock(port->transmit_mutex);
        sent = port->device->send(packet);  // counts itself (tx, full-queue drops)
      }
      if (!sent && (sent.code() == ENODEV || sent.code() == ENXIO)) mark_device_gone(*port);
      return;
    }
    case DpifPortType::kVxlan:
      // The executor encapsulates and outputs to the underlay; a frame
      // reaching here had no tunnel metadata to encapsulate with.
      UserspaceDpifPortCounters::bump(counters.tx_dropped);
      return;
  }
}

}  // namespace flowlift
