// kernel_dpif_flow: OVS_FLOW_CMD_* payloads and replies.
#include "kmod/kernel_dpif_flow.h"

#include <linux/openvswitch.h>

#include <cstring>

#include "kmod/kernel_dpif_families.h"
#include "kmod/netlink_actions.h"
#include "kmod/netlink_attr.h"
#include "kmod/netlink_flow.h"
#include "kmod/netlink_key.h"

namespace flowlift {

Result<std::vector<uint8_t>> build_flow_put(int dp_ifindex, const Megaflow& flow, bool clear_stats) {
  AttributeWriter writer;
  writer.put(OVS_FLOW_ATTR_UFID, flow.ufid.bytes.data(), flow.ufid.bytes.size());
  size_t key = writer.begin_nested(OVS_FLOW_ATTR_KEY);
  put_match_key(writer, flow.match);
  writer.end_nested(key);
  size_t mask = writer.begin_nested(OVS_FLOW_ATTR_MASK);
  put_match_mask(writer, flow.match);
  writer.end_nested(mask);
  size_t actions = writer.begin_nested(OVS_FLOW_ATTR_ACTIONS);
  if (Status s = put_actions(writer, flow.actions); !s) return s.with_context("OVS_FLOW_ATTR_ACTIONS");
  writer.end_nested(actions);
  if (clear_stats) writer.put_flag(OVS_FLOW_ATTR_CLEAR);
  if (writer.overflowed()) {
    return Status(EMSGSIZE, "flow put: an attribute grew past the 65535 bytes a netlink attribute can hold");
  }
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

std::vector<uint8_t> build_flow_by_ufid(int dp_ifindex, const Ufid& ufid, uint32_t ufid_flags) {
  AttributeWriter writer;
  writer.put(OVS_FLOW_ATTR_UFID, ufid.bytes.data(), ufid.bytes.size());
  if (ufid_flags != 0) writer.put_u32(OVS_FLOW_ATTR_UFID_FLAGS, ufid_flags);
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

std::vector<uint8_t> build_flow_dump(int dp_ifindex, uint32_t ufid_flags) {
  AttributeWriter writer;
  if (ufid_flags != 0) writer.put_u32(OVS_FLOW_ATTR_UFID_FLAGS, ufid_flags);
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

std::vector<uint8_t> build_flow_flush(int dp_ifindex) { return ovs_message_payload(dp_ifindex, {}); }

Result<Megaflow> parse_flow_reply(std::span<const uint8_t> payload) {
  auto body = split_ovs_message_payload(payload, "flow reply");
  if (!body) return body.status();
  Result<Megaflow> flow = decode_flow(body->attributes);
  if (!flow) return flow.status().with_context("flow reply");
  return flow;
}

Result<KernelFlowIdentity> parse_flow_identity_reply(std::span<const uint8_t> payload) {
  auto body = split_ovs_message_payload(payload, "flow reply");
  if (!body) return body.status();
  KernelFlowIdentity identity;
  bool has_ufid = false;
  AlignedBytes bytes(body->attributes);
  auto length_error = [](const char* name, size_t got, size_t expected) {
    return Status(EPROTO, std::string("flow reply: ") + name + " has length " + std::to_string(got) +
                              ", expected " + std::to_string(expected));
  };
  Status status = for_each_attribute(bytes.span(), "flow reply", [&](const Attribute& attribute) -> Status {
    switch (attribute.type) {
      case OVS_FLOW_ATTR_UFID:
        if (attribute.length() != identity.ufid.bytes.size())
          return length_error("OVS_FLOW_ATTR_UFID", attribute.length(), identity.ufid.bytes.size());
        std::memcpy(identity.ufid.bytes.data(), attribute.payload.data(), identity.ufid.bytes.size());
        has_ufid = true;
        break;
      case OVS_FLOW_ATTR_STATS: {
        if (attribute.length() != sizeof(ovs_flow_stats))
          return length_error("OVS_FLOW_ATTR_STATS", attribute.length(), sizeof(ovs_flow_stats));
        auto stats = attribute.as<ovs_flow_stats>();
        identity.stats.packets = stats.n_packets;
        identity.stats.bytes = stats.n_bytes;
        break;
      }
      case OVS_FLOW_ATTR_USED:
        if (attribute.length() != 8) return length_error("OVS_FLOW_ATTR_USED", attribute.length(), 8);
        identity.stats.used_ms = attribute.as<uint64_t>();
        break;
      case OVS_FLOW_ATTR_TCP_FLAGS:
        if (attribute.length() != 1) return length_error("OVS_FLOW_ATTR_TCP_FLAGS", attribute.length(), 1);
        identity.stats.tcp_flags = attribute.as<uint8_t>();
        break;
      default:
        break;  // KEY/MASK/ACTIONS when not omitted, PAD
    }
    return Status::ok();
  });
  if (!status) return Status(EPROTO, status.message());
  if (!has_ufid) return Status(EPROTO, "flow reply: no OVS_FLOW_ATTR_UFID (a flow installed without one?)");
  return identity;
}

}  // namespace flowlift
