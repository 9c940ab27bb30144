// Completing a TCP or UDP checksum the sender left to "hardware".
//
// A frame sent by this host's own stack over a virtual device (veth, tap, a
// vxlan device over veth) carries CHECKSUM_PARTIAL: the L4 checksum field
// holds only the pseudo-header sum and the device was meant to finish it.
// AF_PACKET hands such frames over as they are, flagged
// TP_STATUS_CSUMNOTREADY. A switch that forwards or decapsulates them must
// finish the checksum itself, as the kernel's skb_checksum_help does before
// a device without checksum offload (and as OVS's netdev-linux does from the
// virtio-net header); otherwise the receiver drops them as corrupt.
#pragma once

#include "flowlift/packet.h"

namespace flowlift {

// Recomputes the TCP or UDP checksum of an unfragmented IPv4 frame, or an
// IPv6 frame whose first next header is TCP or UDP (VLAN tags allowed).
// Returns whether a checksum was written; any other frame is left alone.
bool complete_partial_checksum(Packet& packet);

}  // namespace flowlift
