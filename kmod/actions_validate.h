// actions_validate: the checks the kernel makes on an action list against the
// flow it is installed for (__ovs_nla_copy_actions and validate_set in
// net/openvswitch/flow_netlink.c), beyond the attribute form that
// decode_actions already checked.
//
// As in the kernel, the flow is the match's masked key, and its mac_proto,
// ethertype, outer VLAN tci and MPLS label count are tracked through the
// list: push_vlan and pop_vlan change the tci, push_mpls and pop_mpls the
// ethertype and label count. Nested lists (sample, clone, check_pkt_len)
// start from the state at their action and do not change the state after it.
//
// An L3 flow (mac_proto kMacProtoNone) has no MAC header: push_vlan, pop_vlan
// and set(eth) are refused for it, and pop_mpls to 0x6558 (Ethernet in MPLS)
// is allowed only for it, as in __ovs_nla_copy_actions / validate_set.
// push_mpls and pop_mpls to other ethertypes do not look at mac_proto there
// either. Only push_eth and pop_eth change mac_proto in the kernel; flowlift
// has neither, so the flow's mac_proto holds through the whole list (which
// also makes the kernel's restart from the key's mac_proto in nested lists
// the same as starting from the state at the action).
#pragma once

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

// EINVAL with a message naming the action ("actions[1] push_mpls: ethertype
// 0x0800 is not MPLS (0x8847 or 0x8848)"), EOVERFLOW when lists nest deeper
// than the datapath allows.
Status validate_actions(const ActionList& actions, const Match& match);

// The same checks against a flow given as a whole key: what
// OVS_PACKET_CMD_EXECUTE validates a packet's actions against (the kernel
// builds its exact-match sw_flow_key from the packet attributes). Only the
// key is ever read, so this is validate_actions(actions, Match(key,
// FlowMask::exact())) without building the ~600-byte Match per packet.
Status validate_actions(const ActionList& actions, const FlowKey& key);

}  // namespace flowlift
