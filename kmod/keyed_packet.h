// A packet on its way through an action list together with its flow key: the
// userspace twin of an skb with its sw_flow_key and OVS_CB(skb). Also the two
// views of a frame's length and layering that actions share.
#pragma once

#include <cstddef>
#include <cstdint>

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"
#include "kmod/protocol_numbers.h"

namespace flowlift {

struct KeyedPacket {
  Packet packet;
  FlowKey key{};
  // False once an action changed the header stack without recomputing the key
  // (push/pop MPLS, a VLAN tag pushed onto or uncovered under another); the
  // kernel marks such a key SW_FLOW_KEY_INVALID and re-extracts before recirculating.
  bool key_valid = true;
  // OVS_CB(skb)->cutlen: bytes a trunc action asked to cut from the end at the next output.
  uint32_t cutlen = 0;
};

inline bool is_vlan_tpid(uint16_t ethertype) { return ethertype == 0x8100 || ethertype == 0x88a8; }

inline constexpr size_t kEthernetHeaderLength = 14;
inline constexpr size_t kVlanHeaderLength = 4;
inline constexpr size_t kMplsHeaderLength = 4;

// True when the frame starts with a VLAN tag the kernel would hold outside the
// data, in skb->vlan_tci: key extraction moves the outermost tag there (when a
// whole tag and the ethertype after it are present) and push_vlan puts new tags there.
bool has_offloaded_vlan_tag(const Packet& packet);

// skb->len of the kernel datapath for this frame: its length without the
// outermost VLAN tag (see has_offloaded_vlan_tag). trunc and check_pkt_len count this.
size_t skb_length(const Packet& packet);

// Where L2 ends as key extraction leaves skb->mac_len: after the Ethernet header
// and up to two VLAN tags. `ethertype` is the type field that ends L2 (the
// kernel's skb->protocol). mac_length is 0 for a frame shorter than an Ethernet header.
struct L2Layout {
  size_t mac_length = 0;
  uint16_t ethertype = 0;
};
L2Layout l2_layout(const Packet& packet);

}  // namespace flowlift
