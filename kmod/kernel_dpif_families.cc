// kernel_dpif_families: CTRL_CMD_GETFAMILY for the four ovs_* families.
#include "kmod/kernel_dpif_families.h"

#include <linux/genetlink.h>
#include <linux/openvswitch.h>

#include <cstring>
#include <optional>

#include "kmod/netlink_attr.h"

namespace flowlift {

std::vector<uint8_t> build_family_request(std::string_view family) {
  AttributeWriter writer;
  std::string name(family);
  writer.put(CTRL_ATTR_FAMILY_NAME, name.c_str(),
             name.size() + 1);  // NUL-terminated, as NLA_NUL_STRING wants
  return writer.to_vector();
}

Result<uint16_t> parse_family_reply(std::string_view family, std::span<const uint8_t> payload) {
  AlignedBytes bytes(payload);
  std::optional<uint16_t> id;
  std::string where = "CTRL_CMD_GETFAMILY reply for " + std::string(family);
  Status status = for_each_attribute(bytes.span(), where, [&](const Attribute& attribute) -> Status {
    if (attribute.type == CTRL_ATTR_FAMILY_ID) {
      if (attribute.length() != 2) {
        return Status(EPROTO, where + ": CTRL_ATTR_FAMILY_ID has length " +
                                  std::to_string(attribute.length()) + ", expected 2");
      }
      id = attribute.as<uint16_t>();
    }
    return Status::ok();  // names, versions, ops, groups: not needed
  });
  if (!status) return Status(EPROTO, status.message());
  if (!id) return Status(EPROTO, where + ": no CTRL_ATTR_FAMILY_ID");
  if (*id < NLMSG_MIN_TYPE)
    return Status(EPROTO, where + ": family id " + std::to_string(*id) + " is reserved");
  return *id;
}

Status family_lookup_error(std::string_view family, const Status& controller_error) {
  if (controller_error.code() == ENOENT) {
    return Status(ENOENT,
                  "the openvswitch kernel module is not loaded (modprobe openvswitch): generic netlink "
                  "family " +
                      std::string(family) + " is unknown to this kernel");
  }
  return controller_error.with_context("generic netlink family " + std::string(family));
}

Result<uint16_t> resolve_genl_family(GenlSocket& socket, std::string_view family) {
  auto request = build_family_request(family);
  auto replies = socket.transact(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0, request);
  if (!replies) return replies.status();
  if (replies->empty())
    return Status(EPROTO, "no reply naming generic netlink family " + std::string(family));
  return parse_family_reply(family, replies->front().payload);
}

Result<OvsGenlFamilies> resolve_ovs_genl_families(GenlSocket& socket) {
  OvsGenlFamilies families;
  struct Wanted {
    const char* name;
    uint16_t* id;
  };
  const Wanted wanted[] = {{OVS_DATAPATH_FAMILY, &families.datapath},
                           {OVS_VPORT_FAMILY, &families.vport},
                           {OVS_FLOW_FAMILY, &families.flow},
                           {OVS_PACKET_FAMILY, &families.packet}};
  for (const Wanted& one : wanted) {
    auto id = resolve_genl_family(socket, one.name);
    if (!id) return family_lookup_error(one.name, id.status());
    *one.id = *id;
  }
  return families;
}

}  // namespace flowlift

namespace flowlift {

std::vector<uint8_t> ovs_message_payload(int dp_ifindex, std::span<const uint8_t> attributes) {
  ovs_header header{};
  header.dp_ifindex = dp_ifindex;
  std::vector<uint8_t> payload(sizeof header + attributes.size());
  std::memcpy(payload.data(), &header, sizeof header);
  if (!attributes.empty()) std::memcpy(payload.data() + sizeof header, attributes.data(), attributes.size());
  return payload;
}

Result<OvsMessageBody> split_ovs_message_payload(std::span<const uint8_t> payload, std::string_view what) {
  if (payload.size() < sizeof(ovs_header)) {
    return Status(EPROTO, std::string(what) + ": message of " + std::to_string(payload.size()) +
                              " bytes is shorter than struct ovs_header");
  }
  ovs_header header;
  std::memcpy(&header, payload.data(), sizeof header);
  return OvsMessageBody{header.dp_ifindex, payload.subspan(sizeof header)};
}

std::string attribute_string(std::span<const uint8_t> payload) {
  std::string text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (size_t nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
  return text;
}

}  // namespace flowlift
