// A packet's OfFlow written as ofproto/trace reads it
// ("in_port=p1,dl_vlan=10,tcp,nw_src=10.1.2.3,tp_dst=80": OVS's
// parse_ofp_exact_flow()), as the OVS 3.1 oracle's packets.txt and trace.txt
// give their packets. Owned apart from the match syntax because a packet is
// not a match: every field has a value (zero when not named), masks make no
// sense, and a VLAN tag needs its TPID.
#pragma once

#include <string_view>

#include "flowlift/status.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_ports.h"

namespace flowlift {

// The match syntax's fields and shorthands, each exact; "nw_tos=N" keeps
// only N's DSCP bits, as OVS's flow parser does. A tag (dl_vlan,
// vlan_tci with the CFI bit, ...) gets TPID 0x8100, as OVS's flow parser
// gives it. Errors: anything parse_of_match refuses, and a field given
// with a mask ("nw_src=10.0.0.0/8: a packet's field takes a value, not a mask").
Result<OfFlow> parse_trace_flow(std::string_view text, const PortNames& ports);

}  // namespace flowlift
