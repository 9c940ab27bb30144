// Verifying a frame's checksums the way a receiving host's stack would: the
// IPv4 header checksum, and the TCP, UDP, ICMP, ICMPv6 and SCTP checksums of
// an unfragmented packet. The demo and the tests use it to prove that what the
// datapath rewrote (addresses, TTL, ports, VLAN/VXLAN framing) still arrives
// intact; the datapath itself never verifies (the kernel does not either).
#pragma once

#include "flowlift/packet.h"
#include "flowlift/status.h"

namespace flowlift {

// Ok when every checksum the frame carries is right (a UDP checksum of zero
// over IPv4 means "none" and is accepted). Otherwise the error names the
// checksum that is wrong. Frames that are not IP, and later fragments, have
// nothing to verify beyond the IPv4 header.
Status verify_frame_checksums(const Packet& frame);

}  // namespace flowlift
