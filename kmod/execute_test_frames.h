// Test-only: building Ethernet frames byte by byte (with their layer offsets and
// the flow key a parser would extract), and checksums computed from scratch in
// the plainest way, independent of kmod/checksum, to verify what actions wrote.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "flowlift/flow_key.h"
#include "flowlift/packet.h"

namespace flowlift::execute_testing {

inline constexpr EthAddr kMacA = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
inline constexpr EthAddr kMacB = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void wr32(uint8_t* p, uint32_t v) {
  wr16(p, static_cast<uint16_t>(v >> 16));
  wr16(p + 2, static_cast<uint16_t>(v));
}

inline Be32 ip4(std::string_view text) {
  Be32 a = 0;
  inet_pton(AF_INET, std::string(text).c_str(), &a);
  return a;
}
inline Ipv6Addr ip6(std::string_view text) {
  Ipv6Addr a{};
  inet_pton(AF_INET6, std::string(text).c_str(), a.data());
  return a;
}

// RFC 1071 done the long way: sum of big-endian words, fold, complement.
inline uint16_t reference_checksum(std::span<const uint8_t> bytes, uint64_t sum = 0) {
  for (size_t i = 0; i < bytes.size(); i += 2)
    sum += uint32_t{bytes[i]} << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0u);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

inline uint64_t pseudo_header_sum_v4(Be32 src, Be32 dst, uint8_t proto, size_t length) {
  uint8_t ph[12] = {};
  std::memcpy(ph, &src, 4);
  std::memcpy(ph + 4, &dst, 4);
  ph[9] = proto;
  wr16(ph + 10, static_cast<uint16_t>(length));
  uint64_t sum = 0;
  for (int i = 0; i < 12; i += 2) sum += rd16(ph + i);
  return sum;
}

inline uint64_t pseudo_header_sum_v6(const uint8_t* src, const uint8_t* dst, uint8_t proto, size_t length) {
  uint64_t sum = 0;
  for (int i = 0; i < 16; i += 2) sum += rd16(src + i) + rd16(dst + i);
  sum += static_cast<uint32_t>(length) >> 16;
  sum += static_cast<uint32_t>(length) & 0xffff;
  sum += proto;
  return sum;
}

// Bit by bit, reflected polynomial 0x82f63b78.
inline uint32_t reference_crc32c(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffff;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
  }
  return ~crc;
}

inline uint32_t reference_sctp_checksum(std::span<const uint8_t> sctp) {
  std::vector<uint8_t> copy(sctp.begin(), sctp.end());
  for (size_t i = 8; i < 12 && i < copy.size(); ++i) copy[i] = 0;
  return reference_crc32c(copy);
}

// The IPv4 header at `l3` verifies: its words sum to 0xffff.
inline bool ipv4_header_checksum_ok(const Packet& p, size_t l3) {
  size_t ihl = size_t{p.data()[l3] & 0x0fu} * 4;
  return reference_checksum({p.data() + l3, ihl}) == 0;
}

// Recomputes the L4 checksum field of a TCP/UDP/ICMPv6 segment from scratch
// (pseudo-header from the IP header at l3, whose destination is `final_dst`
// when given) and compares it with the stored one. UDP zero means "none".
inline bool l4_checksum_ok(const Packet& p, size_t l3, size_t l4, uint8_t proto,
                           const uint8_t* final_dst = nullptr) {
  const uint8_t* d = p.data();
  const size_t length = p.size() - l4;
  const size_t check_offset = proto == 6 ? 16 : proto == 17 ? 6 : 2;
  std::vector<uint8_t> segment(d + l4, d + p.size());
  const uint16_t stored = rd16(&segment[check_offset]);
  if (proto == 17 && stored == 0) return true;
  wr16(&segment[check_offset], 0);
  uint64_t sum;
  if ((d[l3] >> 4) == 4) {
    Be32 src, dst;
    std::memcpy(&src, d + l3 + 12, 4);
    std::memcpy(&dst, d + l3 + 16, 4);
    sum = pseudo_header_sum_v4(src, dst, proto, length);
  } else {
    sum = pseudo_header_sum_v6(d + l3 + 8, final_dst ? final_dst : d + l3 + 24, proto, length);
  }
  uint16_t expected = reference_checksum(segment, sum);
  if (proto == 17 && expected == 0) expected = 0xffff;
  return expected == stored;
}

struct BuiltFrame {
  Packet packet;
  FlowKey key{};
};

// Appends headers in wire order; build() fills in ethertypes, next-header
// fields, lengths and checksums, sets the layer offsets and derives the key.
class FrameBuilder {
 public:
  FrameBuilder& ethernet(EthAddr dst = kMacB, EthAddr src = kMacA) {
    size_t at = append(14);
    std::memcpy(&bytes_[at], dst.data(), 6);
    std::memcpy(&bytes_[at + 6], src.data(), 6);
    key_.eth_dst = dst;
    key_.eth_src = src;
    type_field_ = at + 12;
    return *this;
  }
  FrameBuilder& vlan(uint16_t tpid, uint16_t tci) {
    set_type(tpid);
    size_t at = append(4);
    wr16(&bytes_[at], tci);
    VlanHead& head = vlans_++ == 0 ? key_.vlan : key_.cvlan;
    if (vlans_ <= 2) head = VlanHead{htons(tpid), htons(static_cast<uint16_t>(tci | kVlanCfi))};
    type_field_ = at + 2;
    return *this;
  }
  FrameBuilder& ethertype(uint16_t type) {
    set_type(type);
    return *this;
  }
  FrameBuilder& mpls(uint32_t label, uint8_t tc, bool bottom, uint8_t ttl) {
    if (l2_5_ == Packet::kNoOffset) {
      set_type(0x8847);
      l2_5_ = static_cast<uint16_t>(bytes_.size());
    }
    size_t at = append(4);
    uint32_t lse = label << 12 | uint32_t{tc} << 9 | (bottom ? 1u << 8 : 0u) | ttl;
    wr32(&bytes_[at], lse);
    if (key_.mpls_depth < kMaxMplsLabels) key_.mpls_lse[key_.mpls_depth++] = htonl(lse);
    return *this;
  }
  FrameBuilder& ipv4(std::string_view src, std::string_view dst, uint8_t tos = 0, uint8_t ttl = 64,
                     uint16_t frag_field = 0, size_t option_bytes = 0) {
    set_type(0x0800);
    l3_ = static_cast<uint16_t>(bytes_.size());
    size_t at = append(20 + option_bytes);
    bytes_[at] = static_cast<uint8_t>(0x40 | (20 + option_bytes) / 4);
    bytes_[at + 1] = tos;
    wr16(&bytes_[at + 4], 0x1234);
    wr16(&bytes_[at + 6], frag_field);
    bytes_[at + 8] = ttl;
    Be32 s = ip4(src), d = ip4(dst);
    std::memcpy(&bytes_[at + 12], &s, 4);
    std::memcpy(&bytes_[at + 16], &d, 4);
    for (size_t i = 0; i < option_bytes; ++i) bytes_[at + 20 + i] = 1;  // NOP options
    next_header_field_ = at + 9;
    key_.ipv4_src = s;
    key_.ipv4_dst = d;
    key_.ip_tos = tos;
    key_.ip_ttl = ttl;
    if (frag_field & 0x1fff)
      key_.ip_frag = kFragLater;
    else if (frag_field & 0x2000)
      key_.ip_frag = kFragFirst;
    ipv6_ = false;
    return *this;
  }
  FrameBuilder& ipv6(std::string_view src, std::string_view dst, uint8_t tclass = 0, uint32_t label = 0,
                     uint8_t hlimit = 64) {
    set_type(0x86dd);
    l3_ = static_cast<uint16_t>(bytes_.size());
    size_t at = append(40);
    wr32(&bytes_[at], 6u << 28 | uint32_t{tclass} << 20 | (label & 0xfffff));
    bytes_[at + 7] = hlimit;
    Ipv6Addr s = ip6(src), d = ip6(dst);
    std::memcpy(&bytes_[at + 8], s.data(), 16);
    std::memcpy(&bytes_[at + 24], d.data(), 16);
    next_header_field_ = at + 6;
    key_.ipv6_src = s;
    key_.ipv6_dst = d;
    key_.ipv6_label = htonl(label & 0xfffff);
    key_.ip_tos = tclass;
    key_.ip_ttl = hlimit;
    ipv6_ = true;
    return *this;
  }
  // A routing header (type 0) listing `addresses`, or a hop-by-hop options header when `addresses` is empty.
  FrameBuilder& ipv6_routing(uint8_t segments_left, const std::vector<Ipv6Addr>& addresses) {
    set_next_header(43);
    size_t at = append(8 + 16 * addresses.size());
    bytes_[at + 1] = static_cast<uint8_t>(addresses.size() * 2);
    bytes_[at + 3] = segments_left;
    for (size_t i = 0; i < addresses.size(); ++i)
      std::memcpy(&bytes_[at + 8 + 16 * i], addresses[i].data(), 16);
    next_header_field_ = at;
    return *this;
  }
  FrameBuilder& ipv6_fragment(uint16_t offset_units, bool more) {
    set_next_header(44);
    size_t at = append(8);
    wr16(&bytes_[at + 2], static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
    next_header_field_ = at;
    key_.ip_frag = offset_units ? kFragLater : kFragFirst;
    return *this;
  }
  FrameBuilder& tcp(uint16_t src, uint16_t dst) {
    l4_start(6, 20);
    wr16(&bytes_[l4_], src);
    wr16(&bytes_[l4_ + 2], dst);
    bytes_[l4_ + 12] = 0x50;
    bytes_[l4_ + 13] = 0x18;
    wr16(&bytes_[l4_ + 14], 8192);
    ports(src, dst);
    return *this;
  }
  FrameBuilder& udp(uint16_t src, uint16_t dst, bool with_checksum = true) {
    l4_start(17, 8);
    wr16(&bytes_[l4_], src);
    wr16(&bytes_[l4_ + 2], dst);
    udp_checksum_ = with_checksum;
    ports(src, dst);
    return *this;
  }
  FrameBuilder& sctp(uint16_t src, uint16_t dst) {
    l4_start(132, 12);
    wr16(&bytes_[l4_], src);
    wr16(&bytes_[l4_ + 2], dst);
    wr32(&bytes_[l4_ + 4], 0xcafef00d);  // verification tag
    ports(src, dst);
    return *this;
  }
  FrameBuilder& icmpv6(uint8_t type, uint8_t code) {
    l4_start(58, 8);
    bytes_[l4_] = type;
    bytes_[l4_ + 1] = code;
    ports(type, code);
    return *this;
  }
  FrameBuilder& payload(size_t n, uint8_t seed = 0x41) {
    size_t at = append(n);
    for (size_t i = 0; i < n; ++i) bytes_[at + i] = static_cast<uint8_t>(seed + i * 7);
    return *this;
  }

  BuiltFrame build() {
    if (l3_ != Packet::kNoOffset) {
      if (ipv6_) {
        wr16(&bytes_[l3_ + 4], static_cast<uint16_t>(bytes_.size() - l3_ - 40));
      } else {
        wr16(&bytes_[l3_ + 2], static_cast<uint16_t>(bytes_.size() - l3_));
        size_t ihl = size_t{bytes_[l3_] & 0x0fu} * 4;
        wr16(&bytes_[l3_ + 10], reference_checksum({&bytes_[l3_], ihl}));
      }
    }
    if (l4_ != Packet::kNoOffset) {
      std::span<uint8_t> segment(&bytes_[l4_], bytes_.size() - l4_);
      if (key_.ip_proto == 17) wr16(&segment[4], static_cast<uint16_t>(segment.size()));
      if (key_.ip_proto == 132) {
        uint32_t crc = reference_sctp_checksum(segment);
        for (int i = 0; i < 4; ++i) segment[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
      } else if (key_.ip_proto != 17 || udp_checksum_) {
        size_t check_offset = key_.ip_proto == 6 ? 16 : key_.ip_proto == 17 ? 6 : 2;
        uint64_t sum =
            ipv6_ ? pseudo_header_sum_v6(&bytes_[l3_ + 8], &bytes_[l3_ + 24], key_.ip_proto, segment.size())
                  : pseudo_header_sum_v4(key_.ipv4_src, key_.ipv4_dst, key_.ip_proto, segment.size());
        uint16_t check = reference_checksum(segment, sum);
        if (key_.ip_proto == 17 && check == 0) check = 0xffff;
        wr16(&segment[check_offset], check);
      }
    }
    BuiltFrame out{Packet(bytes_), key_};
    out.packet.l2_5_ofs = l2_5_;
    out.packet.l3_ofs = l3_;
    out.packet.l4_ofs = l4_;
    out.key.in_port = 1;
    out.packet.md.in_port = 1;
    return out;
  }

 private:
  size_t append(size_t n) {
    size_t at = bytes_.size();
    bytes_.resize(at + n);
    return at;
  }
  // Writes the type field that ends L2 so far, if one is still open.
  void set_type(uint16_t type) {
    if (!type_field_) return;
    wr16(&bytes_[type_field_], type);
    type_field_ = 0;
    if (type != 0x8100 && type != 0x88a8) key_.eth_type = htons(type);
  }
  void set_next_header(uint8_t value) {
    if (next_header_field_) bytes_[next_header_field_] = value;
  }
  void l4_start(uint8_t proto, size_t length) {
    set_next_header(proto);
    key_.ip_proto = proto;
    l4_ = static_cast<uint16_t>(bytes_.size());
    append(length);
  }
  void ports(uint16_t src, uint16_t dst) {
    key_.tp_src = htons(src);
    key_.tp_dst = htons(dst);
  }

  std::vector<uint8_t> bytes_;
  FlowKey key_{};
  size_t type_field_ = 0;
  size_t next_header_field_ = 0;
  int vlans_ = 0;
  bool ipv6_ = false;
  bool udp_checksum_ = true;
  uint16_t l2_5_ = Packet::kNoOffset;
  uint16_t l3_ = Packet::kNoOffset;
  uint16_t l4_ = Packet::kNoOffset;
};

}  // namespace flowlift::execute_testing
