// kernel_dpif_families: the generic netlink family ids of Linux's
// openvswitch module (ovs_datapath, ovs_vport, ovs_flow, ovs_packet), looked
// up with kmod/genl_family (CTRL_CMD_GETFAMILY), and the struct ovs_header
// every message of those families starts with. The ids are assigned when
// the module registers, so they are resolved once per KernelDpif.
//
// Asking the controller for "ovs_datapath" also makes the kernel try to load
// the module (MODULE_ALIAS_GENL_FAMILY); when the family is still unknown
// the module is missing or cannot load, and the error says so first.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct OvsGenlFamilies {
  uint16_t datapath = 0;
  uint16_t vport = 0;
  uint16_t flow = 0;
  uint16_t packet = 0;
};

// "the openvswitch kernel module is not loaded (modprobe openvswitch): ..."
// when the controller answers ENOENT for an ovs_* family; other errors are
// kept, with the family named.
Status family_lookup_error(std::string_view family, const Status& controller_error);

Result<OvsGenlFamilies> resolve_ovs_genl_families();

}  // namespace flowlift

namespace flowlift {

// Every ovs_* message's payload starts with struct ovs_header (the
// datapath's ifindex) and continues with that family's attributes.
std::vector<uint8_t> ovs_message_payload(int dp_ifindex, std::span<const uint8_t> attributes);

struct OvsMessageBody {
  int dp_ifindex = 0;
  std::span<const uint8_t> attributes;  // points into the message's payload
};
// EPROTO when the payload is shorter than struct ovs_header.
Result<OvsMessageBody> split_ovs_message_payload(std::span<const uint8_t> payload, std::string_view what);

// The attribute's payload as a string, up to its first NUL.
std::string attribute_string(std::span<const uint8_t> payload);

}  // namespace flowlift
