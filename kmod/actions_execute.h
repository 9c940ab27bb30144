// Executing a datapath action list on a packet with the semantics of the
// kernel's do_execute_actions (net/openvswitch/actions.c), and the interface
// to the datapath around it (ports, upcalls, recirculation, VXLAN ports).
//
// Semantics kept from the kernel:
//  - output sends a copy when more actions follow and the packet itself when
//    it is the last action; a pending trunc applies to the next output (or
//    userspace) only.
//  - Lengths (trunc, check_pkt_len) are skb->len: the frame without its
//    outermost VLAN tag, which the kernel keeps outside the data.
//  - sample, clone and check_pkt_len run their actions on a copy of the packet
//    and key (the packet itself when they are last); the copy starts with the
//    pending trunc, as skb_clone copies OVS_CB.
//  - An action that cannot apply (a header the packet lacks, an attribute the
//    datapath cannot set) drops the packet and ends the list; a failure inside
//    sample/clone/check_pkt_len drops the outer packet too, as the kernel
//    propagates the error.
//  - push/pop MPLS and VLAN tags stacked over another invalidate the key;
//    recirc re-extracts an invalid key first, keeping its metadata fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "flowlift/actions.h"
#include "flowlift/flow_key.h"
#include "flowlift/packet.h"
#include "flowlift/status.h"
#include "kmod/vxlan.h"

namespace flowlift {

// Where output to a VXLAN port actually goes for one tunnel destination: the
// outer headers the endpoint supplies, then the datapath port the encapsulated
// frame is output to.
struct VxlanRoute {
  uint32_t underlay_port = 0;
  VxlanEndpoint endpoint;
};

// One OVS_PACKET_CMD_ACTION upcall, what output_userspace hands to ovs_dp_upcall.
struct Upcall {
  const UserspaceAction& action;
  const Packet& packet;       // cut short by a pending trunc
  const FlowKey& key;         // as it stands: stale after actions that invalidate it, as in the kernel
  bool key_valid;             // false when key is stale that way (the kernel's SW_FLOW_KEY_INVALID)
  size_t original_length;     // OVS_PACKET_ATTR_LEN when packet is shorter than this
  const ActionList* actions;  // OVS_PACKET_ATTR_ACTIONS (the list being run) when action.actions
  std::optional<TunnelKey> egress_tunnel;  // OVS_PACKET_ATTR_EGRESS_TUN_KEY
};

// Packets the actions dropped, by the kernel's drop reason.
struct ActionDropCounters {
  uint64_t action_error = 0;              // OVS_DROP_ACTION_ERROR
  uint64_t explicit_drop = 0;             // drop action with reason 0 (OVS_DROP_EXPLICIT)
  uint64_t explicit_drop_with_error = 0;  // drop action with a reason (OVS_DROP_EXPLICIT_WITH_ERROR)
  uint64_t last_action = 0;               // the list ended without consuming it (OVS_DROP_LAST_ACTION)
  uint64_t tunnel_output_error = 0;       // output to a VXLAN port that could not encapsulate (tx_dropped)
  Status last_error;                      // why the latest action_error or tunnel_output_error happened
  bool operator==(const ActionDropCounters& other) const {
    return action_error == other.action_error && explicit_drop == other.explicit_drop &&
           explicit_drop_with_error == other.explicit_drop_with_error && last_action == other.last_action &&
           tunnel_output_error == other.tunnel_output_error;
  }
};

// What actions need from the datapath around them.
class ActionContext {
 public:
  virtual ~ActionContext() = default;

  // Sends the packet out of a datapath port. Not called for VXLAN ports: the
  // executor encapsulates and outputs to the route's underlay port instead.
  virtual void output(uint32_t port, Packet packet) = 0;
  virtual void upcall(const Upcall& upcall) = 0;
  // Re-injects the packet: packet.md.recirc_id and key.recirc_id are set.
  virtual void recirculate(Packet packet, const FlowKey& key) = 0;
  // Parses the packet's headers into a fresh key and sets its layer offsets
  // (flow_key_extract). The executor keeps the metadata fields of the old key.
  virtual FlowKey extract_key(Packet& packet) = 0;
  // Uniformly distributed, for sample().
  virtual uint32_t random_u32() = 0;
  // Identification of the next outer IPv4 header a VXLAN port sends.
  virtual uint16_t next_ipv4_id() { return static_cast<uint16_t>(random_u32() >> 16); }

  // VXLAN ports. The datapath maps a port to its endpoint and the underlay
  // port towards the tunnel destination (route + neighbour); an error drops
  // the packet and is counted in tunnel_output_error.
  virtual bool is_vxlan_port(uint32_t /*port*/) { return false; }
  virtual Result<VxlanRoute> resolve_vxlan_route(uint32_t port, const TunnelKey& /*tunnel*/) {
    return Status(ENODEV, "port " + std::to_string(port) + " is not a VXLAN port");
  }

  ActionDropCounters drops;
};

// Runs `actions` on `packet`, whose extracted key is `key` and whose layer
// offsets are set. Returns the error that dropped the packet, if one did.
Status execute_actions(Packet packet, const FlowKey& key, const ActionList& actions, ActionContext& context);

}  // namespace flowlift
