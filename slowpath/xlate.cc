// translate(): one translation's state (OVS's struct xlate_ctx) and the
// interpretation of each OpenFlow action (OVS's do_xlate_actions()).
#include "slowpath/xlate.h"

#include <arpa/inet.h>
#include <endian.h>

#include <cstring>
#include <utility>
#include <variant>

#include "kmod/netlink_actions.h"
#include "kmod/protocol_numbers.h"
#include "slowpath/controller_cookie.h"
#include "slowpath/of_actions.h"
#include "slowpath/of_field_text.h"
#include "slowpath/xlate_headers.h"

namespace flowlift {

const char* xlate_error_text(XlateError error) {
  switch (error) {
    case XlateError::kNone:
      return "OK";
    case XlateError::kRecursionTooDeep:
      return "Recursion too deep";
    case XlateError::kTooManyResubmits:
      return "Too many resubmits";
    case XlateError::kTooManyMplsLabels:
      return "Too many MPLS labels";
    case XlateError::kUnsupported:
      return "Unsupported action";
  }
  return "Unknown error";
}

namespace {

constexpr uint8_t kOfReasonExplicitMiss = 6;  // OFPR_EXPLICIT_MISS
constexpr uint8_t kIpEcnMask = 0x03;
constexpr uint8_t kIpEcnCe = 0x03;
constexpr uint8_t kIpEcnEct0 = 0x02;
constexpr uint8_t kIpDscpMask = 0xfc;
constexpr uint16_t kVlanVidMask = 0x0fff;
constexpr uint16_t kVlanPcpMask = 0xe000;

bool tunnel_destination_set(const OfFlow& f) { return f.tun_dst || !all_bytes_zero(f.tun_ipv6_dst); }

bool is_icmp_any(const OfFlow& f) {
  return (f.dl_type == be16(kEthTypeIpv4) && f.nw_proto == kIpProtoIcmp) ||
         (f.dl_type == be16(kEthTypeIpv6) && f.nw_proto == kIpProtoIcmpv6);
}

void clear_tunnel(OfFlow& f) {
  f.tun_flags = 0;
  f.tun_tos = 0;
  f.tun_ttl = 0;
  f.tun_id = 0;
  f.tun_src = 0;
  f.tun_dst = 0;
  f.tun_ipv6_src = {};
  f.tun_ipv6_dst = {};
  f.tun_tp_src = 0;
  f.tun_tp_dst = 0;
}

// wc |= mask over one field.
void unwildcard_field(OfFlow& wc, const OfField& field, Uint128 mask) {
  write_field(wc, field, read_field(wc, field) | (mask & field.value_mask()));
}

// Fields whose write makes OVS unwildcard nw_proto (mf_set_mask_l3_prereqs()).
bool writes_ip_header(OfFieldId id) {
  switch (id) {
    case OfFieldId::kIpv4Src:
    case OfFieldId::kIpv4Dst:
    case OfFieldId::kIpv6Src:
    case OfFieldId::kIpv6Dst:
    case OfFieldId::kIpv6Label:
    case OfFieldId::kIpTos:  // OVS's MFF_IP_DSCP; the shifted ip_dscp is not on its list
    case OfFieldId::kIpEcn:
    case OfFieldId::kIpTtl:
      return true;
    default:
      return false;
  }
}

bool writes_arp_header(OfFieldId id) {
  switch (id) {
    case OfFieldId::kArpOp:
    case OfFieldId::kArpSha:
    case OfFieldId::kArpTha:
    case OfFieldId::kArpSpa:
    case OfFieldId::kArpTpa:
      return true;
    default:
      return false;
  }
}

// OVS's recirc_for_mpls(): after pop_mpls the packet's L3 header is only
// known after the datapath parses it again, so every action but those that
// leave L3 alone needs the packet recirculated first.
bool needs_parsed_l3(const OfAction& action) {
  if (action.is<OfOutputAction>() || action.is<OfSetVlanVidAction>() || action.is<OfSetVlanPcpAction>() ||
      action.is<OfSetEthSrcAction>() || action.is<OfSetEthDstAction>() || action.is<OfSetTunnelAction>())
    return false;
  auto l3_or_higher = [](OfFieldId id) { return id >= OfFieldId::kIpv4Src; };
  if (action.is<OfSetFieldAction>()) return l3_or_higher(action.as<OfSetFieldAction>().field);
  if (action.is<OfLoadAction>()) return l3_or_higher(action.as<OfLoadAction>().destination.field);
  return true;
}

// Frag handling "normal": a fragment's table lookups see no transport ports.
bool lookup_hides_ports(const OfFlow& flow) { return (flow.nw_frag & kOfFragAny) != 0; }

class Translation {
 public:
  Translation(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& flow,
              const XlateOptions& options, XlateResult& result)
      : bridge_(bridge),
        pipeline_(pipeline),
        options_(options),
        result_(result),
        initial_(flow),
        flow_(flow),
        base_(flow),
        wildcards_(result.megaflow.mask) {}

  void run();

 private:
  // ---- translation steps (OVS's names in comments) ----
  void init_wildcards();                                             // xlate_wc_init
  void finish_wildcards();                                           // xlate_wc_finish
  bool process_tunnel_ecn();                                         // tnl_process_ecn
  const OfPipelineRule* lookup(uint8_t table_id, uint32_t in_port);  // rule_dpif_lookup_from_table
  void table_action(uint32_t in_port, uint8_t table_id);             // xlate_table_action
  void run_rule(const OfPipelineRule* rule, bool deepens);           // xlate_recursively
  bool resources_left();                                             // xlate_resubmit_resource_check
  void run_actions(const OfActionList& actions);                     // do_xlate_actions
  void output(uint32_t port, uint16_t controller_len);               // xlate_output_action
  void output_to_port(uint32_t ofp_port);                            // compose_output_action__
  void flood(bool all);
  void send_to_tunnel(const XlateVxlanOptions& options);                         // tnl_port_send
  void commit();                                                                 // xlate_commit_actions
  void to_controller(uint16_t max_len, uint8_t reason, uint16_t controller_id);  // xlate_controller_action
  bool dec_ttl(const OfDecTtlAction& action);                                    // compose_dec_ttl
  bool prerequisites_met(const OfField& field);  // mf_are_prereqs_ok with wildcards
  void set_field(OfFieldId id, Uint128 value, Uint128 mask);

  // ---- one per OpenFlow action; true ends the current action list ----
  bool execute(const OfOutputAction& a);
  bool execute(const OfControllerAction& a);
  bool execute(const OfResubmitAction& a);
  bool execute(const OfGotoTableAction& a);
  bool execute(const OfSetFieldAction& a);
  bool execute(const OfLoadAction& a);
  bool execute(const OfMoveAction& a);
  bool execute(const OfSetEthSrcAction& a);
  bool execute(const OfSetEthDstAction& a);
  bool execute(const OfSetIpv4SrcAction& a);
  bool execute(const OfSetIpv4DstAction& a);
  bool execute(const OfSetIpDscpAction& a);
  bool execute(const OfSetIpEcnAction& a);
  bool execute(const OfSetIpTtlAction& a);
  bool execute(const OfSetL4SrcPortAction& a);
  bool execute(const OfSetL4DstPortAction& a);
  bool execute(const OfDecTtlAction& a);
  bool execute(const OfPushVlanAction& a);
  bool execute(const OfPopVlanAction& a);
  bool execute(const OfSetVlanVidAction& a);
  bool execute(const OfSetVlanPcpAction& a);
  bool execute(const OfPushMplsAction& a);
  bool execute(const OfPopMplsAction& a);
  bool execute(const OfSetMplsLabelAction& a);
  bool execute(const OfSetMplsTcAction& a);
  bool execute(const OfSetMplsTtlAction& a);
  bool execute(const OfDecMplsTtlAction& a);
  bool execute(const OfSetTunnelAction& a);
  bool execute(const OfConjunctionAction& a);
  bool execute(const OfNoteAction& a);

  // ---- helpers ----
  OfFlow& f() { return flow_.flow; }
  OfFlow& wc() { return wildcards_.mutable_bits(); }
  void fail(XlateError error, const std::string& message);
  void append(Action action);
  size_t action_bytes();
  // Trace nodes go to the current list; a table node becomes the new current list.
  void report(XlateTraceNode::Kind kind, std::string text);
  std::vector<XlateTraceNode>* report_table(const OfPipelineRule* rule, uint8_t table_id);

  const XlateBridge& bridge_;
  const OfPipeline& pipeline_;
  const XlateOptions& options_;
  XlateResult& result_;
  OfVersion version_ = 0;

  // The packet as received (OVS's upcall flow): the caller's, which outlives
  // the translation and is never written.
  const OfFlow& initial_;
  // Whether the packet came from a tunnel (a destination is set), asked
  // three times per translation.
  const bool tunneled_ = tunnel_destination_set(initial_);
  XlateHeaders flow_;  // the packet as the actions so far made it
  XlateHeaders base_;  // the packet as the datapath actions so far made it
  // The megaflow's mask, built where the result keeps it (no copy at the end).
  OfMask& wildcards_;
  Be32 original_tunnel_dst_ = 0;

  uint8_t table_id_ = 0;
  const OfPipelineRule* rule_ = nullptr;
  uint64_t rule_cookie_ = UINT64_MAX;
  int depth_ = 0;
  int resubmits_ = 0;
  bool exit_ = false;
  bool was_mpls_ = false;
  uint32_t next_recirc_id_ = 1;
  size_t outputs_ = 0;
  size_t bytes_counted_ = 0;  // actions already in action_bytes_
  size_t action_bytes_ = 0;

  std::vector<XlateTraceNode>* trace_ = nullptr;
};

void Translation::run() {
  version_ = pipeline_.current_version();
  clear_tunnel(base_.flow);  // the datapath keeps no tunnel metadata for output unless set
  original_tunnel_dst_ = initial_.tun_dst;
  init_wildcards();

  if (options_.record_trace) {
    result_.trace.push_back(
        XlateTraceNode{XlateTraceNode::Kind::kBridge, "bridge(\"" + bridge_.name() + "\")", {}});
    trace_ = &result_.trace.back().children;
  }

  const OfPipelineRule* rule = lookup(0, f().in_port);
  std::vector<XlateTraceNode>* saved = trace_;
  trace_ = report_table(rule, 0);
  if (process_tunnel_ecn()) {
    if (rule) result_.rules.push_back(rule);
    rule_ = rule;
    rule_cookie_ = rule ? rule->rule().cookie : 0;  // a miss runs OVS's drop rule, cookie 0
    static const OfActionList kNoActions;
    run_actions(rule ? rule->actions() : kNoActions);
  }
  trace_ = saved;

  if (result_.error == XlateError::kNone) {
    // Encoding the actions to measure them costs more than translating a
    // short list; no action translation makes comes near 256 bytes of netlink.
    bool may_be_too_big = result_.actions.size() * 256 > kMaxActionsBytes;
    if ((may_be_too_big && action_bytes() > kMaxActionsBytes) || outputs_ > kXlateMaxOutputs)
      result_.slow_path |= kXlateSlowAction;
  } else {
    // OVS installs a drop flow for a failed translation.
    result_.actions.clear();
    result_.slow_path = 0;
    result_.sends_to_controller = false;
  }
  finish_wildcards();
  result_.megaflow.flow = apply_mask(initial_, wildcards_);
  result_.final_flow = flow_.flow;
}

void Translation::init_wildcards() {
  OfFlow& m = wc();
  m.in_port = 0xffff;  // the 16-bit OpenFlow port number (the high half is always 0)
  m.dl_type = 0xffff;
  m.recirc_id = 0xffffffffu;
  if (is_ip_packet(initial_)) m.nw_frag |= kOfFragMask;
  // tnl_wc_init(): a tunnel packet's megaflow keys on what tunnel port it came from.
  if (tunneled_) {
    m.tun_id = ~Be64{0};
    if (initial_.tun_dst) {
      m.tun_src = 0xffffffffu;
      m.tun_dst = 0xffffffffu;
    } else {
      m.tun_ipv6_src.fill(0xff);
      m.tun_ipv6_dst.fill(0xff);
    }
    m.tun_flags = kTunnelDontFragment | kTunnelCsum | kTunnelKey;
    m.tun_tos = 0xff;
    m.tun_ttl = 0;
    if (is_ip_packet(initial_) && (initial_.tun_tos & kIpEcnMask) == kIpEcnCe) m.nw_tos |= kIpEcnMask;
  }
  wildcards_.recompute_range();
}

void Translation::finish_wildcards() {
  OfFlow& m = wc();
  // Registers, metadata and conj_id are pipeline state, not packet fields.
  m.metadata = 0;
  std::memset(m.regs, 0, sizeof m.regs);
  m.conj_id = 0;
  // The datapath has 8-bit ICMP type and code.
  if (is_icmp_any(f())) {
    m.tp_src &= be16(0x00ff);
    m.tp_dst &= be16(0x00ff);
  }
  if (m.vlan_tci) m.vlan_tci |= be16(kVlanCfi);
  // A later fragment has no ports, whatever the classifier looked at.
  if (f().nw_frag & kOfFragLater) {
    m.tp_src = 0;
    m.tp_dst = 0;
  }
  // No bits for headers the received packet did not have (a push_vlan or
  // set_field made them; matching them would only make revalidation fail).
  if (!is_mpls_packet(initial_)) m.mpls_lse = 0;
  if (!(host16(initial_.vlan_tci) & kVlanCfi)) {
    m.vlan_tci = 0;
    m.vlan_tpid = 0;
  }
  if (!tunneled_) clear_tunnel(m);
  wildcards_.recompute_range();
}

bool Translation::process_tunnel_ecn() {
  if (!tunneled_ || !is_ip_packet(f())) return true;
  if ((f().tun_tos & kIpEcnMask) != kIpEcnCe) return true;
  if ((f().nw_tos & kIpEcnMask) == 0) {
    // OVS logs this and installs a drop flow; it is not a translation error.
    report(XlateTraceNode::Kind::kWarning, "dropping tunnel packet marked ECN CE but is not ECN capable");
    return false;
  }
  f().nw_tos |= kIpEcnCe;
  return true;
}

const OfPipelineRule* Translation::lookup(uint8_t table_id, uint32_t in_port) {
  wildcards_.recompute_range();
  // The flow itself when it is the lookup's key (the common case): a copy
  // is 264 bytes written and read again.
  if (!lookup_hides_ports(f()) && f().in_port == in_port)
    return pipeline_.lookup(version_, table_id, f(), &wildcards_);
  OfFlow key = f();
  if (lookup_hides_ports(key)) {
    key.tp_src = 0;
    key.tp_dst = 0;
  }
  key.in_port = in_port;
  return pipeline_.lookup(version_, table_id, key, &wildcards_);
}

void Translation::table_action(uint32_t in_port, uint8_t table_id) {
  if (was_mpls_) {
    fail(XlateError::kUnsupported,
         "a table lookup after pop_mpls needs the packet recirculated, which flowlift "
         "does not do");
    return;
  }
  if (!resources_left()) return;
  uint8_t old_table = table_id_;
  table_id_ = table_id;
  const OfPipelineRule* rule = lookup(table_id, in_port);
  std::vector<XlateTraceNode>* saved = trace_;
  trace_ = report_table(rule, table_id);
  run_rule(rule, table_id <= old_table);
  trace_ = saved;
  table_id_ = old_table;
}

void Translation::run_rule(const OfPipelineRule* rule, bool deepens) {
  const OfPipelineRule* old_rule = rule_;
  uint64_t old_cookie = rule_cookie_;
  ++resubmits_;
  if (deepens) ++depth_;
  rule_ = rule;
  rule_cookie_ = rule ? rule->rule().cookie : 0;  // a miss runs OVS's drop rule, cookie 0
  if (rule) result_.rules.push_back(rule);
  static const OfActionList kNoActions;
  run_actions(rule ? rule->actions() : kNoActions);
  rule_cookie_ = old_cookie;
  rule_ = old_rule;
  if (deepens) --depth_;
}

bool Translation::resources_left() {
  if (depth_ >= kXlateMaxDepth) {
    fail(XlateError::kRecursionTooDeep, "over max translation depth " + std::to_string(kXlateMaxDepth));
  } else if (resubmits_ >= kXlateMaxResubmits) {
    fail(XlateError::kTooManyResubmits, "over " + std::to_string(kXlateMaxResubmits) + " resubmit actions");
  } else if (action_bytes() > kXlateMaxActionBytes) {
    // Not an error in OVS either: translation stops here, the flow keeps
    // what it has (and will be too big for the datapath).
    report(XlateTraceNode::Kind::kError, "resubmits yielded over 64 kB of actions");
    exit_ = true;
  } else {
    return true;
  }
  return false;
}

void Translation::run_actions(const OfActionList& actions) {
  if (actions.empty()) {
    report(XlateTraceNode::Kind::kAction, "drop");
    return;
  }
  for (const OfAction& action : actions) {
    if (result_.error != XlateError::kNone || exit_) break;
    if (was_mpls_ && needs_parsed_l3(action)) {
      fail(XlateError::kUnsupported,
           format_of_action(action, nullptr) +
               " after pop_mpls needs the packet recirculated, which flowlift does not do");
      break;
    }
    if (trace_) report(XlateTraceNode::Kind::kAction, format_of_action(action, nullptr));
    bool end_of_list = std::visit([this](const auto& a) { return execute(a); }, action.v);
    if (end_of_list) return;
  }
}

void Translation::output(uint32_t port, uint16_t controller_len) {
  switch (port) {
    case kOfPortInPort:
      output_to_port(f().in_port);
      return;
    case kOfPortTable:
      table_action(f().in_port, 0);
      return;
    case kOfPortNormal:
      fail(XlateError::kUnsupported, "output:NORMAL (MAC learning) is not implemented by flowlift");
      return;
    case kOfPortFlood:
    case kOfPortAll:
      flood(port == kOfPortAll);
      return;
    case kOfPortController:
      to_controller(controller_len, kOfReasonAction, 0);
      return;
    case kOfPortNone:
      return;
    default:
      if (port != f().in_port) {
        output_to_port(port);
      } else {
        report(XlateTraceNode::Kind::kWarning, "skipping output to input port");
      }
  }
}

void Translation::flood(bool all) {
  (void)all;  // flowlift ports have no no-flood setting, so FLOOD and ALL agree
  for (const XlatePort& port : bridge_.ports())
    if (port.ofp_port != f().in_port) output_to_port(port.ofp_port);
}

void Translation::output_to_port(uint32_t ofp_port) {
  const XlatePort* port = bridge_.find_port(ofp_port);
  if (!port) {
    report(XlateTraceNode::Kind::kWarning, "Nonexistent output port");
    return;
  }
  if (port->vxlan) {
    // The tunnel port's settings apply to this output only; an explicit
    // set_tunnel before it stays visible to later actions.
    OfFlow saved = f();
    send_to_tunnel(*port->vxlan);
    if (f().tun_dst == original_tunnel_dst_) {
      report(XlateTraceNode::Kind::kWarning, "Not tunneling to our own address");
    } else {
      report(XlateTraceNode::Kind::kDetail, "output to kernel tunnel");
      commit_tunnel_metadata(f(), base_.flow, result_.actions);
      commit();
      append(OutputAction{port->datapath_port});
      ++outputs_;
    }
    constexpr size_t kTunnelStart = offsetof(OfFlow, tun_flags), kTunnelEnd = offsetof(OfFlow, pad_metadata);
    std::memcpy(reinterpret_cast<uint8_t*>(&f()) + kTunnelStart,
                reinterpret_cast<const uint8_t*>(&saved) + kTunnelStart, kTunnelEnd - kTunnelStart);
    return;
  }
  commit();
  append(OutputAction{port->datapath_port});
  ++outputs_;
}

void Translation::send_to_tunnel(const XlateVxlanOptions& o) {
  OfFlow& x = f();
  if (!o.local_ip_from_flow) {
    x.tun_src = o.local_ip;
    x.tun_ipv6_src = {};
  }
  if (!o.remote_ip_from_flow) {
    x.tun_dst = o.remote_ip;
    x.tun_ipv6_dst = {};
  }
  x.tun_tp_dst = be16(o.dst_port);
  if (o.key_mode != XlateTunnelKeyMode::kFlow)
    x.tun_id = htobe64(o.key_mode == XlateTunnelKeyMode::kFixed ? o.key : 0);
  x.tun_ttl = o.ttl;
  x.tun_tos = o.tos;
  // The outer ECN always follows the inner packet's (CE is sent as ECT(0)).
  if (is_ip_packet(x)) {
    wc().nw_tos |= kIpEcnMask;
    x.tun_tos |= (x.nw_tos & kIpEcnMask) == kIpEcnCe ? kIpEcnEct0 : (x.nw_tos & kIpEcnMask);
  }
  x.tun_flags &= static_cast<uint16_t>(~(kTunnelDontFragment | kTunnelCsum | kTunnelKey));
  x.tun_flags |= (o.dont_fragment ? kTunnelDontFragment : 0) | (o.csum ? kTunnelCsum : 0) |
                 (o.key_mode != XlateTunnelKeyMode::kNone ? kTunnelKey : 0);
}

void Translation::commit() {
  result_.slow_path |= commit_header_changes(flow_, base_, wc(), options_.use_masked_set, result_.actions);
}

void Translation::to_controller(uint16_t max_len, uint8_t reason, uint16_t controller_id) {
  commit();
  // An action of a table-miss rule (priority 0, matching everything) is an
  // explicit miss in OpenFlow 1.3.
  if (reason == kOfReasonAction && rule_ && rule_->priority() == 0 && rule_->match().mask.is_catchall())
    reason = kOfReasonExplicitMiss;
  ControllerCookie cookie;
  cookie.reason = reason;
  cookie.dont_send = options_.controller_dont_send;
  cookie.recirc_id = options_.allocate_recirc_id ? options_.allocate_recirc_id() : next_recirc_id_++;
  cookie.rule_cookie = rule_cookie_;
  cookie.controller_id = controller_id;
  cookie.max_len = max_len;
  UserspaceAction userspace;
  userspace.pid = options_.upcall_pid;
  userspace.userdata = encode_controller_cookie(cookie);
  userspace.has_userdata = true;
  append(std::move(userspace));
  result_.sends_to_controller = true;
}

bool Translation::dec_ttl(const OfDecTtlAction& a) {
  if (!is_ip_packet(f())) return false;
  wc().nw_ttl = 0xff;
  wc().nw_proto = 0xff;
  if (f().nw_ttl > 1) {
    --f().nw_ttl;
    return false;
  }
  for (uint16_t id : a.controller_ids) to_controller(UINT16_MAX, kOfReasonInvalidTtl, id);
  report(XlateTraceNode::Kind::kWarning,
         std::string("IPv") + (f().dl_type == be16(kEthTypeIpv4) ? "4" : "6") + " decrement TTL exception");
  return true;
}

bool Translation::prerequisites_met(const OfField& field) {
  const OfFlow& x = f();
  OfFlow& m = wc();
  bool ip = is_ip_packet(x);
  switch (field.prereq) {
    case OfPrereq::kVlan:
      m.vlan_tci |= be16(kVlanCfi);
      break;
    case OfPrereq::kTcp:
    case OfPrereq::kUdp:
    case OfPrereq::kSctp:
    case OfPrereq::kTcpUdpSctp:
      if (ip) m.nw_proto = 0xff;
      // A later fragment has no transport header to write.
      if (x.nw_frag & kOfFragLater) return false;
      break;
    case OfPrereq::kIcmpv4:
    case OfPrereq::kIcmpv6:
    case OfPrereq::kIcmpAny:
      if (ip) m.nw_proto = 0xff;
      break;
    case OfPrereq::kNd:
    case OfPrereq::kNdSolicit:
    case OfPrereq::kNdAdvert:
      if (ip) m.nw_proto = 0xff;
      if (x.dl_type == be16(kEthTypeIpv6) && x.nw_proto == kIpProtoIcmpv6) {
        m.tp_src = 0xffff;
        m.tp_dst = 0xffff;
      }
      break;
    default:
      break;  // dl_type is exact in every megaflow already
  }
  return prereqs_ok(field, x, nullptr);
}

void Translation::set_field(OfFieldId id, Uint128 value, Uint128 mask) {
  const OfField& field = of_field(id);
  if (!prerequisites_met(field)) {
    report(XlateTraceNode::Kind::kWarning,
           "unmet prerequisites for " + std::string(field.name) + ", set_field ignored");
    return;
  }
  if ((writes_ip_header(id) && is_ip_packet(f())) ||
      (writes_arp_header(id) && f().dl_type == be16(kEthTypeArp)))
    wc().nw_proto = 0xff;
  unwildcard_field(wc(), field, mask);
  Uint128 old = read_field(f(), field);
  write_field(f(), field, (old & ~mask) | (value & mask));
}

// ---- actions ----

bool Translation::execute(const OfOutputAction& a) {
  output(a.port, 0);
  return false;
}

bool Translation::execute(const OfControllerAction& a) {
  if (a.pause) {
    fail(XlateError::kUnsupported,
         "controller(pause) needs continuations, which flowlift does not implement");
    return true;
  }
  to_controller(a.max_len, a.reason, a.controller_id);
  return false;
}

bool Translation::execute(const OfResubmitAction& a) {
  uint32_t in_port = a.in_port == kOfPortInPort ? f().in_port : a.in_port;
  uint8_t table = a.table == 255 ? table_id_ : a.table;
  table_action(in_port, table);
  return false;
}

bool Translation::execute(const OfGotoTableAction& a) {
  table_action(f().in_port, a.table);
  return false;
}

bool Translation::execute(const OfSetFieldAction& a) {
  set_field(a.field, a.value, a.mask);
  return false;
}

bool Translation::execute(const OfLoadAction& a) {
  // A load is a set_field of the subfield's bits (OVS parses it into one).
  const OfSubfield& d = a.destination;
  Uint128 bits = d.n_bits >= 128 ? ~Uint128{0} : (Uint128{1} << d.n_bits) - 1;
  set_field(d.field, a.value << d.offset, bits << d.offset);
  return false;
}

bool Translation::execute(const OfMoveAction& a) {
  const OfField& src = of_field(a.source.field);
  const OfField& dst = of_field(a.destination.field);
  if (prerequisites_met(dst) && prerequisites_met(src)) {
    // The value read decides the result: its bits go into the megaflow.
    Uint128 all = ~Uint128{0};
    write_subfield(wc(), a.source, all);
    write_subfield(wc(), a.destination, all);
    write_subfield(f(), a.destination, read_subfield(f(), a.source));
  }
  if (trace_) {
    Uint128 now = read_subfield(f(), a.destination);
    std::string value = a.destination.offset == 0 && a.destination.n_bits >= dst.n_bits
                            ? format_field_value(dst, now, dst.value_mask(), nullptr)
                            : format_hex(now);
    report(XlateTraceNode::Kind::kDetail, format_subfield(a.destination) + " is now " + value);
  }
  return false;
}

bool Translation::execute(const OfSetEthSrcAction& a) {
  wc().dl_src.fill(0xff);
  f().dl_src = a.address;
  return false;
}

bool Translation::execute(const OfSetEthDstAction& a) {
  wc().dl_dst.fill(0xff);
  f().dl_dst = a.address;
  return false;
}

bool Translation::execute(const OfSetIpv4SrcAction& a) {
  if (f().dl_type == be16(kEthTypeIpv4)) {
    wc().nw_src = 0xffffffffu;
    wc().nw_proto = 0xff;
    f().nw_src = a.address;
  }
  return false;
}

bool Translation::execute(const OfSetIpv4DstAction& a) {
  if (f().dl_type == be16(kEthTypeIpv4)) {
    wc().nw_dst = 0xffffffffu;
    wc().nw_proto = 0xff;
    f().nw_dst = a.address;
  }
  return false;
}

bool Translation::execute(const OfSetIpDscpAction& a) {
  if (is_ip_packet(f())) {
    wc().nw_proto = 0xff;
    wc().nw_tos |= kIpDscpMask;
    f().nw_tos = static_cast<uint8_t>((f().nw_tos & ~kIpDscpMask) | (a.tos & kIpDscpMask));
  }
  return false;
}

bool Translation::execute(const OfSetIpEcnAction& a) {
  if (is_ip_packet(f())) {
    wc().nw_proto = 0xff;
    wc().nw_tos |= kIpEcnMask;
    f().nw_tos = static_cast<uint8_t>((f().nw_tos & ~kIpEcnMask) | (a.ecn & kIpEcnMask));
  }
  return false;
}

bool Translation::execute(const OfSetIpTtlAction& a) {
  if (is_ip_packet(f())) {
    wc().nw_proto = 0xff;
    wc().nw_ttl = 0xff;
    f().nw_ttl = a.ttl;
  }
  return false;
}

bool Translation::execute(const OfSetL4SrcPortAction& a) {
  if (is_ip_packet(f()) && !(f().nw_frag & kOfFragLater)) {
    wc().nw_proto = 0xff;
    wc().tp_src = 0xffff;
    f().tp_src = be16(a.port);
  }
  return false;
}

bool Translation::execute(const OfSetL4DstPortAction& a) {
  if (is_ip_packet(f()) && !(f().nw_frag & kOfFragLater)) {
    wc().nw_proto = 0xff;
    wc().tp_dst = 0xffff;
    f().tp_dst = be16(a.port);
  }
  return false;
}

bool Translation::execute(const OfDecTtlAction& a) {
  // OVS unwildcards these before it even checks for an IP packet.
  wc().nw_ttl = 0xff;
  wc().nw_proto = 0xff;
  return dec_ttl(a);
}

bool Translation::execute(const OfPushVlanAction& a) {
  push_vlan_header(flow_, &wc());
  f().vlan_tpid = be16(a.ethertype);
  f().vlan_tci = be16(kVlanCfi);
  return false;
}

bool Translation::execute(const OfPopVlanAction&) {
  pop_vlan_header(flow_);
  return false;
}

bool Translation::execute(const OfSetVlanVidAction& a) {
  wc().vlan_tci |= be16(kVlanVidMask | kVlanCfi);
  // mod_vlan_vid pushes a tag when the packet has none.
  if (!f().vlan_tpid) f().vlan_tpid = be16(kEthTypeVlan);
  f().vlan_tci =
      be16(static_cast<uint16_t>((host16(f().vlan_tci) & ~kVlanVidMask) | (a.vid & kVlanVidMask) | kVlanCfi));
  return false;
}

bool Translation::execute(const OfSetVlanPcpAction& a) {
  wc().vlan_tci |= be16(kVlanPcpMask | kVlanCfi);
  if (!f().vlan_tpid) f().vlan_tpid = be16(kEthTypeVlan);
  f().vlan_tci =
      be16(static_cast<uint16_t>((host16(f().vlan_tci) & ~kVlanPcpMask) | ((a.pcp & 7) << 13) | kVlanCfi));
  return false;
}

bool Translation::execute(const OfPushMplsAction& a) {
  int n = count_mpls_labels(flow_, &wc());
  if (n == 0) {
    // The L3 header is about to disappear from view: write its changes first.
    commit();
  } else if (n >= kXlateMaxMplsLabels) {
    fail(XlateError::kTooManyMplsLabels,
         "dropping packet on which an MPLS push action can't be performed as it "
         "would have more MPLS LSEs than the 3 supported.");
    return true;
  }
  push_mpls_header(flow_, n, be16(a.ethertype), &wc(), true);
  return false;
}

bool Translation::execute(const OfPopMplsAction& a) {
  int n = count_mpls_labels(flow_, &wc());
  if (pop_mpls_header(flow_, n, be16(a.ethertype), &wc())) {
    if (!is_mpls_ethertype(be16(a.ethertype))) was_mpls_ = true;
  } else if (n >= kXlateMaxMplsLabels) {
    fail(XlateError::kTooManyMplsLabels,
         "dropping packet on which an MPLS pop action can't be performed as it has "
         "more MPLS LSEs than the 3 supported.");
    return true;
  }
  return false;
}

bool Translation::execute(const OfSetMplsLabelAction& a) {
  if (is_mpls_packet(f())) {
    wc().mpls_lse |= be32(kMplsLabelMask);
    f().mpls_lse = (f().mpls_lse & ~be32(kMplsLabelMask)) | be32((a.label << 12) & kMplsLabelMask);
  }
  return false;
}

bool Translation::execute(const OfSetMplsTcAction& a) {
  if (is_mpls_packet(f())) {
    wc().mpls_lse |= be32(kMplsTcMask);
    f().mpls_lse = (f().mpls_lse & ~be32(kMplsTcMask)) | be32((uint32_t{a.tc} << 9) & kMplsTcMask);
  }
  return false;
}

bool Translation::execute(const OfSetMplsTtlAction& a) {
  if (is_mpls_packet(f())) {
    wc().mpls_lse |= be32(kMplsTtlMask);
    f().mpls_lse = (f().mpls_lse & ~be32(kMplsTtlMask)) | be32(a.ttl);
  }
  return false;
}

bool Translation::execute(const OfDecMplsTtlAction&) {
  if (is_mpls_packet(f())) {
    wc().mpls_lse |= be32(kMplsTtlMask);
    uint32_t ttl = host32(f().mpls_lse) & kMplsTtlMask;
    if (ttl > 1) {
      f().mpls_lse = (f().mpls_lse & ~be32(kMplsTtlMask)) | be32(ttl - 1);
      return false;
    }
    to_controller(UINT16_MAX, kOfReasonInvalidTtl, 0);
  }
  // OVS ends the rule's actions here for a non-MPLS packet too.
  report(XlateTraceNode::Kind::kWarning, "MPLS decrement TTL exception");
  return true;
}

bool Translation::execute(const OfSetTunnelAction& a) {
  f().tun_id = htobe64(a.tun_id);
  return false;
}

bool Translation::execute(const OfConjunctionAction&) {
  // Conjunction rules are never a lookup's result; only a resubmit-less
  // packet-out could run one. OVS reports it and goes on.
  report(XlateTraceNode::Kind::kError, "executing no-op conjunction action");
  return false;
}

bool Translation::execute(const OfNoteAction&) { return false; }

// ---- helpers ----

void Translation::fail(XlateError error, const std::string& message) {
  if (result_.error == XlateError::kNone) {
    result_.error = error;
    result_.error_message = message;
  }
  report(XlateTraceNode::Kind::kError, message);
}

void Translation::append(Action action) { result_.actions.push_back(std::move(action)); }

size_t Translation::action_bytes() {
  for (; bytes_counted_ < result_.actions.size(); ++bytes_counted_) {
    Result<std::vector<uint8_t>> encoded = encode_actions(ActionList{result_.actions[bytes_counted_]});
    // Every action translation makes has a netlink form; count 8 bytes if not.
    action_bytes_ += encoded ? encoded->size() : 8;
  }
  return action_bytes_;
}

void Translation::report(XlateTraceNode::Kind kind, std::string text) {
  if (trace_) trace_->push_back(XlateTraceNode{kind, std::move(text), {}});
}

std::vector<XlateTraceNode>* Translation::report_table(const OfPipelineRule* rule, uint8_t table_id) {
  if (!trace_) return nullptr;
  char number[8];
  std::snprintf(number, sizeof number, "%2d. ", table_id);
  std::string text = number;
  if (!rule) {
    text += "No match.";
  } else {
    text += format_of_match(rule->match(), nullptr);
    if (text.back() != ' ') text += ", ";
    text += "priority " + std::to_string(rule->priority());
    if (rule->rule().cookie) text += ", cookie " + format_hex(rule->rule().cookie);
  }
  trace_->push_back(XlateTraceNode{XlateTraceNode::Kind::kTable, std::move(text), {}});
  return &trace_->back().children;
}

}  // namespace

void prefetch_translation(const OfPipeline& pipeline, const OfFlow& flow, ClsPrefetchStep step) {
  // Table 0 is looked up with the flow as received (Translation::run).
  if (!lookup_hides_ports(flow)) {
    pipeline.prefetch_lookup(0, flow, step);
    return;
  }
  OfFlow key = flow;
  key.tp_src = 0;
  key.tp_dst = 0;
  pipeline.prefetch_lookup(0, key, step);
}

XlateResult translate(const XlateBridge& bridge, const OfPipeline& pipeline, const OfFlow& flow,
                      const XlateOptions& options) {
  XlateResult result;
  Translation(bridge, pipeline, flow, options, result).run();
  return result;
}

}  // namespace flowlift
