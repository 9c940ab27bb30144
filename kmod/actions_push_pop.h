// The actions that grow or shrink the L2/L2.5 header stack: push_vlan,
// pop_vlan, push_mpls, pop_mpls, with the kernel's effect on the flow key
// (net/openvswitch/actions.c over skb_vlan_push/pop and skb_mpls_push/pop).
//
// The kernel holds the outermost VLAN tag outside the packet data
// (skb->vlan_tci); here every tag is in the frame, so "the offloaded tag" is
// the tag right after the MAC addresses (see has_offloaded_vlan_tag).
#pragma once

#include "flowlift/actions.h"
#include "flowlift/status.h"
#include "kmod/keyed_packet.h"

namespace flowlift {

// Inserts the tag after the MAC addresses, so it becomes the outermost one
// (wire TCI = tci without kVlanCfi). The key's vlan is updated when the frame
// had no tag; over an existing tag the key becomes invalid, as in the kernel.
Status push_vlan(const PushVlanAction& action, KeyedPacket& skb);

// Removes the outermost tag (none: nothing happens). The key's vlan is cleared,
// unless another tag now is outermost, which invalidates the key.
Status pop_vlan(KeyedPacket& skb);

// Inserts the label stack entry where L2 ends (before an existing label stack,
// making it the top entry), sets the ethertype that ends L2 to action.ethertype
// and invalidates the key; the L3/L4 offsets are forgotten, l2_5_ofs points at the new entry.
Status push_mpls(const PushMplsAction& action, KeyedPacket& skb);

// Removes the top label stack entry of an MPLS packet and writes
// action.ethertype where L2 ends; a packet that is not MPLS is left alone.
// Either way the key becomes invalid, as in the kernel.
Status pop_mpls(const PopMplsAction& action, KeyedPacket& skb);

}  // namespace flowlift
