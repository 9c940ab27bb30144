// Committing header changes as datapath actions (OVS's commit_odp_actions()
// and commit_odp_tunnel_action() in lib/odp-util.c).
//
// Translation changes the packet in `flow` as actions run; the datapath's
// packet is `base`. Before anything the datapath does with the packet (an
// output, a userspace action), the difference is committed: set actions for
// changed fields, pops and pushes for changed VLAN tags and MPLS labels, and
// `base` catches up. OVS's rules, which decide both what the datapath actions
// say and which megaflow bits they add:
//  - only fields whose value changed are written; an attribute in which
//    nothing changed gets no action at all;
//  - the mask of a changed field is whatever the megaflow mask already has
//    for it (a set action always unwildcards what it writes, so normally
//    exact); when the masks of every field of the attribute are exact the
//    plain set(...) is used, else set_masked (printed set(f=v/m)) when the
//    datapath has it, else a plain set, which then unwildcards the whole
//    attribute;
//  - IPv4/IPv6 protocol and fragment fields are never written (so IP sets
//    are always masked), ICMP sets are always plain, and ICMP, ARP and ND
//    sets make the flow slow-path (the kernel has no action for them);
//  - VLAN tags are compared from the innermost; mismatching ones are popped
//    (unwildcarding them) and the new ones pushed.
#pragma once

#include <cstdint>

#include "flowlift/actions.h"
#include "slowpath/xlate_headers.h"

namespace flowlift {

// Why a flow must stay in the slow path (OVS's enum slow_path_reason).
enum XlateSlowReason : uint32_t {
  kXlateSlowAction = 1 << 0,  // uses actions the datapath cannot execute
};

// Returns XlateSlowReason bits. `wc` gains the bits the committed actions
// depend on.
uint32_t commit_header_changes(const XlateHeaders& flow, XlateHeaders& base, OfFlow& wc, bool use_masked_set,
                               ActionList& actions);

// set(tunnel(...)) when `flow` has a tunnel destination and its tunnel
// metadata differs from `base`'s; `base` then has it.
void commit_tunnel_metadata(const OfFlow& flow, OfFlow& base, ActionList& actions);

}  // namespace flowlift
