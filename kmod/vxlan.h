// VXLAN (RFC 7348) encapsulation and decapsulation of Ethernet frames, as the
// Linux vxlan driver does it for a flow-based ("collect_md") device, the kind
// Open vSwitch creates for its vxlan ports: the tunnel key of the packet says
// where to send it and the key of a received packet says where it came from.
//
// Where the driver and RFC 7348 differ, this follows the driver: the I flag is
// always sent and must be present on receipt; reserved header bits that no
// enabled extension uses make a received packet invalid (the RFC says ignore
// them); over IPv6 too the UDP checksum is sent only when the tunnel key has
// kTunnelCsum, zero otherwise (RFC 6935 allows zero checksums for tunnels), and
// a received zero checksum is accepted, as on the ports Open vSwitch creates.
#pragma once

#include <cstdint>
#include <span>

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"
#include "flowlift/status.h"

namespace flowlift {

inline constexpr uint16_t kVxlanDefaultUdpPort = 4789;  // IANA

// The outer headers of a VXLAN port's packets that the tunnel key does not
// carry. The MACs come from the underlay route's neighbour entry and the local
// addresses from the route's preferred source; resolving them is the caller's
// business (rtnetlink), this module only writes them.
struct VxlanEndpoint {
  EthAddr src_mac{};
  EthAddr dst_mac{};
  Be32 local_ipv4 = 0;                       // outer source when the tunnel key has no ipv4_src
  Ipv6Addr local_ipv6{};                     // outer source when the tunnel key has no ipv6_src
  uint16_t udp_port = kVxlanDefaultUdpPort;  // host order; used when the tunnel key's tp_dst is 0
  // The UDP source port range (the device's port_min/port_max). When
  // src_port_min >= src_port_max the kernel's default local port range applies.
  uint16_t src_port_min = 0;
  uint16_t src_port_max = 0;
  // The Group Based Policy extension (the driver's VXLAN_F_GBP, OVS exts=gbp).
  bool gbp_extension = false;
  bool operator==(const VxlanEndpoint&) const = default;
};

// Wraps the Ethernet frame in `packet` in outer Ethernet + IPv4 (or IPv6 when
// the tunnel key has an IPv6 destination) + UDP + VXLAN headers:
//  - VNI: the low 24 bits of tun_id; the I flag is always set.
//  - GBP: when endpoint.gbp_extension and tunnel.vxlan_gbp != 0, the G flag,
//    the D and A bits and the policy id from vxlan_gbp.
//  - outer source: tunnel.ipv4_src/ipv6_src, else the endpoint's local address.
//  - TTL/hop limit: tunnel.ttl, 64 (the default route hop limit) when 0.
//  - TOS/traffic class: tunnel.tos with the ECN bits of the inner IP header
//    copied in (RFC 6040 normal mode: inner CE becomes ECT(0)).
//  - DF when kTunnelDontFragment; IPv4 identification `ipv4_id`.
//  - UDP source port: from the inner frame's flow hash, spread over the source
//    port range (udp_flow_src_port); tp_src of the key is not used, as in the
//    driver. Destination: tunnel.tp_dst, else endpoint.udp_port.
//  - UDP checksum when kTunnelCsum, else zero.
// Layer offsets afterwards point at the outer headers; the packet's tunnel
// metadata is cleared (it has been consumed into the headers).
Status vxlan_encapsulate(Packet& packet, const TunnelKey& tunnel, const VxlanEndpoint& endpoint,
                         uint16_t ipv4_id = 0);

// The UDP source port vxlan_encapsulate picks for this inner frame (host order).
uint16_t vxlan_udp_source_port(std::span<const uint8_t> inner_frame, const VxlanEndpoint& endpoint);

// Validates outer Ethernet / IPv4 or IPv6 / UDP to `expected_udp_port` (host
// order) / VXLAN headers, strips them and returns what the driver puts in the
// received packet's tunnel metadata: tun_id (VNI), outer addresses, tos, ttl,
// UDP ports, flags kTunnelKey, kTunnelCsum when the UDP checksum was non-zero,
// kTunnelDontFragment when the outer IPv4 header has DF, and vxlan_gbp when
// `gbp_extension` and the G flag is set. The packet's md.tunnel is set to it,
// its layer offsets are cleared (the inner frame needs key extraction), and a
// CE mark of the outer header is copied to an ECN-capable inner IP header.
// On error the packet is unchanged and the Status names what was wrong.
Result<TunnelKey> vxlan_decapsulate(Packet& packet, uint16_t expected_udp_port = kVxlanDefaultUdpPort,
                                    bool gbp_extension = false);

}  // namespace flowlift
