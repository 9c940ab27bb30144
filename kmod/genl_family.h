// genl_family: what the kernel's generic netlink controller says about a
// family -- the numeric id it assigned at registration, the version, the
// fixed header size, the largest attribute type and the multicast groups --
// and the CTRL_CMD_GETFAMILY exchange that asks for it.
//
// Linux's openvswitch module registers four families (ovs_datapath,
// ovs_vport, ovs_flow, ovs_packet) whose ids are dynamic: every request of
// the kernel datapath backend is addressed to an id resolved here first. A
// missing family most often means a missing module, so the ENOENT error names
// the module that registers the ovs_* families.
//
// Built on libmnl like the rest of the datapath's netlink (netlink_attr.h);
// the request builder and the reply parser are separate from the socket so
// that unit tests can feed them recorded and hand-made bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowlift/status.h"

namespace flowlift {

struct GenlMulticastGroup {
  std::string name;
  uint32_t id = 0;
};

struct GenlFamily {
  std::string name;
  uint16_t id = 0;             // nlmsg_type of every request to the family
  uint32_t version = 0;        // genlmsghdr.version the family speaks
  uint32_t header_size = 0;    // user header after genlmsghdr (ovs_header: 4)
  uint32_t max_attribute = 0;  // largest attribute type the kernel accepts
  std::vector<GenlMulticastGroup> multicast_groups;

  // The id of multicast group `group_name` (ovs_vport's "ovs_vport"), if any.
  std::optional<uint32_t> multicast_group(std::string_view group_name) const;
};

// The complete CTRL_CMD_GETFAMILY request for `family_name`: nlmsghdr
// (GENL_ID_CTRL, NLM_F_REQUEST, `sequence`), genlmsghdr, CTRL_ATTR_FAMILY_NAME.
std::vector<uint8_t> genl_family_request(std::string_view family_name, uint32_t sequence);

// Parses the kernel's answer to genl_family_request(family_name, sequence):
// one netlink message, either CTRL_CMD_NEWFAMILY or an NLMSG_ERROR whose errno
// becomes the Status code (ENOENT: no such family). A reply that is
// truncated, malformed, for another request or for another family is EPROTO
// with a message naming what was wrong. Reads nothing outside `reply`.
Result<GenlFamily> parse_genl_family_reply(std::span<const uint8_t> reply, std::string_view family_name,
                                           uint32_t sequence);

// Asks the running kernel over a NETLINK_GENERIC socket of its own. The
// kernel autoloads the module that registers a family it does not know yet
// (MODULE_ALIAS_GENL_FAMILY), where modules can be loaded.
Result<GenlFamily> resolve_genl_family(std::string_view family_name);

}  // namespace flowlift
