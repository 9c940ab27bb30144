// Composing a frame from a FlowKey: the inverse of key extraction, as Open
// vSwitch's flow_compose() is for netdev-dummy/receive and ofproto/trace.
// The demo, the CLI's `inject` and the tests use it to make real frames whose
// extracted key is the key they were made from (with valid checksums, so a
// receiving Linux stack accepts them).
#pragma once

#include <cstddef>

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"

namespace flowlift {

// Builds Ethernet (+ up to two VLAN tags) and, by eth_type, MPLS, ARP/RARP,
// IPv4 or IPv6, then TCP/UDP/SCTP/ICMP/ICMPv6 (+ND options) unless the key is a
// later fragment, then `payload_len` zero bytes. Metadata (in_port,
// recirc_id, dp_hash, priority, skb_mark, tunnel) goes into packet.md.
Packet compose_packet(const FlowKey& key, size_t payload_len = 0);

}  // namespace flowlift
