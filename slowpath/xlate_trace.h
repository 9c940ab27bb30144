// The text of `ovs-appctl ofproto/trace` (OVS's ofproto/ofproto-dpif-trace.c)
// for a translation:
//
//   Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=...,tp_dst=80,tcp_flags=0
//
//   bridge("br0")
//   -------------
//    0. in_port=1, priority 200
//       load:0x2->NXM_NX_REG0[]
//       goto_table:10
//   10. tcp,nw_dst=10.2.3.0/24,tp_dst=80, priority 300
//       ...
//
//   Final flow: ... (or "unchanged")
//   Megaflow: recirc_id=0,eth,tcp,in_port=1,...,nw_frag=no,tp_dst=80
//   Datapath actions: set(eth(...)),set(ipv4(ttl=63)),3
//
// The "Flow:" lines follow OVS's flow_format(): every field the packet has,
// zero-valued switch metadata left out, and the fields OVS's struct flow has
// but OfFlow does not (tun_gbp_id, tun_erspan_ver, gtpu_*, the second VLAN
// header vlan_tci1) printed with the zero they would hold. Datapath actions
// print as ovs-dpctl does, with controller cookies decoded
// ("userspace(pid=0,controller(reason=2,...))").
//
// What differs from OVS by design: a VXLAN output is a kernel-style
// set(tunnel(...)),PORT with the detail "-> output to kernel tunnel" (OVS's
// userspace datapath shows tnl_push(...) and traces the underlay bridge).
#pragma once

#include <string>
#include <vector>

#include "flowlift/actions.h"
#include "slowpath/of_flow.h"
#include "slowpath/xlate.h"

namespace flowlift {

// The body of a "Flow:" / "Final flow:" line.
std::string format_trace_flow(const OfFlow& flow);
// The body of the "Megaflow:" line: the match with recirc_id and "eth" first.
std::string format_megaflow(const OfMatch& megaflow);
// The body of the "Datapath actions:" line ("drop" when empty).
std::string format_datapath_actions(const ActionList& actions);
// The indented tree (OVS's oftrace_node_print_details()), one node a line.
std::string format_trace_tree(const std::vector<XlateTraceNode>& nodes);

// The whole trace of `result`, which translated `flow` with record_trace.
std::string format_trace(const OfFlow& flow, const XlateResult& result);

// ofproto/trace: translates with a trace recorded and controller cookies
// marked dont_send, and returns the text.
std::string ofproto_trace(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& flow);

}  // namespace flowlift
