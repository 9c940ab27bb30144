// netlink_actions: ActionList <-> OVS_ACTION_ATTR_* attribute streams.
#include "kmod/netlink_actions.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <optional>

#include "kmod/netlink_key.h"

namespace flowlift {
namespace {

constexpr int kVariable = -1;
constexpr int kUnknown = -2;

// The kernel's action_lens: the exact payload length of each action type.
int action_length(uint16_t type) {
  switch (type) {
    case OVS_ACTION_ATTR_OUTPUT:
    case OVS_ACTION_ATTR_RECIRC:
    case OVS_ACTION_ATTR_METER:
      return 4;
    case OVS_ACTION_ATTR_TRUNC:
      return sizeof(ovs_action_trunc);
    case OVS_ACTION_ATTR_PUSH_MPLS:
      return sizeof(ovs_action_push_mpls);
    case OVS_ACTION_ATTR_ADD_MPLS:
      return sizeof(ovs_action_add_mpls);
    case OVS_ACTION_ATTR_POP_MPLS:
      return 2;
    case OVS_ACTION_ATTR_PUSH_VLAN:
      return sizeof(ovs_action_push_vlan);
    case OVS_ACTION_ATTR_HASH:
      return sizeof(ovs_action_hash);
    case OVS_ACTION_ATTR_PUSH_ETH:
      return sizeof(ovs_action_push_eth);
    case OVS_ACTION_ATTR_UNSPEC:
    case OVS_ACTION_ATTR_POP_VLAN:
    case OVS_ACTION_ATTR_CT_CLEAR:
    case OVS_ACTION_ATTR_POP_ETH:
    case OVS_ACTION_ATTR_POP_NSH:
      return 0;
    case OVS_ACTION_ATTR_USERSPACE:
    case OVS_ACTION_ATTR_SET:
    case OVS_ACTION_ATTR_SET_MASKED:
    case OVS_ACTION_ATTR_SAMPLE:
    case OVS_ACTION_ATTR_CT:
    case OVS_ACTION_ATTR_PUSH_NSH:
    case OVS_ACTION_ATTR_CLONE:
    case OVS_ACTION_ATTR_CHECK_PKT_LEN:
    case OVS_ACTION_ATTR_DEC_TTL:
    case kActionAttrPsample:
      return kVariable;
    case kActionAttrDrop:
      return 4;
    default:
      return kUnknown;
  }
}

std::string length_error(const std::string& name, size_t got, size_t expected) {
  return name + ": length " + std::to_string(got) + ", expected " + std::to_string(expected);
}

// The members of a nested attribute whose types run 1..kMaxType, by type;
// unknown and repeated members are errors.
template <size_t kMaxType>
using Members = std::array<std::optional<Attribute>, kMaxType + 1>;

template <size_t kSlots>
Status collect_members(std::span<const uint8_t> nested, const std::array<const char*, kSlots>& names,
                       const std::string& family, std::array<std::optional<Attribute>, kSlots>& members) {
  return for_each_attribute(nested, "", [&](const Attribute& attribute) -> Status {
    if (attribute.type == 0 || attribute.type >= kSlots) {
      return invalid_argument("unknown " + family + " type " + std::to_string(attribute.type));
    }
    if (members[attribute.type])
      return invalid_argument(std::string(names[attribute.type]) + ": duplicate attribute");
    members[attribute.type] = attribute;
    return Status::ok();
  });
}

// A member that must be `expected` bytes long when present.
Status check_member_length(const std::optional<Attribute>& member, const char* name, size_t expected) {
  if (member && member->length() != expected)
    return invalid_argument(length_error(name, member->length(), expected));
  return Status::ok();
}

Status decode_list(std::span<const uint8_t> bytes, int depth, ActionList& out);

Status decode_userspace(const Attribute& action, UserspaceAction& out) {
  static constexpr std::array<const char*, OVS_USERSPACE_ATTR_MAX + 1> kNames = {
      nullptr, "OVS_USERSPACE_ATTR_PID", "OVS_USERSPACE_ATTR_USERDATA", "OVS_USERSPACE_ATTR_EGRESS_TUN_PORT",
      "OVS_USERSPACE_ATTR_ACTIONS"};
  Members<OVS_USERSPACE_ATTR_MAX> members;
  if (Status s = collect_members(action.payload, kNames, "OVS_USERSPACE_ATTR", members); !s) return s;
  const auto& pid = members[OVS_USERSPACE_ATTR_PID];
  const auto& userdata = members[OVS_USERSPACE_ATTR_USERDATA];
  const auto& egress = members[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT];
  const auto& with_actions = members[OVS_USERSPACE_ATTR_ACTIONS];
  if (!pid) return invalid_argument("OVS_USERSPACE_ATTR_PID missing");
  for (Status s : {check_member_length(pid, kNames[OVS_USERSPACE_ATTR_PID], 4),
                   check_member_length(egress, kNames[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT], 4),
                   check_member_length(with_actions, kNames[OVS_USERSPACE_ATTR_ACTIONS], 0)}) {
    if (!s) return s;
  }
  out.pid = pid->as<uint32_t>();
  if (userdata) {
    out.userdata.assign(userdata->payload.begin(), userdata->payload.end());
    out.has_userdata = true;
  }
  if (egress) {
    out.egress_tun_port = egress->as<uint32_t>();
    out.has_egress_tun_port = true;
  }
  out.actions = with_actions.has_value();
  return Status::ok();
}

Status decode_sample(const Attribute& action, int depth, SampleAction& out) {
  static constexpr std::array<const char*, OVS_SAMPLE_ATTR_MAX + 1> kNames = {
      nullptr, "OVS_SAMPLE_ATTR_PROBABILITY", "OVS_SAMPLE_ATTR_ACTIONS"};
  Members<OVS_SAMPLE_ATTR_MAX> members;
  if (Status s = collect_members(action.payload, kNames, "OVS_SAMPLE_ATTR", members); !s) return s;
  const auto& probability = members[OVS_SAMPLE_ATTR_PROBABILITY];
  const auto& actions = members[OVS_SAMPLE_ATTR_ACTIONS];
  if (!probability) return invalid_argument("OVS_SAMPLE_ATTR_PROBABILITY missing");
  if (Status s = check_member_length(probability, kNames[OVS_SAMPLE_ATTR_PROBABILITY], 4); !s) return s;
  if (!actions) return invalid_argument("OVS_SAMPLE_ATTR_ACTIONS missing");
  out.probability = probability->as<uint32_t>();
  return decode_list(actions->payload, depth + 1, out.actions).with_context(kNames[OVS_SAMPLE_ATTR_ACTIONS]);
}

Status decode_check_pkt_len(const Attribute& action, int depth, CheckPktLenAction& out) {
  static constexpr std::array<const char*, OVS_CHECK_PKT_LEN_ATTR_MAX + 1> kNames = {
      nullptr, "OVS_CHECK_PKT_LEN_ATTR_PKT_LEN", "OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER",
      "OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL"};
  Members<OVS_CHECK_PKT_LEN_ATTR_MAX> members;
  if (Status s = collect_members(action.payload, kNames, "OVS_CHECK_PKT_LEN_ATTR", members); !s) return s;
  const auto& pkt_len = members[OVS_CHECK_PKT_LEN_ATTR_PKT_LEN];
  const auto& greater = members[OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER];
  const auto& less_equal = members[OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL];
  if (!pkt_len) return invalid_argument("OVS_CHECK_PKT_LEN_ATTR_PKT_LEN missing");
  if (Status s = check_member_length(pkt_len, kNames[OVS_CHECK_PKT_LEN_ATTR_PKT_LEN], 2); !s) return s;
  if (!greater || !less_equal) {
    return invalid_argument(
        "both OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER and _IF_LESS_EQUAL must be present");
  }
  out.pkt_len = pkt_len->as<uint16_t>();
  if (Status s = decode_list(greater->payload, depth + 1, out.if_greater)
                     .with_context(kNames[OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER]);
      !s) {
    return s;
  }
  return decode_list(less_equal->payload, depth + 1, out.if_less_equal)
      .with_context(kNames[OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL]);
}

// Every field a set of `type` writes: all of them, except the flow label bits
// above 20 of an IPv6 set, which the kernel clears from the mask it builds.
void mark_whole_attribute(uint16_t type, size_t length, FlowKey& mask) {
  if (type == OVS_KEY_ATTR_TUNNEL) {
    TunnelKey& t = mask.tunnel;
    t.tun_id = ~Be64{0};
    t.ipv4_src = t.ipv4_dst = ~Be32{0};
    t.ipv6_src.fill(0xff);
    t.ipv6_dst.fill(0xff);
    t.tp_src = t.tp_dst = 0xffff;
    t.flags = kTunnelDontFragment | kTunnelCsum | kTunnelKey | kTunnelOam;
    t.tos = t.ttl = 0xff;
    t.vxlan_gbp = ~uint32_t{0};
    return;
  }
  std::vector<uint8_t> ones(length, 0xff);
  key_attribute_to_fields(type, ones, mask);
  if (type == OVS_KEY_ATTR_MPLS) mask.mpls_depth = 0;
  if (type == OVS_KEY_ATTR_IPV6) mask.ipv6_label = htonl(0x000fffff);
}

Status decode_set(const Attribute& action, bool masked, SetAction& out) {
  std::span<const uint8_t> payload = action.payload;
  if (Status s = check_attribute_header(payload, 0, "key attribute"); !s) return s;
  const auto* inner = reinterpret_cast<const nlattr*>(payload.data());
  size_t filled = MNL_ALIGN(size_t{mnl_attr_get_len(inner)});
  if (filled != payload.size()) {
    return invalid_argument("must carry exactly one key attribute (payload " +
                            std::to_string(payload.size()) + " bytes, the first key attribute fills " +
                            std::to_string(filled) + ")");
  }
  uint16_t type = mnl_attr_get_type(inner);
  if (type > OVS_KEY_ATTR_MAX) return invalid_argument("unknown key attribute type " + std::to_string(type));
  std::string name = key_attr_name(type);
  std::span<const uint8_t> data = payload.subspan(MNL_ATTR_HDRLEN, mnl_attr_get_payload_len(inner));
  out.attr = static_cast<ovs_key_attr>(type);
  out.masked = masked;

  if (type == OVS_KEY_ATTR_TUNNEL) {
    if (masked) return invalid_argument(name + ": a masked tunnel set is not supported by the datapath");
    if (Status s = decode_tunnel_attributes(data, false, out.value->tunnel); !s) return s.with_context(name);
    mark_whole_attribute(type, 0, out.mask);
    return Status::ok();
  }
  if (!key_attribute_has_fields(type))
    return invalid_argument(name + ": cannot be the target of a set action");

  size_t field_length = data.size();
  if (masked) {
    if (data.size() % 2 != 0) {
      return invalid_argument(name + ": length " + std::to_string(data.size()) +
                              " is odd; a masked set carries a value and a mask of equal length");
    }
    field_length /= 2;
  }
  int expected = key_attribute_length(type);
  if (expected == kVariableLength) {  // MPLS: 1 to 3 label stack entries
    if (field_length == 0 || field_length % 4 != 0 || field_length > sizeof(Be32) * kMaxMplsLabels) {
      return invalid_argument(name + ": " + std::to_string(field_length) +
                              " bytes per value, expected 1 to 3 label stack entries of 4 bytes");
    }
  } else if (field_length != static_cast<size_t>(expected)) {
    if (masked) {
      return invalid_argument(name + ": length " + std::to_string(data.size()) + ", expected " +
                              std::to_string(2 * expected) + " (value and mask of " +
                              std::to_string(expected) + " bytes each)");
    }
    return invalid_argument(length_error(name, data.size(), expected));
  }

  std::span<const uint8_t> value = data.first(field_length);
  key_attribute_to_fields(type, value, out.value);
  if (!masked) {
    mark_whole_attribute(type, field_length, out.mask);
    return Status::ok();
  }
  std::span<const uint8_t> mask = data.subspan(field_length, field_length);
  for (size_t i = 0; i < field_length; ++i) {
    if (value[i] & ~mask[i]) {
      return invalid_argument(name + ": value byte " + std::to_string(i) +
                              " has bits outside the mask (value " + hex16(value[i]) + ", mask " +
                              hex16(mask[i]) + ")");
    }
  }
  key_attribute_to_fields(type, mask, out.mask);
  if (type == OVS_KEY_ATTR_MPLS) out.mask->mpls_depth = 0;
  return Status::ok();
}

Status decode_action(const Attribute& attribute, int depth, ActionList& out) {
  uint16_t type = attribute.type;
  int expected = action_length(type);
  if (expected == kUnknown) {
    return invalid_argument("unknown action type " + std::to_string(type) +
                            " (the newest the kernel knows is " + std::to_string(kActionAttrMax) + ")");
  }
  std::string name = action_attr_name(type);
  if (expected != kVariable && attribute.length() != static_cast<size_t>(expected)) {
    return invalid_argument(length_error(name, attribute.length(), expected));
  }
  auto in = [&](Status s) { return s.with_context(name); };
  switch (type) {
    case OVS_ACTION_ATTR_OUTPUT:
      out.emplace_back(OutputAction{attribute.as<uint32_t>()});
      return Status::ok();
    case OVS_ACTION_ATTR_USERSPACE: {
      UserspaceAction userspace;
      if (Status s = decode_userspace(attribute, userspace); !s) return in(s);
      out.emplace_back(std::move(userspace));
      return Status::ok();
    }
    case OVS_ACTION_ATTR_SET:
    case OVS_ACTION_ATTR_SET_MASKED: {
      SetAction set;
      if (Status s = decode_set(attribute, type == OVS_ACTION_ATTR_SET_MASKED, set); !s) return in(s);
      out.emplace_back(set);
      return Status::ok();
    }
    case OVS_ACTION_ATTR_PUSH_VLAN: {
      auto push = attribute.as<ovs_action_push_vlan>();
      out.emplace_back(PushVlanAction{push.vlan_tpid, push.vlan_tci});
      return Status::ok();
    }
    case OVS_ACTION_ATTR_POP_VLAN:
      out.emplace_back(PopVlanAction{});
      return Status::ok();
    case OVS_ACTION_ATTR_SAMPLE: {
      SampleAction sample;
      if (Status s = decode_sample(attribute, depth, sample); !s) return in(s);
      out.emplace_back(std::move(sample));
      return Status::ok();
    }
    case OVS_ACTION_ATTR_RECIRC:
      out.emplace_back(RecircAction{attribute.as<uint32_t>()});
      return Status::ok();
    case OVS_ACTION_ATTR_HASH: {
      auto hash = attribute.as<ovs_action_hash>();
      out.emplace_back(HashAction{hash.hash_alg, hash.hash_basis});
      return Status::ok();
    }
    case OVS_ACTION_ATTR_PUSH_MPLS: {
      auto push = attribute.as<ovs_action_push_mpls>();
      out.emplace_back(PushMplsAction{push.mpls_lse, push.mpls_ethertype});
      return Status::ok();
    }
    case OVS_ACTION_ATTR_POP_MPLS:
      out.emplace_back(PopMplsAction{attribute.as<Be16>()});
      return Status::ok();
    case OVS_ACTION_ATTR_TRUNC:
      out.emplace_back(TruncAction{attribute.as<ovs_action_trunc>().max_len});
      return Status::ok();
    case OVS_ACTION_ATTR_CLONE: {
      CloneAction clone;
      if (Status s = decode_list(attribute.payload, depth + 1, clone.actions); !s) return in(s);
      out.emplace_back(std::move(clone));
      return Status::ok();
    }
    case OVS_ACTION_ATTR_CHECK_PKT_LEN: {
      CheckPktLenAction check;
      if (Status s = decode_check_pkt_len(attribute, depth, check); !s) return in(s);
      out.emplace_back(std::move(check));
      return Status::ok();
    }
    case kActionAttrDrop:
      out.emplace_back(DropAction{attribute.as<uint32_t>()});
      return Status::ok();
    case OVS_ACTION_ATTR_UNSPEC:
      return invalid_argument(name + ": type 0 is not an action");
    default:
      return invalid_argument(name + ": not supported by flowlift");
  }
}

Status decode_list(std::span<const uint8_t> bytes, int depth, ActionList& out) {
  if (depth > kMaxActionsDepth) {
    return Status(EOVERFLOW, "actions nest " + std::to_string(depth) + " levels deep; the datapath allows " +
                                 std::to_string(kMaxActionsDepth) + " (OVS_COPY_ACTIONS_MAX_DEPTH)");
  }
  size_t index = 0;
  return for_each_attribute(bytes, "", [&](const Attribute& attribute) -> Status {
    Status s = decode_action(attribute, depth, out).with_context("actions[" + std::to_string(index) + "]");
    ++index;
    return s;
  });
}

Status put_list(AttributeWriter& writer, const ActionList& actions, int depth);

Status put_set(AttributeWriter& writer, const SetAction& set) {
  std::string name = key_attr_name(set.attr);
  if (set.attr == OVS_KEY_ATTR_TUNNEL) {
    if (set.masked) return invalid_argument("set of " + name + ": the datapath has no masked tunnel set");
    size_t action = writer.begin_nested(OVS_ACTION_ATTR_SET);
    size_t tunnel = writer.begin_nested(OVS_KEY_ATTR_TUNNEL);
    put_tunnel_attributes(writer, set.value->tunnel, set.value->tunnel.is_ipv6(),
                          set.value->tunnel.vxlan_gbp != 0);
    writer.end_nested(tunnel);
    writer.end_nested(action);
    return Status::ok();
  }
  if (!key_attribute_has_fields(set.attr))
    return invalid_argument("set of " + name + " has no attribute form");
  int labels = std::max<int>(set.value->mpls_depth, 1);
  std::vector<uint8_t> payload = key_attribute_payload(set.attr, set.value, labels);
  if (set.masked) {
    std::vector<uint8_t> mask = key_attribute_payload(set.attr, set.mask, labels);
    payload.insert(payload.end(), mask.begin(), mask.end());
  }
  size_t action = writer.begin_nested(set.masked ? OVS_ACTION_ATTR_SET_MASKED : OVS_ACTION_ATTR_SET);
  writer.put(set.attr, payload.data(), payload.size());
  writer.end_nested(action);
  return Status::ok();
}

Status put_action(AttributeWriter& writer, const Action& action, int depth) {
  if (const auto* output = std::get_if<OutputAction>(&action.v)) {
    writer.put_u32(OVS_ACTION_ATTR_OUTPUT, output->port);
  } else if (const auto* userspace = std::get_if<UserspaceAction>(&action.v)) {
    size_t nest = writer.begin_nested(OVS_ACTION_ATTR_USERSPACE);
    writer.put_u32(OVS_USERSPACE_ATTR_PID, userspace->pid);
    if (userspace->has_userdata || !userspace->userdata.empty()) {
      writer.put(OVS_USERSPACE_ATTR_USERDATA, userspace->userdata.data(), userspace->userdata.size());
    }
    if (userspace->has_egress_tun_port) {
      writer.put_u32(OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, userspace->egress_tun_port);
    }
    if (userspace->actions) writer.put_flag(OVS_USERSPACE_ATTR_ACTIONS);
    writer.end_nested(nest);
  } else if (const auto* set = std::get_if<SetAction>(&action.v)) {
    return put_set(writer, *set);
  } else if (const auto* push_vlan = std::get_if<PushVlanAction>(&action.v)) {
    ovs_action_push_vlan push{push_vlan->tpid, push_vlan->tci};
    writer.put_struct(OVS_ACTION_ATTR_PUSH_VLAN, push);
  } else if (std::holds_alternative<PopVlanAction>(action.v)) {
    writer.put_flag(OVS_ACTION_ATTR_POP_VLAN);
  } else if (const auto* push_mpls = std::get_if<PushMplsAction>(&action.v)) {
    // ovs_action_push_mpls has two bytes of tail padding; build it as bytes
    // so that they are zero.
    uint8_t push[sizeof(ovs_action_push_mpls)] = {};
    std::memcpy(push + offsetof(ovs_action_push_mpls, mpls_lse), &push_mpls->lse, sizeof push_mpls->lse);
    std::memcpy(push + offsetof(ovs_action_push_mpls, mpls_ethertype), &push_mpls->ethertype,
                sizeof push_mpls->ethertype);
    writer.put(OVS_ACTION_ATTR_PUSH_MPLS, push, sizeof push);
  } else if (const auto* pop_mpls = std::get_if<PopMplsAction>(&action.v)) {
    writer.put_u16(OVS_ACTION_ATTR_POP_MPLS, pop_mpls->ethertype);
  } else if (const auto* recirc = std::get_if<RecircAction>(&action.v)) {
    writer.put_u32(OVS_ACTION_ATTR_RECIRC, recirc->recirc_id);
  } else if (const auto* hash = std::get_if<HashAction>(&action.v)) {
    ovs_action_hash arg{hash->algorithm, hash->basis};
    writer.put_struct(OVS_ACTION_ATTR_HASH, arg);
  } else if (const auto* trunc = std::get_if<TruncAction>(&action.v)) {
    writer.put_u32(OVS_ACTION_ATTR_TRUNC, trunc->max_len);
  } else if (const auto* sample = std::get_if<SampleAction>(&action.v)) {
    size_t nest = writer.begin_nested(OVS_ACTION_ATTR_SAMPLE);
    writer.put_u32(OVS_SAMPLE_ATTR_PROBABILITY, sample->probability);
    size_t list = writer.begin_nested(OVS_SAMPLE_ATTR_ACTIONS);
    if (Status s = put_list(writer, sample->actions, depth + 1); !s) return s;
    writer.end_nested(list);
    writer.end_nested(nest);
  } else if (const auto* clone = std::get_if<CloneAction>(&action.v)) {
    size_t nest = writer.begin_nested(OVS_ACTION_ATTR_CLONE);
    if (Status s = put_list(writer, clone->actions, depth + 1); !s) return s;
    writer.end_nested(nest);
  } else if (const auto* check = std::get_if<CheckPktLenAction>(&action.v)) {
    size_t nest = writer.begin_nested(OVS_ACTION_ATTR_CHECK_PKT_LEN);
    writer.put_u16(OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, check->pkt_len);
    size_t less_equal = writer.begin_nested(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL);
    if (Status s = put_list(writer, check->if_less_equal, depth + 1); !s) return s;
    writer.end_nested(less_equal);
    size_t greater = writer.begin_nested(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER);
    if (Status s = put_list(writer, check->if_greater, depth + 1); !s) return s;
    writer.end_nested(greater);
    writer.end_nested(nest);
  } else if (const auto* drop = std::get_if<DropAction>(&action.v)) {
    writer.put_u32(kActionAttrDrop, drop->reason);
  }
  return Status::ok();
}

Status put_list(AttributeWriter& writer, const ActionList& actions, int depth) {
  if (depth > kMaxActionsDepth) {
    return Status(EOVERFLOW, "actions nest deeper than the datapath's " + std::to_string(kMaxActionsDepth) +
                                 " levels (OVS_COPY_ACTIONS_MAX_DEPTH)");
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    if (Status s = put_action(writer, actions[i], depth); !s) {
      return s.with_context("actions[" + std::to_string(i) + "]");
    }
  }
  return Status::ok();
}

}  // namespace

Status put_actions(AttributeWriter& writer, const ActionList& actions) {
  if (Status s = put_list(writer, actions, 0); !s) return s;
  if (writer.overflowed()) {
    return Status(EMSGSIZE, "actions: an attribute grew past the 65535 bytes a netlink attribute can hold");
  }
  return Status::ok();
}

Result<std::vector<uint8_t>> encode_actions(const ActionList& actions) {
  AttributeWriter writer;
  if (Status s = put_actions(writer, actions); !s) return s;
  return writer.to_vector();
}

Result<ActionList> decode_actions(std::span<const uint8_t> attributes) {
  if (attributes.size() > kMaxActionsBytes) {
    return Status(EMSGSIZE, "actions: " + std::to_string(attributes.size()) +
                                " bytes exceed the datapath's " + std::to_string(kMaxActionsBytes) +
                                "-byte limit (MAX_ACTIONS_BUFSIZE)");
  }
  AlignedBytes bytes(attributes);
  ActionList actions;
  if (Status s = decode_list(bytes.span(), 0, actions); !s) return s;
  return actions;
}

}  // namespace flowlift
