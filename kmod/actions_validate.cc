// actions_validate: flow-dependent checks of an action list.
#include "kmod/actions_validate.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "kmod/netlink_actions.h"
#include "kmod/netlink_key.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {
namespace {

// What the kernel tracks while walking the list.
struct FlowState {
  uint8_t mac_proto = kMacProtoEthernet;  // only push_eth/pop_eth change it, which flowlift lacks
  Be16 eth_type = 0;
  Be16 vlan_tci = 0;
  uint32_t mpls_labels = 0;  // u32 arithmetic, as the kernel's mpls_label_count
};

bool tagged(const FlowState& state) { return (state.vlan_tci & be16(kVlanCfi)) != 0; }

Status require_ethernet(const FlowState& state, const char* action) {
  if (state.mac_proto == kMacProtoEthernet) return Status::ok();
  return invalid_argument(std::string(action) + ": flow is not Ethernet (L3 packet)");
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", value);
  return text;
}

std::string set_name(const SetAction& set) {
  return std::string(set.masked ? "set_masked(" : "set(") + key_attr_name(set.attr) + ")";
}

// validate_masked: a masked set may not carry value bits outside its mask.
Status check_value_within_mask(const SetAction& set) {
  int labels = std::max<int>(set.value->mpls_depth, 1);
  std::vector<uint8_t> value = key_attribute_payload(set.attr, set.value, labels);
  std::vector<uint8_t> mask = key_attribute_payload(set.attr, set.mask, labels);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] & ~mask[i]) {
      return invalid_argument("value byte " + std::to_string(i) +
                              " of the attribute has bits outside the mask (value " + hex16(value[i]) +
                              ", mask " + hex16(mask[i]) + ")");
    }
  }
  return Status::ok();
}

Status check_transport_set(const FlowKey& flow, Be16 eth_type, uint8_t proto, const char* proto_name) {
  if (!is_ip_ethertype(eth_type)) {
    return invalid_argument("flow eth_type is " + hex16(host16(eth_type)) + ", not IPv4 or IPv6");
  }
  if (flow.ip_proto != proto) {
    return invalid_argument("flow ip_proto is " + std::to_string(flow.ip_proto) + ", not " +
                            std::to_string(proto) + " (" + proto_name + ")");
  }
  return Status::ok();
}

// validate_set.
Status check_set(const SetAction& set, const FlowKey& flow, const FlowState& state) {
  Be16 eth_type = state.eth_type;
  if (set.attr == OVS_KEY_ATTR_TUNNEL) {
    if (set.masked) return invalid_argument("the datapath has no masked tunnel set");
    const TunnelKey& tunnel = set.value->tunnel;
    if (tunnel.is_ipv6() && tunnel.ipv4_dst != 0) {
      return invalid_argument("both an IPv4 and an IPv6 tunnel destination are set");
    }
    if (!tunnel.is_ipv6() && tunnel.ipv4_dst == 0) return invalid_argument("the tunnel destination is zero");
    return Status::ok();
  }
  if (!key_attribute_has_fields(set.attr)) return invalid_argument("the datapath cannot set this attribute");
  if (set.masked) {
    if (Status s = check_value_within_mask(set); !s) return s;
  }
  switch (set.attr) {
    case OVS_KEY_ATTR_PRIORITY:
    case OVS_KEY_ATTR_SKB_MARK:
    case OVS_KEY_ATTR_CT_MARK:
    case OVS_KEY_ATTR_CT_LABELS:
      return Status::ok();
    case OVS_KEY_ATTR_ETHERNET:
      if (state.mac_proto != kMacProtoEthernet) {
        return invalid_argument("flow is not Ethernet (L3 packet): there are no MAC addresses to set");
      }
      return Status::ok();
    case OVS_KEY_ATTR_IPV4:
      if (eth_type != be16(kEthTypeIpv4)) {
        return invalid_argument("flow eth_type is " + hex16(host16(eth_type)) + ", not 0x0800 (IPv4)");
      }
      if (set.masked) {
        if (set.mask->ip_proto || set.mask->ip_frag) {
          return invalid_argument("the mask covers ipv4_proto or ipv4_frag, which are not writable");
        }
      } else if (set.value->ip_proto != flow.ip_proto) {
        return invalid_argument("ipv4_proto " + std::to_string(set.value->ip_proto) +
                                " differs from the flow's " + std::to_string(flow.ip_proto) +
                                "; the protocol is not writable");
      } else if (set.value->ip_frag != flow.ip_frag) {
        return invalid_argument("ipv4_frag " + std::to_string(set.value->ip_frag) +
                                " differs from the flow's " + std::to_string(flow.ip_frag) +
                                "; the fragment type is not writable");
      }
      return Status::ok();
    case OVS_KEY_ATTR_IPV6:
      if (eth_type != be16(kEthTypeIpv6)) {
        return invalid_argument("flow eth_type is " + hex16(host16(eth_type)) + ", not 0x86dd (IPv6)");
      }
      if (set.masked) {
        if (set.mask->ip_proto || set.mask->ip_frag) {
          return invalid_argument("the mask covers ipv6_proto or ipv6_frag, which are not writable");
        }
        if (set.mask->ipv6_label & be32(0xfff00000)) {
          return invalid_argument("the flow label mask " + hex32(host32(set.mask->ipv6_label)) +
                                  " reaches beyond the label's 20 bits");
        }
      } else if (set.value->ip_proto != flow.ip_proto) {
        return invalid_argument("ipv6_proto " + std::to_string(set.value->ip_proto) +
                                " differs from the flow's " + std::to_string(flow.ip_proto) +
                                "; the protocol is not writable");
      } else if (set.value->ip_frag != flow.ip_frag) {
        return invalid_argument("ipv6_frag " + std::to_string(set.value->ip_frag) +
                                " differs from the flow's " + std::to_string(flow.ip_frag) +
                                "; the fragment type is not writable");
      }
      if (set.value->ipv6_label & be32(0xfff00000)) {
        return invalid_argument("flow label " + hex32(host32(set.value->ipv6_label)) +
                                " does not fit in 20 bits");
      }
      return Status::ok();
    case OVS_KEY_ATTR_TCP:
      return check_transport_set(flow, eth_type, kIpProtoTcp, "TCP");
    case OVS_KEY_ATTR_UDP:
      return check_transport_set(flow, eth_type, kIpProtoUdp, "UDP");
    case OVS_KEY_ATTR_SCTP:
      return check_transport_set(flow, eth_type, kIpProtoSctp, "SCTP");
    case OVS_KEY_ATTR_MPLS:
      if (!is_mpls_ethertype(eth_type)) {
        return invalid_argument("flow eth_type is " + hex16(host16(eth_type)) +
                                ", not MPLS (0x8847 or 0x8848)");
      }
      return Status::ok();
    default:
      return invalid_argument("the datapath cannot set this attribute");
  }
}

Status check_list(const ActionList& actions, const FlowKey& flow, FlowState state, int depth);

Status check_action(const Action& action, const FlowKey& flow, FlowState& state, int depth,
                    size_t following) {
  if (const auto* output = std::get_if<OutputAction>(&action.v)) {
    if (output->port >= kNoInPort) {
      return invalid_argument("output: port " + std::to_string(output->port) + " is out of range (0 to " +
                              std::to_string(kNoInPort - 1) + ")");
    }
  } else if (const auto* userspace = std::get_if<UserspaceAction>(&action.v)) {
    if (userspace->pid == 0) return invalid_argument("userspace: pid 0 is not a netlink port id");
  } else if (const auto* set = std::get_if<SetAction>(&action.v)) {
    return check_set(*set, flow, state).with_context(set_name(*set));
  } else if (const auto* push_vlan = std::get_if<PushVlanAction>(&action.v)) {
    if (Status s = require_ethernet(state, "push_vlan"); !s) return s;
    if (!is_vlan_ethertype(push_vlan->tpid)) {
      return invalid_argument("push_vlan: TPID " + hex16(host16(push_vlan->tpid)) +
                              " is not 0x8100 or 0x88a8");
    }
    if (!(push_vlan->tci & be16(kVlanCfi))) {
      return invalid_argument("push_vlan: tci " + hex16(host16(push_vlan->tci)) +
                              " lacks the VLAN_CFI_MASK bit (0x1000)");
    }
    state.vlan_tci = push_vlan->tci;
  } else if (std::holds_alternative<PopVlanAction>(action.v)) {
    if (Status s = require_ethernet(state, "pop_vlan"); !s) return s;
    state.vlan_tci = 0;
  } else if (const auto* push_mpls = std::get_if<PushMplsAction>(&action.v)) {
    if (!is_mpls_ethertype(push_mpls->ethertype)) {
      return invalid_argument("push_mpls: ethertype " + hex16(host16(push_mpls->ethertype)) +
                              " is not MPLS (0x8847 or 0x8848)");
    }
    if (tagged(state)) {
      return invalid_argument("push_mpls: the packet is VLAN-tagged (tci " + hex16(host16(state.vlan_tci)) +
                              "); the datapath only pushes MPLS onto untagged frames");
    }
    Be16 type = state.eth_type;
    if (type != be16(kEthTypeIpv4) && type != be16(kEthTypeIpv6) && type != be16(kEthTypeArp) &&
        type != be16(kEthTypeRarp) && !is_mpls_ethertype(type)) {
      return invalid_argument("push_mpls: flow eth_type " + hex16(host16(type)) +
                              " is not IPv4, IPv6, ARP, RARP or MPLS");
    }
    state.eth_type = push_mpls->ethertype;
    ++state.mpls_labels;
  } else if (const auto* pop_mpls = std::get_if<PopMplsAction>(&action.v)) {
    if (tagged(state)) {
      return invalid_argument("pop_mpls: the packet is VLAN-tagged (tci " + hex16(host16(state.vlan_tci)) +
                              ")");
    }
    if (!is_mpls_ethertype(state.eth_type)) {
      return invalid_argument("pop_mpls: flow is not MPLS (eth_type " + hex16(host16(state.eth_type)) + ")");
    }
    // Popping to Ethernet-in-MPLS is for a packet that has no MAC header of
    // its own yet (one that arrived as L3 MPLS).
    if (pop_mpls->ethertype == be16(kEthTypeTeb) && state.mac_proto != kMacProtoNone) {
      return invalid_argument(
          "pop_mpls: ethertype 0x6558 (Ethernet in MPLS) needs a packet without an Ethernet "
          "header (an L3 flow); this flow is Ethernet");
    }
    --state.mpls_labels;
    bool more_labels = is_mpls_ethertype(pop_mpls->ethertype) && state.mpls_labels != 0;
    // Past the last label the datapath cannot know the new ethertype is
    // right, so later L2.5+ sets and pops are refused.
    state.eth_type = more_labels ? pop_mpls->ethertype : 0;
  } else if (const auto* hash = std::get_if<HashAction>(&action.v)) {
    if (hash->algorithm != OVS_HASH_ALG_L4 && hash->algorithm != kHashAlgSymL4) {
      return invalid_argument("hash: algorithm " + std::to_string(hash->algorithm) +
                              " is unknown (OVS_HASH_ALG_L4 is 0, OVS_HASH_ALG_SYM_L4 is 1)");
    }
  } else if (const auto* trunc = std::get_if<TruncAction>(&action.v)) {
    if (trunc->max_len < kEthHeaderLength) {
      return invalid_argument("trunc: max_len " + std::to_string(trunc->max_len) +
                              " is shorter than an Ethernet header (14 bytes)");
    }
  } else if (const auto* sample = std::get_if<SampleAction>(&action.v)) {
    return check_list(sample->actions, flow, state, depth + 1).with_context("sample");
  } else if (const auto* clone = std::get_if<CloneAction>(&action.v)) {
    return check_list(clone->actions, flow, state, depth + 1).with_context("clone");
  } else if (const auto* check = std::get_if<CheckPktLenAction>(&action.v)) {
    if (check->pkt_len == 0)
      return invalid_argument("check_pkt_len: pkt_len 0 is not a length to compare with");
    if (Status s = check_list(check->if_less_equal, flow, state, depth + 1); !s) {
      return s.with_context("check_pkt_len: if_less_equal");
    }
    return check_list(check->if_greater, flow, state, depth + 1).with_context("check_pkt_len: if_greater");
  } else if (std::holds_alternative<DropAction>(action.v)) {
    if (following != 0) {
      return invalid_argument("drop: must be the last action (" + std::to_string(following) + " follow)");
    }
  }
  return Status::ok();
}

Status check_list(const ActionList& actions, const FlowKey& flow, FlowState state, int depth) {
  if (depth > kMaxActionsDepth) {
    return Status(EOVERFLOW, "actions nest " + std::to_string(depth) + " levels deep; the datapath allows " +
                                 std::to_string(kMaxActionsDepth) + " (OVS_COPY_ACTIONS_MAX_DEPTH)");
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    if (Status s = check_action(actions[i], flow, state, depth, actions.size() - 1 - i); !s) {
      return s.with_context("actions[" + std::to_string(i) + "]");
    }
  }
  return Status::ok();
}

}  // namespace

Status validate_actions(const ActionList& actions, const Match& match) {
  return validate_actions(actions, match.key);
}

Status validate_actions(const ActionList& actions, const FlowKey& flow) {
  FlowState state;
  state.mac_proto = flow.mac_proto;
  state.eth_type = flow.eth_type;
  state.vlan_tci = flow.vlan.tci;
  state.mpls_labels = is_mpls_ethertype(flow.eth_type) ? flow.mpls_depth : 0;
  return check_list(actions, flow, state, 0);
}

}  // namespace flowlift
