// VXLAN encapsulation and decapsulation (see vxlan.h).
#include "kmod/vxlan.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "flowlift/masked_words.h"
#include "kmod/checksum.h"
#include "kmod/packet_bytes.h"
#include "kmod/packet_hash.h"

namespace flowlift {
namespace {

constexpr size_t kEthernetHeaderLength = 14;
constexpr size_t kIpv4HeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kUdpHeaderLength = 8;
constexpr size_t kVxlanHeaderLength = 8;
constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint8_t kIpProtoUdp = 17;

// First word of the VXLAN header.
constexpr uint32_t kVxlanFlagVni = 0x08000000;    // I
constexpr uint32_t kVxlanFlagGbp = 0x80000000;    // G
constexpr uint32_t kGbpDontLearn = 1u << 22;      // D
constexpr uint32_t kGbpPolicyApplied = 1u << 19;  // A
constexpr uint32_t kGbpPolicyIdMask = 0xffff;
// With GBP enabled the driver treats the G flag and the whole low 24 bits of
// the first word as understood, whether or not G is set (VXLAN_GBP_USED_BITS).
constexpr uint32_t kGbpUsedBits = kVxlanFlagGbp | 0x00ffffff;

// The kernel's default net.ipv4.ip_local_port_range.
constexpr uint16_t kDefaultSourcePortMin = 32768;
constexpr uint16_t kDefaultSourcePortMax = 60999;

constexpr uint8_t kDefaultHopLimit = 64;

// ECN codepoints (RFC 3168).
constexpr uint8_t kEcnMask = 0x03;
constexpr uint8_t kEcnNotEct = 0x00;
constexpr uint8_t kEcnEct0 = 0x02;
constexpr uint8_t kEcnCe = 0x03;

std::string hex(uint32_t value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%0*x", digits, value);
  return buffer;
}

Status error(int code, const std::string& message) { return Status(code, "vxlan: " + message); }

bool is_vlan_tpid(uint16_t type) { return type == 0x8100 || type == 0x88a8; }

bool is_zero(const Ipv6Addr& address) { return all_bytes_zero(address); }

uint64_t be64_to_host(Be64 value) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  uint64_t host = 0;
  for (uint8_t b : bytes) host = host << 8 | b;
  return host;
}

Be64 host_to_be64(uint64_t value) {
  uint8_t bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
  Be64 be;
  std::memcpy(&be, bytes, 8);
  return be;
}

Be16 host_to_be16(uint16_t value) {
  uint8_t bytes[2];
  store_be16(bytes, value);
  return load_raw<Be16>(bytes);
}

uint16_t be16_to_host(Be16 value) {
  uint8_t bytes[2];
  store_raw(bytes, value);
  return load_be16(bytes);
}

// Where an Ethernet frame's IP header starts and which version it is, looking
// past VLAN tags (skb_protocol(skb, true)); 0 when there is no complete IPv4
// or IPv6 header.
struct InnerIp {
  size_t offset = 0;
  int version = 0;
};

InnerIp find_inner_ip(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLength) return {};
  size_t offset = 12;
  uint16_t type = load_be16(&frame[offset]);
  while (is_vlan_tpid(type) && offset + 6 <= frame.size()) {
    offset += 4;
    type = load_be16(&frame[offset]);
  }
  offset += 2;
  if (type == kEthTypeIpv4 && offset + kIpv4HeaderLength <= frame.size()) return {offset, 4};
  if (type == kEthTypeIpv6 && offset + kIpv6HeaderLength <= frame.size()) return {offset, 6};
  return {};
}

uint8_t ip_dsfield(std::span<const uint8_t> frame, const InnerIp& ip) {
  if (ip.version == 4) return frame[ip.offset + 1];
  if (ip.version == 6) return static_cast<uint8_t>((load_be16(&frame[ip.offset]) >> 4) & 0xff);
  return 0;
}

// INET_ECN_encapsulate: the outer ECN field mirrors the inner one, except that
// a congestion mark is not propagated outward (CE leaves as ECT(0)).
uint8_t ecn_encapsulate(uint8_t outer_tos, uint8_t inner_dsfield) {
  uint8_t inner_ecn = inner_dsfield & kEcnMask;
  uint8_t outer = outer_tos & static_cast<uint8_t>(~kEcnMask);
  return outer | (inner_ecn == kEcnCe ? kEcnEct0 : inner_ecn);
}

}  // namespace

uint16_t vxlan_udp_source_port(std::span<const uint8_t> inner_frame, const VxlanEndpoint& endpoint) {
  uint32_t min = endpoint.src_port_min, max = endpoint.src_port_max;
  if (min >= max) {
    min = kDefaultSourcePortMin;
    max = kDefaultSourcePortMax;
  }
  // udp_flow_src_port: the low bits of the flow hash are folded into the high
  // ones, which then scale into [min, max).
  uint32_t hash = packet_flow_hash(inner_frame);
  hash ^= hash << 16;
  return static_cast<uint16_t>(((uint64_t{hash} * (max - min)) >> 32) + min);
}

Status vxlan_encapsulate(Packet& packet, const TunnelKey& tunnel, const VxlanEndpoint& endpoint,
                         uint16_t ipv4_id) {
  const size_t inner_length = packet.size();
  if (inner_length < kEthernetHeaderLength)
    return error(EINVAL, "inner frame of " + std::to_string(inner_length) +
                             " bytes is shorter than an Ethernet header");
  const bool ipv6 = tunnel.is_ipv6();
  const Be32 ipv4_src = tunnel.ipv4_src ? tunnel.ipv4_src : endpoint.local_ipv4;
  const Ipv6Addr ipv6_src = is_zero(tunnel.ipv6_src) ? endpoint.local_ipv6 : tunnel.ipv6_src;
  if (ipv6) {
    if (is_zero(ipv6_src))
      return error(EADDRNOTAVAIL,
                   "no IPv6 source address: tunnel ipv6_src and the endpoint's local_ipv6 are both unset");
  } else {
    if (tunnel.ipv4_dst == 0)
      return error(EDESTADDRREQ, "tunnel key has no destination address (ipv4_dst and ipv6_dst are 0)");
    if (ipv4_src == 0)
      return error(EADDRNOTAVAIL,
                   "no IPv4 source address: tunnel ipv4_src and the endpoint's local_ipv4 are both unset");
  }

  const size_t ip_length = ipv6 ? kIpv6HeaderLength : kIpv4HeaderLength;
  const size_t udp_length = kUdpHeaderLength + kVxlanHeaderLength + inner_length;
  const size_t ip_limited_length = ipv6 ? udp_length : ip_length + udp_length;
  if (ip_limited_length > 0xffff)
    return error(EMSGSIZE, "encapsulated packet needs an IP length of " + std::to_string(ip_limited_length) +
                               " bytes, above 65535");

  const uint8_t tos = ecn_encapsulate(tunnel.tos, ip_dsfield(packet.bytes(), find_inner_ip(packet.bytes())));
  const uint8_t ttl = tunnel.ttl ? tunnel.ttl : kDefaultHopLimit;
  const uint16_t src_port = vxlan_udp_source_port(packet.bytes(), endpoint);
  const uint16_t dst_port = tunnel.tp_dst ? be16_to_host(tunnel.tp_dst) : endpoint.udp_port;
  const uint32_t vni = static_cast<uint32_t>(be64_to_host(tunnel.tun_id) & 0xffffff);
  uint32_t flags = kVxlanFlagVni;
  if (endpoint.gbp_extension && tunnel.vxlan_gbp != 0)
    flags |= kVxlanFlagGbp | (tunnel.vxlan_gbp & (kGbpDontLearn | kGbpPolicyApplied | kGbpPolicyIdMask));

  const size_t outer_length = kEthernetHeaderLength + ip_length + kUdpHeaderLength + kVxlanHeaderLength;
  uint8_t* outer = packet.push_front(outer_length);
  std::memset(outer, 0, outer_length);

  std::memcpy(outer, endpoint.dst_mac.data(), 6);
  std::memcpy(outer + 6, endpoint.src_mac.data(), 6);
  store_be16(outer + 12, ipv6 ? kEthTypeIpv6 : kEthTypeIpv4);

  uint8_t* ip = outer + kEthernetHeaderLength;
  uint8_t* udp = ip + ip_length;
  uint32_t pseudo_header_sum;
  if (ipv6) {
    store_be32(ip, 6u << 28 | uint32_t{tos} << 20);  // flow label 0: the key carries none
    store_be16(ip + 4, static_cast<uint16_t>(udp_length));
    ip[6] = kIpProtoUdp;
    ip[7] = ttl;
    std::memcpy(ip + 8, ipv6_src.data(), 16);
    std::memcpy(ip + 24, tunnel.ipv6_dst.data(), 16);
    pseudo_header_sum =
        ipv6_pseudo_header_sum(ipv6_src, tunnel.ipv6_dst, kIpProtoUdp, static_cast<uint32_t>(udp_length));
  } else {
    ip[0] = 0x45;
    ip[1] = tos;
    store_be16(ip + 2, static_cast<uint16_t>(ip_length + udp_length));
    store_be16(ip + 4, ipv4_id);
    store_be16(ip + 6, (tunnel.flags & kTunnelDontFragment) ? 0x4000 : 0);
    ip[8] = ttl;
    ip[9] = kIpProtoUdp;
    store_raw(ip + 12, ipv4_src);
    store_raw(ip + 16, tunnel.ipv4_dst);
    store_be16(ip + 10, checksum_finish(checksum_accumulate({ip, kIpv4HeaderLength})));
    pseudo_header_sum =
        ipv4_pseudo_header_sum(ipv4_src, tunnel.ipv4_dst, kIpProtoUdp, static_cast<uint16_t>(udp_length));
  }

  store_be16(udp, src_port);
  store_be16(udp + 2, dst_port);
  store_be16(udp + 4, static_cast<uint16_t>(udp_length));
  uint8_t* vxlan = udp + kUdpHeaderLength;
  store_be32(vxlan, flags);
  store_be32(vxlan + 4, vni << 8);
  if (tunnel.flags & kTunnelCsum) {
    uint16_t check = checksum_finish(checksum_accumulate({udp, udp_length}, pseudo_header_sum));
    store_be16(udp + 6, check ? check : kUdpChecksumZeroReplacement);
  }

  packet.l2_5_ofs = Packet::kNoOffset;
  packet.l3_ofs = static_cast<uint16_t>(kEthernetHeaderLength);
  packet.l4_ofs = static_cast<uint16_t>(kEthernetHeaderLength + ip_length);
  packet.md.tunnel = TunnelKey{};
  packet.md.has_tunnel = false;
  return Status::ok();
}

Result<TunnelKey> vxlan_decapsulate(Packet& packet, uint16_t expected_udp_port, bool gbp_extension) {
  std::span<uint8_t> frame = packet.bytes();
  if (frame.size() < kEthernetHeaderLength)
    return error(EINVAL, "truncated outer Ethernet header (" + std::to_string(frame.size()) + " bytes)");
  const uint16_t ethertype = load_be16(&frame[12]);
  if (ethertype != kEthTypeIpv4 && ethertype != kEthTypeIpv6)
    return error(EINVAL, "outer ethertype " + hex(ethertype, 4) + " is not IPv4 (0x0800) or IPv6 (0x86dd)");

  TunnelKey tunnel{};
  const size_t ip = kEthernetHeaderLength;
  size_t udp = 0, ip_end = 0;
  uint8_t outer_dsfield = 0;
  if (ethertype == kEthTypeIpv4) {
    if (frame.size() < ip + kIpv4HeaderLength) return error(EINVAL, "truncated outer IPv4 header");
    if ((frame[ip] >> 4) != 4)
      return error(EINVAL, "outer IPv4 header has version " + std::to_string(frame[ip] >> 4));
    const size_t header_length = size_t{frame[ip] & 0x0fu} * 4;
    if (header_length < kIpv4HeaderLength)
      return error(EINVAL, "outer IPv4 header length " + std::to_string(header_length) + " is below 20");
    if (frame.size() < ip + header_length)
      return error(EINVAL, "truncated outer IPv4 header (options run past the frame)");
    if (checksum_finish(checksum_accumulate(frame.subspan(ip, header_length))) != 0)
      return error(EINVAL, "outer IPv4 header checksum " + hex(load_be16(&frame[ip + 10]), 4) + " is wrong");
    const size_t total_length = load_be16(&frame[ip + 2]);
    if (total_length < header_length || ip + total_length > frame.size())
      return error(EINVAL, "outer IPv4 total length " + std::to_string(total_length) + " does not fit the " +
                               std::to_string(frame.size() - ip) + " bytes after the Ethernet header");
    const uint16_t fragment = load_be16(&frame[ip + 6]);
    if (fragment & 0x3fff)
      return error(EINVAL, "outer IPv4 packet is a fragment (the host reassembles before VXLAN sees it)");
    if (frame[ip + 9] != kIpProtoUdp)
      return error(EINVAL, "outer IPv4 protocol " + std::to_string(frame[ip + 9]) + " is not UDP (17)");
    outer_dsfield = frame[ip + 1];
    tunnel.ipv4_src = load_raw<Be32>(&frame[ip + 12]);
    tunnel.ipv4_dst = load_raw<Be32>(&frame[ip + 16]);
    tunnel.tos = outer_dsfield;
    tunnel.ttl = frame[ip + 8];
    if (fragment & 0x4000) tunnel.flags |= kTunnelDontFragment;
    udp = ip + header_length;
    ip_end = ip + total_length;
  } else {
    if (frame.size() < ip + kIpv6HeaderLength) return error(EINVAL, "truncated outer IPv6 header");
    if ((frame[ip] >> 4) != 6)
      return error(EINVAL, "outer IPv6 header has version " + std::to_string(frame[ip] >> 4));
    const size_t payload_length = load_be16(&frame[ip + 4]);
    if (ip + kIpv6HeaderLength + payload_length > frame.size())
      return error(EINVAL, "outer IPv6 payload length " + std::to_string(payload_length) +
                               " does not fit the " + std::to_string(frame.size() - ip - kIpv6HeaderLength) +
                               " bytes received");
    if (frame[ip + 6] != kIpProtoUdp)
      return error(EINVAL, "outer IPv6 next header " + std::to_string(frame[ip + 6]) +
                               " is not UDP (17); extension headers are not supported");
    outer_dsfield = static_cast<uint8_t>((load_be16(&frame[ip]) >> 4) & 0xff);
    std::memcpy(tunnel.ipv6_src.data(), &frame[ip + 8], 16);
    std::memcpy(tunnel.ipv6_dst.data(), &frame[ip + 24], 16);
    tunnel.tos = outer_dsfield;
    tunnel.ttl = frame[ip + 7];
    udp = ip + kIpv6HeaderLength;
    ip_end = udp + payload_length;
  }

  if (udp + kUdpHeaderLength > ip_end) return error(EINVAL, "truncated outer UDP header");
  const size_t udp_length = load_be16(&frame[udp + 4]);
  if (udp_length < kUdpHeaderLength || udp + udp_length > ip_end)
    return error(EINVAL, "UDP length " + std::to_string(udp_length) + " does not fit the IP payload of " +
                             std::to_string(ip_end - udp) + " bytes");
  const uint16_t dst_port = load_be16(&frame[udp + 2]);
  if (dst_port != expected_udp_port)
    return error(EINVAL,
                 "UDP port " + std::to_string(dst_port) + " is not " + std::to_string(expected_udp_port));
  const uint16_t udp_check = load_be16(&frame[udp + 6]);
  if (udp_check != 0) {
    uint32_t sum = ethertype == kEthTypeIpv4
                       ? ipv4_pseudo_header_sum(tunnel.ipv4_src, tunnel.ipv4_dst, kIpProtoUdp,
                                                static_cast<uint16_t>(udp_length))
                       : ipv6_pseudo_header_sum(tunnel.ipv6_src, tunnel.ipv6_dst, kIpProtoUdp,
                                                static_cast<uint32_t>(udp_length));
    if (checksum_finish(checksum_accumulate(frame.subspan(udp, udp_length), sum)) != 0)
      return error(EINVAL, "outer UDP checksum " + hex(udp_check, 4) + " is wrong");
    tunnel.flags |= kTunnelCsum;
  }

  const size_t vxlan = udp + kUdpHeaderLength;
  if (udp_length < kUdpHeaderLength + kVxlanHeaderLength) return error(EINVAL, "truncated VXLAN header");
  const uint32_t flags = load_be32(&frame[vxlan]);
  const uint32_t vni_word = load_be32(&frame[vxlan + 4]);
  if (!(flags & kVxlanFlagVni)) return error(EINVAL, "I flag not set (flags " + hex(flags, 8) + ")");
  uint32_t unparsed_flags = flags & ~kVxlanFlagVni;
  if (gbp_extension) {
    if (flags & kVxlanFlagGbp)
      tunnel.vxlan_gbp = flags & (kGbpDontLearn | kGbpPolicyApplied | kGbpPolicyIdMask);
    unparsed_flags &= ~kGbpUsedBits;
  }
  if (unparsed_flags != 0)
    return error(EINVAL, "reserved flag bits " + hex(unparsed_flags, 8) +
                             " set (Linux drops these; RFC 7348 would ignore them)");
  if (vni_word & 0xff)
    return error(EINVAL, "reserved low byte of the VNI word is " + hex(vni_word & 0xff, 2));

  const size_t inner = vxlan + kVxlanHeaderLength;
  const size_t inner_end = udp + udp_length;
  std::span<uint8_t> inner_frame = frame.subspan(inner, inner_end - inner);
  if (inner_frame.size() < kEthernetHeaderLength)
    return error(EINVAL, "inner frame of " + std::to_string(inner_frame.size()) +
                             " bytes is shorter than an Ethernet header");
  const uint8_t* inner_src_mac = &inner_frame[6];
  static constexpr uint8_t kZeroMac[6] = {};
  if ((inner_src_mac[0] & 1) || std::memcmp(inner_src_mac, kZeroMac, 6) == 0)
    return error(EINVAL, "inner source MAC is not a valid unicast address");

  // RFC 6040 decapsulation, as the driver does it (INET_ECN_decapsulate).
  const InnerIp inner_ip = find_inner_ip(inner_frame);
  const uint8_t outer_ecn = outer_dsfield & kEcnMask;
  const uint8_t inner_ecn = ip_dsfield(inner_frame, inner_ip) & kEcnMask;
  const bool inner_is_ip = inner_ip.version != 0;
  if (inner_is_ip && inner_ecn == kEcnNotEct && outer_ecn == kEcnCe)
    return error(EINVAL, "outer header is marked CE but the inner packet is not ECN-capable");

  tunnel.tun_id = host_to_be64((vni_word >> 8) & 0xffffff);
  tunnel.tp_src = host_to_be16(load_be16(&frame[udp]));
  tunnel.tp_dst = host_to_be16(dst_port);
  tunnel.flags |= kTunnelKey;

  if (inner_is_ip && inner_ecn != kEcnNotEct && outer_ecn == kEcnCe) {
    uint8_t* inner_header = &inner_frame[inner_ip.offset];
    if (inner_ip.version == 4) {
      const Be16 old_word = load_raw<Be16>(inner_header);
      inner_header[1] |= kEcnCe;
      const Be16 check = load_raw<Be16>(inner_header + 10);
      store_raw(inner_header + 10, checksum_replace16(check, old_word, load_raw<Be16>(inner_header)));
    } else {
      inner_header[1] |= static_cast<uint8_t>(kEcnCe << 4);
    }
  }

  packet.truncate(inner_end);
  packet.erase(0, inner);
  packet.l2_5_ofs = packet.l3_ofs = packet.l4_ofs = Packet::kNoOffset;
  packet.md.tunnel = tunnel;
  packet.md.has_tunnel = true;
  return tunnel;
}

}  // namespace flowlift
