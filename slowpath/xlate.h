// Flow translation (OVS's ofproto/ofproto-dpif-xlate.c): runs a packet's
// OfFlow through a bridge's OpenFlow pipeline and returns the megaflow (the
// match with only the bits that decided the result) and the datapath actions
// every packet inside it gets.
//
// The semantics are Open vSwitch 3.1's, including its quirks:
//  - the megaflow starts with in_port, dl_type and recirc_id exact, nw_frag
//    for IP, and the tunnel metadata a tunnel port keyed on (xlate_wc_init);
//    registers, metadata and conj_id never reach it, ICMP type/code masks are
//    cut to 8 bits, a VLAN mask brings the CFI bit, later fragments lose
//    their port bits and headers the packet did not have lose theirs
//    (xlate_wc_finish);
//  - every lookup of a fragment sees tp_src/tp_dst zeroed (frag handling
//    "normal"); a table miss drops (fail-mode secure without a controller);
//  - resubmit(P,T) looks up as if from P but its actions still see the real
//    in_port; resubmit to the same or an earlier table nests one level
//    deeper, and 64 levels or 4096 resubmits are an error that drops the
//    packet (the trace says why);
//  - set actions are committed (xlate_commit.h) only before something the
//    datapath does with the packet; output to the input port is skipped;
//  - dec_ttl (and dec_mpls_ttl) at TTL <= 1 sends the packet to the
//    controller (a userspace action with a ControllerCookie of reason 2,
//    invalid TTL) and ends the current rule's actions;
//  - output to a VXLAN port sets the tunnel metadata (remote/local IP, key,
//    TTL, DF, UDP port; ECN from the inner packet, which unwildcards it) and
//    outputs to the tunnel's datapath port, as OVS does with kernel tunnels.
//
// Not translated (an error that drops the packet, naming the action):
// output:NORMAL (MAC learning), controller(pause) (continuations), and
// actions after a pop_mpls that need the inner packet's L3 header, which OVS
// handles by recirculating.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flowlift/actions.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_pipeline.h"
#include "slowpath/xlate_bridge.h"
#include "slowpath/xlate_commit.h"

namespace flowlift {

inline constexpr int kXlateMaxDepth = 64;              // OVS's MAX_DEPTH
inline constexpr int kXlateMaxResubmits = 4096;        // OVS's MAX_RESUBMITS
inline constexpr size_t kXlateMaxActionBytes = 65535;  // OVS stops resubmitting beyond this
// Outputs in one flow beyond which the datapath cannot reliably send them
// all (OVS reads net.core.netdev_max_backlog; 1000 is its default).
inline constexpr size_t kXlateMaxOutputs = 1000;

struct XlateOptions {
  // Mark controller cookies dont_send=1: translations made only to be shown
  // (ofproto/trace) make the same flow but must not cause packet-ins.
  bool controller_dont_send = false;
  // The netlink port id userspace actions send to (0 for the userspace datapath).
  uint32_t upcall_pid = 0;
  // Allocates the recirculation id a controller cookie names (OVS allocates
  // one per packet-in for continuations). Without one, ids count 1, 2, 3...
  // within the translation.
  std::function<uint32_t()> allocate_recirc_id;
  // The datapath has OVS_ACTION_ATTR_SET_MASKED (flowlift's datapaths do).
  bool use_masked_set = true;
  // Record the trace tree (XlateResult::trace) for ofproto/trace.
  bool record_trace = false;
};

enum class XlateError : uint8_t {
  kNone,
  kRecursionTooDeep,   // nested resubmits beyond kXlateMaxDepth
  kTooManyResubmits,   // kXlateMaxResubmits resubmits in one translation
  kTooManyMplsLabels,  // a push or pop that would need a fourth label stack entry
  kUnsupported,        // an action flowlift does not translate (see above)
};

// OVS's xlate_strerror() texts ("Recursion too deep", ...).
const char* xlate_error_text(XlateError error);

// One node of the ofproto/trace tree (OVS's struct oftrace_node).
struct XlateTraceNode {
  enum class Kind : uint8_t { kBridge, kTable, kAction, kDetail, kWarning, kError };
  Kind kind = Kind::kAction;
  std::string text;
  std::vector<XlateTraceNode> children;
};

struct XlateResult {
  // The input flow under the wildcards: install this (with the actions) and
  // every packet it matches gets the same treatment.
  OfMatch megaflow;
  ActionList actions;  // empty: drop
  // Every rule whose actions ran, in order (a rule used twice appears twice),
  // so the caller can credit their counters.
  std::vector<const OfPipelineRule*> rules;
  uint32_t slow_path = 0;            // XlateSlowReason bits
  bool sends_to_controller = false;  // the actions include a controller userspace action
  XlateError error = XlateError::kNone;
  std::string error_message;          // what went wrong and where, when error != kNone
  OfFlow final_flow{};                // the flow after all actions (registers included), for traces
  std::vector<XlateTraceNode> trace;  // with record_trace: the bridge node(s)
};

// `flow.in_port` is the OpenFlow input port (XlateBridge::receive_port maps a
// datapath port to it); for a packet received from a tunnel, flow carries
// the tunnel metadata (tun_id, tun_src, tun_dst, tun_tos, tun_ttl, tun_flags).
// The pipeline is read at one version throughout.
// A hint that translate(..., flow) comes soon: starts the cache fills of its
// first table lookup (ClsPrefetchStep says how a batch uses the two steps).
void prefetch_translation(const OfPipeline& pipeline, const OfFlow& flow, ClsPrefetchStep step);

XlateResult translate(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& flow,
                      const XlateOptions& options = {});

}  // namespace flowlift
