// kernel_dpif_families: the generic netlink family ids of Linux's
// openvswitch module (ovs_datapath, ovs_vport, ovs_flow, ovs_packet), looked
// up by name with CTRL_CMD_GETFAMILY. The ids are assigned when the module
// registers, so every process resolves them once per socket's life.
//
// This is the smallest resolver the kernel datapath needs: another branch
// (lab) is writing a general kmod/genl_family.{h,cc}; this file stays
// private to the kernel Dpif until that lands and then can give way to it.
//
// Asking the controller for "ovs_datapath" also makes the kernel try to load
// the module (it carries MODULE_ALIAS_GENL_FAMILY); when the family is still
// unknown the module is missing or cannot load, and the error says so.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"
#include "kmod/genl_socket.h"

namespace flowlift {

struct OvsGenlFamilies {
  uint16_t datapath = 0;
  uint16_t vport = 0;
  uint16_t flow = 0;
  uint16_t packet = 0;
};

// The CTRL_CMD_GETFAMILY request payload naming `family` (CTRL_ATTR_FAMILY_NAME).
std::vector<uint8_t> build_family_request(std::string_view family);
// CTRL_ATTR_FAMILY_ID from a CTRL_CMD_NEWFAMILY reply's payload; errors name
// `family` and what was missing or malformed.
Result<uint16_t> parse_family_reply(std::string_view family, std::span<const uint8_t> payload);

// "the openvswitch kernel module is not loaded (modprobe openvswitch): ..."
// when the controller answers ENOENT for an ovs_* family; other errors are
// kept, with the family named.
Status family_lookup_error(std::string_view family, const Status& controller_error);

// One family's id by name (the raw controller error on failure).
Result<uint16_t> resolve_genl_family(GenlSocket& socket, std::string_view family);
Result<OvsGenlFamilies> resolve_ovs_genl_families(GenlSocket& socket);

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
