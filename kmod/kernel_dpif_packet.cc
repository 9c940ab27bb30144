// kernel_dpif_packet: OVS_PACKET_CMD_EXECUTE and upcall messages.
#include "kmod/kernel_dpif_packet.h"

#include <linux/openvswitch.h>

#include <optional>

#include "kmod/kernel_dpif_families.h"
#include "kmod/netlink_actions.h"
#include "kmod/netlink_attr.h"
#include "kmod/netlink_key.h"

namespace flowlift {

Result<std::vector<uint8_t>> build_packet_execute(int dp_ifindex, const Packet& packet, const FlowKey& key,
                                                  const ActionList& actions) {
  if (packet.size() > kMaxAttributeLength - MNL_ATTR_HDRLEN) {
    return Status(EMSGSIZE, "execute: a packet of " + std::to_string(packet.size()) +
                                " bytes does not fit in OVS_PACKET_ATTR_PACKET");
  }
  AttributeWriter writer;
  writer.put(OVS_PACKET_ATTR_PACKET, packet.data(), packet.size());
  size_t key_nest = writer.begin_nested(OVS_PACKET_ATTR_KEY);
  put_packet_key(writer, key);
  writer.end_nested(key_nest);
  size_t actions_nest = writer.begin_nested(OVS_PACKET_ATTR_ACTIONS);
  if (Status s = put_actions(writer, actions); !s) return s.with_context("OVS_PACKET_ATTR_ACTIONS");
  writer.end_nested(actions_nest);
  if (writer.overflowed()) {
    return Status(EMSGSIZE, "execute: an attribute grew past the 65535 bytes a netlink attribute can hold");
  }
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

Result<KernelUpcall> parse_upcall(const GenlMessage& message) {
  KernelUpcall result;
  if (message.command == OVS_PACKET_CMD_MISS) {
    result.upcall.kind = DpifUpcall::Kind::kMiss;
  } else if (message.command == OVS_PACKET_CMD_ACTION) {
    result.upcall.kind = DpifUpcall::Kind::kAction;
  } else {
    return Status(EPROTO, "upcall: command " + std::to_string(message.command) +
                              " is neither OVS_PACKET_CMD_MISS nor OVS_PACKET_CMD_ACTION");
  }
  auto body = split_ovs_message_payload(message.payload, "upcall");
  if (!body) return body.status();
  result.dp_ifindex = body->dp_ifindex;

  std::optional<std::span<const uint8_t>> packet, key, userdata;
  AlignedBytes bytes(body->attributes);
  Status status = for_each_attribute(bytes.span(), "upcall", [&](const Attribute& attribute) -> Status {
    switch (attribute.type) {
      case OVS_PACKET_ATTR_PACKET:
        packet = attribute.payload;
        break;
      case OVS_PACKET_ATTR_KEY:
        key = attribute.payload;
        break;
      case OVS_PACKET_ATTR_USERDATA:
        userdata = attribute.payload;
        break;
      case OVS_PACKET_ATTR_HASH:
        if (attribute.length() != 8) {
          return Status(EPROTO, "upcall: OVS_PACKET_ATTR_HASH has length " +
                                    std::to_string(attribute.length()) + ", expected 8");
        }
        result.upcall.hash = static_cast<uint32_t>(attribute.as<uint64_t>());
        break;
      default:
        break;  // MRU, LEN, EGRESS_TUN_KEY, PROBE and newer attributes
    }
    return Status::ok();
  });
  if (!status) return Status(EPROTO, status.message());
  if (!packet) return Status(EPROTO, "upcall: no OVS_PACKET_ATTR_PACKET");
  if (!key) return Status(EPROTO, "upcall: no OVS_PACKET_ATTR_KEY");
  Result<FlowKey> decoded = decode_key(*key);
  if (!decoded) return Status(EPROTO, "upcall: OVS_PACKET_ATTR_KEY: " + decoded.status().message());
  result.upcall.key = *decoded;
  result.upcall.packet = Packet(*packet);
  PacketMetadata& metadata = result.upcall.packet.md;
  metadata.in_port = decoded->in_port;
  metadata.recirc_id = decoded->recirc_id;
  metadata.dp_hash = decoded->dp_hash;
  metadata.priority = decoded->priority;
  metadata.skb_mark = decoded->skb_mark;
  metadata.tunnel = decoded->tunnel;
  metadata.has_tunnel = decoded->tunnel.ipv4_dst != 0 || decoded->tunnel.is_ipv6();
  if (result.upcall.kind == DpifUpcall::Kind::kAction) {
    UserspaceAction action;
    if (userdata) {
      action.has_userdata = true;
      action.userdata.assign(userdata->begin(), userdata->end());
    }
    result.upcall.action = std::move(action);
  }
  return result;
}

}  // namespace flowlift
