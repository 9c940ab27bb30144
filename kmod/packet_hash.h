// The flow hash the kernel derives from a packet's headers (skb_get_hash and
// __skb_get_hash_symmetric, via the flow dissector), which the datapath's
// hash() action and the VXLAN UDP source port build on, and the Jenkins hash
// (lookup3, the kernel's jhash) that mixes it.
//
// Which fields count follows the flow dissector: the ethertype after VLAN tags
// and the outer tag, the IP protocol, the addresses, and the ports of TCP, UDP,
// UDP-Lite, SCTP and DCCP unless the packet is an IP fragment; for IPv6 a
// non-zero flow label stands in for the ports (FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL).
// An MPLS packet hashes on its ethertype only. The kernel keys its hash with a
// per-boot random secret; this one uses a fixed seed so that results are
// reproducible, which is all the datapath needs from it.
#pragma once

#include <cstdint>
#include <span>

namespace flowlift {

// lookup3 as include/linux/jhash.h has it.
uint32_t jhash_bytes(std::span<const uint8_t> key, uint32_t initval);
uint32_t jhash_1word(uint32_t a, uint32_t initval);

// skb_get_hash of an Ethernet frame. Never 0.
uint32_t packet_flow_hash(std::span<const uint8_t> frame);

// The hash a datapath lookup uses to pick a mask cache slot: the skb hash
// (packet_flow_hash), with the recirculation id mixed in for recirculated
// packets, as ovs_dp_process_packet does. Never 0 (0 would mean "no hash"
// and skip the cache).
uint32_t mask_cache_packet_hash(std::span<const uint8_t> frame, uint32_t recirc_id);

// __skb_get_hash_symmetric: both directions of a connection hash alike
// (addresses and ports each put in order; VLAN tag and flow label ignored). Never 0.
uint32_t packet_symmetric_flow_hash(std::span<const uint8_t> frame);

}  // namespace flowlift
