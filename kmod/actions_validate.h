// actions_validate: the checks the kernel makes on an action list against the
// flow it is installed for (__ovs_nla_copy_actions and validate_set in
// net/openvswitch/flow_netlink.c), beyond the attribute form that
// decode_actions already checked.
//
// As in the kernel, the flow is the match's masked key, and the ethertype,
// outer VLAN tci and MPLS label count are tracked through the list: push_vlan
// and pop_vlan change the tci, push_mpls and pop_mpls the ethertype and label
// count. Nested lists (sample, clone, check_pkt_len) start from the state at
// their action and do not change the state after it.
//
// flowlift has no layer-3 flows (FlowKey has no mac_proto) and no push_eth /
// pop_eth actions, so the kernel's "packet must be Ethernet" conditions on
// push_vlan, pop_vlan and set(ethernet) always hold here.
#pragma once

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/status.h"

namespace flowlift {

// EINVAL with a message naming the action ("actions[1] push_mpls: ethertype
// 0x0800 is not MPLS (0x8847 or 0x8848)"), EOVERFLOW when lists nest deeper
// than the datapath allows.
Status validate_actions(const ActionList& actions, const Match& match);

}  // namespace flowlift
