// protocol_numbers: the EtherTypes, IP protocol numbers and ICMPv6 types the
// datapath keys on, and the byte-order helpers to compare them with FlowKey's
// network-order fields at compile time (htons is not constexpr).
#pragma once

#include <bit>
#include <cstdint>

#include "flowlift/flow_key.h"

namespace flowlift {

constexpr Be16 be16(uint16_t host) {
  return std::endian::native == std::endian::little ? __builtin_bswap16(host) : host;
}
constexpr Be32 be32(uint32_t host) {
  return std::endian::native == std::endian::little ? __builtin_bswap32(host) : host;
}
constexpr uint16_t host16(Be16 network) { return be16(network); }
constexpr uint32_t host32(Be32 network) { return be32(network); }

inline constexpr uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr uint16_t kEthTypeArp = 0x0806;
inline constexpr uint16_t kEthTypeRarp = 0x8035;
inline constexpr uint16_t kEthTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEthTypeMplsUnicast = 0x8847;
inline constexpr uint16_t kEthTypeMplsMulticast = 0x8848;
inline constexpr uint16_t kEthTypeVlan = 0x8100;   // 802.1Q
inline constexpr uint16_t kEthTypeQinq = 0x88a8;   // 802.1ad
inline constexpr uint16_t kEthTypeTeb = 0x6558;    // transparent Ethernet bridging
inline constexpr uint16_t kEthType802_2 = 0x05ff;  // ETH_P_802_2: frames without an Ethernet II type
inline constexpr uint16_t kEthTypeMinimum = 0x0600;
inline constexpr uint16_t kEthHeaderLength = 14;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoSctp = 132;

inline constexpr uint8_t kNeighbourSolicitation = 135;
inline constexpr uint8_t kNeighbourAdvertisement = 136;

inline bool is_vlan_ethertype(Be16 type) { return type == be16(kEthTypeVlan) || type == be16(kEthTypeQinq); }
inline bool is_mpls_ethertype(Be16 type) {
  return type == be16(kEthTypeMplsUnicast) || type == be16(kEthTypeMplsMulticast);
}
inline bool is_ip_ethertype(Be16 type) { return type == be16(kEthTypeIpv4) || type == be16(kEthTypeIpv6); }

}  // namespace flowlift
