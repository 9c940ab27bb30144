// Datapath actions as a typed list: one alternative per OVS_ACTION_ATTR_* of
// <linux/openvswitch.h> that flowlift produces or accepts. The netlink codec
// (kmod/netlink_actions) and the text codec (kmod/odp_text) translate this
// list to and from the kernel's attributes and the `ovs-dpctl dump-flows`
// text; the executor (kmod/actions_execute) runs it on packets.
#pragma once

#include <linux/openvswitch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "flowlift/flow_key.h"

namespace flowlift {

struct Action;
using ActionList = std::vector<Action>;

// A FlowKey held out of line, with value semantics. A set action is typed as
// a whole key but names one attribute's worth of fields; held inline, its two
// keys made every Action (the variant) over 600 bytes and every installed
// megaflow pay for that whatever its actions were.
class BoxedKey {
 public:
  BoxedKey() : key_(std::make_unique<FlowKey>()) {}
  BoxedKey(const FlowKey& key)
      : key_(std::make_unique<FlowKey>(key)) {}  // NOLINT(google-explicit-constructor)
  BoxedKey(const BoxedKey& other) : key_(std::make_unique<FlowKey>(*other)) {}
  BoxedKey(BoxedKey&& other) noexcept : key_(std::move(other.key_)) {}
  BoxedKey& operator=(const BoxedKey& other) {
    if (this != &other) key_ = std::make_unique<FlowKey>(*other);
    return *this;
  }
  BoxedKey& operator=(BoxedKey&& other) noexcept {
    key_ = std::move(other.key_);
    return *this;
  }
  // A moved-from box reads as an all-zero key, so it stays safe to compare.
  const FlowKey& operator*() const { return key_ ? *key_ : zero(); }
  FlowKey& operator*() {
    if (!key_) key_ = std::make_unique<FlowKey>();
    return *key_;
  }
  operator const FlowKey&() const { return **this; }  // NOLINT(google-explicit-constructor)
  operator FlowKey&() { return **this; }              // NOLINT(google-explicit-constructor)
  const FlowKey* operator->() const { return &**this; }
  FlowKey* operator->() { return &**this; }
  bool operator==(const BoxedKey& other) const { return **this == *other; }

 private:
  static const FlowKey& zero() {
    static const FlowKey kZero{};
    return kZero;
  }
  std::unique_ptr<FlowKey> key_;
};

// OVS_ACTION_ATTR_OUTPUT: send to a datapath port.
struct OutputAction {
  uint32_t port = 0;
  bool operator==(const OutputAction&) const = default;
};

// OVS_ACTION_ATTR_USERSPACE: send a copy to the slowpath.
struct UserspaceAction {
  uint32_t pid = 0;
  std::vector<uint8_t> userdata;  // OVS_USERSPACE_ATTR_USERDATA; empty = absent
  bool has_userdata = false;
  bool has_egress_tun_port = false;
  uint32_t egress_tun_port = 0;  // OVS_USERSPACE_ATTR_EGRESS_TUN_PORT
  bool actions = false;          // OVS_USERSPACE_ATTR_ACTIONS flag
  bool operator==(const UserspaceAction&) const = default;
};

// OVS_ACTION_ATTR_SET / OVS_ACTION_ATTR_SET_MASKED: rewrite the fields of one
// key attribute. `attr` names the OVS_KEY_ATTR_* (ETHERNET, IPV4, IPV6, TCP,
// UDP, SCTP, ICMP, ICMPV6, ARP, ND, MPLS, TUNNEL, PRIORITY, SKB_MARK, ...).
// The new values sit in `value` at their usual FlowKey places; `mask` says
// which bits to write. For a non-masked set the mask covers every field of the
// attribute (the kernel's SET writes them all).
// The ovs-dpctl name of a key attribute a set action writes ("eth",
// "ipv4", "tunnel", "skb_mark", ...), as errors and refusals name it; "key
// attribute N" for one outside that list.
std::string set_attribute_name(ovs_key_attr attr);

struct SetAction {
  ovs_key_attr attr = OVS_KEY_ATTR_UNSPEC;
  bool masked = false;
  BoxedKey value;
  BoxedKey mask;
  bool operator==(const SetAction&) const = default;
};

// OVS_ACTION_ATTR_PUSH_VLAN. tci includes kVlanCfi, as struct ovs_action_push_vlan requires.
struct PushVlanAction {
  Be16 tpid = 0;
  Be16 tci = 0;
  bool operator==(const PushVlanAction&) const = default;
};

struct PopVlanAction {
  bool operator==(const PopVlanAction&) const = default;
};

// OVS_ACTION_ATTR_PUSH_MPLS: the new outermost LSE and the MPLS ethertype (0x8847/0x8848).
struct PushMplsAction {
  Be32 lse = 0;
  Be16 ethertype = 0;
  bool operator==(const PushMplsAction&) const = default;
};

// OVS_ACTION_ATTR_POP_MPLS: the ethertype of what the label stack carried.
struct PopMplsAction {
  Be16 ethertype = 0;
  bool operator==(const PopMplsAction&) const = default;
};

// OVS_ACTION_ATTR_RECIRC: re-inject the packet with recirc_id set.
struct RecircAction {
  uint32_t recirc_id = 0;
  bool operator==(const RecircAction&) const = default;
};

// OVS_ACTION_ATTR_HASH: compute dp_hash (OVS_HASH_ALG_L4 or OVS_HASH_ALG_SYM_L4).
struct HashAction {
  uint32_t algorithm = OVS_HASH_ALG_L4;
  uint32_t basis = 0;
  bool operator==(const HashAction&) const = default;
};

// OVS_ACTION_ATTR_TRUNC: truncate on the next output.
struct TruncAction {
  uint32_t max_len = 0;
  bool operator==(const TruncAction&) const = default;
};

// OVS_ACTION_ATTR_SAMPLE: run `actions` with probability/UINT32_MAX.
struct SampleAction {
  uint32_t probability = UINT32_MAX;
  ActionList actions;
  bool operator==(const SampleAction&) const;
};

// OVS_ACTION_ATTR_CLONE: run `actions` on a copy; the original is untouched.
struct CloneAction {
  ActionList actions;
  bool operator==(const CloneAction&) const;
};

// OVS_ACTION_ATTR_CHECK_PKT_LEN.
struct CheckPktLenAction {
  uint16_t pkt_len = 0;
  ActionList if_greater;
  ActionList if_less_equal;
  bool operator==(const CheckPktLenAction&) const;
};

// OVS_ACTION_ATTR_DROP with an explicit reason code (the kernel's u32 error).
struct DropAction {
  uint32_t reason = 0;
  bool operator==(const DropAction&) const = default;
};

struct Action {
  using Variant = std::variant<OutputAction, UserspaceAction, SetAction, PushVlanAction, PopVlanAction,
                               PushMplsAction, PopMplsAction, RecircAction, HashAction, TruncAction,
                               SampleAction, CloneAction, CheckPktLenAction, DropAction>;
  Variant v;

  template <typename T>
  Action(T alternative) : v(std::move(alternative)) {}  // NOLINT(google-explicit-constructor)

  template <typename T>
  bool is() const {
    return std::holds_alternative<T>(v);
  }
  template <typename T>
  const T& as() const {
    return std::get<T>(v);
  }
  template <typename T>
  T& as() {
    return std::get<T>(v);
  }
  bool operator==(const Action& other) const { return v == other.v; }
};

inline std::string set_attribute_name(ovs_key_attr attr) {
  switch (attr) {
    case OVS_KEY_ATTR_ETHERNET:
      return "eth";
    case OVS_KEY_ATTR_IPV4:
      return "ipv4";
    case OVS_KEY_ATTR_IPV6:
      return "ipv6";
    case OVS_KEY_ATTR_TCP:
      return "tcp";
    case OVS_KEY_ATTR_UDP:
      return "udp";
    case OVS_KEY_ATTR_SCTP:
      return "sctp";
    case OVS_KEY_ATTR_ICMP:
      return "icmp";
    case OVS_KEY_ATTR_ICMPV6:
      return "icmpv6";
    case OVS_KEY_ATTR_ARP:
      return "arp";
    case OVS_KEY_ATTR_ND:
      return "nd";
    case OVS_KEY_ATTR_MPLS:
      return "mpls";
    case OVS_KEY_ATTR_TUNNEL:
      return "tunnel";
    case OVS_KEY_ATTR_PRIORITY:
      return "skb_priority";
    case OVS_KEY_ATTR_SKB_MARK:
      return "skb_mark";
    case OVS_KEY_ATTR_ETHERTYPE:
      return "eth_type";
    case OVS_KEY_ATTR_VLAN:
      return "vlan";
    case OVS_KEY_ATTR_IN_PORT:
      return "in_port";
    case OVS_KEY_ATTR_CT_STATE:
      return "ct_state";
    case OVS_KEY_ATTR_CT_ZONE:
      return "ct_zone";
    case OVS_KEY_ATTR_CT_MARK:
      return "ct_mark";
    case OVS_KEY_ATTR_CT_LABELS:
      return "ct_label";
    case OVS_KEY_ATTR_RECIRC_ID:
      return "recirc_id";
    case OVS_KEY_ATTR_DP_HASH:
      return "dp_hash";
    default:
      return "key attribute " + std::to_string(static_cast<int>(attr));
  }
}

inline bool SampleAction::operator==(const SampleAction& o) const {
  return probability == o.probability && actions == o.actions;
}
inline bool CloneAction::operator==(const CloneAction& o) const { return actions == o.actions; }
inline bool CheckPktLenAction::operator==(const CheckPktLenAction& o) const {
  return pkt_len == o.pkt_len && if_greater == o.if_greater && if_less_equal == o.if_less_equal;
}

}  // namespace flowlift
