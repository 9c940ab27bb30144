// kernel_dpif_packet: the ovs_packet family's messages -- the
// OVS_PACKET_CMD_EXECUTE request (a packet, its key, the actions to run on
// it) and the upcalls the kernel sends (OVS_PACKET_CMD_MISS for a flow table
// miss, OVS_PACKET_CMD_ACTION for an OVS_ACTION_ATTR_USERSPACE action),
// turned into the DpifUpcall the slowpath's handlers take.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "flowlift/actions.h"
#include "flowlift/dpif.h"
#include "flowlift/flow_key.h"
#include "flowlift/packet.h"
#include "flowlift/status.h"
#include "kmod/genl_socket.h"

namespace flowlift {

// OVS_PACKET_CMD_EXECUTE payload: PACKET, KEY (the packet's full key as
// ovs_nla_put_key writes it: the kernel takes in_port, tunnel and metadata
// from it and re-extracts the rest from the frame), ACTIONS.
Result<std::vector<uint8_t>> build_packet_execute(int dp_ifindex, const Packet& packet, const FlowKey& key,
                                                  const ActionList& actions);

struct KernelUpcall {
  int dp_ifindex = 0;
  DpifUpcall upcall;
};

// One upcall message (command OVS_PACKET_CMD_MISS or _ACTION). PACKET and KEY
// are required; HASH fills DpifUpcall::hash (its low 32 bits: the kernel sets
// bit 32 for a software hash and bit 33 for an L4 hash); USERDATA makes the
// UserspaceAction of an action upcall. MRU, LEN, EGRESS_TUN_KEY and unknown
// attributes are skipped. Errors are EPROTO naming the attribute.
Result<KernelUpcall> parse_upcall(const GenlMessage& message);

}  // namespace flowlift
