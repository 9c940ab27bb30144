// VLAN and MPLS push/pop (see actions_push_pop.h).
#include "kmod/actions_push_pop.h"

#include <cstdio>
#include <string>

#include "kmod/packet_bytes.h"

namespace flowlift {
namespace {

std::string hex16(uint16_t value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "0x%04x", value);
  return buffer;
}

Status too_short(const char* action, size_t size, const char* what) {
  return Status(ENOMEM, std::string(action) + ": frame of " + std::to_string(size) + " bytes " + what);
}

bool starts_with_vlan_tpid(const Packet& packet) {
  return packet.size() >= kEthernetHeaderLength && is_vlan_tpid(load_be16(packet.data() + 12));
}

}  // namespace

Status push_vlan(const PushVlanAction& action, KeyedPacket& skb) {
  Packet& packet = skb.packet;
  if (packet.size() < kEthernetHeaderLength)
    return too_short("push_vlan", packet.size(), "is shorter than an Ethernet header");
  if (has_offloaded_vlan_tag(packet)) {
    skb.key_valid = false;
  } else {
    skb.key.vlan = VlanHead{action.tpid, action.tci};
  }
  uint8_t* tag = packet.insert(12, kVlanHeaderLength);
  store_raw(tag, action.tpid);
  store_be16(tag + 2, static_cast<uint16_t>(host16(action.tci) & ~kVlanCfi));
  return Status::ok();
}

Status pop_vlan(KeyedPacket& skb) {
  Packet& packet = skb.packet;
  if (starts_with_vlan_tpid(packet)) {
    if (!has_offloaded_vlan_tag(packet))
      return too_short("pop_vlan", packet.size(), "ends inside its VLAN tag");
    packet.erase(12, kVlanHeaderLength);
  }
  if (starts_with_vlan_tpid(packet)) {
    // The kernel moves the uncovered tag out of the data too, and needs it whole for that.
    if (!has_offloaded_vlan_tag(packet))
      return too_short("pop_vlan", packet.size(), "ends inside its inner VLAN tag");
    skb.key_valid = false;
  } else {
    skb.key.vlan = VlanHead{0, 0};
  }
  return Status::ok();
}

Status push_mpls(const PushMplsAction& action, KeyedPacket& skb) {
  const uint16_t ethertype = host16(action.ethertype);
  if (!is_mpls_ethertype(be16(ethertype)))
    return Status(EINVAL, "push_mpls: ethertype " + hex16(ethertype) + " is not MPLS (0x8847 or 0x8848)");
  Packet& packet = skb.packet;
  const L2Layout l2 = l2_layout(packet);
  if (l2.mac_length == 0) return too_short("push_mpls", packet.size(), "is shorter than an Ethernet header");
  uint8_t* entry = packet.insert(l2.mac_length, kMplsHeaderLength);
  store_raw(entry, action.lse);
  store_be16(packet.data() + l2.mac_length - 2, ethertype);
  packet.l2_5_ofs = static_cast<uint16_t>(l2.mac_length);
  packet.l3_ofs = packet.l4_ofs = Packet::kNoOffset;
  skb.key_valid = false;
  return Status::ok();
}

Status pop_mpls(const PopMplsAction& action, KeyedPacket& skb) {
  Packet& packet = skb.packet;
  const L2Layout l2 = l2_layout(packet);
  skb.key_valid = false;
  if (!is_mpls_ethertype(be16(l2.ethertype))) return Status::ok();
  if (l2.mac_length + kMplsHeaderLength > packet.size())
    return too_short("pop_mpls", packet.size(), "ends inside its label stack entry");
  packet.erase(l2.mac_length, kMplsHeaderLength);
  const uint16_t next = host16(action.ethertype);
  store_be16(packet.data() + l2.mac_length - 2, next);
  const auto where = static_cast<uint16_t>(l2.mac_length);
  packet.l2_5_ofs = is_mpls_ethertype(be16(next)) ? where : Packet::kNoOffset;
  packet.l3_ofs = is_mpls_ethertype(be16(next)) ? Packet::kNoOffset : where;
  packet.l4_ofs = Packet::kNoOffset;
  return Status::ok();
}

}  // namespace flowlift
