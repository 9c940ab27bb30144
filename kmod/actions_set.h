// The set and set_masked actions: rewriting header fields and packet metadata
// as net/openvswitch/actions.c does (set_eth_addr, set_ipv4, set_ipv6,
// set_tcp/udp/sctp, set_mpls, skb priority/mark, tunnel), with the checksums
// and the flow key kept in step with the bytes.
#pragma once

#include "flowlift/actions.h"
#include "flowlift/status.h"
#include "kmod/keyed_packet.h"

namespace flowlift {

// Applies `set` to the packet and its key. New field values are
// `value | (old & ~mask)` (the kernel's OVS_MASKED). Settable attributes:
// ETHERNET, IPV4 (src, dst, tos, ttl), IPV6 (src, dst, tclass, label, hlimit),
// TCP, UDP, SCTP (ports), MPLS (top label stack entry), PRIORITY, SKB_MARK and,
// unmasked only, TUNNEL. Anything else, or a packet lacking the header, is an
// error (the kernel's -EINVAL or -ENOMEM) after which the caller drops the packet.
Status execute_set(const SetAction& set, KeyedPacket& skb);

}  // namespace flowlift
