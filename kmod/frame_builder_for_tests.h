// Test-only frame builder: lays headers down field by field in network byte
// order, so a test states every header byte it depends on. Header-only; for
// *_test.cc and *_fuzz.cc files, never for library code.
//
// Every method writes exactly the bytes of its header and nothing else (no
// checksums, no computed lengths), so tests can build inconsistent headers on
// purpose: a TCP data offset pointing past the frame, an IHL below 5, ...
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"

namespace flowlift::testing {

inline Be32 ipv4_address(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return htonl(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}

// Eight 16-bit groups, as written in text form ("2001:db8::1" = {0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}).
inline Ipv6Addr ipv6_address(std::initializer_list<uint16_t> groups) {
  Ipv6Addr address{};
  size_t i = 0;
  for (uint16_t group : groups) {
    if (i + 1 >= address.size()) break;
    address[i++] = static_cast<uint8_t>(group >> 8);
    address[i++] = static_cast<uint8_t>(group);
  }
  return address;
}

// Fields of an IPv4 header in host order (addresses in network order, as Be32).
struct Ipv4Fields {
  uint8_t header_words = 5;  // IHL, written as given
  uint8_t tos = 0;
  uint16_t total_length = 0;
  uint16_t identification = 0;
  uint16_t flags_and_fragment_offset = 0;  // 0x4000 DF, 0x2000 MF, low 13 bits offset in 8-byte units
  uint8_t ttl = 64;
  uint8_t protocol = 0;
  Be32 src = 0;
  Be32 dst = 0;
};

struct Ipv6Fields {
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // low 20 bits used
  uint16_t payload_length = 0;
  uint8_t next_header = 0;
  uint8_t hop_limit = 64;
  Ipv6Addr src{};
  Ipv6Addr dst{};
};

struct ArpFields {
  uint16_t hardware_type = 1;       // ARPHRD_ETHER
  uint16_t protocol_type = 0x0800;  // ETH_P_IP
  uint8_t hardware_length = 6;
  uint8_t protocol_length = 4;
  uint16_t op = 1;
  EthAddr sha{};
  Be32 sip = 0;
  EthAddr tha{};
  Be32 tip = 0;
};

class FrameBuilder {
 public:
  FrameBuilder& u8(uint8_t value) {
    bytes_.push_back(value);
    return *this;
  }
  FrameBuilder& be16(uint16_t host_value) {
    u8(static_cast<uint8_t>(host_value >> 8));
    return u8(static_cast<uint8_t>(host_value));
  }
  FrameBuilder& be32(uint32_t host_value) {
    be16(static_cast<uint16_t>(host_value >> 16));
    return be16(static_cast<uint16_t>(host_value));
  }
  // A value already in network byte order (Be32 addresses).
  FrameBuilder& raw32(Be32 network_value) { return be32(ntohl(network_value)); }
  FrameBuilder& bytes(std::initializer_list<uint8_t> values) {
    bytes_.insert(bytes_.end(), values.begin(), values.end());
    return *this;
  }
  FrameBuilder& bytes(std::span<const uint8_t> values) {
    bytes_.insert(bytes_.end(), values.begin(), values.end());
    return *this;
  }
  FrameBuilder& zeros(size_t count) {
    bytes_.insert(bytes_.end(), count, 0);
    return *this;
  }

  FrameBuilder& ethernet_addresses(const EthAddr& dst, const EthAddr& src) {
    bytes(dst);
    return bytes(src);
  }
  FrameBuilder& ethernet(const EthAddr& dst, const EthAddr& src, uint16_t type) {
    ethernet_addresses(dst, src);
    return be16(type);
  }
  // TPID and TCI only; the type that follows is written separately.
  FrameBuilder& vlan_tag(uint16_t tpid, uint16_t tci) {
    be16(tpid);
    return be16(tci);
  }
  FrameBuilder& llc(uint8_t dsap, uint8_t ssap, uint8_t control) { return bytes({dsap, ssap, control}); }
  FrameBuilder& snap(uint8_t oui0, uint8_t oui1, uint8_t oui2, uint16_t type) {
    llc(0xaa, 0xaa, 0x03);
    bytes({oui0, oui1, oui2});
    return be16(type);
  }
  FrameBuilder& mpls(uint32_t label, uint8_t traffic_class, bool bottom_of_stack, uint8_t ttl) {
    return be32(label << 12 | uint32_t{traffic_class} << 9 | uint32_t{bottom_of_stack} << 8 | ttl);
  }
  FrameBuilder& arp(const ArpFields& f) {
    be16(f.hardware_type).be16(f.protocol_type).u8(f.hardware_length).u8(f.protocol_length).be16(f.op);
    bytes(f.sha).raw32(f.sip);
    return bytes(f.tha).raw32(f.tip);
  }

  // The 20 fixed bytes; options are appended by the caller.
  FrameBuilder& ipv4(const Ipv4Fields& f) {
    u8(static_cast<uint8_t>(0x40 | (f.header_words & 0x0f))).u8(f.tos).be16(f.total_length);
    be16(f.identification).be16(f.flags_and_fragment_offset);
    u8(f.ttl).u8(f.protocol).be16(0);
    return raw32(f.src).raw32(f.dst);
  }
  FrameBuilder& ipv6(const Ipv6Fields& f) {
    be32(6u << 28 | uint32_t{f.traffic_class} << 20 | (f.flow_label & 0xfffff));
    be16(f.payload_length).u8(f.next_header).u8(f.hop_limit);
    bytes(f.src);
    return bytes(f.dst);
  }
  // Hop-by-hop, routing or destination options header of `total_length`
  // bytes (a multiple of 8), padded with zeros.
  FrameBuilder& ipv6_options_header(uint8_t next_header, size_t total_length) {
    u8(next_header).u8(static_cast<uint8_t>(total_length / 8 - 1));
    return zeros(total_length - 2);
  }
  // Authentication header of `total_length` bytes (a multiple of 4, >= 8).
  FrameBuilder& ipv6_auth_header(uint8_t next_header, size_t total_length) {
    u8(next_header).u8(static_cast<uint8_t>(total_length / 4 - 2));
    return zeros(total_length - 2);
  }
  FrameBuilder& ipv6_fragment_header(uint8_t next_header, uint16_t offset_units, bool more_fragments,
                                     uint32_t identification = 0x12345678) {
    u8(next_header).u8(0);
    be16(static_cast<uint16_t>(offset_units << 3 | (more_fragments ? 1 : 0)));
    return be32(identification);
  }

  // The 20 fixed bytes of a TCP header; `flags` fills the 12 bits below the data offset.
  FrameBuilder& tcp(uint16_t src, uint16_t dst, uint16_t flags, uint8_t data_offset_words = 5) {
    be16(src).be16(dst).be32(1000).be32(0);
    be16(static_cast<uint16_t>(data_offset_words << 12 | (flags & 0x0fff)));
    return be16(65535).be16(0).be16(0);
  }
  FrameBuilder& udp(uint16_t src, uint16_t dst, uint16_t length = 8) {
    return be16(src).be16(dst).be16(length).be16(0);
  }
  FrameBuilder& sctp(uint16_t src, uint16_t dst) { return be16(src).be16(dst).be32(0xdeadbeef).be32(0); }
  // Type, code, checksum and the 4 bytes of rest-of-header.
  FrameBuilder& icmp(uint8_t type, uint8_t code) { return u8(type).u8(code).be16(0).be32(0); }
  FrameBuilder& icmpv6(uint8_t type, uint8_t code) { return icmp(type, code); }
  // Neighbor solicitation (135) or advertisement (136): header, flags, target.
  FrameBuilder& nd_message(uint8_t type, const Ipv6Addr& target, uint8_t code = 0) {
    icmpv6(type, code);
    return bytes(target);
  }
  // Source (1) or target (2) link-layer address option.
  FrameBuilder& nd_link_layer_option(uint8_t type, const EthAddr& address) {
    u8(type).u8(1);
    return bytes(address);
  }

  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& frame() const { return bytes_; }
  Packet packet() const { return Packet(bytes_); }
  // The first `length` bytes, as a packet.
  Packet truncated_packet(size_t length) const {
    return Packet(std::span<const uint8_t>(bytes_).first(std::min(length, bytes_.size())));
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace flowlift::testing
