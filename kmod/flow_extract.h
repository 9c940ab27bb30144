// Key extraction: turns a raw Ethernet frame and the metadata travelling with
// it into the FlowKey the datapath looks up, with the semantics of the Linux
// kernel's net/openvswitch/flow.c (ovs_flow_key_extract / key_extract).
//
// Where the kernel gives up on a malformed frame it still leaves a partial key
// behind; flow_key_extract returns that same partial key rather than an error,
// so a caller can always look it up (the kernel's -EINVAL for a frame shorter
// than an Ethernet header is the one case it drops; see flow_key_extract).
#pragma once

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {

// kEthType802_2 (protocol_numbers.h) is the eth_type of an 802.3 frame whose
// payload is not SNAP-encapsulated Ethernet II. The kernel keeps ETH_P_802_2
// (0x0004) internally but never shows it: its netlink key omits
// OVS_KEY_ATTR_ETHERTYPE for such frames. OVS userspace calls 0x05ff
// FLOW_DL_TYPE_NONE; flowlift's key uses that value.

// Fills a FlowKey from packet.bytes() and packet.md: in_port, recirc_id,
// dp_hash, priority and skb_mark always; the tunnel key when
// md.has_tunnel (zero otherwise). Conntrack fields stay zero: conntrack fills
// them. The packet's bytes are not modified (the kernel moves an outer VLAN
// tag into skb acceleration; flowlift keeps tags in the frame).
//
// Frames shorter than 14 bytes: the kernel rejects them (-EINVAL) and the
// packet is dropped. flowlift returns the metadata-only key instead, with
// eth_type == 0, which no Ethernet frame can produce (802.3 frames get
// 0x05ff); callers treat eth_type == 0 as "no L2 header" and drop.
//
// Layer offsets (from packet.data()) are reset and then set as the kernel sets
// the skb's headers:
//   l3_ofs   the L2 payload, just past the Ethernet type and any VLAN tags
//            (and past an LLC/SNAP header when the SNAP type was used), for
//            every frame with an Ethernet header. For MPLS it is the end of
//            the label stack that was read (the kernel's inner network
//            header), so it points at the payload of a complete stack.
//   l2_5_ofs the first MPLS label stack entry; MPLS frames only.
//   l4_ofs   IPv4 and IPv6 only: just past the IP header and its extension
//            headers; equal to l3_ofs when the IP header is malformed
//            (as the kernel sets transport = network header). Left at
//            kNoOffset for an IPv6 later fragment (the kernel leaves the
//            transport header untouched there) and when the extension
//            header lengths point past the end of the frame.
// Every offset that is set lies within [0, packet.size()].
FlowKey flow_key_extract(Packet& packet);

}  // namespace flowlift
