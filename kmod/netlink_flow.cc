// netlink_flow: Megaflow <-> OVS_FLOW_ATTR_* attributes.
#include "kmod/netlink_flow.h"

#include <array>
#include <cerrno>
#include <optional>

#include "kmod/actions_validate.h"
#include "kmod/netlink_actions.h"
#include "kmod/netlink_attr.h"
#include "kmod/netlink_key.h"

namespace flowlift {
namespace {

constexpr std::array<const char*, OVS_FLOW_ATTR_MAX + 1> kFlowAttrNames = {
    "OVS_FLOW_ATTR_UNSPEC",    "OVS_FLOW_ATTR_KEY",  "OVS_FLOW_ATTR_ACTIONS",    "OVS_FLOW_ATTR_STATS",
    "OVS_FLOW_ATTR_TCP_FLAGS", "OVS_FLOW_ATTR_USED", "OVS_FLOW_ATTR_CLEAR",      "OVS_FLOW_ATTR_MASK",
    "OVS_FLOW_ATTR_PROBE",     "OVS_FLOW_ATTR_UFID", "OVS_FLOW_ATTR_UFID_FLAGS", "OVS_FLOW_ATTR_PAD",
};
static_assert(OVS_FLOW_ATTR_PAD == 11, "attribute names follow the uapi enum order");

// Fixed payload lengths; -1 for nested or free-form attributes.
int flow_attribute_length(uint16_t type) {
  switch (type) {
    case OVS_FLOW_ATTR_STATS:
      return sizeof(ovs_flow_stats);
    case OVS_FLOW_ATTR_TCP_FLAGS:
      return 1;
    case OVS_FLOW_ATTR_USED:
      return 8;
    case OVS_FLOW_ATTR_CLEAR:
    case OVS_FLOW_ATTR_PROBE:
    case OVS_FLOW_ATTR_PAD:
      return 0;
    case OVS_FLOW_ATTR_UFID:
      return sizeof(Ufid::bytes);
    case OVS_FLOW_ATTR_UFID_FLAGS:
      return 4;
    default:
      return -1;
  }
}

}  // namespace

Result<std::vector<uint8_t>> encode_flow(const Megaflow& flow) {
  AttributeWriter writer;
  // A flow without a UFID is named by its key alone, and the kernel does not
  // repeat the key after it; with one, UFID comes first and the key follows.
  // (Where the kernel names a UFID-less flow by its unmasked key, flowlift
  // only has the masked one.)
  if (!flow.ufid.is_zero()) writer.put(OVS_FLOW_ATTR_UFID, flow.ufid.bytes.data(), flow.ufid.bytes.size());
  size_t key = writer.begin_nested(OVS_FLOW_ATTR_KEY);
  put_match_key(writer, flow.match);
  writer.end_nested(key);
  size_t mask = writer.begin_nested(OVS_FLOW_ATTR_MASK);
  put_match_mask(writer, flow.match);
  writer.end_nested(mask);

  if (flow.stats.used_ms) writer.put_u64(OVS_FLOW_ATTR_USED, flow.stats.used_ms);
  // The kernel writes STATS once a packet was counted; bytes without packets
  // only come from a request someone built, and are kept rather than lost.
  if (flow.stats.packets || flow.stats.bytes) {
    ovs_flow_stats stats{flow.stats.packets, flow.stats.bytes};
    writer.put_struct(OVS_FLOW_ATTR_STATS, stats);
  }
  // The attribute holds the low 8 flag bits only (FIN..CWR).
  if (uint8_t flags = static_cast<uint8_t>(flow.stats.tcp_flags))
    writer.put_u8(OVS_FLOW_ATTR_TCP_FLAGS, flags);

  size_t actions = writer.begin_nested(OVS_FLOW_ATTR_ACTIONS);
  if (Status s = put_actions(writer, flow.actions); !s)
    return s.with_context(kFlowAttrNames[OVS_FLOW_ATTR_ACTIONS]);
  writer.end_nested(actions);
  if (writer.overflowed()) {
    return Status(EMSGSIZE, "flow: an attribute grew past the 65535 bytes a netlink attribute can hold");
  }
  return writer.to_vector();
}

Result<Megaflow> decode_flow(std::span<const uint8_t> attributes) {
  AlignedBytes bytes(attributes);
  std::array<std::optional<Attribute>, OVS_FLOW_ATTR_MAX + 1> found;
  Status status = for_each_attribute(bytes.span(), "flow", [&](const Attribute& attribute) -> Status {
    if (attribute.type == 0 || attribute.type > OVS_FLOW_ATTR_MAX) {
      return invalid_argument("unknown flow attribute type " + std::to_string(attribute.type));
    }
    std::string name = kFlowAttrNames[attribute.type];
    if (attribute.type == OVS_FLOW_ATTR_PAD) return Status::ok();
    if (found[attribute.type]) return invalid_argument(name + ": duplicate attribute");
    int expected = flow_attribute_length(attribute.type);
    if (expected >= 0 && attribute.length() != static_cast<size_t>(expected)) {
      return invalid_argument(name + ": length " + std::to_string(attribute.length()) + ", expected " +
                              std::to_string(expected));
    }
    found[attribute.type] = attribute;
    return Status::ok();
  });
  if (!status) return status;
  if (!found[OVS_FLOW_ATTR_KEY]) return invalid_argument("OVS_FLOW_ATTR_KEY missing");

  Megaflow flow;
  std::optional<std::span<const uint8_t>> mask;
  if (found[OVS_FLOW_ATTR_MASK]) mask = found[OVS_FLOW_ATTR_MASK]->payload;
  Result<Match> match = decode_match(found[OVS_FLOW_ATTR_KEY]->payload, mask);
  if (!match) return match.status();
  flow.match = *match;
  // decode_match accepts OVS_KEY_ATTR_IPV6_EXTHDRS only wildcarded and
  // FlowKey has no room for it; the flow keeps the attribute for its dump.
  std::optional<UnheldKeyAttribute> exthdrs;
  auto find_exthdrs = [&](std::span<const uint8_t> payload, bool in_mask) {
    AlignedBytes nested(payload);
    return for_each_attribute(nested.span(), "flow key", [&](const Attribute& attribute) -> Status {
      if (attribute.type != OVS_KEY_ATTR_IPV6_EXTHDRS) return Status::ok();
      if (!exthdrs) exthdrs = UnheldKeyAttribute{OVS_KEY_ATTR_IPV6_EXTHDRS, {}, {}};
      (in_mask ? exthdrs->mask : exthdrs->key).assign(attribute.payload.begin(), attribute.payload.end());
      return Status::ok();
    });
  };
  if (Status s = find_exthdrs(found[OVS_FLOW_ATTR_KEY]->payload, false); !s) return s;
  if (exthdrs && mask) {
    if (Status s = find_exthdrs(*mask, true); !s) return s;
  }
  if (exthdrs && !exthdrs->key.empty()) flow.unheld_key_attributes.push_back(std::move(*exthdrs));

  if (found[OVS_FLOW_ATTR_ACTIONS]) {
    Result<ActionList> actions = decode_actions(found[OVS_FLOW_ATTR_ACTIONS]->payload);
    if (!actions) return actions.status().with_context(kFlowAttrNames[OVS_FLOW_ATTR_ACTIONS]);
    if (Status s = validate_actions(*actions, flow.match); !s) {
      return s.with_context(kFlowAttrNames[OVS_FLOW_ATTR_ACTIONS]);
    }
    flow.actions = std::move(*actions);
  }
  if (found[OVS_FLOW_ATTR_UFID]) {
    std::memcpy(flow.ufid.bytes.data(), found[OVS_FLOW_ATTR_UFID]->payload.data(), flow.ufid.bytes.size());
  }
  if (found[OVS_FLOW_ATTR_STATS]) {
    auto stats = found[OVS_FLOW_ATTR_STATS]->as<ovs_flow_stats>();
    flow.stats.packets = stats.n_packets;
    flow.stats.bytes = stats.n_bytes;
  }
  if (found[OVS_FLOW_ATTR_USED]) flow.stats.used_ms = found[OVS_FLOW_ATTR_USED]->as<uint64_t>();
  if (found[OVS_FLOW_ATTR_TCP_FLAGS]) flow.stats.tcp_flags = found[OVS_FLOW_ATTR_TCP_FLAGS]->as<uint8_t>();
  return flow;
}

}  // namespace flowlift
