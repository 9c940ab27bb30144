// kernel_dpif_vport: OVS_VPORT_CMD_* payloads and replies.
#include "kmod/kernel_dpif_vport.h"

#include "kmod/kernel_dpif_families.h"
#include "kmod/netlink_attr.h"

namespace flowlift {
namespace {

Status vport_length_error(const char* name, size_t got, size_t expected) {
  return Status(EPROTO, std::string("vport reply: ") + name + " has length " + std::to_string(got) +
                            ", expected " + std::to_string(expected));
}

}  // namespace

std::vector<uint8_t> build_vport_new(const KernelVportCreate& create) {
  AttributeWriter writer;
  if (create.number != 0) writer.put_u32(OVS_VPORT_ATTR_PORT_NO, create.number);
  writer.put_u32(OVS_VPORT_ATTR_TYPE, create.type);
  writer.put(OVS_VPORT_ATTR_NAME, create.name.c_str(), create.name.size() + 1);
  if (create.vxlan_udp_port) {
    size_t options = writer.begin_nested(OVS_VPORT_ATTR_OPTIONS);
    writer.put_u16(OVS_TUNNEL_ATTR_DST_PORT, *create.vxlan_udp_port);
    writer.end_nested(options);
  }
  writer.put(OVS_VPORT_ATTR_UPCALL_PID, create.upcall_pids.data(),
             create.upcall_pids.size() * sizeof(uint32_t));
  return ovs_message_payload(create.dp_ifindex, writer.bytes());
}

std::vector<uint8_t> build_vport_by_number(int dp_ifindex, uint32_t number) {
  AttributeWriter writer;
  writer.put_u32(OVS_VPORT_ATTR_PORT_NO, number);
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

std::vector<uint8_t> build_vport_by_name(std::string_view name) {
  AttributeWriter writer;
  std::string text(name);
  writer.put(OVS_VPORT_ATTR_NAME, text.c_str(), text.size() + 1);
  return ovs_message_payload(0, writer.bytes());
}

std::vector<uint8_t> build_vport_dump(int dp_ifindex) { return ovs_message_payload(dp_ifindex, {}); }

std::vector<uint8_t> build_vport_set_upcall_pids(int dp_ifindex, uint32_t number,
                                                 std::span<const uint32_t> upcall_pids) {
  AttributeWriter writer;
  writer.put_u32(OVS_VPORT_ATTR_PORT_NO, number);
  writer.put(OVS_VPORT_ATTR_UPCALL_PID, upcall_pids.data(), upcall_pids.size() * sizeof(uint32_t));
  return ovs_message_payload(dp_ifindex, writer.bytes());
}

Result<KernelVportInfo> parse_vport_reply(std::span<const uint8_t> payload) {
  auto body = split_ovs_message_payload(payload, "vport reply");
  if (!body) return body.status();
  KernelVportInfo info;
  info.dp_ifindex = body->dp_ifindex;
  bool has_number = false, has_type = false, has_stats = false;
  AlignedBytes bytes(body->attributes);
  Status status = for_each_attribute(bytes.span(), "vport reply", [&](const Attribute& attribute) -> Status {
    switch (attribute.type) {
      case OVS_VPORT_ATTR_PORT_NO:
        if (attribute.length() != 4)
          return vport_length_error("OVS_VPORT_ATTR_PORT_NO", attribute.length(), 4);
        info.number = attribute.as<uint32_t>();
        has_number = true;
        break;
      case OVS_VPORT_ATTR_TYPE:
        if (attribute.length() != 4) return vport_length_error("OVS_VPORT_ATTR_TYPE", attribute.length(), 4);
        info.type = attribute.as<uint32_t>();
        has_type = true;
        break;
      case OVS_VPORT_ATTR_NAME:
        info.name = attribute_string(attribute.payload);
        break;
      case OVS_VPORT_ATTR_UPCALL_PID:
        if (attribute.length() % 4 != 0) {
          return Status(EPROTO, "vport reply: OVS_VPORT_ATTR_UPCALL_PID has length " +
                                    std::to_string(attribute.length()) + ", not a multiple of 4");
        }
        for (size_t at = 0; at < attribute.length(); at += 4) {
          info.upcall_pids.push_back(read_payload<uint32_t>(attribute.payload.subspan(at, 4)));
        }
        break;
      case OVS_VPORT_ATTR_STATS:
        if (attribute.length() != sizeof(ovs_vport_stats))
          return vport_length_error("OVS_VPORT_ATTR_STATS", attribute.length(), sizeof(ovs_vport_stats));
        info.stats = attribute.as<ovs_vport_stats>();
        has_stats = true;
        break;
      case OVS_VPORT_ATTR_IFINDEX:
        if (attribute.length() != 4)
          return vport_length_error("OVS_VPORT_ATTR_IFINDEX", attribute.length(), 4);
        info.ifindex = attribute.as<uint32_t>();
        break;
      case OVS_VPORT_ATTR_OPTIONS:
        return for_each_attribute(
            attribute.payload, "OVS_VPORT_ATTR_OPTIONS", [&](const Attribute& option) -> Status {
              if (option.type == OVS_TUNNEL_ATTR_DST_PORT) {
                if (option.length() != 2)
                  return vport_length_error("OVS_TUNNEL_ATTR_DST_PORT", option.length(), 2);
                info.vxlan_udp_port = option.as<uint16_t>();
              }
              return Status::ok();
            });
      default:
        break;  // PAD, NETNSID and newer attributes
    }
    return Status::ok();
  });
  if (!status) return Status(EPROTO, status.message());
  if (!has_number) return Status(EPROTO, "vport reply: no OVS_VPORT_ATTR_PORT_NO");
  if (!has_type) return Status(EPROTO, "vport reply: no OVS_VPORT_ATTR_TYPE");
  if (info.name.empty()) return Status(EPROTO, "vport reply: no OVS_VPORT_ATTR_NAME");
  if (!has_stats) return Status(EPROTO, "vport reply: no OVS_VPORT_ATTR_STATS");
  return info;
}

std::string_view kernel_vport_type_name(uint32_t type) {
  switch (type) {
    case OVS_VPORT_TYPE_NETDEV:
      return "netdev";
    case OVS_VPORT_TYPE_INTERNAL:
      return "internal";
    case OVS_VPORT_TYPE_GRE:
      return "gre";
    case OVS_VPORT_TYPE_VXLAN:
      return "vxlan";
    case OVS_VPORT_TYPE_GENEVE:
      return "geneve";
    default:
      return "unknown";
  }
}

}  // namespace flowlift
