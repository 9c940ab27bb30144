// netlink_actions: the codec between ActionList and the OVS_ACTION_ATTR_*
// stream carried in OVS_FLOW_ATTR_ACTIONS / OVS_PACKET_ATTR_ACTIONS.
//
// Decoding checks the form of the stream as __ovs_nla_copy_actions does
// before it looks at any flow: the kernel's action_lens table, nesting depth,
// the nested USERSPACE / SAMPLE / CHECK_PKT_LEN attributes, and that SET and
// SET_MASKED carry exactly one key attribute of the right length (a masked
// value may not have bits outside its mask). Everything that depends on the
// flow, or on values the ActionList can hold (port ranges, TPIDs, ...), is
// the job of validate_actions (kmod/actions_validate.h).
//
// Encoding writes what a kernel flow dump shows: SET for unmasked sets (the
// kernel's internal SET_TO_MASKED turned back), CHECK_PKT_LEN with
// PKT_LEN, ACTIONS_IF_LESS_EQUAL, ACTIONS_IF_GREATER in that order.
//
// Decoding is strict where the kernel is lenient: inside USERSPACE and
// CHECK_PKT_LEN unknown, duplicate, over-long or trailing attributes are
// errors (the kernel's deprecated nla_parse() only warns), and a SET_MASKED
// payload must be exactly twice the attribute's length (the kernel halves
// an odd length and ignores the last byte).
//
// SetAction conventions: for an unmasked set the mask covers every field the
// attribute carries (for IPv6 only the 20 label bits, as the kernel's
// SET_TO_MASKED conversion does; for a tunnel the whole TunnelKey); for
// OVS_KEY_ATTR_MPLS value.mpls_depth holds the number of label stack entries
// the attribute carries (1 to 3; the datapath rewrites the first) and
// mask.mpls_depth stays 0. A set(tunnel) whose VXLAN GBP is 0 is written
// without OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS: TunnelKey cannot tell "GBP 0" from
// "no options".
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/status.h"
#include "kmod/netlink_attr.h"

namespace flowlift {

// MAX_ACTIONS_BUFSIZE. The kernel applies it to its internal copy of the
// actions; flowlift applies it to the attribute stream as received.
inline constexpr size_t kMaxActionsBytes = 32 * 1024;
// OVS_COPY_ACTIONS_MAX_DEPTH: action lists may nest (sample, clone,
// check_pkt_len) this deep below the top-level list.
inline constexpr int kMaxActionsDepth = 16;

// Errors: EMSGSIZE when an attribute outgrows a nla_len, EOVERFLOW when the
// list nests deeper than kMaxActionsDepth, EINVAL for an action with no
// attribute form (a masked tunnel set, a set of a key attribute without
// fields such as OVS_KEY_ATTR_ENCAP).
Result<std::vector<uint8_t>> encode_actions(const ActionList& actions);
Status put_actions(AttributeWriter& writer, const ActionList& actions);

// Errors name the action by position and type and the offending value,
// e.g. "actions[2] OVS_ACTION_ATTR_PUSH_VLAN: length 2, expected 4".
Result<ActionList> decode_actions(std::span<const uint8_t> attributes);

}  // namespace flowlift
