// kernel_dpif_families: the four ovs_* family ids and the ovs_header framing.
#include "kmod/kernel_dpif_families.h"

#include <linux/genetlink.h>
#include <linux/openvswitch.h>

#include <cstring>
#include <optional>

#include "kmod/genl_family.h"
#include "kmod/netlink_attr.h"

namespace flowlift {

Status family_lookup_error(std::string_view family, const Status& controller_error) {
  if (controller_error.code() == ENOENT) {
    return Status(ENOENT,
                  "the openvswitch kernel module is not loaded (modprobe openvswitch): generic netlink "
                  "family " +
                      std::string(family) + " is unknown to this kernel");
  }
  return controller_error.with_context("generic netlink family " + std::string(family));
}

Result<OvsGenlFamilies> resolve_ovs_genl_families() {
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
    auto family = resolve_genl_family(one.name);
    if (!family) return family_lookup_error(one.name, family.status());
    *one.id = family->id;
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
