// Datapath actions in the text `ovs-dpctl dump-flows` prints after
// "actions:", both ways: Open vSwitch's format_odp_actions() and
// odp_actions_from_string() in lib/odp-util.c, over flowlift's typed ActionList.
//
// Spellings (as odp-util prints them): an output is its port number;
// userspace(pid=N[,userdata(HEX)][,actions][,tunnel_out_port=N]);
// set(ATTR(...)) (see parse_set_attribute for SET versus SET_MASKED);
// push_vlan([tpid=0x88a8,]vid=N,pcp=N[,cfi=0]); pop_vlan;
// push_mpls(label=N,tc=N,ttl=N,bos=N,eth_type=0x8847); pop_mpls(eth_type=0x800);
// recirc(0x1); hash(l4(N)) or hash(sym_l4(N)); trunc(N);
// sample(sample=50.0%,actions(...)); clone(...); check_pkt_len(size=N,gt(...),le(...)).
// An empty list prints "drop", and so does an explicit OVS_ACTION_ATTR_DROP.
//
// Reading back: "drop" as a whole list (top level or nested) is the empty
// list (odp-util >= 2.13 would instead emit an explicit drop with reason
// XLATE_OK; the empty list is the form every kernel accepts); "drop" among
// other actions is DropAction{0}. odp-util prints push_mpls, pop_mpls, hash
// and recirc(0x..) without being able to read them; this parser reads them.
// The sample percentage prints with one decimal, as odp-util does, so a
// probability that is not a multiple of 0.1% reads back rounded.
// Not supported: ct(...), ct_clear, meter, tnl_push/tnl_pop (userspace
// datapath only), push_eth/pop_eth, push_nsh/pop_nsh, lb_output, and the
// decoded userspace cookies (controller(...), sFlow(...), slow_path(...),
// flow_sample(...), ipfix(...)): userdata always prints as raw hex.
#pragma once

#include <string>
#include <string_view>

#include "flowlift/actions.h"
#include "flowlift/status.h"

namespace flowlift {

std::string format_actions(const ActionList& actions);
Result<ActionList> parse_actions(std::string_view text);

}  // namespace flowlift
