// Length and layering views of a frame shared by the actions (see keyed_packet.h).
#include "kmod/keyed_packet.h"

#include "kmod/packet_bytes.h"

namespace flowlift {

bool has_offloaded_vlan_tag(const Packet& packet) {
  return packet.size() >= kEthernetHeaderLength + kVlanHeaderLength &&
         is_vlan_tpid(load_be16(packet.data() + 12));
}

size_t skb_length(const Packet& packet) {
  return packet.size() - (has_offloaded_vlan_tag(packet) ? kVlanHeaderLength : 0);
}

L2Layout l2_layout(const Packet& packet) {
  if (packet.size() < kEthernetHeaderLength) return {};
  size_t type_offset = 12;
  uint16_t ethertype = load_be16(packet.data() + type_offset);
  for (int tags = 0; tags < 2 && is_vlan_tpid(ethertype) && type_offset + 6 <= packet.size(); ++tags) {
    type_offset += kVlanHeaderLength;
    ethertype = load_be16(packet.data() + type_offset);
  }
  return {type_offset + 2, ethertype};
}

}  // namespace flowlift
