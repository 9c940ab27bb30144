// The action list interpreter (see actions_execute.h).
#include "kmod/actions_execute.h"

#include <utility>
#include <variant>

#include "flowlift/masked_words.h"
#include "kmod/actions_push_pop.h"
#include "kmod/actions_set.h"
#include "kmod/keyed_packet.h"
#include "kmod/packet_bytes.h"
#include "kmod/packet_hash.h"

namespace flowlift {
namespace {

// OVS_HASH_ALG_SYM_L4; older <linux/openvswitch.h> only name OVS_HASH_ALG_L4.
constexpr uint32_t kHashAlgorithmSymmetricL4 = 1;

// Validation accepts action lists nested this deep (OVS_COPY_ACTIONS_MAX_DEPTH);
// the bound also guards the recursion against lists that skipped validation.
constexpr int kMaxNesting = 16;

template <typename... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <typename... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;  // clang 14 lacks aggregate deduction

Be16 network16(uint16_t value) {
  uint8_t bytes[2];
  store_be16(bytes, value);
  return load_raw<Be16>(bytes);
}

bool is_zero(const Ipv6Addr& address) { return all_bytes_zero(address); }

// How one action left the packet.
struct Step {
  Status status;
  // The action took the packet away (last output, last recirc, a nested list
  // run on it, drop): the list ends here, and any error was already counted.
  bool consumed = false;
};

class Executor {
 public:
  explicit Executor(ActionContext& context) : context_(context) {}

  Status run(KeyedPacket& skb, const ActionList& actions, int depth);

 private:
  Step execute(const Action& action, KeyedPacket& skb, const ActionList& list, bool last, int depth);
  // Only the packet and its pending cut go out: the key stays behind (it is
  // ~400 bytes, and copying it with every output was half an output's cost).
  void output(Packet packet, uint32_t cutlen, uint32_t port);
  void output_to_vxlan(Packet packet, uint32_t port);
  void drop_tunnel_output(Status why);
  Step userspace(const UserspaceAction& action, KeyedPacket& skb, const ActionList& list, bool last);
  std::optional<TunnelKey> egress_tunnel(const UserspaceAction& action, const Packet& packet);
  Step recirculate(const RecircAction& action, KeyedPacket& skb, bool last);
  void refresh_key(KeyedPacket& skb);
  void hash(const HashAction& action, KeyedPacket& skb);
  Step run_nested(const char* name, const ActionList& actions, KeyedPacket& skb, bool last, int depth);

  ActionContext& context_;
};

Status Executor::run(KeyedPacket& skb, const ActionList& actions, int depth) {
  for (size_t i = 0; i < actions.size(); ++i) {
    Step step = execute(actions[i], skb, actions, i + 1 == actions.size(), depth);
    if (step.consumed) return step.status;
    if (!step.status) {
      ++context_.drops.action_error;
      context_.drops.last_error = step.status;
      return step.status;
    }
  }
  ++context_.drops.last_action;
  return Status::ok();
}

Step Executor::execute(const Action& action, KeyedPacket& skb, const ActionList& list, bool last, int depth) {
  return std::visit(
      Overloaded{
          [&](const OutputAction& a) -> Step {
            if (last) {
              output(std::move(skb.packet), skb.cutlen, a.port);
              return {Status::ok(), true};
            }
            output(skb.packet, skb.cutlen, a.port);
            skb.cutlen = 0;
            return {};
          },
          [&](const TruncAction& a) -> Step {
            const size_t length = skb_length(skb.packet);
            if (length > a.max_len) skb.cutlen = static_cast<uint32_t>(length - a.max_len);
            return {};
          },
          [&](const UserspaceAction& a) -> Step { return userspace(a, skb, list, last); },
          [&](const SetAction& a) -> Step { return {execute_set(a, skb)}; },
          [&](const PushVlanAction& a) -> Step { return {push_vlan(a, skb)}; },
          [&](const PopVlanAction&) -> Step { return {pop_vlan(skb)}; },
          [&](const PushMplsAction& a) -> Step { return {push_mpls(a, skb)}; },
          [&](const PopMplsAction& a) -> Step { return {pop_mpls(a, skb)}; },
          [&](const RecircAction& a) -> Step { return recirculate(a, skb, last); },
          [&](const HashAction& a) -> Step {
            hash(a, skb);
            return {};
          },
          [&](const SampleAction& a) -> Step {
            // Probability is out of UINT32_MAX; the random draw happens only in between.
            if (a.probability != UINT32_MAX && (a.probability == 0 || context_.random_u32() > a.probability))
              return {Status::ok(), last};
            return run_nested("sample", a.actions, skb, last, depth);
          },
          [&](const CloneAction& a) -> Step { return run_nested("clone", a.actions, skb, last, depth); },
          [&](const CheckPktLenAction& a) -> Step {
            const bool greater = skb_length(skb.packet) > a.pkt_len;
            return run_nested("check_pkt_len", greater ? a.if_greater : a.if_less_equal, skb, last, depth);
          },
          [&](const DropAction& a) -> Step {
            ++(a.reason ? context_.drops.explicit_drop_with_error : context_.drops.explicit_drop);
            return {Status::ok(), true};
          },
      },
      action.v);
}

void Executor::output(Packet packet, uint32_t cutlen, uint32_t port) {
  if (cutlen > 0) {
    // The cut never goes into the Ethernet header. A cut longer than the frame
    // (it shrank since trunc) leaves it whole: the kernel's unsigned arithmetic.
    const size_t length = skb_length(packet);
    const size_t offloaded_tag = packet.size() - length;
    if (cutlen <= length) {
      const size_t kept = length - cutlen;
      packet.truncate((kept > kEthernetHeaderLength ? kept : kEthernetHeaderLength) + offloaded_tag);
    }
  }
  if (context_.is_vxlan_port(port)) {
    output_to_vxlan(std::move(packet), port);
    return;
  }
  context_.output(port, std::move(packet));
}

void Executor::drop_tunnel_output(Status why) {
  ++context_.drops.tunnel_output_error;
  context_.drops.last_error = std::move(why);
}

void Executor::output_to_vxlan(Packet packet, uint32_t port) {
  const std::string where = "output to VXLAN port " + std::to_string(port);
  if (!packet.md.has_tunnel) {
    drop_tunnel_output(
        Status(EINVAL, where + ": packet has no tunnel metadata (no set(tunnel(...)) before it)"));
    return;
  }
  const TunnelKey tunnel = packet.md.tunnel;
  Result<VxlanRoute> route = context_.resolve_vxlan_route(port, tunnel);
  if (!route) {
    drop_tunnel_output(route.status().with_context(where));
    return;
  }
  const uint16_t ipv4_id = tunnel.is_ipv6() ? 0 : context_.next_ipv4_id();
  if (Status status = vxlan_encapsulate(packet, tunnel, route->endpoint, ipv4_id); !status) {
    drop_tunnel_output(status.with_context(where));
    return;
  }
  context_.output(route->underlay_port, std::move(packet));
}

// dev_fill_metadata_dst of the vxlan driver: the tunnel key completed with the
// source address and UDP ports the port would use.
std::optional<TunnelKey> Executor::egress_tunnel(const UserspaceAction& action, const Packet& packet) {
  if (!action.has_egress_tun_port || !packet.md.has_tunnel || !context_.is_vxlan_port(action.egress_tun_port))
    return std::nullopt;
  Result<VxlanRoute> route = context_.resolve_vxlan_route(action.egress_tun_port, packet.md.tunnel);
  if (!route) return std::nullopt;
  const VxlanEndpoint& endpoint = route->endpoint;
  TunnelKey tunnel = packet.md.tunnel;
  if (tunnel.is_ipv6()) {
    if (is_zero(tunnel.ipv6_src)) tunnel.ipv6_src = endpoint.local_ipv6;
  } else if (tunnel.ipv4_src == 0) {
    tunnel.ipv4_src = endpoint.local_ipv4;
  }
  tunnel.tp_src = network16(vxlan_udp_source_port(packet.bytes(), endpoint));
  if (tunnel.tp_dst == 0) tunnel.tp_dst = network16(endpoint.udp_port);
  return tunnel;
}

Step Executor::userspace(const UserspaceAction& action, KeyedPacket& skb, const ActionList& list, bool last) {
  // The kernel copies the frame into the upcall message, offloaded VLAN tag
  // included, minus the pending cut.
  Packet copy = skb.packet;
  const size_t original_length = copy.size();
  if (skb.cutlen > 0) copy.truncate(skb.cutlen < original_length ? original_length - skb.cutlen : 0);
  const Upcall upcall{action,
                      copy,
                      skb.key,
                      skb.key_valid,
                      original_length,
                      action.actions ? &list : nullptr,
                      egress_tunnel(action, skb.packet)};
  context_.upcall(upcall);
  skb.cutlen = 0;
  return {Status::ok(), last};
}

void Executor::refresh_key(KeyedPacket& skb) {
  // ovs_flow_key_update re-parses the headers; the metadata part of the key
  // (tunnel, skb fields, recirculation, conntrack) is not in the headers and stays.
  const FlowKey& old_key = skb.key;
  FlowKey fresh = context_.extract_key(skb.packet);
  fresh.tunnel = old_key.tunnel;
  fresh.priority = old_key.priority;
  fresh.skb_mark = old_key.skb_mark;
  fresh.in_port = old_key.in_port;
  fresh.recirc_id = old_key.recirc_id;
  fresh.dp_hash = old_key.dp_hash;
  fresh.ct_state = old_key.ct_state;
  fresh.ct_zone = old_key.ct_zone;
  fresh.ct_orig_proto = old_key.ct_orig_proto;
  fresh.ct_mark = old_key.ct_mark;
  fresh.ct_labels = old_key.ct_labels;
  fresh.ct_orig_ipv4_src = old_key.ct_orig_ipv4_src;
  fresh.ct_orig_ipv4_dst = old_key.ct_orig_ipv4_dst;
  fresh.ct_orig_ipv6_src = old_key.ct_orig_ipv6_src;
  fresh.ct_orig_ipv6_dst = old_key.ct_orig_ipv6_dst;
  fresh.ct_orig_tp_src = old_key.ct_orig_tp_src;
  fresh.ct_orig_tp_dst = old_key.ct_orig_tp_dst;
  skb.key = fresh;
  skb.key_valid = true;
}

Step Executor::recirculate(const RecircAction& action, KeyedPacket& skb, bool last) {
  if (!skb.key_valid) refresh_key(skb);
  if (last) {
    skb.key.recirc_id = action.recirc_id;
    skb.packet.md.recirc_id = action.recirc_id;
    context_.recirculate(std::move(skb.packet), skb.key);
    return {Status::ok(), true};
  }
  Packet copy = skb.packet;
  FlowKey key = skb.key;
  copy.md.recirc_id = key.recirc_id = action.recirc_id;
  context_.recirculate(std::move(copy), key);
  return {};
}

void Executor::hash(const HashAction& action, KeyedPacket& skb) {
  uint32_t flow_hash = 0;
  if (action.algorithm == OVS_HASH_ALG_L4) {
    flow_hash = packet_flow_hash(skb.packet.bytes());
  } else if (action.algorithm == kHashAlgorithmSymmetricL4) {
    flow_hash = packet_symmetric_flow_hash(skb.packet.bytes());
  }
  uint32_t dp_hash = jhash_1word(flow_hash, action.basis);
  if (dp_hash == 0) dp_hash = 1;  // 0 means "no hash computed" to dp_hash matches
  skb.key.dp_hash = dp_hash;
  skb.packet.md.dp_hash = dp_hash;
}

Step Executor::run_nested(const char* name, const ActionList& actions, KeyedPacket& skb, bool last,
                          int depth) {
  if (depth + 1 > kMaxNesting)
    return {Status(ELOOP, std::string(name) + ": actions nested more than " + std::to_string(kMaxNesting) +
                              " levels deep")};
  if (last) return {run(skb, actions, depth + 1), true};
  KeyedPacket copy = skb;
  return {run(copy, actions, depth + 1)};
}

}  // namespace

Status execute_actions(Packet packet, const FlowKey& key, const ActionList& actions, ActionContext& context) {
  KeyedPacket skb{std::move(packet), key, true, 0};
  return Executor(context).run(skb, actions, 0);
}

}  // namespace flowlift
