// OpenFlow actions as a typed list (OVS's ofpacts), with the ovs-ofctl /
// ovs-actions(7) text both ways and OVS's consistency check of an action
// list against its rule's match (ofpacts_check()).
//
// Each alternative keeps what the text said, not what OVS would rewrite it
// to under OpenFlow 1.3 (mod_dl_src stays OfSetEthSrcAction; OVS would store
// set_field:...->eth_src): xlate gives both the same meaning, and printing
// stays close to what the user wrote. Two spellings do merge, as they do in
// OVS: strip_vlan and pop_vlan (printed pop_vlan), and output:CONTROLLER /
// controller (printed as controller).
//
// Byte order: addresses are network order (EthAddr, Be32), as in FlowKey;
// ports, ethertypes, labels and other numbers are host order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_flow.h"
#include "slowpath/of_ports.h"

namespace flowlift {

// output:PORT (also a bare port, in_port, LOCAL, FLOOD, ALL, IN_PORT).
struct OfOutputAction {
  uint32_t port = 0;
  bool operator==(const OfOutputAction&) const = default;
};

// Packet-in reasons (OFPR_*), as controller(reason=...) names them.
enum OfPacketInReason : uint8_t {
  kOfReasonNoMatch = 0,
  kOfReasonAction = 1,
  kOfReasonInvalidTtl = 2,
  kOfReasonActionSet = 3,
  kOfReasonGroup = 4,
  kOfReasonPacketOut = 5,
};

// controller, controller:MAX_LEN, controller(reason=..,max_len=..,id=..,userdata=..,pause):
// send the packet to the slowpath's controller channel (a datapath "userspace" action).
struct OfControllerAction {
  uint16_t max_len = UINT16_MAX;
  uint8_t reason = kOfReasonAction;
  uint16_t controller_id = 0;
  std::vector<uint8_t> userdata;
  bool pause = false;
  bool operator==(const OfControllerAction&) const = default;
};

// resubmit:PORT, resubmit(PORT,TABLE): look the packet up again, as if it had
// arrived on `in_port`, in `table`. kOfPortInPort / 255 mean "unchanged".
struct OfResubmitAction {
  uint32_t in_port = kOfPortInPort;
  uint8_t table = 255;
  bool operator==(const OfResubmitAction&) const = default;
};

struct OfGotoTableAction {
  uint8_t table = 0;
  bool operator==(const OfGotoTableAction&) const = default;
};

// set_field:VALUE[/MASK]->FIELD
struct OfSetFieldAction {
  OfFieldId field = OfFieldId::kReg0;
  Uint128 value = 0;
  Uint128 mask = 0;  // the field's value_mask() for an unmasked set_field
  bool operator==(const OfSetFieldAction&) const = default;
};

// load:VALUE->FIELD[a..b]
struct OfLoadAction {
  OfSubfield destination;
  Uint128 value = 0;  // fits destination.n_bits
  bool operator==(const OfLoadAction&) const = default;
};

// move:SRC[a..b]->DST[c..d]
struct OfMoveAction {
  OfSubfield source;
  OfSubfield destination;
  bool operator==(const OfMoveAction&) const = default;
};

struct OfSetEthSrcAction {
  EthAddr address{};
  bool operator==(const OfSetEthSrcAction&) const = default;
};
struct OfSetEthDstAction {
  EthAddr address{};
  bool operator==(const OfSetEthDstAction&) const = default;
};
struct OfSetIpv4SrcAction {
  Be32 address = 0;
  bool operator==(const OfSetIpv4SrcAction&) const = default;
};
struct OfSetIpv4DstAction {
  Be32 address = 0;
  bool operator==(const OfSetIpv4DstAction&) const = default;
};
// mod_nw_tos: the DSCP bits in place (a multiple of 4).
struct OfSetIpDscpAction {
  uint8_t tos = 0;
  bool operator==(const OfSetIpDscpAction&) const = default;
};
struct OfSetIpEcnAction {
  uint8_t ecn = 0;
  bool operator==(const OfSetIpEcnAction&) const = default;
};
struct OfSetIpTtlAction {
  uint8_t ttl = 0;
  bool operator==(const OfSetIpTtlAction&) const = default;
};
struct OfSetL4SrcPortAction {
  uint16_t port = 0;
  bool operator==(const OfSetL4SrcPortAction&) const = default;
};
struct OfSetL4DstPortAction {
  uint16_t port = 0;
  bool operator==(const OfSetL4DstPortAction&) const = default;
};

// dec_ttl, dec_ttl(id,...): the ids are the controllers told when the TTL runs out.
struct OfDecTtlAction {
  std::vector<uint16_t> controller_ids{0};
  bool operator==(const OfDecTtlAction&) const = default;
};

struct OfPushVlanAction {
  uint16_t ethertype = 0x8100;  // 0x8100 or 0x88a8
  bool operator==(const OfPushVlanAction&) const = default;
};
// pop_vlan and strip_vlan.
struct OfPopVlanAction {
  bool operator==(const OfPopVlanAction&) const = default;
};
// mod_vlan_vid: sets the VID, pushing a tag first when the packet has none.
struct OfSetVlanVidAction {
  uint16_t vid = 0;
  bool operator==(const OfSetVlanVidAction&) const = default;
};
// mod_vlan_pcp: sets the PCP, pushing a tag first when the packet has none.
struct OfSetVlanPcpAction {
  uint8_t pcp = 0;
  bool operator==(const OfSetVlanPcpAction&) const = default;
};

struct OfPushMplsAction {
  uint16_t ethertype = 0x8847;  // 0x8847 or 0x8848
  bool operator==(const OfPushMplsAction&) const = default;
};
struct OfPopMplsAction {
  uint16_t ethertype = 0;  // what the label stack carried
  bool operator==(const OfPopMplsAction&) const = default;
};
struct OfSetMplsLabelAction {
  uint32_t label = 0;
  bool operator==(const OfSetMplsLabelAction&) const = default;
};
struct OfSetMplsTcAction {
  uint8_t tc = 0;
  bool operator==(const OfSetMplsTcAction&) const = default;
};
struct OfSetMplsTtlAction {
  uint8_t ttl = 0;
  bool operator==(const OfSetMplsTtlAction&) const = default;
};
struct OfDecMplsTtlAction {
  bool operator==(const OfDecMplsTtlAction&) const = default;
};

// set_tunnel:ID / set_tunnel64:ID. `wide` keeps the 64-bit spelling (OVS
// uses it whenever the id does not fit 32 bits).
struct OfSetTunnelAction {
  uint64_t tun_id = 0;
  bool wide = false;
  bool operator==(const OfSetTunnelAction&) const = default;
};

// conjunction(id, clause/n_clauses); clause is 1-based as written.
struct OfConjunctionAction {
  uint32_t id = 0;
  uint8_t clause = 1;
  uint8_t n_clauses = 2;
  bool operator==(const OfConjunctionAction&) const = default;
};

// note:hex bytes (ignored when executed).
struct OfNoteAction {
  std::vector<uint8_t> bytes;
  bool operator==(const OfNoteAction&) const = default;
};

struct OfAction {
  using Variant =
      std::variant<OfOutputAction, OfControllerAction, OfResubmitAction, OfGotoTableAction, OfSetFieldAction,
                   OfLoadAction, OfMoveAction, OfSetEthSrcAction, OfSetEthDstAction, OfSetIpv4SrcAction,
                   OfSetIpv4DstAction, OfSetIpDscpAction, OfSetIpEcnAction, OfSetIpTtlAction,
                   OfSetL4SrcPortAction, OfSetL4DstPortAction, OfDecTtlAction, OfPushVlanAction,
                   OfPopVlanAction, OfSetVlanVidAction, OfSetVlanPcpAction, OfPushMplsAction, OfPopMplsAction,
                   OfSetMplsLabelAction, OfSetMplsTcAction, OfSetMplsTtlAction, OfDecMplsTtlAction,
                   OfSetTunnelAction, OfConjunctionAction, OfNoteAction>;
  Variant v;

  template <typename T>
  OfAction(T alternative) : v(std::move(alternative)) {}  // NOLINT(google-explicit-constructor)

  template <typename T>
  bool is() const {
    return std::holds_alternative<T>(v);
  }
  template <typename T>
  const T& as() const {
    return std::get<T>(v);
  }
  bool operator==(const OfAction& other) const { return v == other.v; }
};

using OfActionList = std::vector<OfAction>;

// The text after "actions=". "drop" (alone) and the empty text are the empty
// list. Errors name the offending action item.
Result<OfActionList> parse_of_actions(std::string_view text, const PortNames& ports);

// ovs-ofctl dump-flows style, comma separated; "drop" for the empty list.
// Ports print by name when `ports` is given and knows them.
std::string format_of_actions(const OfActionList& actions, const PortNames* ports);
std::string format_of_action(const OfAction& action, const PortNames* ports);

// OVS's ofpacts_check(): every action must make sense for packets the rule's
// match admits, taking earlier pushes and pops into account (push_vlan makes
// vlan_pcp settable, pop_mpls changes the ethertype, ...): set_field, load
// and move need their fields' prerequisites, mod_nw_* need IPv4 (mod_nw_tos,
// mod_nw_ecn, mod_nw_ttl and dec_ttl IPv4 or IPv6), mod_tp_* TCP/UDP/SCTP,
// pop_mpls and the MPLS setters an MPLS ethertype, pop_vlan and
// set_field:...->vlan_vid a VLAN tag; goto_table must go to a table after
// `table_id`, the rule's own.
Status check_of_actions(const OfActionList& actions, const OfMatch& match, uint8_t table_id);

}  // namespace flowlift
