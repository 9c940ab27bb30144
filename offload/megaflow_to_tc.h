// megaflow_to_tc: one datapath megaflow as the cls_flower filter that does
// what it does on its ingress port's device, following Open vSwitch 3.1's
// lib/netdev-offload-tc.c and the kernel's cls_flower and act_* semantics.
//
// Why a refusal is a value with a reason: a refused megaflow stays in the
// openvswitch module's table, and the reason is what `flowlift
// dump-megaflows` shows beside it. So every reason names the field or action
// TC cannot express ("tc flower has no key for skb_mark", "action userspace
// cannot be offloaded", "output to port 7: no such port"), and no masked bit
// of the megaflow is ever dropped silently: each is either carried by a
// flower key (or by the filter's device, chain or protocol), or known to hold
// for every packet the filter can see (mac_proto of an Ethernet frame, the
// zero fields of a header the packet does not have, the UDP port of the
// VXLAN device the filter sits on), or the flow is refused.
//
// Byte order of the keys: every TcFlowerKey value and mask is big-endian in
// its `width` bytes, including the three keys whose netlink attribute is a
// host-order integer (vlan_id, cvlan_id: u16; mpls_label: u32); the codec
// converts those. vlan_prio, mpls_tc, mpls_bos and mpls_ttl are one byte each
// holding the field's value (prio 0..7, tc 0..7, bos 0..1).
//
// For a VLAN filter, kEthType is the outer TPID (as iproute2 and OVS send
// TCA_FLOWER_KEY_ETH_TYPE: cls_flower reads the VLAN keys only when it is a
// VLAN type) and the innermost ethertype is kVlanEthType or kCvlanEthType.
//
// Where this is stricter than OVS 3.1, because OVS would install a filter
// that admits packets the megaflow does not:
// - a megaflow of untagged frames with eth_type wildcarded (tci exactly 0) is
//   refused: protocol all also matches tagged frames;
// - tunnel flags df/csum matched are refused (no enc_flags key before Linux
//   6.10); OVS drops the tunnel flags mask;
// - a single tag whose inner ethertype is wildcarded is refused (vlan_ethtype
//   is what tells it from QinQ).
// Where it deviates from a literal reading of the datapath actions:
// - pop_vlan,push_vlan becomes vlan modify only when the match says the
//   frame carries a tag (act_vlan modify leaves an untagged frame alone);
// - a VXLAN ingress flow that ends in recirc does not start with tunnel_key
//   unset: the datapath keeps the tunnel metadata across recirculation and
//   the next chain's filters match it (and decapsulate themselves).
#pragma once

#include "flowlift/megaflow.h"
#include "flowlift/status.h"
#include "offload/tc_flower_rule.h"
#include "offload/tc_port_table.h"

namespace flowlift {

// The filter that does what `flow` does, or EOPNOTSUPP with a reason naming
// what TC flower cannot express. Priority and handle are left 0 (allocated
// later), policy kNone, cookie the flow's UFID.
Result<TcFlowerRule> megaflow_to_tc(const Megaflow& flow, const TcPortTable& ports);

// The two halves, for tests and for callers that judge one half alone.
// Match: fills rule.ifindex, device, chain, protocol and match.
Status megaflow_match_to_tc(const Match& match, const TcPortTable& ports, TcFlowerRule& rule);
// Actions: appends to rule.actions. `match` is the megaflow's (the ingress
// port, whether a VLAN tag is known present, the ip_proto a checksum fix-up
// depends on).
Status megaflow_actions_to_tc(const Match& match, const ActionList& actions, const TcPortTable& ports,
                              TcFlowerRule& rule);

}  // namespace flowlift
